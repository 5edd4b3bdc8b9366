/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The pre-flight handshake: before a bundle is accepted, a real TLS
 * handshake in memory (two memory BIOs, no socket) between a server set up
 * exactly as the endpoints set themselves up (tls-server.c) and a client
 * with OpenSSL's default limits that verifies the served chain against the
 * bundle's trust anchors for the server name, once over TLS 1.3 and once
 * over TLS 1.2. What it refuses, clients would refuse: a certificate list
 * over the 100 KiB clients accept, a key no signature algorithm can use, a
 * chain or a name a client does not accept.
 *
 * It only reports what failed; validate.c turns that into a refusal.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

/* SSL_MAX_CERT_LIST_DEFAULT: the Certificate message OpenSSL's clients accept, 100 KiB. */
#define TLS_CLIENT_MAX_CERT_LIST ((size_t) SSL_MAX_CERT_LIST_DEFAULT)

typedef struct TlsPreflightOptions {
        X509_STORE *trust;          /* what the client trusts (referenced, not taken) */
        unsigned long verify_flags; /* X509_V_FLAG_PARTIAL_CHAIN when an intermediate is the anchor */
        const char *server_name;    /* DNS name or IP literal the client checks; NULL: none */
        time_t now;                 /* the client's idea of the time; 0: the current time */
} TlsPreflightOptions;

typedef struct TlsPreflightFailure {
        int version;                /* TLS1_3_VERSION or TLS1_2_VERSION: the attempt that failed */
        bool server;                /* the server gave up (could not use the certificate or key) */
        bool setup;                 /* OpenSSL refused the material before any handshake */
        unsigned long error;        /* the OpenSSL error of the side that gave up, 0 if none */
        long verify_result;         /* the client's X509_V_ERR_*, X509_V_OK when verification passed */
        size_t certificate_list;    /* bytes of the Certificate message the server sends in that version */
        char reason[256];           /* OpenSSL's words for error or verify_result */
} TlsPreflightFailure;

/*
 * Runs the two handshakes with leaf, chain (intermediates, in serving
 * order) and key. Returns 0 when both complete; -EBADMSG with *ret_failure
 * filled for the first that does not; -ENOMEM or -EIO when the handshake
 * could not be set up at all.
 */
int tls_preflight(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key, const TlsPreflightOptions *options,
                  TlsPreflightFailure *ret_failure);

/* The body of the Certificate message that serves leaf and chain in version: what clients compare with their limit. */
size_t tls_certificate_list_size(X509 *leaf, STACK_OF(X509) *chain, int version);

/* "TLS 1.3", "TLS 1.2". */
const char *tls_version_name(int version);
