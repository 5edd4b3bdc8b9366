/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TLS server context every endpoint serves with: one place that says
 * how a certificate, its intermediates and its key become an SSL_CTX, used
 * by vertex-endpoint (endpoint-tls.c) and by the pre-flight handshake
 * (tls-preflight.c), so that what the pre-flight accepts is what an
 * endpoint serves.
 */

#include <openssl/ssl.h>

#include "openssl-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL *, SSL_free);

/* Which step refused the material, for the caller's message. */
typedef enum TlsServerStep {
        TLS_SERVER_STEP_NONE,
        TLS_SERVER_STEP_CERTIFICATE,   /* SSL_CTX_use_certificate() */
        TLS_SERVER_STEP_CHAIN,         /* an intermediate */
        TLS_SERVER_STEP_KEY,           /* the key, or its match with the certificate */
} TlsServerStep;

/*
 * A server SSL_CTX serving leaf, then chain (intermediates in the order
 * given; references are taken, the caller keeps its own), with key: TLS 1.2
 * and 1.3, no renegotiation, the server's cipher preference. Returns 0;
 * -EBADMSG with *ret_step saying which part OpenSSL refused (its error stays
 * queued for the caller); -ENOMEM.
 */
int tls_server_context_new(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key,
                           SSL_CTX **ret, TlsServerStep *ret_step);
