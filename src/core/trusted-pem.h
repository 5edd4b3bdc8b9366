/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading back the PEM files of a store generation (trusted-pem.c says why they are trusted). */

#include "openssl-util.h"

/* Larger files are refused unread: a generation never comes near this. */
#define TRUSTED_PEM_FILE_MAX ((size_t) 8 * 1024 * 1024)

/*
 * Every certificate of name beneath dfd, in file order (an empty file gives
 * an empty stack). Returns 0, -EBADMSG when the file is torn or does not
 * parse, -EBADFD when it is not a regular file, or -errno.
 */
int trusted_pem_load_certificates_at(int dfd, const char *name, STACK_OF(X509) **ret);

/* The private key of name beneath dfd; never prompts for a passphrase. Returns 0, -EBADMSG, or -errno. */
int trusted_pem_load_key_at(int dfd, const char *name, EVP_PKEY **ret);
