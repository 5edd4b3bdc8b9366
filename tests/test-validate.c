/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation against a PKI generated at run time: one case per refusal
 * (code and message asserted) and one per accepted form.
 */

#include <glib.h>
#include <glib/gstdio.h>

#include "pki.h"
#include "certinfo.h"
#include "tls-preflight.h"
#include "validate.h"

#define SERVER "console.example.com"

static const ValidateOptions default_options = { .server_name = SERVER };

static size_t len0(const char *s) {
        return s ? strlen(s) : 0;
}

static int load(const char *cert, const char *key, const char *ca, const ValidateOptions *o,
                CertBundle **ret, CertProblem *problem) {
        return cert_bundle_load(cert, len0(cert), key, len0(key), ca, len0(ca), o ?: &default_options, ret, problem);
}

static CertBundle *assert_valid(const char *cert, const char *key, const char *ca, const ValidateOptions *o) {
        CertBundle *b = NULL;
        CertProblem p = {};
        int r = load(cert, key, ca, o, &b, &p);
        if (r < 0)
                g_test_message("unexpected refusal: %s: %s", cert_error_name(p.code), p.message);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpint(p.code, ==, CERT_OK);
        g_assert_nonnull(b);
        g_assert_nonnull(b->leaf);
        g_assert_nonnull(b->key);
        return b;
}

static void assert_valid_only(const char *cert, const char *key, const char *ca, const ValidateOptions *o) {
        cert_bundle_free(assert_valid(cert, key, ca, o));
}

static void assert_refused(const char *cert, const char *key, const char *ca, const ValidateOptions *o,
                           CertErrorCode code, const char *needle) {
        CertBundle *b = NULL;
        CertProblem p = {};
        int r = load(cert, key, ca, o, &b, &p);
        g_test_message("%s: %s", cert_error_name(p.code), p.message);
        g_assert_cmpint(r, ==, -EBADMSG);
        g_assert_null(b);
        g_assert_cmpstr(cert_error_name(p.code), ==, cert_error_name(code));
        if (!strstr(p.message, needle))
                g_test_message("message lacks '%s'", needle);
        g_assert_nonnull(strstr(p.message, needle));
}

/* A chain whose certificates carry names the messages can be checked against. */
static PkiChain *named_chain(const PkiChainOptions *base) {
        PkiChainOptions o = base ? *base : (PkiChainOptions) {};
        if (!o.server_name)
                o.server_name = SERVER;
        if (!o.root.common_name)
                o.root.common_name = "Example Root";
        if (!o.intermediate.common_name)
                o.intermediate.common_name = "Example Intermediate 2";
        return pki_chain_new_full(&o);
}

static void test_key_type(PkiKeyType t, const char *desc) {
        PkiChainOptions o = { .leaf_key_type = t, .ca_key_type = t };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(c->fullchain_pem, c->key_pem, c->root_pem, NULL);
        char buf[32];

        g_assert_cmpint(key_describe(b->key, buf, sizeof(buf)), ==, 0);
        g_assert_cmpstr(buf, ==, desc);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(b->leaf, c->leaf) == 0);
}

static void test_rsa2048(void) {
        test_key_type(PKI_KEY_RSA2048, "RSA 2048");
}

static void test_rsa3072(void) {
        test_key_type(PKI_KEY_RSA3072, "RSA 3072");

        /* RSA 3072 everywhere passes the strict policy too. */
        PkiChainOptions o = { .leaf_key_type = PKI_KEY_RSA3072, .ca_key_type = PKI_KEY_RSA3072 };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        ValidateOptions v = { .server_name = SERVER, .policy = VALIDATE_POLICY_STRICT };
        assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, &v);
}

static void test_ec256(void) {
        test_key_type(PKI_KEY_EC256, "EC P-256");
}

static void test_ec384(void) {
        test_key_type(PKI_KEY_EC384, "EC P-384");
}

static void test_ip_v4(void) {
        PkiChainOptions o = { .server_name = "192.0.2.10" };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        ValidateOptions v = { .server_name = "192.0.2.10" };
        assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, &v);

        v.server_name = "192.0.2.11";
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for '192.0.2.10', not '192.0.2.11'");
}

static void test_ip_v6(void) {
        PkiChainOptions o = { .server_name = "2001:db8::1", .alt_names = (const char *[]) { "::1", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);

        /* Compared as addresses, not strings. */
        const char *same[] = { "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "::1", "0:0:0:0:0:0:0:1", "[::1]" };
        for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
                ValidateOptions v = { .server_name = same[i] };
                assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, &v);
        }

        ValidateOptions v = { .server_name = "2001:db8::2" };
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "not '2001:db8::2'");
}

static void test_wildcard(void) {
        PkiChainOptions o = { .server_name = "*.example.com" };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, NULL);

        ValidateOptions v = { .server_name = "a.b.example.com" };
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for '*.example.com', not 'a.b.example.com'");
        v.server_name = "example.com";
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for '*.example.com', not 'example.com'");
}

/* ServerName= and AccessNames=: every name required, each missing one named with where it comes from. */
static void test_access_names(void) {
        char *const access[] = { (char *) "192.0.2.10", (char *) "lb.example.net", NULL };
        ValidateOptions v = { .server_name = "console.example.com", .access_names = access };

        PkiChainOptions all = { .server_name = "console.example.com",
                                .alt_names = (const char *[]) { "192.0.2.10", "lb.example.net", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&all);
        assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, &v);

        /* Missing the load balancer's address: only that is named. */
        PkiChainOptions no_ip = { .server_name = "console.example.com",
                                  .alt_names = (const char *[]) { "lb.example.net", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c1 = named_chain(&no_ip);
        assert_refused(c1->fullchain_pem, c1->key_pem, c1->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for 'console.example.com', 'lb.example.net', "
                       "not '192.0.2.10' (an address clients use in AccessNames=)");

        /* Missing the domain. */
        PkiChainOptions no_domain = { .server_name = "192.0.2.10",
                                      .alt_names = (const char *[]) { "lb.example.net", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c2 = named_chain(&no_domain);
        assert_refused(c2->fullchain_pem, c2->key_pem, c2->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "not 'console.example.com' (the server name in ServerName=)");

        /* Missing all of them: one refusal names each. */
        PkiChainOptions none = { .server_name = "other.example.org" };
        _cleanup_(pki_chain_freep) PkiChain *c3 = named_chain(&none);
        assert_refused(c3->fullchain_pem, c3->key_pem, c3->root_pem, &v, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for 'other.example.org', not 'console.example.com' (the server name in "
                       "ServerName=), not '192.0.2.10' (an address clients use in AccessNames=), not "
                       "'lb.example.net' (a name clients use in AccessNames=)");

        /* A wildcard covers the domain as always, never an address. */
        PkiChainOptions wild = { .server_name = "*.example.com",
                                 .alt_names = (const char *[]) { "lb.example.net", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c4 = named_chain(&wild);
        CertBundle *b = NULL;
        CertProblem p = {};
        g_assert_cmpint(load(c4->fullchain_pem, c4->key_pem, c4->root_pem, &v, &b, &p), ==, -EBADMSG);
        g_assert_cmpint(p.code, ==, CERT_ERROR_NAME_MISMATCH);
        g_assert_nonnull(strstr(p.message, "not '192.0.2.10' (an address clients use in AccessNames=)"));
        g_assert_null(strstr(p.message, "not 'console.example.com'"));
        g_assert_null(strstr(p.message, "not 'lb.example.net'"));

        /* IPv6 compared as addresses; the names of the places come from the caller. */
        char *const v6[] = { (char *) "2001:DB8:0:0::10", NULL };
        ValidateOptions o6 = { .server_name = "console.example.com", .access_names = v6,
                               .access_names_origin = "--server-name" };
        PkiChainOptions with6 = { .server_name = "console.example.com",
                                  .alt_names = (const char *[]) { "2001:db8::10", NULL } };
        _cleanup_(pki_chain_freep) PkiChain *c5 = named_chain(&with6);
        assert_valid_only(c5->fullchain_pem, c5->key_pem, c5->root_pem, &o6);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &o6, CERT_ERROR_NAME_MISMATCH,
                       "not '2001:DB8:0:0::10' (an address clients use in --server-name)");
}

static X509 *leaf_with(const PkiCertOptions *base) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 5);
        return pki_cert_new(k, base);
}

static void test_name_matching(void) {
        X509 *x;

        x = leaf_with(&(PkiCertOptions) { .common_name = "cn.example.net",
                                          .dns_names = (const char *[]) { "*.example.com", "Console.Example.ORG", NULL },
                                          .ip_addresses = (const char *[]) { "192.0.2.1", "::1", NULL } });
        g_assert_true(cert_matches_name(x, "a.example.com"));
        g_assert_true(cert_matches_name(x, "A.EXAMPLE.COM"));
        g_assert_true(cert_matches_name(x, "a.example.com."));
        g_assert_false(cert_matches_name(x, "example.com"));
        g_assert_false(cert_matches_name(x, "a.b.example.com"));
        g_assert_false(cert_matches_name(x, ".example.com"));
        g_assert_true(cert_matches_name(x, "console.example.org"));
        g_assert_false(cert_matches_name(x, "console.example.org.uk"));
        /* The CN is ignored when there are SANs. */
        g_assert_false(cert_matches_name(x, "cn.example.net"));
        g_assert_true(cert_matches_name(x, "192.0.2.1"));
        g_assert_false(cert_matches_name(x, "192.0.2.2"));
        g_assert_true(cert_matches_name(x, "0:0:0:0:0:0:0:1"));
        g_assert_false(cert_matches_name(x, "::2"));
        g_assert_false(cert_matches_name(x, ""));
        g_assert_false(cert_matches_name(x, NULL));
        X509_free(x);

        /* A wildcard never covers an IP address, and a DNS SAN spelling an address is not an IP SAN. */
        x = leaf_with(&(PkiCertOptions) { .dns_names = (const char *[]) { "*.0.2.1", "192.0.2.7", NULL } });
        g_assert_false(cert_matches_name(x, "192.0.2.1"));
        g_assert_false(cert_matches_name(x, "192.0.2.7"));
        X509_free(x);

        /* Only the entire leftmost label may be a wildcard. */
        x = leaf_with(&(PkiCertOptions) { .dns_names = (const char *[]) { "w*.example.com", "a.*.example.net", "*.com", NULL } });
        g_assert_false(cert_matches_name(x, "www.example.com"));
        g_assert_false(cert_matches_name(x, "a.b.example.net"));
        g_assert_false(cert_matches_name(x, "example.com"));
        X509_free(x);

        /* Without SANs the CN is used. */
        x = leaf_with(&(PkiCertOptions) { .common_name = "legacy.example.com" });
        g_assert_true(cert_matches_name(x, "legacy.example.com"));
        g_assert_true(cert_matches_name(x, "LEGACY.example.com."));
        g_assert_false(cert_matches_name(x, "other.example.com"));
        X509_free(x);
}

static void test_shuffled_chain(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *shuffled = pki_certs_pem(c->root, c->intermediate, c->leaf, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(shuffled, c->key_pem, NULL, NULL);

        g_assert_true(X509_cmp(b->leaf, c->leaf) == 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), c->intermediate) == 0);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->authority, 0), c->root) == 0);
}

static void test_shuffled_long_chain(void) {
        /* root -> i1 -> i2 -> leaf, given as i1, leaf, i2: reordered to i2, i1. */
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rk = pki_key_pooled(PKI_KEY_EC256, 0);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k1 = pki_key_pooled(PKI_KEY_EC256, 1);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k2 = pki_key_pooled(PKI_KEY_EC256, 3);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *lk = pki_key_pooled(PKI_KEY_EC256, 2);
        _cleanup_(X509_freep) X509 *root = pki_cert_new(rk, &(PkiCertOptions) { .common_name = "Long Root", .ca = true });
        _cleanup_(X509_freep) X509 *i1 = pki_cert_new(k1, &(PkiCertOptions) { .common_name = "Long I1", .ca = true,
                                                                               .issuer_cert = root, .issuer_key = rk });
        _cleanup_(X509_freep) X509 *i2 = pki_cert_new(k2, &(PkiCertOptions) { .common_name = "Long I2", .ca = true,
                                                                               .issuer_cert = i1, .issuer_key = k1 });
        _cleanup_(X509_freep) X509 *leaf = pki_cert_new(lk, &(PkiCertOptions) { .common_name = SERVER,
                                                                                 .dns_names = (const char *[]) { SERVER, NULL },
                                                                                 .issuer_cert = i2, .issuer_key = k2 });
        _cleanup_free_ char *certs = pki_certs_pem(i1, leaf, i2, NULL);
        _cleanup_free_ char *key = pki_key_pem(lk, NULL);
        _cleanup_free_ char *ca = pki_cert_pem(root);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(certs, key, ca, NULL);

        g_assert_true(X509_cmp(b->leaf, leaf) == 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 2);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), i2) == 0);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 1), i1) == 0);
}

static void test_crlf(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *cert = pki_to_crlf(c->fullchain_pem);
        _cleanup_free_ char *key = pki_to_crlf(c->key_pem);
        _cleanup_free_ char *ca = pki_to_crlf(c->root_pem);
        g_assert_nonnull(strstr(cert, "\r\n"));
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(cert, key, ca, NULL);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
}

static void test_combined(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(c->bundle_pem, NULL, NULL, NULL);

        g_assert_true(X509_cmp(b->leaf, c->leaf) == 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->authority, 0), c->root) == 0);

        /* The same key in the key input and in the combined file is fine. */
        assert_valid_only(c->bundle_pem, c->key_pem, NULL, NULL);
}

static void test_text_around(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *cert = pki_strcat("Certificate for console.example.com\n"
                                               "subject=CN = console.example.com\n\n",
                                               c->leaf_pem, "\nIntermediate follows:\n", c->intermediate_pem,
                                               "\n-- end --\n", NULL);
        _cleanup_free_ char *key = pki_strcat("Bag Attributes\n    localKeyID: 01 02 03\n", c->key_pem, "trailer\n", NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(cert, key, c->root_pem, NULL);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
}

static void test_traditional_keys(void) {
        PkiChainOptions rsa = {};
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&rsa);
        _cleanup_free_ char *key = pki_key_pem_traditional(c->leaf_key, NULL);
        g_assert_nonnull(strstr(key, "-----BEGIN RSA PRIVATE KEY-----"));
        assert_valid_only(c->fullchain_pem, key, c->root_pem, NULL);

        PkiChainOptions ec = { .leaf_key_type = PKI_KEY_EC256 };
        _cleanup_(pki_chain_freep) PkiChain *e = named_chain(&ec);
        _cleanup_free_ char *eckey = pki_key_pem_traditional(e->leaf_key, NULL);
        g_assert_nonnull(strstr(eckey, "-----BEGIN EC PRIVATE KEY-----"));
        assert_valid_only(e->fullchain_pem, eckey, e->root_pem, NULL);
}

static char *temp_dir(void) {
        GError *error = NULL;
        char *d = g_dir_make_tmp("test-validate-XXXXXX", &error);
        g_assert_no_error(error);
        return d;
}

static void rm_rf(const char *dir, const char *file) {
        char *p = g_build_filename(dir, file, NULL);
        (void) g_unlink(p);
        g_free(p);
        (void) g_rmdir(dir);
}

static void test_system_trust_store(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_(pki_chain_freep) PkiChain *other = pki_chain_new("other.example.com");
        char *dir = temp_dir();
        char *cafile = g_build_filename(dir, "ca-certificates.crt", NULL);

        /* Empty authority: the trust store decides. */
        _cleanup_free_ char *store = pki_strcat(other->root_pem, c->root_pem, NULL);
        g_assert_cmpint(pki_write_file(cafile, store), ==, 0);
        ValidateOptions v = { .server_name = SERVER, .trust_store_file = cafile };
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(c->fullchain_pem, c->key_pem, NULL, &v);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 0);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);

        /* A root the store does not hold. */
        g_assert_cmpint(pki_write_file(cafile, other->root_pem), ==, 0);
        assert_refused(c->fullchain_pem, c->key_pem, NULL, &v, CERT_ERROR_CHAIN_INCOMPLETE,
                       "chain stops at 'Example Intermediate 2': its issuer 'Example Root' is neither in the "
                       "authority nor in the system trust store");

        rm_rf(dir, "ca-certificates.crt");
        g_free(cafile);
        g_free(dir);
}

static void test_intermediate_in_authority(void) {
        /* A CA's "CA bundle" (intermediate + root) as the authority: the intermediate is served. */
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *ca = pki_strcat(c->intermediate_pem, c->root_pem, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(c->leaf_pem, c->key_pem, ca, NULL);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 1);
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), c->intermediate) == 0);
        g_assert_cmpint(sk_X509_num(b->authority), ==, 1);
}

static void test_self_signed_leaf(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 6);
        _cleanup_(X509_freep) X509 *x = pki_cert_new(k, &(PkiCertOptions) {
                .common_name = SERVER, .dns_names = (const char *[]) { SERVER, NULL } });
        _cleanup_free_ char *cert = pki_cert_pem(x);
        _cleanup_free_ char *key = pki_key_pem(k, NULL);

        ValidateOptions v = { .server_name = SERVER, .allow_self_signed_leaf = true };
        _cleanup_(cert_bundle_freep) CertBundle *b = assert_valid(cert, key, NULL, &v);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 0);

        /* Without the allowance, a self-signed server certificate is untrusted. */
        char *dir = temp_dir();
        char *cafile = g_build_filename(dir, "empty.crt", NULL);
        _cleanup_(pki_chain_freep) PkiChain *other = pki_chain_new("other.example.com");
        g_assert_cmpint(pki_write_file(cafile, other->root_pem), ==, 0);
        ValidateOptions strict = { .server_name = SERVER, .trust_store_file = cafile };
        assert_refused(cert, key, NULL, &strict, CERT_ERROR_UNTRUSTED_CHAIN,
                       "the certificate for '" SERVER "' is self-signed and not in the system trust store");
        rm_rf(dir, "empty.crt");
        g_free(cafile);
        g_free(dir);
}

static void test_sha1_root_exempt(void) {
        PkiChainOptions o = { .root.digest = EVP_sha1() };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_valid_only(c->fullchain_pem, c->key_pem, c->root_pem, NULL);
}

/* ---------------------------------------------------------- refusals */

static void test_expired(void) {
        PkiChainOptions o = { .leaf = { .not_before_offset = -30 * PKI_DAY, .not_after_offset = -PKI_DAY } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_EXPIRED,
                       "the certificate for '" SERVER "' expired on 20");
}

static void test_expired_intermediate(void) {
        PkiChainOptions o = { .intermediate = { .not_before_offset = -30 * PKI_DAY, .not_after_offset = -2 * PKI_DAY } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_EXPIRED,
                       "the intermediate 'Example Intermediate 2' expired on ");
}

static void test_expired_at_time(void) {
        /* now_usec moves the clock: 100 days from now the default 90-day leaf has expired. */
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        ValidateOptions v = { .server_name = SERVER, .now_usec = (uint64_t) (time(NULL) + 100 * PKI_DAY) * USEC_PER_SEC };
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_EXPIRED, "expired on ");
}

static void test_not_yet_valid(void) {
        PkiChainOptions o = { .leaf = { .not_before_offset = PKI_DAY, .not_after_offset = 30 * PKI_DAY } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_NOT_YET_VALID,
                       "the certificate for '" SERVER "' is not valid before 20");
}

static void test_name_mismatch(void) {
        PkiChainOptions o = { .server_name = "www.example.org" };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_NAME_MISMATCH,
                       "certificate is for 'www.example.org', not 'console.example.com'");
}

static void test_ca_as_leaf(void) {
        PkiChainOptions o = { .leaf = { .ca = true, .extended_key_usage = "serverAuth" } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                       "the certificate for '" SERVER "' is a CA certificate");
}

static void test_client_auth_only(void) {
        PkiChainOptions o = { .leaf = { .extended_key_usage = "clientAuth" } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                       "its extended key usage allows only clientAuth, not serverAuth");
}

static void test_key_usage(void) {
        PkiChainOptions o = { .leaf = { .key_usage = "critical,nonRepudiation" } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                       "its key usage allows neither digitalSignature nor keyEncipherment");

        /* keyEncipherment alone is enough for RSA. */
        PkiChainOptions ok = { .leaf = { .key_usage = "critical,keyEncipherment" } };
        _cleanup_(pki_chain_freep) PkiChain *c2 = named_chain(&ok);
        assert_valid_only(c2->fullchain_pem, c2->key_pem, c2->root_pem, NULL);
}

static void test_sha1_signed(void) {
        PkiChainOptions o = { .leaf = { .digest = EVP_sha1() } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_WEAK_SIGNATURE,
                       "the certificate for '" SERVER "' is signed with SHA-1; policy 'fips' requires SHA-256 or better");

        PkiChainOptions i = { .intermediate = { .digest = EVP_sha1() } };
        _cleanup_(pki_chain_freep) PkiChain *c2 = named_chain(&i);
        assert_refused(c2->fullchain_pem, c2->key_pem, c2->root_pem, NULL, CERT_ERROR_WEAK_SIGNATURE,
                       "the intermediate 'Example Intermediate 2' is signed with SHA-1");
}

/* A self-signed leaf is its own anchor, but its signature is still all there is: never exempt. */
static void test_sha1_self_signed_leaf(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 7);
        _cleanup_(X509_freep) X509 *x = pki_cert_new(k, &(PkiCertOptions) {
                .common_name = SERVER, .dns_names = (const char *[]) { SERVER, NULL }, .digest = EVP_sha1() });
        _cleanup_free_ char *cert = pki_cert_pem(x);
        _cleanup_free_ char *key = pki_key_pem(k, NULL);

        ValidateOptions v = { .server_name = SERVER, .allow_self_signed_leaf = true };
        assert_refused(cert, key, NULL, &v, CERT_ERROR_WEAK_SIGNATURE, "is signed with SHA-1");
        /* Given as its own authority: the same. */
        assert_refused(cert, key, cert, NULL, CERT_ERROR_WEAK_SIGNATURE, "is signed with SHA-1");
}

/* The issuer is given but may not sign certificates: named as such, not as a missing link. */
static void test_issuer_without_cert_sign(void) {
        PkiChainOptions o = { .intermediate = { .key_usage = "critical,digitalSignature" } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_UNTRUSTED_CHAIN,
                       "'Example Intermediate 2' is named as the issuer of");
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_UNTRUSTED_CHAIN,
                       "does not allow signing certificates");
}

static void test_rsa1024(void) {
        PkiChainOptions o = { .leaf_key_type = PKI_KEY_RSA1024 };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_WEAK_KEY,
                       "the certificate for '" SERVER "' has an RSA 1024 key; policy 'fips' requires RSA 2048 or more");
}

static void test_strict_rsa2048(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        ValidateOptions v = { .server_name = SERVER, .policy = VALIDATE_POLICY_STRICT };
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, &v, CERT_ERROR_WEAK_KEY,
                       "has an RSA 2048 key; policy 'strict' requires RSA 3072 or more");
}

static void test_missing_intermediate(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        assert_refused(c->leaf_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_CHAIN_INCOMPLETE,
                       "chain stops at '" SERVER "': its issuer 'Example Intermediate 2' is not in the authority given");
}

static void test_unrelated_extra(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        PkiChainOptions o = { .server_name = "other.example.com", .intermediate.common_name = "Unrelated Intermediate" };
        _cleanup_(pki_chain_freep) PkiChain *other = pki_chain_new_full(&o);
        _cleanup_free_ char *cert = pki_strcat(c->fullchain_pem, other->intermediate_pem, NULL);
        assert_refused(cert, c->key_pem, c->root_pem, NULL, CERT_ERROR_UNTRUSTED_CHAIN,
                       "the certificate 'Unrelated Intermediate' is not part of the chain of the certificate for '"
                       SERVER "'");

        /* An unrelated leaf after the real one. */
        _cleanup_free_ char *cert2 = pki_strcat(c->fullchain_pem, other->leaf_pem, NULL);
        assert_refused(cert2, c->key_pem, c->root_pem, NULL, CERT_ERROR_UNTRUSTED_CHAIN,
                       "the certificate 'other.example.com' is not part of the chain");
}

static void test_untrusted_root(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_(pki_chain_freep) PkiChain *other = pki_chain_new("other.example.com");
        assert_refused(c->fullchain_pem, c->key_pem, other->root_pem, NULL, CERT_ERROR_CHAIN_INCOMPLETE,
                       "chain stops at 'Example Intermediate 2': its issuer 'Example Root' is not in the authority given");
}

static void test_encrypted_key(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *p8 = pki_key_pem(c->leaf_key, "secret");
        _cleanup_free_ char *trad = pki_key_pem_traditional(c->leaf_key, "secret");

        g_assert_nonnull(strstr(p8, "ENCRYPTED PRIVATE KEY"));
        g_assert_nonnull(strstr(trad, "Proc-Type: 4,ENCRYPTED"));
        assert_refused(c->fullchain_pem, p8, c->root_pem, NULL, CERT_ERROR_ENCRYPTED_KEY,
                       "the private key in the private key input is encrypted (ENCRYPTED PRIVATE KEY)");
        assert_refused(c->fullchain_pem, trad, c->root_pem, NULL, CERT_ERROR_ENCRYPTED_KEY,
                       "the private key in the private key input is encrypted (Proc-Type: 4,ENCRYPTED)");
}

static void test_key_mismatch(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_RSA2048, 7);
        _cleanup_free_ char *key = pki_key_pem(k, NULL);
        assert_refused(c->fullchain_pem, key, c->root_pem, NULL, CERT_ERROR_KEY_MISMATCH,
                       "private key does not belong to the certificate for '" SERVER "' (both are RSA 2048");

        PkiChainOptions o = { .leaf_key_type = PKI_KEY_EC256 };
        _cleanup_(pki_chain_freep) PkiChain *e = named_chain(&o);
        assert_refused(e->fullchain_pem, key, e->root_pem, NULL, CERT_ERROR_KEY_MISMATCH,
                       "private key is RSA 2048 but the certificate's key is EC P-256");
}

static void test_ca_key(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *root_key = pki_key_pem(c->root_key, NULL);
        _cleanup_free_ char *inter_key = pki_key_pem(c->intermediate_key, NULL);

        assert_refused(c->fullchain_pem, root_key, c->root_pem, NULL, CERT_ERROR_KEY_MISMATCH,
                       "the private key belongs to the CA 'Example Root', not to the certificate for '" SERVER "'");
        assert_refused(c->fullchain_pem, inter_key, c->root_pem, NULL, CERT_ERROR_KEY_MISMATCH,
                       "the private key belongs to the CA 'Example Intermediate 2', not to the certificate for");
}

static void test_missing_key(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        assert_refused(c->fullchain_pem, NULL, c->root_pem, NULL, CERT_ERROR_MISSING_KEY,
                       "no private key was given");
}

static void test_order(void) {
        /* Expired, wrong host, SHA-1 and clientAuth at once: the date is reported first. */
        PkiChainOptions o = { .server_name = "www.example.org",
                              .leaf = { .not_before_offset = -30 * PKI_DAY, .not_after_offset = -PKI_DAY,
                                        .digest = EVP_sha1(), .extended_key_usage = "clientAuth" } };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        assert_refused(c->fullchain_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_EXPIRED, "expired on");

        /* Missing key beats everything but Malformed. */
        assert_refused(c->leaf_pem, NULL, NULL, NULL, CERT_ERROR_MISSING_KEY, "no private key");

        /* Key mismatch beats the chain. */
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_RSA2048, 7);
        _cleanup_free_ char *key = pki_key_pem(k, NULL);
        assert_refused(c->leaf_pem, key, NULL, NULL, CERT_ERROR_KEY_MISMATCH, "private key does not belong");

        /* Malformed beats a missing key. */
        assert_refused("garbage", NULL, NULL, NULL, CERT_ERROR_MALFORMED, "holds no PEM block");

        /* The chain beats the name. */
        assert_refused(c->leaf_pem, c->key_pem, c->root_pem, NULL, CERT_ERROR_CHAIN_INCOMPLETE, "chain stops at");
}

static void test_validate_in_place(void) {
        /* cert_bundle_validate() on a bundle read separately orders the chain too. */
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_free_ char *certs = pki_certs_pem(c->intermediate, c->leaf, NULL);
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        CertProblem p = {};

        g_assert_cmpint(pem_read_bundle(certs, strlen(certs), c->key_pem, strlen(c->key_pem),
                                        c->root_pem, strlen(c->root_pem), NULL, &b, &p), ==, 0);
        g_assert_cmpint(cert_bundle_validate(b, &default_options, &p), ==, 0);
        g_assert_cmpint(p.code, ==, CERT_OK);
        g_assert_cmpstr(p.message, ==, "");
        g_assert_true(X509_cmp(sk_X509_value(b->chain, 0), c->intermediate) == 0);

        /* NULL server name: not checked. */
        ValidateOptions v = {};
        g_assert_cmpint(cert_bundle_validate(b, &v, &p), ==, 0);
}

/*
 * Pre-flight handshake. A leaf with 10,000 names that covers the server name passes every other
 * check, but its chain is over 200 KiB and OpenSSL's clients refuse certificate lists over 100 KiB.
 */
static void test_too_many_names(void) {
        PkiChainOptions o = { .extra_names = 9999 };
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(&o);
        CertBundle *b = NULL;
        CertProblem p = {};

        g_assert_cmpint(load(c->fullchain_pem, c->key_pem, c->root_pem, NULL, &b, &p), ==, -EBADMSG);
        g_test_message("%s: %s", cert_error_name(p.code), p.message);
        g_assert_cmpstr(cert_error_name(p.code), ==, "TooLarge");
        g_assert_true(g_str_has_prefix(p.message, "the chain is "));
        g_assert_nonnull(strstr(p.message, " KiB; TLS clients refuse certificate lists over 100 KiB"));
        g_assert_nonnull(strstr(p.message, "the certificate for '" SERVER "' alone is "));
        /* "the chain is 304 KiB": what a TLS 1.3 client is sent, leaf and intermediate. */
        unsigned kib = 0;
        g_assert_cmpint(sscanf(p.message, "the chain is %u KiB", &kib), ==, 1);
        g_assert_cmpuint(kib, >, 200);
        g_assert_cmpuint(kib, <, 400);

        /* Every other check passes: only the handshake refuses it. */
        CertBundle *parsed = NULL;
        g_assert_cmpint(pem_read_bundle(c->fullchain_pem, strlen(c->fullchain_pem), c->key_pem, strlen(c->key_pem),
                                        c->root_pem, strlen(c->root_pem), NULL, &parsed, &p), ==, 0);
        g_assert_true(cert_matches_name(parsed->leaf, SERVER));
        cert_bundle_free(parsed);

        /* Under the limit the same kind of leaf is served. */
        PkiChainOptions smaller = { .extra_names = 2500 };
        _cleanup_(pki_chain_freep) PkiChain *c2 = named_chain(&smaller);
        assert_valid_only(c2->fullchain_pem, c2->key_pem, c2->root_pem, NULL);
}

/* What the pre-flight reports for what a client refuses, below what validation catches first. */
static void test_preflight(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = named_chain(NULL);
        _cleanup_(pki_chain_freep) PkiChain *other = pki_chain_new("other.example.com");
        _cleanup_(X509_STORE_freep) X509_STORE *trust = X509_STORE_new(), *wrong = X509_STORE_new();
        STACK_OF(X509) *chain = sk_X509_new_null();
        TlsPreflightFailure f = {};

        g_assert_nonnull(trust);
        g_assert_nonnull(wrong);
        g_assert_cmpint(X509_STORE_add_cert(trust, c->root), ==, 1);
        g_assert_cmpint(X509_STORE_add_cert(wrong, other->root), ==, 1);
        g_assert_cmpint(sk_X509_push(chain, c->intermediate), >, 0);

        TlsPreflightOptions o = { .trust = trust, .server_name = SERVER };
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, 0);
        /* An IP literal and a trailing dot are names a client checks as such. */
        o.server_name = SERVER ".";
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, 0);

        /* The client checks the name, over TLS 1.3 first. */
        o.server_name = "other.example.com";
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, -EBADMSG);
        g_assert_cmpint(f.version, ==, TLS1_3_VERSION);
        g_assert_false(f.server);
        g_assert_cmpint(f.verify_result, ==, X509_V_ERR_HOSTNAME_MISMATCH);
        g_assert_cmpstr(f.reason, ==, "hostname mismatch");
        o.server_name = "192.0.2.1";
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, -EBADMSG);
        g_assert_cmpint(f.verify_result, ==, X509_V_ERR_IP_ADDRESS_MISMATCH);

        /* ... and the chain against its anchors. */
        o = (TlsPreflightOptions) { .trust = wrong, .server_name = SERVER };
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, -EBADMSG);
        g_assert_cmpint(f.verify_result, ==, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

        /* The intermediate as the anchor needs a partial chain, as validation allows. */
        _cleanup_(X509_STORE_freep) X509_STORE *pinned = X509_STORE_new();
        g_assert_cmpint(X509_STORE_add_cert(pinned, c->intermediate), ==, 1);
        o = (TlsPreflightOptions) { .trust = pinned, .server_name = SERVER };
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, -EBADMSG);
        o.verify_flags = X509_V_FLAG_PARTIAL_CHAIN;
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, 0);

        /* The client's clock. */
        o = (TlsPreflightOptions) { .trust = trust, .server_name = SERVER, .now = time(NULL) + 400 * PKI_DAY };
        g_assert_cmpint(tls_preflight(c->leaf, chain, c->leaf_key, &o, &f), ==, -EBADMSG);
        g_assert_cmpint(f.verify_result, ==, X509_V_ERR_CERT_HAS_EXPIRED);

        /* A key that is not the certificate's: no server can be set up. */
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *other_key = pki_key_pooled(PKI_KEY_RSA2048, 5);
        o = (TlsPreflightOptions) { .trust = trust, .server_name = SERVER };
        g_assert_cmpint(tls_preflight(c->leaf, chain, other_key, &o, &f), ==, -EBADMSG);
        g_assert_true(f.server);
        g_assert_true(f.setup);
        g_assert_cmpstr(f.reason, !=, "");

        /* The size a client compares with its limit: TLS 1.3 adds a context byte and two per entry. */
        int leaf_der = i2d_X509(c->leaf, NULL), inter_der = i2d_X509(c->intermediate, NULL);
        g_assert_cmpuint(tls_certificate_list_size(c->leaf, chain, TLS1_2_VERSION), ==,
                         3 + 3 + (size_t) leaf_der + 3 + (size_t) inter_der);
        g_assert_cmpuint(tls_certificate_list_size(c->leaf, chain, TLS1_3_VERSION), ==,
                         4 + 5 + (size_t) leaf_der + 5 + (size_t) inter_der);
        g_assert_cmpstr(tls_version_name(TLS1_2_VERSION), ==, "TLS 1.2");

        sk_X509_free(chain);
}

static void test_policy_strings(void) {
        g_assert_cmpstr(validate_policy_to_string(VALIDATE_POLICY_FIPS), ==, "fips");
        g_assert_cmpstr(validate_policy_to_string(VALIDATE_POLICY_STRICT), ==, "strict");
        g_assert_null(validate_policy_to_string(_VALIDATE_POLICY_MAX));
        g_assert_cmpint(validate_policy_from_string("fips"), ==, VALIDATE_POLICY_FIPS);
        g_assert_cmpint(validate_policy_from_string("strict"), ==, VALIDATE_POLICY_STRICT);
        g_assert_cmpint(validate_policy_from_string("STRICT"), ==, VALIDATE_POLICY_STRICT);
        g_assert_cmpint(validate_policy_from_string("lax"), ==, -EINVAL);
        g_assert_cmpint(validate_policy_from_string(NULL), ==, -EINVAL);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/validate/rsa2048", test_rsa2048);
        g_test_add_func("/validate/rsa3072", test_rsa3072);
        g_test_add_func("/validate/ec-p256", test_ec256);
        g_test_add_func("/validate/ec-p384", test_ec384);
        g_test_add_func("/validate/ip-v4", test_ip_v4);
        g_test_add_func("/validate/ip-v6", test_ip_v6);
        g_test_add_func("/validate/wildcard", test_wildcard);
        g_test_add_func("/validate/access-names", test_access_names);
        g_test_add_func("/validate/name-matching", test_name_matching);
        g_test_add_func("/validate/shuffled-chain", test_shuffled_chain);
        g_test_add_func("/validate/shuffled-long-chain", test_shuffled_long_chain);
        g_test_add_func("/validate/crlf", test_crlf);
        g_test_add_func("/validate/combined-file", test_combined);
        g_test_add_func("/validate/text-around-blocks", test_text_around);
        g_test_add_func("/validate/traditional-keys", test_traditional_keys);
        g_test_add_func("/validate/system-trust-store", test_system_trust_store);
        g_test_add_func("/validate/intermediate-in-authority", test_intermediate_in_authority);
        g_test_add_func("/validate/self-signed-leaf", test_self_signed_leaf);
        g_test_add_func("/validate/sha1-root-exempt", test_sha1_root_exempt);
        g_test_add_func("/validate/sha1-self-signed-leaf", test_sha1_self_signed_leaf);
        g_test_add_func("/validate/issuer-without-cert-sign", test_issuer_without_cert_sign);
        g_test_add_func("/validate/in-place", test_validate_in_place);
        g_test_add_func("/validate/policy-strings", test_policy_strings);

        g_test_add_func("/validate/expired", test_expired);
        g_test_add_func("/validate/expired-intermediate", test_expired_intermediate);
        g_test_add_func("/validate/expired-at-time", test_expired_at_time);
        g_test_add_func("/validate/not-yet-valid", test_not_yet_valid);
        g_test_add_func("/validate/name-mismatch", test_name_mismatch);
        g_test_add_func("/validate/ca-as-leaf", test_ca_as_leaf);
        g_test_add_func("/validate/client-auth-only", test_client_auth_only);
        g_test_add_func("/validate/key-usage", test_key_usage);
        g_test_add_func("/validate/sha1-signed", test_sha1_signed);
        g_test_add_func("/validate/rsa1024", test_rsa1024);
        g_test_add_func("/validate/strict-rsa2048", test_strict_rsa2048);
        g_test_add_func("/validate/missing-intermediate", test_missing_intermediate);
        g_test_add_func("/validate/unrelated-extra", test_unrelated_extra);
        g_test_add_func("/validate/untrusted-root", test_untrusted_root);
        g_test_add_func("/validate/encrypted-key", test_encrypted_key);
        g_test_add_func("/validate/key-mismatch", test_key_mismatch);
        g_test_add_func("/validate/ca-key", test_ca_key);
        g_test_add_func("/validate/missing-key", test_missing_key);
        g_test_add_func("/validate/order", test_order);
        g_test_add_func("/validate/too-many-names", test_too_many_names);
        g_test_add_func("/validate/preflight", test_preflight);

        return g_test_run();
}
