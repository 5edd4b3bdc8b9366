/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pre-flight handshake (tls-preflight.h): a server SSL and a client SSL
 * joined by a BIO pair, stepped in turn until both have finished or one
 * gives up. Nothing touches a socket or a file; the trust store is the
 * caller's.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>

#include <openssl/err.h>

#include "tls-preflight.h"
#include "tls-server.h"

/* What the BIO pair buffers in each direction: a Certificate message of a few hundred KiB passes in a few steps. */
#define PREFLIGHT_BIO_BUFFER (64 * 1024)
/* Steps of both sides; a handshake takes a handful, a 2 MiB chain a few dozen. */
#define PREFLIGHT_MAX_STEPS 4096

const char *tls_version_name(int version) {
        switch (version) {
        case TLS1_3_VERSION:
                return "TLS 1.3";
        case TLS1_2_VERSION:
                return "TLS 1.2";
        default:
                return "TLS";
        }
}

size_t tls_certificate_list_size(X509 *leaf, STACK_OF(X509) *chain, int version) {
        /* TLS 1.3: request context (1), list length (3), per entry length (3), DER, extensions (2). */
        size_t per_entry = version == TLS1_3_VERSION ? 5 : 3;
        size_t size = version == TLS1_3_VERSION ? 4 : 3;
        int n;

        n = i2d_X509(leaf, NULL);
        size += per_entry + (n > 0 ? (size_t) n : 0);
        for (int i = 0; i < sk_X509_num(chain); i++) {
                n = i2d_X509(sk_X509_value(chain, i), NULL);
                size += per_entry + (n > 0 ? (size_t) n : 0);
        }
        return size;
}

/* The client checks the name as a browser would: an IP literal as an address, a DNS name without its trailing dot. */
static int client_set_name(SSL *client, const char *server_name) {
        X509_VERIFY_PARAM *param = SSL_get0_param(client);
        unsigned char ip[16];
        char buf[256];
        size_t n;

        if (!server_name || !*server_name)
                return 0;
        n = strlen(server_name);
        if (n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, server_name, n + 1);
        if (n >= 2 && buf[0] == '[' && buf[n - 1] == ']') {
                buf[n - 1] = 0;
                memmove(buf, buf + 1, n - 1);
        }
        if (inet_pton(AF_INET, buf, ip) == 1 || inet_pton(AF_INET6, buf, ip) == 1)
                return X509_VERIFY_PARAM_set1_ip_asc(param, buf) == 1 ? 0 : -ENOMEM;

        n = strlen(buf);
        if (n > 1 && buf[n - 1] == '.')
                buf[n - 1] = 0;
        if (SSL_set_tlsext_host_name(client, buf) != 1 || SSL_set1_host(client, buf) != 1)
                return -ENOMEM;
        return 0;
}

/* One step of one side: 1 finished, 0 wants more, -1 gave up (with *ret_error its OpenSSL error). */
static int step(SSL *ssl, unsigned long *ret_error) {
        int rc, e;

        ERR_clear_error();
        rc = SSL_do_handshake(ssl);
        if (rc == 1)
                return 1;
        e = SSL_get_error(ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
        *ret_error = ERR_peek_last_error();
        return -1;
}

static void failure_reason(TlsPreflightFailure *f) {
        const char *s = NULL;

        if (!f->server && f->verify_result != X509_V_OK)
                s = X509_verify_cert_error_string(f->verify_result);
        else if (f->error != 0)
                s = ERR_reason_error_string(f->error);
        (void) snprintf(f->reason, sizeof(f->reason), "%s", s ?: "the handshake did not complete");
}

static int attempt(SSL_CTX *server_ctx, int version, size_t certificate_list, const TlsPreflightOptions *o,
                   TlsPreflightFailure *f) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *client_ctx = NULL;
        _cleanup_(SSL_freep) SSL *client = NULL, *server = NULL;
        BIO *client_bio = NULL, *server_bio = NULL;
        bool client_done = false, server_done = false;
        int r;

        /* OpenSSL's defaults, the version pinned: a client as clients come. */
        client_ctx = SSL_CTX_new(TLS_client_method());
        if (!client_ctx)
                return -ENOMEM;
        if (SSL_CTX_set_min_proto_version(client_ctx, version) != 1 ||
            SSL_CTX_set_max_proto_version(client_ctx, version) != 1)
                return -EIO;
        SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
        if (o->trust)
                SSL_CTX_set1_cert_store(client_ctx, o->trust);

        client = SSL_new(client_ctx);
        server = SSL_new(server_ctx);
        if (!client || !server)
                return -ENOMEM;

        X509_VERIFY_PARAM *param = SSL_get0_param(client);
        if (o->verify_flags != 0 && X509_VERIFY_PARAM_set_flags(param, o->verify_flags) != 1)
                return -ENOMEM;
        if (o->now > 0)
                X509_VERIFY_PARAM_set_time(param, o->now);
        r = client_set_name(client, o->server_name);
        if (r < 0)
                return r;

        if (BIO_new_bio_pair(&client_bio, PREFLIGHT_BIO_BUFFER, &server_bio, PREFLIGHT_BIO_BUFFER) != 1)
                return -ENOMEM;
        SSL_set_bio(client, client_bio, client_bio);
        SSL_set_bio(server, server_bio, server_bio);
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);

        for (unsigned i = 0; i < PREFLIGHT_MAX_STEPS && !(client_done && server_done); i++) {
                unsigned long error = 0;

                if (!client_done) {
                        r = step(client, &error);
                        if (r < 0) {
                                *f = (TlsPreflightFailure) {
                                        .version = version,
                                        .error = error,
                                        .verify_result = SSL_get_verify_result(client),
                                        .certificate_list = certificate_list,
                                };
                                failure_reason(f);
                                return -EBADMSG;
                        }
                        client_done = r > 0;
                }
                if (!server_done) {
                        r = step(server, &error);
                        if (r < 0) {
                                *f = (TlsPreflightFailure) {
                                        .version = version,
                                        .server = true,
                                        .error = error,
                                        .verify_result = X509_V_OK,
                                        .certificate_list = certificate_list,
                                };
                                failure_reason(f);
                                return -EBADMSG;
                        }
                        server_done = r > 0;
                }
        }
        ERR_clear_error();

        if (!client_done || !server_done) {
                *f = (TlsPreflightFailure) { .version = version, .certificate_list = certificate_list };
                failure_reason(f);
                return -EBADMSG;
        }
        return 0;
}

int tls_preflight(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key, const TlsPreflightOptions *options,
                  TlsPreflightFailure *ret_failure) {
        static const TlsPreflightOptions defaults = {};
        static const int versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };
        _cleanup_(SSL_CTX_freep) SSL_CTX *server_ctx = NULL;
        const TlsPreflightOptions *o = options ?: &defaults;
        TlsPreflightFailure dummy;
        TlsServerStep where;
        int r;

        assert(leaf);
        assert(key);

        if (!ret_failure)
                ret_failure = &dummy;

        ERR_clear_error();
        r = tls_server_context_new(leaf, chain, key, &server_ctx, &where);
        if (r == -EBADMSG) {
                *ret_failure = (TlsPreflightFailure) {
                        .server = true,
                        .setup = true,
                        .error = ERR_peek_last_error(),
                        .verify_result = X509_V_OK,
                };
                failure_reason(ret_failure);
                ERR_clear_error();
                return r;
        }
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                r = attempt(server_ctx, versions[i], tls_certificate_list_size(leaf, chain, versions[i]), o,
                            ret_failure);
                ERR_clear_error();
                if (r < 0)
                        return r;
        }
        return 0;
}
