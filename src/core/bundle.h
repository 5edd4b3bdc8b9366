/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A certificate bundle in memory: the leaf, its intermediates, the authority
 * (trust anchors) given with it, and the private key. After validation the
 * chain is ordered: chain[0] issued the leaf, chain[i+1] issued chain[i].
 */

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openssl-util.h"

typedef struct CertBundle {
        X509 *leaf;
        STACK_OF(X509) *chain;      /* intermediates, never NULL after cert_bundle_new() */
        STACK_OF(X509) *authority;  /* trust anchors given with the bundle; may be empty */
        EVP_PKEY *key;
} CertBundle;

/* Returns a bundle with empty stacks, or NULL on ENOMEM. */
CertBundle *cert_bundle_new(void);
CertBundle *cert_bundle_free(CertBundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(CertBundle *, cert_bundle_free);

typedef enum CertBundlePart {
        CERT_BUNDLE_FULLCHAIN,  /* leaf + intermediates */
        CERT_BUNDLE_CERT,       /* leaf */
        CERT_BUNDLE_CHAIN,      /* intermediates */
        CERT_BUNDLE_CA,         /* authority */
        CERT_BUNDLE_KEY,        /* private key, PKCS#8 PEM */
        _CERT_BUNDLE_PART_MAX,
} CertBundlePart;

/* File name of a part in a generation directory: "fullchain.pem", "key.pem", … */
const char *cert_bundle_part_file(CertBundlePart part);

/*
 * PEM text of one part, NUL-terminated (empty string for an empty part).
 * The key part must be freed with erase_and_free(). Returns 0 or -ENOMEM.
 */
int cert_bundle_part_pem(const CertBundle *b, CertBundlePart part, char **ret, size_t *ret_size);
