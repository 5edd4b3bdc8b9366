/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PEM reading: every accepted form and every bad input, with the code and
 * the message asserted.
 */

#include <glib.h>

#include <openssl/pem.h>

#include "pem.h"
#include "pki.h"

#define SERVER "console.example.com"

static PkiChain *chain;

static size_t len0(const char *s) {
        return s ? strlen(s) : 0;
}

static CertBundle *assert_read(const char *cert, const char *key, const char *ca) {
        CertBundle *b = NULL;
        CertProblem p = {};
        int r = pem_read_bundle(cert, len0(cert), key, len0(key), ca, len0(ca), NULL, &b, &p);
        if (r < 0)
                g_test_message("unexpected refusal: %s: %s", cert_error_name(p.code), p.message);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpint(p.code, ==, CERT_OK);
        g_assert_nonnull(b);
        return b;
}

static void assert_refused_bytes(const void *cert, size_t cert_size, const void *key, size_t key_size,
                                 const void *ca, size_t ca_size, const PemLimits *limits,
                                 CertErrorCode code, const char *needle) {
        CertBundle *b = NULL;
        CertProblem p = {};
        int r = pem_read_bundle(cert, cert_size, key, key_size, ca, ca_size, limits, &b, &p);
        g_test_message("%s: %s", cert_error_name(p.code), p.message);
        g_assert_cmpint(r, ==, -EBADMSG);
        g_assert_null(b);
        g_assert_cmpstr(cert_error_name(p.code), ==, cert_error_name(code));
        g_assert_nonnull(strstr(p.message, needle));
}

static void assert_refused(const char *cert, const char *key, const char *ca, CertErrorCode code, const char *needle) {
        assert_refused_bytes(cert, len0(cert), key, len0(key), ca, len0(ca), NULL, code, needle);
}

/* ---------------------------------------------------------- accepted */

static void test_separate(void) {
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->fullchain_pem, chain->key_pem, chain->root_pem);

        g_assert_true(X509_cmp(b->leaf, chain->leaf) == 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), chain->intermediate) == 0);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->authority, 0), chain->root) == 0);
        g_assert_true(EVP_PKEY_eq(b->key, chain->leaf_key) == 1);
}

static void test_any_order(void) {
        /* Key first, then the chain backwards, then the leaf, all in one input. */
        _cleanup_free_ char *all = pki_strcat(chain->key_pem, chain->root_pem, chain->intermediate_pem,
                                              chain->leaf_pem, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(all, NULL, NULL);

        g_assert_true(X509_cmp(b->leaf, chain->leaf) == 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->authority, 0), chain->root) == 0);
        g_assert_nonnull(b->key);
}

static void test_crlf(void) {
        _cleanup_free_ char *cert = pki_to_crlf(chain->fullchain_pem);
        _cleanup_free_ char *key = pki_to_crlf(chain->key_pem);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(cert, key, NULL);
        g_assert_true(X509_cmp(b->leaf, chain->leaf) == 0);
        g_assert_nonnull(b->key);
}

static void test_text_around(void) {
        _cleanup_free_ char *cert = pki_strcat("Bag Attributes\n    friendlyName: console\n"
                                               "subject=CN = console.example.com\nissuer=whatever\n",
                                               chain->leaf_pem, "some text ----- in between\n",
                                               chain->intermediate_pem, "trailing words", NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(cert, chain->key_pem, NULL);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
}

static void test_missing_key_ok(void) {
        /* No key is not pem's business: validate reports MissingKey. */
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->fullchain_pem, NULL, NULL);
        g_assert_null(b->key);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 0);
}

static void test_traditional_keys(void) {
        _cleanup_free_ char *rsa = pki_key_pem_traditional(chain->leaf_key, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->fullchain_pem, rsa, NULL);
        g_assert_true(EVP_PKEY_eq(b->key, chain->leaf_key) == 1);

        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ec = pki_key_pooled(PKI_KEY_EC384, 2);
        _cleanup_free_ char *ecpem = pki_key_pem_traditional(ec, NULL);
        _cleanup_free_ char *p8 = pki_key_pem(ec, NULL);
        g_assert_nonnull(strstr(ecpem, "BEGIN EC PRIVATE KEY"));
        _cleanup_(cert_bundle_freep) CertBundle *b2 = assert_read(chain->fullchain_pem, ecpem, NULL);
        g_assert_true(EVP_PKEY_eq(b2->key, ec) == 1);
        _cleanup_(cert_bundle_freep) CertBundle *b3 = assert_read(chain->fullchain_pem, p8, NULL);
        g_assert_true(EVP_PKEY_eq(b3->key, ec) == 1);

        /* `openssl ecparam -genkey` puts EC PARAMETERS before the key: ignored. */
        _cleanup_free_ char *withparams = pki_strcat("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                                                     "-----END EC PARAMETERS-----\n", ecpem, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b4 = assert_read(chain->fullchain_pem, withparams, NULL);
        g_assert_true(EVP_PKEY_eq(b4->key, ec) == 1);
}

static void test_same_key_twice(void) {
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->bundle_pem, chain->key_pem, NULL);
        g_assert_true(EVP_PKEY_eq(b->key, chain->leaf_key) == 1);
}

static void test_ca_bundle_authority(void) {
        /* A CA's bundle (intermediate + root) as the authority: the intermediate joins the chain. */
        _cleanup_free_ char *ca = pki_strcat(chain->intermediate_pem, chain->root_pem, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->leaf_pem, chain->key_pem, ca);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), chain->intermediate) == 0);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->authority, 0), chain->root) == 0);
}

static void test_lone_ca_stays_leaf(void) {
        /* A single self-signed CA certificate is the leaf (validate then refuses it as a CA). */
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_read(chain->root_pem, NULL, NULL);
        g_assert_true(X509_cmp(b->leaf, chain->root) == 0);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 0);
}

static void test_read_certificates(void) {
        STACK_OF(X509) *certs = NULL;
        CertProblem p = {};

        g_assert_cmpint(pem_read_certificates(chain->bundle_pem, strlen(chain->bundle_pem), NULL, &certs, &p), ==, 0);
        g_assert_cmpint(sk_X509_num(certs), ==, 3);
        g_assert_true(X509_cmp(sk_X509_value(certs, 0), chain->leaf) == 0);
        g_assert_true(X509_cmp(sk_X509_value(certs, 2), chain->root) == 0);
        sk_X509_pop_free(certs, X509_free);

        /* Keys (even encrypted ones) are skipped. */
        _cleanup_free_ char *enc = pki_key_pem(chain->leaf_key, "pw");
        _cleanup_free_ char *mixed = pki_strcat(enc, chain->leaf_pem, NULL);
        certs = NULL;
        g_assert_cmpint(pem_read_certificates(mixed, strlen(mixed), NULL, &certs, &p), ==, 0);
        g_assert_cmpint(sk_X509_num(certs), ==, 1);
        sk_X509_pop_free(certs, X509_free);

        certs = NULL;
        g_assert_cmpint(pem_read_certificates(chain->key_pem, strlen(chain->key_pem), NULL, &certs, &p), ==, -EBADMSG);
        g_assert_cmpint(p.code, ==, CERT_ERROR_MALFORMED);
        g_assert_nonnull(strstr(p.message, "the certificate input holds no certificate"));
        g_assert_null(certs);

        g_assert_cmpint(pem_read_certificates("", 0, NULL, &certs, &p), ==, -EBADMSG);
        g_assert_nonnull(strstr(p.message, "the certificate input is empty"));
}

/* ------------------------------------------------- key decoding paths */

/* A PEM block with any label around any bytes. */
static char *pem_block(const char *label, const unsigned char *der, size_t size) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data, *s;
        long n;

        g_assert_nonnull(bio);
        g_assert_cmpint(PEM_write_bio(bio, label, "", der, (long) size), >, 0);
        n = BIO_get_mem_data(bio, &data);
        s = g_strndup(data, (gsize) n);
        BIO_free(bio);
        return s;
}

/* The private key as DER: for comparing keys whole (EVP_PKEY_eq only compares the public half). */
static GBytes *key_der(EVP_PKEY *k) {
        unsigned char *der = NULL;
        int n = i2d_PrivateKey(k, &der);
        g_assert_cmpint(n, >, 0);
        GBytes *b = g_bytes_new(der, (gsize) n);
        OPENSSL_clear_free(der, (size_t) n);
        return b;
}

static void assert_same_key(EVP_PKEY *a, EVP_PKEY *b) {
        GBytes *da = key_der(a), *db = key_der(b);
        g_assert_true(g_bytes_equal(da, db));
        g_bytes_unref(da);
        g_bytes_unref(db);
}

/* Reads `key_pem` with a leaf; returns the key (new reference) or NULL with *problem set. */
static EVP_PKEY *read_key(const char *key_pem, size_t key_size, CertProblem *problem) {
        CertBundle *b = NULL;
        EVP_PKEY *k = NULL;

        if (pem_read_bundle(chain->leaf_pem, strlen(chain->leaf_pem), key_pem, key_size, NULL, 0, NULL,
                            &b, problem) < 0)
                return NULL;
        g_assert_nonnull(b->key);
        k = b->key;
        g_assert_cmpint(EVP_PKEY_up_ref(k), ==, 1);
        cert_bundle_free(b);
        return k;
}

static void test_keys_in_a_row(void) {
        static const PkiKeyType types[] = { PKI_KEY_RSA2048, PKI_KEY_EC256, PKI_KEY_RSA3072, PKI_KEY_EC384 };
        const unsigned char junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x05 };
        _cleanup_free_ char *junk_rsa = pem_block("RSA PRIVATE KEY", junk, sizeof(junk));
        _cleanup_free_ char *junk_p8 = pem_block("PRIVATE KEY", junk, sizeof(junk));
        _cleanup_free_ char *encrypted = pki_key_pem(chain->leaf_key, "secret");

        /*
         * Every key type in both forms, three times over, with refused keys in
         * between: the decoders reused from one call to the next must give each
         * key whole, and a refusal must not disturb the next key.
         */
        for (unsigned round = 0; round < 3; round++)
                for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                        _cleanup_(EVP_PKEY_freep) EVP_PKEY *want = pki_key_pooled(types[i], 3);
                        _cleanup_free_ char *p8 = pki_key_pem(want, NULL);
                        _cleanup_free_ char *trad = pki_key_pem_traditional(want, NULL);

                        for (unsigned form = 0; form < 2; form++) {
                                const char *pem = form == 0 ? p8 : trad;
                                CertProblem p = {};
                                _cleanup_(EVP_PKEY_freep) EVP_PKEY *got = read_key(pem, strlen(pem), &p);

                                if (!got)
                                        g_test_message("unexpected refusal: %s", p.message);
                                g_assert_nonnull(got);
                                assert_same_key(got, want);

                                assert_refused(chain->leaf_pem, form == 0 ? junk_p8 : junk_rsa, NULL,
                                               CERT_ERROR_MALFORMED,
                                               form == 0 ? "(line 1) is corrupt: not a valid PRIVATE KEY"
                                                         : "(line 1) is corrupt: not a valid RSA PRIVATE KEY");
                                if (round == 1)
                                        assert_refused(chain->leaf_pem, encrypted, NULL, CERT_ERROR_ENCRYPTED_KEY,
                                                       "(ENCRYPTED PRIVATE KEY)");
                        }
                }
}

static void test_key_label_mismatch(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ec = pki_key_pooled(PKI_KEY_EC256, 3);
        unsigned char *p8 = NULL, *pkcs1 = NULL, *ec_p8 = NULL;
        int n_p8, n_pkcs1, n_ec_p8;

        {
                PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(chain->leaf_key);
                n_p8 = i2d_PKCS8_PRIV_KEY_INFO(info, &p8);
                PKCS8_PRIV_KEY_INFO_free(info);
                info = EVP_PKEY2PKCS8(ec);
                n_ec_p8 = i2d_PKCS8_PRIV_KEY_INFO(info, &ec_p8);
                PKCS8_PRIV_KEY_INFO_free(info);
        }
        n_pkcs1 = i2d_PrivateKey(chain->leaf_key, &pkcs1);
        g_assert_cmpint(n_p8, >, 0);
        g_assert_cmpint(n_ec_p8, >, 0);
        g_assert_cmpint(n_pkcs1, >, 0);

        /* OpenSSL reads a PKCS#8 RSA key under the PKCS#1 label too: still accepted, by the slow path. */
        _cleanup_free_ char *p8_as_rsa = pem_block("RSA PRIVATE KEY", p8, (size_t) n_p8);
        CertProblem p = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *got = read_key(p8_as_rsa, strlen(p8_as_rsa), &p);
        g_assert_nonnull(got);
        assert_same_key(got, chain->leaf_key);

        /* A key of the wrong type for its label is refused. */
        _cleanup_free_ char *rsa_as_ec = pem_block("EC PRIVATE KEY", pkcs1, (size_t) n_pkcs1);
        assert_refused(chain->leaf_pem, rsa_as_ec, NULL, CERT_ERROR_MALFORMED, "is corrupt: not a valid EC PRIVATE KEY");
        _cleanup_free_ char *ec_p8_as_rsa = pem_block("RSA PRIVATE KEY", ec_p8, (size_t) n_ec_p8);
        assert_refused(chain->leaf_pem, ec_p8_as_rsa, NULL, CERT_ERROR_MALFORMED,
                       "is corrupt: not a valid RSA PRIVATE KEY");
        /* And PKCS#1 is not PKCS#8. */
        _cleanup_free_ char *pkcs1_as_p8 = pem_block("PRIVATE KEY", pkcs1, (size_t) n_pkcs1);
        assert_refused(chain->leaf_pem, pkcs1_as_p8, NULL, CERT_ERROR_MALFORMED, "is corrupt: not a valid PRIVATE KEY");

        OPENSSL_clear_free(p8, (size_t) n_p8);
        OPENSSL_clear_free(ec_p8, (size_t) n_ec_p8);
        OPENSSL_clear_free(pkcs1, (size_t) n_pkcs1);
}

/*
 * Keys read from several threads at once: each gets its own key, whole.
 * The threads share only immutable inputs (PEM text, expected DER), not
 * EVP_PKEY objects, whose encoding OpenSSL 3.0 does not promise to be
 * thread-safe.
 */
typedef struct ThreadKeys {
        const char *pem[4];     /* RSA PKCS#8, EC PKCS#8, RSA PKCS#1, EC SEC 1 */
        GBytes *der[2];         /* RSA, EC */
        unsigned start;
} ThreadKeys;

static gpointer read_keys_thread(gpointer data) {
        const ThreadKeys *t = data;

        for (unsigned i = t->start; i < t->start + 64; i++) {
                const char *pem = t->pem[i % 4];
                CertProblem p = {};
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *got = read_key(pem, strlen(pem), &p);

                g_assert_nonnull(got);
                GBytes *der = key_der(got);
                g_assert_true(g_bytes_equal(der, t->der[i % 2]));
                g_bytes_unref(der);
        }
        return NULL;
}

static void test_keys_from_threads(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = pki_key_pooled(PKI_KEY_RSA2048, 3);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ec = pki_key_pooled(PKI_KEY_EC256, 3);
        _cleanup_free_ char *rsa_p8 = pki_key_pem(rsa, NULL), *ec_p8 = pki_key_pem(ec, NULL);
        _cleanup_free_ char *rsa_trad = pki_key_pem_traditional(rsa, NULL), *ec_trad = pki_key_pem_traditional(ec, NULL);
        ThreadKeys t[8];
        GThread *threads[8];

        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                t[i] = (ThreadKeys) {
                        .pem = { rsa_p8, ec_p8, rsa_trad, ec_trad },
                        .der = { key_der(rsa), key_der(ec) },
                        .start = (unsigned) i,
                };
                threads[i] = g_thread_new("read-keys", read_keys_thread, &t[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                g_thread_join(threads[i]);
                g_bytes_unref(t[i].der[0]);
                g_bytes_unref(t[i].der[1]);
        }
}

/*
 * What pem.c did before it reused decoders, and what OpenSSL's documented
 * API does: the reference the fast path must agree with, key for key.
 */
static EVP_PKEY *reference_key(const char *label, const unsigned char *der, size_t size) {
        const unsigned char *p = der;

        if (streq(label, "RSA PRIVATE KEY"))
                return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long) size);
        if (streq(label, "EC PRIVATE KEY"))
                return d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long) size);

        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long) size);
        const ASN1_OBJECT *alg = NULL;
        EVP_PKEY *k = NULL;

        if (!p8)
                return NULL;
        if (PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) == 1) {
                int nid = OBJ_obj2nid(alg);
                p = der;
                if (nid == NID_rsaEncryption)
                        k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long) size);
                else if (nid == NID_X9_62_id_ecPublicKey)
                        k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long) size);
        }
        if (!k)
                k = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8);
        return k;
}

static void test_keys_agree_with_openssl(void) {
        static const struct {
                PkiKeyType type;
                bool traditional;
                const char *label;
        } forms[] = {
                { PKI_KEY_RSA2048, false, "PRIVATE KEY" },
                { PKI_KEY_RSA2048, true,  "RSA PRIVATE KEY" },
                { PKI_KEY_EC256,   false, "PRIVATE KEY" },
                { PKI_KEY_EC384,   true,  "EC PRIVATE KEY" },
        };
        unsigned accepted = 0, refused = 0;

        /*
         * Damaged keys (one byte changed at a time, or cut short) read by
         * pem.c and by the reference: the same ones accepted, giving the
         * same key, and the same ones refused.
         */
        for (size_t f = 0; f < ELEMENTSOF(forms); f++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = pki_key_pooled(forms[f].type, 3);
                unsigned char *der = NULL;
                int n;

                if (forms[f].traditional)
                        n = i2d_PrivateKey(key, &der);
                else {
                        PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(key);
                        n = i2d_PKCS8_PRIV_KEY_INFO(info, &der);
                        PKCS8_PRIV_KEY_INFO_free(info);
                }
                g_assert_cmpint(n, >, 0);
                size_t size = (size_t) n, step = MAX(size / 60, (size_t) 1);

                for (size_t i = 0; i < size + 4; i++) {
                        _cleanup_free_ unsigned char *bad = g_memdup2(der, size);
                        size_t bad_size = size;

                        if (i < size) {
                                if (i % step != 0 && i > 40)
                                        continue;
                                bad[i] ^= i % 2 == 0 ? 0x01 : 0x80;
                        } else
                                bad_size = (size_t[]) { size - 1, size / 2, 64, 8 }[i - size];

                        _cleanup_free_ char *pem = pem_block(forms[f].label, bad, bad_size);
                        _cleanup_(EVP_PKEY_freep) EVP_PKEY *want = reference_key(forms[f].label, bad, bad_size);
                        CertProblem p = {};
                        _cleanup_(EVP_PKEY_freep) EVP_PKEY *got = read_key(pem, strlen(pem), &p);

                        if (!!want != !!got)
                                g_test_message("%s, byte %zu: reference %s, pem.c %s (%s)", forms[f].label, i,
                                               want ? "accepts" : "refuses", got ? "accepts" : "refuses",
                                               p.message);
                        g_assert_cmpint(!!want, ==, !!got);
                        if (got) {
                                assert_same_key(got, want);
                                accepted++;
                        } else {
                                g_assert_cmpint(p.code, ==, CERT_ERROR_MALFORMED);
                                g_assert_nonnull(strstr(p.message, "is corrupt: not a valid"));
                                refused++;
                        }
                }
                OPENSSL_clear_free(der, size);
        }
        g_test_message("%u damaged keys accepted, %u refused, as the reference does", accepted, refused);
        /* Both outcomes are exercised, or the comparison says little. */
        g_assert_cmpuint(accepted, >, 10);
        g_assert_cmpuint(refused, >, 10);
}

/* ---------------------------------------------------------- refused */

static void test_empty(void) {
        assert_refused("", chain->key_pem, NULL, CERT_ERROR_MALFORMED, "the certificate input is empty");
        assert_refused(" \n\r\n\t", chain->key_pem, NULL, CERT_ERROR_MALFORMED, "the certificate input is empty");
        assert_refused_bytes(NULL, 0, NULL, 0, NULL, 0, NULL, CERT_ERROR_MALFORMED, "the certificate input is empty");
}

static void test_garbage(void) {
        assert_refused("this is not a certificate\n", NULL, NULL, CERT_ERROR_MALFORMED,
                       "the certificate input holds no PEM block (no '-----BEGIN CERTIFICATE-----' line)");
        assert_refused(chain->fullchain_pem, "hunter2\n", NULL, CERT_ERROR_MALFORMED,
                       "the private key input holds no PEM block (no '-----BEGIN PRIVATE KEY-----' line)");
        assert_refused(chain->fullchain_pem, chain->key_pem, "garbage", CERT_ERROR_MALFORMED,
                       "the authority input holds no PEM block");
        const unsigned char binary[] = { 0x30, 0x03, 0x02, 0x01, 0x05, 0xff };
        assert_refused_bytes(binary, sizeof(binary), NULL, 0, NULL, 0, NULL, CERT_ERROR_MALFORMED,
                             "the certificate input is binary data");
}

static void test_corrupt_block(void) {
        _cleanup_free_ char *bad = g_strdup(chain->leaf_pem);
        /* Flip base64 characters in the middle of the body. */
        char *mid = bad + strlen(bad) / 2;
        mid[0] = mid[0] == 'A' ? 'B' : 'A';
        mid[1] = '!';
        assert_refused(bad, NULL, NULL, CERT_ERROR_MALFORMED,
                       "certificate 1 of the certificate input (line 1) is corrupt");

        _cleanup_free_ char *badkey = g_strdup(chain->key_pem);
        badkey[40] = '*';
        assert_refused(chain->fullchain_pem, badkey, NULL, CERT_ERROR_MALFORMED,
                       "the private key in the private key input (line 1) is corrupt");
}

static void test_truncated(void) {
        size_t n = strlen(chain->leaf_pem);
        _cleanup_free_ char *cut = g_strndup(chain->leaf_pem, n - 40);
        _cleanup_free_ char *two = pki_strcat(chain->leaf_pem, cut, NULL);
        assert_refused(cut, NULL, NULL, CERT_ERROR_MALFORMED,
                       "the certificate input is truncated: the 'CERTIFICATE' block starting on line 1 has no END line");
        assert_refused(two, NULL, NULL, CERT_ERROR_MALFORMED, "block starting on line");

        _cleanup_free_ char *keycut = g_strndup(chain->key_pem, strlen(chain->key_pem) / 2);
        assert_refused(chain->fullchain_pem, keycut, NULL, CERT_ERROR_MALFORMED,
                       "the private key input is truncated: the 'PRIVATE KEY' block");

        assert_refused("-----BEGIN CERTIF", NULL, NULL, CERT_ERROR_MALFORMED, "is truncated");
}

static void test_der(void) {
        size_t n;
        _cleanup_free_ unsigned char *der = pki_cert_der(chain->leaf, &n);
        assert_refused_bytes(der, n, NULL, 0, NULL, 0, NULL, CERT_ERROR_MALFORMED,
                             "the certificate input is DER, not PEM: convert it with 'openssl x509 -inform der -in FILE");

        unsigned char *kder = NULL;
        int kn = i2d_PrivateKey(chain->leaf_key, &kder);
        g_assert_cmpint(kn, >, 0);
        assert_refused_bytes(chain->fullchain_pem, strlen(chain->fullchain_pem), kder, (size_t) kn, NULL, 0, NULL,
                             CERT_ERROR_MALFORMED, "the private key input is a DER private key, not PEM");
        OPENSSL_clear_free(kder, (size_t) kn);

        assert_refused_bytes(chain->fullchain_pem, strlen(chain->fullchain_pem), chain->key_pem,
                             strlen(chain->key_pem), der, n, NULL, CERT_ERROR_MALFORMED,
                             "the authority input is DER, not PEM");
}

static void test_pkcs12(void) {
        size_t n;
        STACK_OF(X509) *extra = sk_X509_new_null();
        g_assert_nonnull(extra);
        g_assert_cmpint(sk_X509_push(extra, chain->intermediate), >, 0);
        _cleanup_free_ unsigned char *p12 = pki_pkcs12(chain->leaf, chain->leaf_key, extra, "secret", &n);
        sk_X509_free(extra);

        assert_refused_bytes(p12, n, NULL, 0, NULL, 0, NULL, CERT_ERROR_MALFORMED,
                             "the certificate input looks like PKCS#12 (.p12/.pfx): extract it with 'openssl pkcs12 -nodes");
        assert_refused_bytes(chain->fullchain_pem, strlen(chain->fullchain_pem), p12, n, NULL, 0, NULL,
                             CERT_ERROR_MALFORMED, "the private key input looks like PKCS#12");
}

static void test_encrypted_key(void) {
        _cleanup_free_ char *p8 = pki_key_pem(chain->leaf_key, "secret");
        _cleanup_free_ char *trad = pki_key_pem_traditional(chain->leaf_key, "secret");
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ec = pki_key_pooled(PKI_KEY_EC256, 2);
        _cleanup_free_ char *ectrad = pki_key_pem_traditional(ec, "secret");

        assert_refused(chain->fullchain_pem, p8, NULL, CERT_ERROR_ENCRYPTED_KEY,
                       "the private key in the private key input is encrypted (ENCRYPTED PRIVATE KEY)");
        assert_refused(chain->fullchain_pem, trad, NULL, CERT_ERROR_ENCRYPTED_KEY,
                       "the private key in the private key input is encrypted (Proc-Type: 4,ENCRYPTED)");
        assert_refused(chain->fullchain_pem, ectrad, NULL, CERT_ERROR_ENCRYPTED_KEY, "(Proc-Type: 4,ENCRYPTED)");

        /* In a combined file too. */
        _cleanup_free_ char *combined = pki_strcat(chain->fullchain_pem, p8, NULL);
        assert_refused(combined, NULL, NULL, CERT_ERROR_ENCRYPTED_KEY,
                       "the private key in the certificate input is encrypted");
}

static void test_two_keys(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *other = pki_key_pooled(PKI_KEY_EC256, 4);
        _cleanup_free_ char *other_pem = pki_key_pem(other, NULL);
        _cleanup_free_ char *both = pki_strcat(chain->key_pem, other_pem, NULL);
        _cleanup_free_ char *combined = pki_strcat(chain->fullchain_pem, other_pem, NULL);

        assert_refused(chain->fullchain_pem, both, NULL, CERT_ERROR_MALFORMED,
                       "the private key input holds more than one private key");
        assert_refused(combined, chain->key_pem, NULL, CERT_ERROR_MALFORMED,
                       "more than one private key was given (in the private key input and in the certificate input)");
}

static void test_no_certificate(void) {
        assert_refused(chain->key_pem, NULL, NULL, CERT_ERROR_MALFORMED, "the certificate input holds no certificate");
        assert_refused(chain->fullchain_pem, chain->key_pem, chain->key_pem, CERT_ERROR_MALFORMED,
                       "the authority input holds no certificate");
}

static void test_other_blocks(void) {
        assert_refused("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n", NULL, NULL,
                       CERT_ERROR_MALFORMED, "holds a certificate signing request (CSR), not a certificate");
        assert_refused("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", NULL, NULL,
                       CERT_ERROR_MALFORMED, "holds a public key");
        assert_refused("-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n", NULL, NULL,
                       CERT_ERROR_MALFORMED, "holds a PKCS#7 bundle");
        assert_refused("-----BEGIN FOO BAR-----\nMIIB\n-----END FOO BAR-----\n", NULL, NULL,
                       CERT_ERROR_MALFORMED, "holds a 'FOO BAR' block on line 1");
}

static void test_too_large(void) {
        /* Default: 1 MiB per input. */
        size_t n = PEM_MAX_INPUT_DEFAULT + 1;
        char *big = g_malloc(n + 1);
        memset(big, '#', n);
        big[n] = 0;
        assert_refused(big, NULL, NULL, CERT_ERROR_TOO_LARGE,
                       "the certificate input is 1.0 MiB (1048577 bytes); at most 1.0 MiB (1048576 bytes) is accepted");
        assert_refused(chain->fullchain_pem, big, NULL, CERT_ERROR_TOO_LARGE, "the private key input is 1.0 MiB");
        g_free(big);

        /* Exactly at the limit is fine (then it is read). */
        PemLimits l = { .max_size = strlen(chain->fullchain_pem) };
        CertBundle *b = NULL;
        CertProblem p = {};
        g_assert_cmpint(pem_read_bundle(chain->fullchain_pem, strlen(chain->fullchain_pem), NULL, 0, NULL, 0,
                                        &l, &b, &p), ==, 0);
        cert_bundle_free(b);
        l.max_size--;
        assert_refused_bytes(chain->fullchain_pem, strlen(chain->fullchain_pem), NULL, 0, NULL, 0, &l,
                             CERT_ERROR_TOO_LARGE, "the certificate input is");
}

static void test_too_many_certificates(void) {
        GString *s = g_string_new(chain->leaf_pem);
        for (int i = 0; i < 16; i++)
                g_string_append(s, chain->intermediate_pem);

        /* 17 certificates > 16. */
        assert_refused(s->str, chain->key_pem, NULL, CERT_ERROR_TOO_LARGE,
                       "more than 16 certificates were given; at most 16 are accepted");

        /* The count spans the inputs: 15 + 2 in the authority. */
        GString *t = g_string_new(chain->leaf_pem);
        for (int i = 0; i < 14; i++)
                g_string_append(t, chain->intermediate_pem);
        _cleanup_free_ char *ca = pki_strcat(chain->root_pem, chain->root_pem, NULL);
        assert_refused(t->str, chain->key_pem, ca, CERT_ERROR_TOO_LARGE, "more than 16 certificates");

        PemLimits l = { .max_certificates = 2 };
        assert_refused_bytes(chain->bundle_pem, strlen(chain->bundle_pem), NULL, 0, NULL, 0, &l,
                             CERT_ERROR_TOO_LARGE, "more than 2 certificates were given");

        g_string_free(s, TRUE);
        g_string_free(t, TRUE);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        chain = pki_chain_new(SERVER);

        g_test_add_func("/pem/separate-inputs", test_separate);
        g_test_add_func("/pem/any-order", test_any_order);
        g_test_add_func("/pem/crlf", test_crlf);
        g_test_add_func("/pem/text-around-blocks", test_text_around);
        g_test_add_func("/pem/missing-key-is-not-an-error-here", test_missing_key_ok);
        g_test_add_func("/pem/traditional-keys", test_traditional_keys);
        g_test_add_func("/pem/same-key-twice", test_same_key_twice);
        g_test_add_func("/pem/ca-bundle-authority", test_ca_bundle_authority);
        g_test_add_func("/pem/lone-ca-stays-leaf", test_lone_ca_stays_leaf);
        g_test_add_func("/pem/read-certificates", test_read_certificates);
        g_test_add_func("/pem/keys-in-a-row", test_keys_in_a_row);
        g_test_add_func("/pem/key-label-mismatch", test_key_label_mismatch);
        g_test_add_func("/pem/keys-agree-with-openssl", test_keys_agree_with_openssl);
        g_test_add_func("/pem/keys-from-threads", test_keys_from_threads);

        g_test_add_func("/pem/empty", test_empty);
        g_test_add_func("/pem/garbage", test_garbage);
        g_test_add_func("/pem/corrupt-block", test_corrupt_block);
        g_test_add_func("/pem/truncated", test_truncated);
        g_test_add_func("/pem/der", test_der);
        g_test_add_func("/pem/pkcs12", test_pkcs12);
        g_test_add_func("/pem/encrypted-key", test_encrypted_key);
        g_test_add_func("/pem/two-keys", test_two_keys);
        g_test_add_func("/pem/no-certificate", test_no_certificate);
        g_test_add_func("/pem/other-blocks", test_other_blocks);
        g_test_add_func("/pem/too-large", test_too_large);
        g_test_add_func("/pem/too-many-certificates", test_too_many_certificates);

        int r = g_test_run();
        pki_chain_free(chain);
        return r;
}
