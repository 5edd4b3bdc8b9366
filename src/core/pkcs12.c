/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PKCS#12 into a CertBundle (pkcs12.h). The MAC is checked before anything
 * is decrypted: it tells a wrong password apart from a file that the default
 * provider cannot decrypt (RC2-40 and the other legacy algorithms of older
 * exports), which get different advice.
 */

#include <errno.h>
#include <limits.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "macro.h"
#include "pkcs12.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(PKCS12 *, PKCS12_free);

static bool self_signed(X509 *x) {
        return X509_check_issued(x, x) == X509_V_OK;
}

/* Did the last failure come from an algorithm the loaded providers do not have? */
static bool error_unsupported(void) {
        unsigned long e;
        bool unsupported = false;

        while ((e = ERR_get_error()) != 0)
                if (ERR_GET_REASON(e) == ERR_R_UNSUPPORTED || ERR_GET_REASON(e) == EVP_R_UNSUPPORTED_ALGORITHM)
                        unsupported = true;
        return unsupported;
}

/* PKCS#12 tells "no password" (NULL) from "" apart; an empty password given means either. */
static const char *password_that_fits(PKCS12 *p12, const char *password) {
        if (!PKCS12_mac_present(p12))
                return password;
        if (PKCS12_verify_mac(p12, password, -1) == 1)
                return password;
        if (isempty(password) && PKCS12_verify_mac(p12, NULL, 0) == 1)
                return NULL;
        return (const char *) -1;
}

int pkcs12_read_bundle(const void *data, size_t size, const char *password, CertBundle **ret, CertProblem *problem) {
        _cleanup_(PKCS12_freep) PKCS12 *p12 = NULL;
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        STACK_OF(X509) *extra = NULL;
        const unsigned char *p = data;
        const char *pass;
        int r = 0;

        if (size == 0 || size > INT_MAX)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the PKCS#12 file is empty or too large");
        p12 = d2i_PKCS12(NULL, &p, (long) size);
        if (!p12 || p != (const unsigned char *) data + size) {
                ERR_clear_error();
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "the file is not PKCS#12 (.p12/.pfx); PEM files go to Install instead");
        }

        pass = password_that_fits(p12, password);
        if (pass == (const char *) -1) {
                if (error_unsupported())
                        goto legacy;
                return cert_problem_set(problem, CERT_ERROR_ENCRYPTED_KEY, "the PKCS#12 password is wrong");
        }

        b = cert_bundle_new();
        if (!b)
                return -ENOMEM;
        if (PKCS12_parse(p12, pass, &b->key, &b->leaf, &extra) != 1) {
                if (error_unsupported())
                        goto legacy;
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the PKCS#12 file cannot be read");
        }

        for (int i = 0; extra && i < sk_X509_num(extra); i++) {
                X509 *x = sk_X509_value(extra, i);
                /* A CA inside the file is the authority; without one the system trust store is. */
                if (sk_X509_push(self_signed(x) ? b->authority : b->chain, x) <= 0) {
                        r = -ENOMEM;
                        break;
                }
                (void) sk_X509_set(extra, i, NULL);
        }
        sk_X509_pop_free(extra, X509_free);
        if (r < 0)
                return r;

        /* The key first: without one, OpenSSL cannot tell the leaf from the others either. */
        if (!b->key)
                return cert_problem_set(problem, CERT_ERROR_MISSING_KEY,
                                        "the PKCS#12 file holds no private key: export it with its key");
        if (!b->leaf)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "the PKCS#12 file holds no certificate for its key");
        *ret = TAKE_PTR(b);
        return 0;

legacy:
        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                "the PKCS#12 file is encrypted with a legacy algorithm (RC2, as older exports use), "
                                "which OpenSSL 3 reads only with its legacy provider: re-export it with AES "
                                "(Windows: \"AES256-SHA256\"; OpenSSL: 'openssl pkcs12 -legacy -in OLD.p12 -nodes | "
                                "openssl pkcs12 -export -out NEW.p12')");
}
