/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The self-signed default certificate: names, server-certificate shape,
 * lifetime cap, key, and refusal of unusable names.
 */

#include <arpa/inet.h>

#include <glib.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "selfsigned.h"
#include "validate.h"

static CertBundle *generate(const char *name, const char *const *alt, unsigned days) {
        CertBundle *b = NULL;
        g_assert_cmpint(selfsigned_generate(name, (char *const *) alt, days, &b), ==, 0);
        g_assert_nonnull(b);
        g_assert_nonnull(b->leaf);
        g_assert_nonnull(b->key);
        g_assert_cmpint(sk_X509_num(b->chain), ==, 0);
        return b;
}

/* SAN entries as "DNS:name" / "IP:address" strings, in order. */
static GPtrArray *san_list(X509 *x, int *ret_critical) {
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, ret_critical, NULL);
        GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

        g_assert_nonnull(names);
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
                if (gn->type == GEN_DNS)
                        g_ptr_array_add(a, g_strdup_printf("DNS:%s", (const char *) ASN1_STRING_get0_data(gn->d.dNSName)));
                else if (gn->type == GEN_IPADD) {
                        char buf[INET6_ADDRSTRLEN];
                        int len = ASN1_STRING_length(gn->d.iPAddress);
                        g_assert_true(len == 4 || len == 16);
                        g_assert_nonnull(inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                                   ASN1_STRING_get0_data(gn->d.iPAddress), buf, sizeof(buf)));
                        g_ptr_array_add(a, g_strdup_printf("IP:%s", buf));
                } else
                        g_assert_not_reached();
        }
        GENERAL_NAMES_free(names);
        return a;
}

static void assert_sans(X509 *x, const char *const *expected) {
        int critical = -1;
        GPtrArray *a = san_list(x, &critical);
        g_assert_cmpuint(a->len, ==, g_strv_length((char **) expected));
        for (guint i = 0; i < a->len; i++)
                g_assert_cmpstr(g_ptr_array_index(a, i), ==, expected[i]);
        g_ptr_array_unref(a);
}

static void test_sans(void) {
        const char *alt[] = { "www.example.com", "192.0.2.1", "2001:db8::1", "lb.example.net", NULL };
        _cleanup_(cert_bundle_freep) CertBundle *b = generate("console.example.com", alt, 0);

        assert_sans(b->leaf, (const char *[]) {
                "DNS:console.example.com", "DNS:www.example.com", "IP:192.0.2.1",
                "IP:2001:db8::1", "DNS:lb.example.net", NULL });

        /* And what a TLS client checks. */
        g_assert_cmpint(X509_check_host(b->leaf, "console.example.com", 0, 0, NULL), ==, 1);
        g_assert_cmpint(X509_check_host(b->leaf, "lb.example.net", 0, 0, NULL), ==, 1);
        g_assert_cmpint(X509_check_host(b->leaf, "other.example.com", 0, 0, NULL), ==, 0);
        g_assert_cmpint(X509_check_ip_asc(b->leaf, "192.0.2.1", 0), ==, 1);
        g_assert_cmpint(X509_check_ip_asc(b->leaf, "2001:db8:0:0:0:0:0:1", 0), ==, 1);
        g_assert_cmpint(X509_check_ip_asc(b->leaf, "192.0.2.2", 0), ==, 0);

        /* CN = server name. */
        char cn[256];
        g_assert_cmpint(X509_NAME_get_text_by_NID(X509_get_subject_name(b->leaf), NID_commonName, cn, sizeof(cn)), >, 0);
        g_assert_cmpstr(cn, ==, "console.example.com");
        g_assert_cmpint(X509_NAME_cmp(X509_get_subject_name(b->leaf), X509_get_issuer_name(b->leaf)), ==, 0);
}

static void test_ip_server_name(void) {
        _cleanup_(cert_bundle_freep) CertBundle *v4 = generate("198.51.100.7", NULL, 0);
        _cleanup_(cert_bundle_freep) CertBundle *v6 = generate("fd00::42", (const char *[]) { "localhost", NULL }, 0);

        assert_sans(v4->leaf, (const char *[]) { "IP:198.51.100.7", NULL });
        assert_sans(v6->leaf, (const char *[]) { "IP:fd00::42", "DNS:localhost", NULL });
        g_assert_cmpint(X509_check_ip_asc(v6->leaf, "fd00::42", 0), ==, 1);
        g_assert_cmpint(X509_check_ip_asc(v4->leaf, "198.51.100.7", 0), ==, 1);
}

static void test_duplicates(void) {
        const char *alt[] = { "localhost", "LOCALHOST", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1", "127.0.0.1", NULL };
        _cleanup_(cert_bundle_freep) CertBundle *b = generate("localhost", alt, 0);
        assert_sans(b->leaf, (const char *[]) { "DNS:localhost", "IP:127.0.0.1", "IP:::1", NULL });
}

static void test_server_certificate(void) {
        _cleanup_(cert_bundle_freep) CertBundle *b = generate("shape.example.com", NULL, 0);
        X509 *x = b->leaf;
        int crit = -1, idx;

        g_assert_cmpint(X509_get_version(x), ==, X509_VERSION_3);

        /* Not a CA, said critically. */
        g_assert_cmpint(X509_check_ca(x), ==, 0);
        idx = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
        g_assert_cmpint(idx, >=, 0);
        g_assert_cmpint(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), ==, 1);
        BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
        g_assert_nonnull(bc);
        g_assert_false(bc->ca);
        BASIC_CONSTRAINTS_free(bc);

        /* keyUsage: digitalSignature only, critical. */
        g_assert_cmpuint(X509_get_extension_flags(x) & EXFLAG_KUSAGE, !=, 0);
        g_assert_cmpuint(X509_get_key_usage(x), ==, KU_DIGITAL_SIGNATURE);
        idx = X509_get_ext_by_NID(x, NID_key_usage, -1);
        g_assert_cmpint(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), ==, 1);

        /* EKU: serverAuth. */
        g_assert_cmpuint(X509_get_extension_flags(x) & EXFLAG_XKUSAGE, !=, 0);
        g_assert_cmpuint(X509_get_extended_key_usage(x), ==, XKU_SSL_SERVER);
        g_assert_cmpint(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), ==, 1);

        /* SKI present; SAN not critical while there is a CN. */
        g_assert_nonnull(X509_get0_subject_key_id(x));
        GPtrArray *a = san_list(x, &crit);
        g_assert_cmpint(crit, ==, 0);
        g_ptr_array_unref(a);

        /* ECDSA P-256 with SHA-256. */
        g_assert_cmpint(X509_get_signature_nid(x), ==, NID_ecdsa_with_SHA256);
        g_assert_true(EVP_PKEY_is_a(b->key, "EC"));
        char group[64];
        size_t glen;
        g_assert_cmpint(EVP_PKEY_get_group_name(b->key, group, sizeof(group), &glen), ==, 1);
        g_assert_cmpstr(group, ==, "prime256v1");

        /* Serial: positive, 128 bits. */
        BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        g_assert_nonnull(serial);
        g_assert_false(BN_is_negative(serial));
        g_assert_cmpint(BN_num_bits(serial), ==, 128);
        BN_free(serial);

        /* Two certificates never share a serial. */
        _cleanup_(cert_bundle_freep) CertBundle *c = generate("shape.example.com", NULL, 0);
        g_assert_cmpint(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(c->leaf)), !=, 0);
}

static void test_key_matches(void) {
        _cleanup_(cert_bundle_freep) CertBundle *b = generate("key.example.com", NULL, 0);
        _cleanup_(cert_bundle_freep) CertBundle *c = generate("key.example.com", NULL, 0);

        g_assert_cmpint(X509_check_private_key(b->leaf, b->key), ==, 1);
        g_assert_cmpint(X509_verify(b->leaf, X509_get0_pubkey(b->leaf)), ==, 1);
        /* Each call makes a new key. */
        g_assert_cmpint(EVP_PKEY_eq(b->key, c->key), !=, 1);
        ERR_clear_error();
}

static int64_t lifetime_seconds(X509 *x) {
        int days, secs;
        g_assert_cmpint(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), ==, 1);
        return (int64_t) days * 86400 + secs;
}

static void test_lifetime(void) {
        _cleanup_(cert_bundle_freep) CertBundle *def = generate("life.example.com", NULL, 0);
        _cleanup_(cert_bundle_freep) CertBundle *capped = generate("life.example.com", NULL, 5000);
        _cleanup_(cert_bundle_freep) CertBundle *shorter = generate("life.example.com", NULL, 30);

        g_assert_cmpint(lifetime_seconds(def->leaf), ==, 397 * 86400);
        g_assert_cmpint(lifetime_seconds(capped->leaf), ==, 397 * 86400);
        g_assert_cmpint(lifetime_seconds(shorter->leaf), ==, 30 * 86400);

        /* notBefore five minutes in the past, so slightly wrong clocks accept it at once. */
        int days, secs;
        g_assert_cmpint(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(def->leaf), NULL), ==, 1);
        g_assert_cmpint(days, ==, 0);
        g_assert_cmpint(secs, >=, 300);
        g_assert_cmpint(secs, <=, 360);
        g_assert_cmpint(X509_cmp_current_time(X509_get0_notBefore(def->leaf)), <, 0);
        g_assert_cmpint(X509_cmp_current_time(X509_get0_notAfter(def->leaf)), >, 0);
}

static void test_long_name(void) {
        /* 100 characters: too long for a CN (64), fine for a DNS SAN. */
        g_autofree char *a40 = g_strnfill(40, 'a'), *b40 = g_strnfill(40, 'b');
        g_autofree char *name = g_strdup_printf("%s.%s.example.com", a40, b40);
        _cleanup_(cert_bundle_freep) CertBundle *b = generate(name, NULL, 0);
        int crit = -1;

        g_assert_cmpint(X509_NAME_entry_count(X509_get_subject_name(b->leaf)), ==, 0);
        GPtrArray *a = san_list(b->leaf, &crit);
        g_assert_cmpint(crit, ==, 1);  /* RFC 5280: empty subject, critical SAN */
        g_autofree char *expected = g_strdup_printf("DNS:%s", name);
        g_assert_cmpstr(g_ptr_array_index(a, 0), ==, expected);
        g_ptr_array_unref(a);
        g_assert_cmpint(X509_check_host(b->leaf, name, 0, 0, NULL), ==, 1);
}

static void test_invalid_names(void) {
        g_autofree char *a64 = g_strnfill(64, 'a'), *a63 = g_strnfill(63, 'a'), *b63 = g_strnfill(63, 'b'),
                        *c63 = g_strnfill(63, 'c'), *d62 = g_strnfill(62, 'd');
        g_autofree char *label64 = g_strdup_printf("%s.example.com", a64);
        g_autofree char *label63 = g_strdup_printf("%s.example.com", a63);
        g_autofree char *name254 = g_strdup_printf("%s.%s.%s.%s", a63, b63, c63, d62);
        const char *bad[] = {
                "", "bad name", "a..b", ".example.com", "example.com.", "-a.example.com", "a-.example.com",
                "*.example.com", "exa$mple.com", "1.2.3.999", "192.0.2.1/24", "fe80::1%eth0", "[::1]",
                "host:443", label64, name254,
        };
        CertBundle *b = NULL;

        g_assert_cmpuint(strlen(name254), ==, 254);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_test_message("name '%s'", bad[i]);
                g_assert_cmpint(selfsigned_check_name(bad[i]), ==, -EINVAL);
                g_assert_cmpint(selfsigned_generate(bad[i], NULL, 0, &b), ==, -EINVAL);
                g_assert_cmpint(selfsigned_generate("ok.example.com", (char *[]) { "fine.example.com", (char *) bad[i], NULL }, 0, &b), ==, -EINVAL);
                g_assert_null(b);
        }
        g_assert_cmpint(selfsigned_generate(NULL, NULL, 0, &b), ==, -EINVAL);

        const char *good[] = { "localhost", "vertex", "my_host.lan", "a-b.example.com", "xn--bcher-kva.example", label63,
                               "10.0.0.1", "::", "2001:db8::ffff:192.0.2.1" };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_test_message("name '%s'", good[i]);
                g_assert_cmpint(selfsigned_check_name(good[i]), ==, 0);
        }
}

static void test_validates(void) {
        const char *alt[] = { "192.0.2.10", NULL };
        _cleanup_(cert_bundle_freep) CertBundle *b = generate("valid.example.com", alt, 0);
        ValidateOptions o = {
                .server_name = "valid.example.com",
                .policy = VALIDATE_POLICY_STRICT,
                .allow_self_signed_leaf = true,
        };
        CertProblem problem = {};

        g_assert_cmpint(cert_bundle_validate(b, &o, &problem), ==, 0);
        o.server_name = "192.0.2.10";
        g_assert_cmpint(cert_bundle_validate(b, &o, &problem), ==, 0);

        /* Not for another name: the validator still judges it. */
        o.server_name = "other.example.com";
        g_assert_cmpint(cert_bundle_validate(b, &o, &problem), ==, -EBADMSG);
        g_assert_cmpint(problem.code, ==, CERT_ERROR_NAME_MISMATCH);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/selfsigned/sans", test_sans);
        g_test_add_func("/selfsigned/ip-server-name", test_ip_server_name);
        g_test_add_func("/selfsigned/duplicates", test_duplicates);
        g_test_add_func("/selfsigned/server-certificate", test_server_certificate);
        g_test_add_func("/selfsigned/key-matches", test_key_matches);
        g_test_add_func("/selfsigned/lifetime", test_lifetime);
        g_test_add_func("/selfsigned/long-name", test_long_name);
        g_test_add_func("/selfsigned/invalid-names", test_invalid_names);
        g_test_add_func("/selfsigned/validates", test_validates);
        return g_test_run();
}
