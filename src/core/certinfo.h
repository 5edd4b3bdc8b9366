/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an operator wants to know about a certificate, as plain strings and numbers. */

#include <stdint.h>

#include "bundle.h"

#define CERT_FINGERPRINT_MAX 96   /* SHA-256 as "AB:CD:…": 32*3 bytes incl. NUL */

typedef struct CertInfo {
        char *subject;            /* RFC 2253 one-liner, e.g. "CN=console.example.com,O=Example" */
        char *issuer;
        char *common_name;        /* CN of the subject, "" when none */
        char *serial;             /* hex pairs with colons */
        char **alt_names;         /* NULL-terminated, "DNS:console.example.com", "IP:192.0.2.1" */
        uint64_t not_before_usec; /* µs since the epoch */
        uint64_t not_after_usec;
        char fingerprint[CERT_FINGERPRINT_MAX];  /* SHA-256 of the DER, "AB:CD:…" upper case */
        char key_type[32];        /* "RSA 3072", "EC P-256" */
        unsigned chain_length;    /* certificates served: leaf + intermediates */
} CertInfo;

/* Returns 0 or -ENOMEM/-EINVAL. chain_length is what the caller knows (1 + intermediates). */
int cert_info_new(X509 *leaf, unsigned chain_length, CertInfo **ret);
/* Convenience: info of a bundle's leaf with chain_length = 1 + intermediates. */
int cert_info_from_bundle(const CertBundle *b, CertInfo **ret);
/* A deep copy. Returns 0 or -ENOMEM. */
int cert_info_dup(const CertInfo *info, CertInfo **ret);

/* A flat copy, for handing a CertInfo from a worker to the daemon. Returns 0 or -ENOMEM. */
int cert_info_serialize(const CertInfo *info, char **ret, size_t *ret_size);
/* Reads cert_info_serialize()'s output back. Returns 0, -EBADMSG for anything else, or -ENOMEM. */
int cert_info_deserialize(const void *data, size_t size, CertInfo **ret);
CertInfo *cert_info_free(CertInfo *info);
DEFINE_TRIVIAL_CLEANUP_FUNC(CertInfo *, cert_info_free);

/* SHA-256 fingerprint of the DER encoding into buf. Returns 0 or -EIO. */
int cert_fingerprint(X509 *cert, char buf[static CERT_FINGERPRINT_MAX]);

/* "RSA 2048", "EC P-256", "ED25519", … Returns 0 or -EINVAL. */
int key_describe(EVP_PKEY *key, char *buf, size_t size);
