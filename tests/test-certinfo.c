/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Certificate info: every field, against values computed independently. */

#include <glib.h>
#include <time.h>

#include <openssl/bn.h>

#include "certinfo.h"
#include "pem.h"
#include "pki.h"
#include "strv.h"

static void test_basic(void) {
        PkiChainOptions o = {
                .server_name = "console.example.com",
                .alt_names = (const char *[]) { "api.example.com", "192.0.2.1", "2001:db8::1", NULL },
                .intermediate = { .common_name = "Example Intermediate 2", .organization = "Example Inc" },
        };
        _cleanup_(pki_chain_freep) PkiChain *c = pki_chain_new_full(&o);
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        uint64_t now = (uint64_t) time(NULL) * USEC_PER_SEC;

        g_assert_cmpint(cert_info_new(c->leaf, 2, &info), ==, 0);

        g_assert_cmpstr(info->subject, ==, "CN=console.example.com");
        g_assert_cmpstr(info->issuer, ==, "CN=Example Intermediate 2,O=Example Inc");
        g_assert_cmpstr(info->common_name, ==, "console.example.com");

        g_assert_cmpint(strv_length(info->alt_names), ==, 4);
        g_assert_cmpstr(info->alt_names[0], ==, "DNS:console.example.com");
        g_assert_cmpstr(info->alt_names[1], ==, "DNS:api.example.com");
        g_assert_cmpstr(info->alt_names[2], ==, "IP:192.0.2.1");
        g_assert_cmpstr(info->alt_names[3], ==, "IP:2001:db8::1");
        g_assert_null(info->alt_names[4]);

        /* pki.h: notBefore = now - 1 h, notAfter = now + 90 days. */
        g_assert_cmpuint(info->not_before_usec, <=, now - 3600 * USEC_PER_SEC + 5 * USEC_PER_SEC);
        g_assert_cmpuint(info->not_before_usec, >=, now - 3600 * USEC_PER_SEC - 5 * USEC_PER_SEC);
        g_assert_cmpuint(info->not_after_usec, >=, now + 90 * USEC_PER_DAY - 5 * USEC_PER_SEC);
        g_assert_cmpuint(info->not_after_usec, <=, now + 90 * USEC_PER_DAY + 5 * USEC_PER_SEC);
        g_assert_cmpuint(info->not_before_usec % USEC_PER_SEC, ==, 0);

        /* Fingerprint: SHA-256 of the DER, upper-case hex pairs with colons. */
        unsigned char md[32];
        unsigned n = 0;
        g_assert_cmpint(X509_digest(c->leaf, EVP_sha256(), md, &n), ==, 1);
        GString *want = g_string_new(NULL);
        for (unsigned i = 0; i < n; i++)
                g_string_append_printf(want, "%s%02X", i ? ":" : "", md[i]);
        g_assert_cmpstr(info->fingerprint, ==, want->str);
        g_assert_cmpuint(strlen(info->fingerprint), ==, 95);
        g_string_free(want, TRUE);

        char fp[CERT_FINGERPRINT_MAX];
        g_assert_cmpint(cert_fingerprint(c->leaf, fp), ==, 0);
        g_assert_cmpstr(fp, ==, info->fingerprint);

        /* Serial: hex pairs with colons, the same number as OpenSSL's. */
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c->leaf), NULL);
        char *hex = BN_bn2hex(bn);
        GString *serial = g_string_new(NULL);
        size_t hl = strlen(hex);
        for (size_t i = 0; i < hl; i += 2)
                g_string_append_printf(serial, "%s%.2s", i ? ":" : "", hex + i);
        g_assert_cmpstr(info->serial, ==, serial->str);
        g_assert_nonnull(strchr(info->serial, ':'));
        g_string_free(serial, TRUE);
        OPENSSL_free(hex);
        BN_free(bn);

        g_assert_cmpstr(info->key_type, ==, "RSA 2048");
        g_assert_cmpuint(info->chain_length, ==, 2);
}

static void test_key_types(void) {
        static const struct {
                PkiKeyType type;
                const char *desc;
        } cases[] = {
                { PKI_KEY_RSA2048, "RSA 2048" },
                { PKI_KEY_RSA3072, "RSA 3072" },
                { PKI_KEY_RSA1024, "RSA 1024" },
                { PKI_KEY_EC256,   "EC P-256" },
                { PKI_KEY_EC384,   "EC P-384" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(cases[i].type, 2);
                _cleanup_(X509_freep) X509 *x = pki_cert_new(k, &(PkiCertOptions) { .common_name = "k.example.com" });
                _cleanup_(cert_info_freep) CertInfo *info = NULL;
                char buf[32];

                g_assert_cmpint(key_describe(k, buf, sizeof(buf)), ==, 0);
                g_assert_cmpstr(buf, ==, cases[i].desc);
                g_assert_cmpint(cert_info_new(x, 1, &info), ==, 0);
                g_assert_cmpstr(info->key_type, ==, cases[i].desc);
                /* Self-signed: subject and issuer agree; no SANs gives an empty list. */
                g_assert_cmpstr(info->subject, ==, info->issuer);
                g_assert_nonnull(info->alt_names);
                g_assert_null(info->alt_names[0]);
        }
        g_assert_cmpint(key_describe(NULL, NULL, 0), ==, -EINVAL);
}

static void test_from_bundle(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = pki_chain_new("info.example.com");
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        CertProblem p = {};

        g_assert_cmpint(pem_read_bundle(c->bundle_pem, strlen(c->bundle_pem), NULL, 0, NULL, 0, NULL, &b, &p), ==, 0);
        g_assert_cmpint(cert_info_from_bundle(b, &info), ==, 0);
        g_assert_cmpuint(info->chain_length, ==, 2);
        g_assert_cmpstr(info->common_name, ==, "info.example.com");

        g_assert_cmpint(cert_info_new(NULL, 1, &info), ==, -EINVAL);
}

static void test_no_cn(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 2);
        _cleanup_(X509_freep) X509 *x = pki_cert_new(k, &(PkiCertOptions) {
                .organization = "Only O", .dns_names = (const char *[]) { "x.example.com", NULL } });
        _cleanup_(cert_info_freep) CertInfo *info = NULL;

        g_assert_cmpint(cert_info_new(x, 1, &info), ==, 0);
        g_assert_cmpstr(info->common_name, ==, "");
        g_assert_cmpstr(info->subject, ==, "O=Only O");
        g_assert_cmpstr(info->alt_names[0], ==, "DNS:x.example.com");
}

static void test_utf8(void) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 2);
        _cleanup_(X509_freep) X509 *x = pki_cert_new(k, &(PkiCertOptions) {
                .common_name = "gr\xc3\xbc\xc3\x9f.example.com", .organization = "Caf\xc3\xa9, Inc" });
        _cleanup_(cert_info_freep) CertInfo *info = NULL;

        g_assert_cmpint(cert_info_new(x, 1, &info), ==, 0);
        g_assert_cmpstr(info->common_name, ==, "gr\xc3\xbc\xc3\x9f.example.com");
        /* RFC 2253 escapes the comma; UTF-8 stays readable. */
        g_assert_cmpstr(info->subject, ==, "CN=gr\xc3\xbc\xc3\x9f.example.com,O=Caf\xc3\xa9\\, Inc");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/certinfo/basic", test_basic);
        g_test_add_func("/certinfo/key-types", test_key_types);
        g_test_add_func("/certinfo/from-bundle", test_from_bundle);
        g_test_add_func("/certinfo/no-cn", test_no_cn);
        g_test_add_func("/certinfo/utf8", test_utf8);

        return g_test_run();
}
