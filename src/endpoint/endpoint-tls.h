/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TLS identity an endpoint serves: an SSL_CTX built from one store
 * directory's fullchain.pem and key.pem, with the leaf's fingerprint.
 * Reference counted: every connection keeps the context it was accepted
 * with, so a reload never changes what an established connection sees.
 */

#include <openssl/ssl.h>

#include "certinfo.h"
#include "openssl-util.h"

typedef struct ServingContext {
        unsigned n_ref;
        SSL_CTX *ctx;
        char fingerprint[CERT_FINGERPRINT_MAX];
        char *origin;  /* the directory the pair was read from, symlinks resolved */
} ServingContext;

/*
 * Reads DIRECTORY/fullchain.pem and DIRECTORY/key.pem through one directory
 * fd, so that an atomic swap of a `current` symlink in between cannot mix two
 * generations. Returns 0, or -errno with *ret_error a human-readable reason
 * (naming the file and the OpenSSL error) when ret_error is not NULL.
 */
int serving_context_load(const char *directory, ServingContext **ret, char **ret_error);

ServingContext *serving_context_ref(ServingContext *sc);
ServingContext *serving_context_unref(ServingContext *sc);
DEFINE_TRIVIAL_CLEANUP_FUNC(ServingContext *, serving_context_unref);
