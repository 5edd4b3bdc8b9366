/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading PEM input from untrusted sources (bus strings, dropped files,
 * operators' files) into a CertBundle. Bounded in size and count.
 */

#include <stddef.h>

#include "bundle.h"
#include "cert-error.h"

#define PEM_MAX_INPUT_DEFAULT ((size_t) 1024 * 1024)
#define PEM_MAX_CERTIFICATES_DEFAULT 16

typedef struct PemLimits {
        size_t max_size;          /* per input, bytes; 0 = PEM_MAX_INPUT_DEFAULT */
        size_t max_certificates;  /* over all inputs; 0 = PEM_MAX_CERTIFICATES_DEFAULT */
} PemLimits;

/*
 * Splits the three inputs of an install into a bundle. Any input may hold
 * text around the blocks, LF or CRLF line ends, blocks in any order. The key
 * may come with the certificates (one combined file) when `key` is empty;
 * self-signed CA certificates found among the certificates join the
 * authority; non-self-signed certificates of the authority input (a CA's
 * "CA bundle" with its intermediates) join the chain, so that they are
 * served. The leaf is the certificate no other given certificate was
 * issued by; the chain is NOT yet ordered or checked (validate.c does that).
 *
 * A missing key leaves b->key NULL (validate reports MissingKey).
 *
 * Returns 0; -EBADMSG with *problem set (Malformed, TooLarge, EncryptedKey,
 * with messages naming DER, PKCS#12, empty input, …); -ENOMEM.
 *
 * May be called from several threads. The first RSA or EC key of each form
 * builds a key decoder that later calls reuse (freed by OPENSSL_cleanup()).
 */
int pem_read_bundle(const void *certificate, size_t certificate_size,
                    const void *key, size_t key_size,
                    const void *authority, size_t authority_size,
                    const PemLimits *limits,
                    CertBundle **ret,
                    CertProblem *problem);

/* Reads all certificates of one PEM input (used by inspect and the store). Same return convention. */
int pem_read_certificates(const void *data, size_t size, const PemLimits *limits,
                          STACK_OF(X509) **ret, CertProblem *problem);
