/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Certificate signing requests: a new key made here, and a PKCS#10 request
 * for the organisation's CA to sign. The key stays in the store's pending
 * area (store-pending.h) until a signed certificate for it is installed.
 */

#include <openssl/evp.h>

#include "openssl-util.h"

typedef enum CsrKeyType {
        CSR_KEY_EC_P256,        /* the default */
        CSR_KEY_EC_P384,
        CSR_KEY_RSA_2048,
        CSR_KEY_RSA_3072,
        CSR_KEY_RSA_4096,
        _CSR_KEY_MAX,
} CsrKeyType;

/* "EC P-256", "EC P-384", "RSA 2048", "RSA 3072", "RSA 4096". */
const char *csr_key_type_to_string(CsrKeyType t);
int csr_key_type_from_string(const char *s);   /* or -EINVAL */

/*
 * Checks a subject DN as the bus and the CLI take it: "CN=a,O=b" or "/CN=a/O=b",
 * attribute names OpenSSL knows, non-empty values, no control characters.
 * Returns 0 or -EINVAL.
 */
int csr_check_subject(const char *dn);

/* Checks one alternative name: "DNS:name" (a leading "*." allowed) or "IP:literal". Returns 0 or -EINVAL. */
int csr_check_alt_name(const char *name);

/*
 * Makes a new key of type t and a request signed with it for subject (a DN
 * as above) and the alternative names (NULL or empty: none). Returns 0 with
 * the key and the request's PEM text, -EINVAL for a bad subject or name,
 * -ENOMEM, -EIO.
 */
int csr_generate(CsrKeyType t, const char *subject, char *const *alt_names, EVP_PKEY **ret_key, char **ret_pem);
