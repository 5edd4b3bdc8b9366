/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one way a certificate becomes a TLS server context (tls-server.h).
 * No I/O, no verification of the chain: the caller validated it.
 */

#include <assert.h>

#include "tls-server.h"

int tls_server_context_new(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key,
                           SSL_CTX **ret, TlsServerStep *ret_step) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        TlsServerStep dummy;

        assert(leaf);
        assert(key);
        assert(ret);

        if (!ret_step)
                ret_step = &dummy;
        *ret_step = TLS_SERVER_STEP_NONE;

        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx)
                return -ENOMEM;

        if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
                *ret_step = TLS_SERVER_STEP_CERTIFICATE;
                return -EBADMSG;
        }
        for (int i = 0; i < sk_X509_num(chain); i++)
                if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1) {
                        *ret_step = TLS_SERVER_STEP_CHAIN;
                        return -EBADMSG;
                }
        if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
                *ret_step = TLS_SERVER_STEP_KEY;
                return -EBADMSG;
        }

        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        /* A partial SSL_write is retried later with the same buffer at another address after a realloc. */
        SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

        *ret = TAKE_PTR(ctx);
        return 0;
}
