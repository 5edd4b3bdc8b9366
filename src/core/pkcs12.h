/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading a PKCS#12 (.p12/.pfx) file, the form Windows certificate
 * authorities hand out, into a bundle: its certificate, its key, and the
 * certificates with them (self-signed ones are the authority, the others the
 * chain). Validates nothing (validate.c does), but says precisely why a file
 * cannot be read: a wrong password, legacy encryption, no key inside.
 */

#include <stddef.h>

#include "bundle.h"
#include "cert-error.h"

/*
 * Returns 0 with the bundle, or -EBADMSG with *problem set: Malformed (not
 * PKCS#12, no certificate, legacy encryption), EncryptedKey (wrong password),
 * MissingKey (no key inside); -ENOMEM.
 */
int pkcs12_read_bundle(const void *data, size_t size, const char *password, CertBundle **ret, CertProblem *problem);
