/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * ServingContext: loading a certificate/key pair from a store directory into
 * a server SSL_CTX. The pair is checked the way a TLS server needs it (the
 * key matches the leaf); it is deliberately not validated again (chain,
 * names, expiry): vertex-certd did that before it committed the generation,
 * and an endpoint refusing a certificate the agent accepted would only turn
 * a policy question into an outage.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "endpoint-tls.h"
#include "tls-server.h"
#include "trusted-pem.h"


static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...) {
        char ossl[256] = "";
        unsigned long e;
        char *msg = NULL;
        int saved_errno = errno;
        va_list ap;
        int k;

        /* The last OpenSSL error is the most specific one. */
        e = ERR_peek_last_error();
        if (e != 0)
                ERR_error_string_n(e, ossl, sizeof(ossl));
        ERR_clear_error();

        if (!ret_error)
                return r;

        errno = saved_errno;  /* for %m */
        va_start(ap, format);
        k = vasprintf(&msg, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        if (*ossl) {
                char *t = NULL;

                k = asprintf(&t, "%s: %s", msg, ossl);
                free(msg);
                if (k < 0)
                        return -ENOMEM;
                msg = t;
        }

        free(*ret_error);
        *ret_error = msg;
        return r;
}

int serving_context_load(const char *directory, ServingContext **ret, char **ret_error) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *origin = NULL;
        _cleanup_x509_stack_ STACK_OF(X509) *chain = NULL;
        _cleanup_(X509_freep) X509 *leaf = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        int r;

        assert(directory);
        assert(ret);

        ERR_clear_error();

        dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return set_error(ret_error, negative_errno(), "Failed to open directory '%s': %m", directory);

        /* Where `current` pointed when we opened it: shown in STATUS= and the log. */
        origin = realpath(directory, NULL);

        /* Files first, then what is in them: a missing file is named before a bad one. */
        int chain_r = trusted_pem_load_certificates_at(dfd, "fullchain.pem", &chain);
        if (chain_r < 0 && chain_r != -EBADMSG) {
                errno = -chain_r;
                return set_error(ret_error, chain_r, "Failed to read '%s/fullchain.pem': %m", directory);
        }

        r = trusted_pem_load_key_at(dfd, "key.pem", &pkey);
        if (r == -EBADMSG)
                return set_error(ret_error, r, "No usable private key in '%s/key.pem'", directory);
        if (r < 0) {
                errno = -r;
                return set_error(ret_error, r, "Failed to read '%s/key.pem': %m", directory);
        }

        if (chain_r < 0 || sk_X509_num(chain) == 0)
                return set_error(ret_error, -EBADMSG, "No certificate in '%s/fullchain.pem'", directory);

        leaf = sk_X509_shift(chain);

        /* Set up as the pre-flight handshake of vertex-certd sets up its server (tls-server.c). */
        TlsServerStep step;
        r = tls_server_context_new(leaf, chain, pkey, &ctx, &step);
        if (r == -ENOMEM)
                return set_error(ret_error, r, "Failed to allocate TLS context");
        if (r < 0)
                switch (step) {
                case TLS_SERVER_STEP_CHAIN:
                        return set_error(ret_error, r, "Intermediate certificate in '%s/fullchain.pem' is not usable",
                                         directory);
                case TLS_SERVER_STEP_KEY:
                        return set_error(ret_error, r,
                                         "Private key in '%s/key.pem' does not match the certificate", directory);
                default:
                        return set_error(ret_error, r, "Certificate in '%s/fullchain.pem' is not usable", directory);
                }

        _cleanup_free_ ServingContext *sc = calloc(1, sizeof(ServingContext));
        if (!sc)
                return -ENOMEM;
        r = cert_fingerprint(leaf, sc->fingerprint);
        if (r < 0)
                return set_error(ret_error, r, "Failed to compute the certificate fingerprint");
        sc->n_ref = 1;
        sc->ctx = TAKE_PTR(ctx);
        sc->origin = TAKE_PTR(origin);

        *ret = TAKE_PTR(sc);
        return 0;
}

ServingContext *serving_context_ref(ServingContext *sc) {
        if (!sc)
                return NULL;
        assert(sc->n_ref > 0);
        sc->n_ref++;
        return sc;
}

ServingContext *serving_context_unref(ServingContext *sc) {
        if (!sc)
                return NULL;
        assert(sc->n_ref > 0);
        if (--sc->n_ref > 0)
                return NULL;
        SSL_CTX_free(sc->ctx);
        free(sc->origin);
        free(sc);
        return NULL;
}
