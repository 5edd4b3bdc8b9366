/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier for signing requests: CreateSigningRequest with every option
 * and bad value, the CSR it hands out, PendingRequests, installing the signed
 * certificate without a key (Install and InstallFiles), refusals that leave
 * the request pending, cancelling, the limit, expiry and a restart; the key
 * file on disk and nowhere else.
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gio/gunixfdlist.h>

#include "bus-assert.h"
#include "pki.h"
#include "test-util.h"

/* ------------------------------------------------------------- helpers */

static X509_REQ *parse_csr(const char *pem) {
        BIO *bio = BIO_new_mem_buf(pem, -1);
        X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
        BIO_free(bio);
        g_assert_nonnull(req);
        return req;
}

/* The request's subject as one line, and its SANs as "DNS:x,IP:y". */
static char *csr_subject(X509_REQ *req) {
        char buf[512];
        X509_NAME_oneline(X509_REQ_get_subject_name(req), buf, sizeof(buf));
        return g_strdup(buf);
}

static char *csr_alt_names(X509_REQ *req) {
        STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
        GString *s = g_string_new(NULL);
        for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
                X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
                if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_alt_name)
                        continue;
                GENERAL_NAMES *names = X509V3_EXT_d2i(e);
                for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
                        GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
                        if (s->len)
                                g_string_append_c(s, ',');
                        if (gn->type == GEN_DNS)
                                g_string_append_printf(s, "DNS:%s", ASN1_STRING_get0_data(gn->d.dNSName));
                        else if (gn->type == GEN_IPADD) {
                                char ip[64];
                                int len = ASN1_STRING_length(gn->d.iPAddress);
                                const unsigned char *d = ASN1_STRING_get0_data(gn->d.iPAddress);
                                if (len == 4)
                                        snprintf(ip, sizeof(ip), "%d.%d.%d.%d", d[0], d[1], d[2], d[3]);
                                else
                                        snprintf(ip, sizeof(ip), "v6/%d", len);
                                g_string_append_printf(s, "IP:%s", ip);
                        }
                }
                GENERAL_NAMES_free(names);
        }
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return g_string_free(s, FALSE);
}

/* CreateSigningRequest with options (a{sv}); the reply's id and CSR. */
static void create_ok(BusFixture *f, GVariant *options, char **ret_id, char **ret_csr) {
        g_autoptr(GError) error = NULL;
        if (!options)
                options = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
        g_autoptr(GVariant) reply = bus_call(f, "CreateSigningRequest", g_variant_new_tuple(&options, 1), &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(ss)", ret_id, ret_csr);
        /* The reply is the request only: never a key. */
        g_assert_null(strstr(*ret_csr, "PRIVATE KEY"));
        g_assert_nonnull(strstr(*ret_csr, "-----BEGIN CERTIFICATE REQUEST-----"));
}

static char *create_error(BusFixture *f, GVariant *options, const char *error_name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call(f, "CreateSigningRequest", g_variant_new_tuple(&options, 1), &error);
        g_assert_null(reply);
        return bus_assert_error(error, error_name);
}

static GVariant *option(const char *name, GVariant *value) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", name, value);
        return g_variant_builder_end(&b);
}

/* Signs the request's key with c's intermediate: a certificate for names, as the organisation's CA would. */
static X509 *sign_csr(const char *csr_pem, const PkiChain *c, const char *const *dns_names) {
        X509_REQ *req = parse_csr(csr_pem);
        g_assert_cmpint(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), ==, 1);
        PkiCertOptions o = {
                .common_name = dns_names[0],
                .dns_names = dns_names,
                .issuer_cert = c->intermediate,
                .issuer_key = c->intermediate_key,
        };
        X509 *cert = pki_cert_new(X509_REQ_get0_pubkey(req), &o);
        X509_REQ_free(req);
        return cert;
}

static guint n_pending(BusFixture *f) {
        g_autoptr(GVariant) v = bus_get_property(f, "PendingRequests");
        return (guint) g_variant_n_children(v);
}

static char *pending_key_path(BusFixture *f, const char *id) {
        g_autofree char *rel = g_strdup_printf("store/pending/%s/key.pem", id);
        return bus_fixture_path(f, rel);
}

static GVariant *install_call(BusFixture *f, const char *cert, const char *ca, GError **error) {
        return bus_call(f, "Install", g_variant_new("(sss)", cert, "", ca), error);
}

/* --------------------------------------------------------------- tests */

static void test_default(BusFixture *f, gconstpointer data) {
        g_autofree char *id = NULL, *csr = NULL;
        guint from = f->signals->len;

        create_ok(f, NULL, &id, &csr);
        g_assert_cmpuint(strlen(id), ==, 32);

        X509_REQ *req = parse_csr(csr);
        EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
        g_assert_cmpint(X509_REQ_verify(req, pub), ==, 1);
        g_assert_true(EVP_PKEY_is_a(pub, "EC"));
        g_assert_cmpint(EVP_PKEY_get_bits(pub), ==, 256);
        g_autofree char *subject = csr_subject(req);
        g_assert_cmpstr(subject, ==, "/CN=" SERVER_NAME);
        g_autofree char *names = csr_alt_names(req);
        /* ServerName= first, then AlternativeNames= (default localhost 127.0.0.1 ::1). */
        g_assert_cmpstr(names, ==, "DNS:" SERVER_NAME ",DNS:localhost,IP:127.0.0.1,IP:v6/16");

        /* PendingRequests lists it, with change signals. */
        g_autoptr(GVariant) list = bus_get_property(f, "PendingRequests");
        g_assert_cmpuint(g_variant_n_children(list), ==, 1);
        const char *lid, *lsubject, *ltype;
        guint64 created, expires;
        g_variant_get_child(list, 0, "(&s&s&stt)", &lid, &lsubject, &ltype, &created, &expires);
        g_assert_cmpstr(lid, ==, id);
        g_assert_cmpstr(lsubject, ==, "CN=" SERVER_NAME);
        g_assert_cmpstr(ltype, ==, "EC P-256");
        g_assert_cmpuint(expires - created, ==, 30ull * 86400 * 1000000);
        g_assert_nonnull(bus_wait_signal(f, "PropertiesChanged", &from, 2000));
        g_autoptr(GHashTable) changed = bus_changed_properties(f, 0);
        g_assert_true(g_hash_table_contains(changed, "PendingRequests"));

        /* The key: 0600, ours, in the pending area, and it is the request's key. */
        g_autofree char *key_path = pending_key_path(f, id);
        struct stat st;
        g_assert_cmpint(stat(key_path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpint(st.st_uid, ==, geteuid());
        g_autofree char *dir = g_path_get_dirname(key_path);
        g_assert_cmpint(stat(dir, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);
        g_autofree char *key_pem = NULL;
        g_assert_true(g_file_get_contents(key_path, &key_pem, NULL, NULL));
        BIO *bio = BIO_new_mem_buf(key_pem, -1);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        g_assert_nonnull(key);
        g_assert_cmpint(EVP_PKEY_eq(key, pub), ==, 1);
        EVP_PKEY_free(key);
        X509_REQ_free(req);
}

typedef struct KeyCase {
        const char *name;
        const char *algorithm;
        int bits;
} KeyCase;

static const KeyCase key_cases[] = {
        { "EC P-256", "EC", 256 },
        { "EC P-384", "EC", 384 },
        { "RSA 2048", "RSA", 2048 },
        { "RSA 3072", "RSA", 3072 },
        { "RSA 4096", "RSA", 4096 },
};

static void test_key_type(BusFixture *f, gconstpointer data) {
        const KeyCase *k = data;
        g_autofree char *id = NULL, *csr = NULL;

        create_ok(f, option("KeyType", g_variant_new_string(k->name)), &id, &csr);
        X509_REQ *req = parse_csr(csr);
        EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
        g_assert_cmpint(X509_REQ_verify(req, pub), ==, 1);
        g_assert_true(EVP_PKEY_is_a(pub, k->algorithm));
        g_assert_cmpint(EVP_PKEY_get_bits(pub), ==, k->bits);
        X509_REQ_free(req);

        g_autoptr(GVariant) list = bus_get_property(f, "PendingRequests");
        const char *ltype;
        g_variant_get_child(list, 0, "(&s&s&stt)", NULL, NULL, &ltype, NULL, NULL);
        g_assert_cmpstr(ltype, ==, k->name);
}

static void test_subject_names(BusFixture *f, gconstpointer data) {
        g_autofree char *id = NULL, *csr = NULL;
        GVariantBuilder b;
        const char *names[] = { "DNS:console.example.com", "DNS:*.example.com", "IP:192.0.2.7", NULL };

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "Subject", g_variant_new_string("CN=console.example.com,O=Example,C=DE"));
        g_variant_builder_add(&b, "{sv}", "AlternativeNames", g_variant_new_strv(names, -1));
        create_ok(f, g_variant_builder_end(&b), &id, &csr);

        X509_REQ *req = parse_csr(csr);
        g_assert_cmpint(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), ==, 1);
        g_autofree char *subject = csr_subject(req);
        g_assert_cmpstr(subject, ==, "/CN=console.example.com/O=Example/C=DE");
        g_autofree char *alt = csr_alt_names(req);
        g_assert_cmpstr(alt, ==, "DNS:console.example.com,DNS:*.example.com,IP:192.0.2.7");
        X509_REQ_free(req);

        /* The slash form as `openssl req -subj` takes it. */
        g_free(id), g_free(csr);
        create_ok(f, option("Subject", g_variant_new_string("/CN=other.example.com/OU=Ops")), &id, &csr);
        req = parse_csr(csr);
        g_autofree char *subject2 = csr_subject(req);
        g_assert_cmpstr(subject2, ==, "/CN=other.example.com/OU=Ops");
        X509_REQ_free(req);
}

static void test_bad_options(BusFixture *f, gconstpointer data) {
        const char *bad_name[] = { "console.example.com", NULL };
        const char *bad_ip[] = { "IP:999.1.1.1", NULL };
        const char *bad_dns[] = { "DNS:bad name", NULL };
        struct {
                GVariant *options;
                const char *expect;
        } cases[] = {
                { option("KeyType", g_variant_new_string("DSA 1024")), "KeyType: unknown key type" },
                { option("KeyType", g_variant_new_uint32(256)), "KeyType: expected a string" },
                { option("Subject", g_variant_new_string("no equals sign")), "Subject: not a distinguished name" },
                { option("Subject", g_variant_new_string("XX=unknown")), "Subject: not a distinguished name" },
                { option("Subject", g_variant_new_string("CN=a\nb")), "Subject: not a distinguished name" },
                { option("AlternativeNames", g_variant_new_strv(bad_name, -1)),
                  "AlternativeNames: 'console.example.com' is not DNS:name or IP:address" },
                { option("AlternativeNames", g_variant_new_strv(bad_ip, -1)), "AlternativeNames: 'IP:999.1.1.1'" },
                { option("AlternativeNames", g_variant_new_strv(bad_dns, -1)), "AlternativeNames: 'DNS:bad name'" },
                { option("AlternativeNames", g_variant_new_string("DNS:x")), "AlternativeNames: expected an array" },
                { option("Validity", g_variant_new_uint32(3)), "Validity: unknown option" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *message = create_error(f, cases[i].options, "org.freedesktop.DBus.Error.InvalidArgs");
                g_assert_true(g_str_has_prefix(message, cases[i].expect));
        }
        /* Nothing was made for any of them. */
        g_assert_cmpuint(n_pending(f), ==, 0);
}

static void test_install_matching(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        const char *names[] = { SERVER_NAME, NULL };
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        X509 *cert = sign_csr(csr, c, names);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autofree char *expected = fingerprint_of(cert);

        g_autoptr(GVariant) reply = install_call(f, fullchain, c->root_pem, &error);
        g_assert_no_error(error);
        const char *fingerprint;
        g_variant_get(reply, "(t&s)", NULL, &fingerprint);
        g_assert_cmpstr(fingerprint, ==, expected);
        g_autofree char *served = bus_get_string(f, "Fingerprint");
        g_assert_cmpstr(served, ==, expected);

        /* Consumed: gone from the list and from the pending area; the generation has the key. */
        g_assert_cmpuint(n_pending(f), ==, 0);
        g_autofree char *key_path = pending_key_path(f, id);
        g_assert_false(g_file_test(key_path, G_FILE_TEST_EXISTS));
        g_autofree char *current_key = bus_fixture_path(f, "store/current/key.pem");
        g_autofree char *key_pem = NULL;
        g_assert_true(g_file_get_contents(current_key, &key_pem, NULL, NULL));
        BIO *bio = BIO_new_mem_buf(key_pem, -1);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        g_assert_cmpint(EVP_PKEY_eq(key, X509_get0_pubkey(cert)), ==, 1);
        EVP_PKEY_free(key);
        X509_free(cert);
}

/* Validate without a key names the request the certificate answers, before anything is installed. */
static void test_validate(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        const char *names[] = { SERVER_NAME, NULL };
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        X509 *cert = sign_csr(csr, c, names);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autoptr(GVariant) reply = bus_call(f, "Validate", g_variant_new("(sss)", fullchain, "", c->root_pem), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) report = g_variant_get_child_value(reply, 0);
        gboolean valid = FALSE;
        const char *request = NULL;
        g_assert_true(g_variant_lookup(report, "valid", "b", &valid));
        g_assert_true(valid);
        g_assert_true(g_variant_lookup(report, "signing-request", "&s", &request));
        g_assert_cmpstr(request, ==, id);
        g_assert_cmpuint(n_pending(f), ==, 1);   /* validating consumes nothing */

        g_autoptr(GVariant) other = bus_call(f, "Validate", g_variant_new("(sss)", c->fullchain_pem, "", c->root_pem),
                                             &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) report2 = g_variant_get_child_value(other, 0);
        const char *name, *message;
        g_assert_true(g_variant_lookup(report2, "valid", "b", &valid));
        g_assert_false(valid);
        g_assert_true(g_variant_lookup(report2, "error", "&s", &name));
        g_assert_cmpstr(name, ==, "MissingKey");
        g_assert_true(g_variant_lookup(report2, "message", "&s", &message));
        g_assert_cmpstr(message, ==, "no private key given, and no pending signing request has this certificate's public key");
        g_assert_false(g_variant_lookup(report2, "signing-request", "&s", &request));
        X509_free(cert);
}

static void test_install_files_matching(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        const char *names[] = { SERVER_NAME, NULL };
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        X509 *cert = sign_csr(csr, c, names);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autofree char *cert_path = bus_fixture_path(f, "signed.pem");
        g_autofree char *ca_path = bus_fixture_path(f, "ca.pem");
        g_assert_cmpint(pki_write_file(cert_path, fullchain), ==, 0);
        g_assert_cmpint(pki_write_file(ca_path, c->root_pem), ==, 0);

        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        int cfd = open(cert_path, O_RDONLY | O_CLOEXEC), kfd = open("/dev/null", O_RDONLY | O_CLOEXEC),
            afd = open(ca_path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(g_unix_fd_list_append(fds, cfd, NULL), ==, 0);
        g_assert_cmpint(g_unix_fd_list_append(fds, kfd, NULL), ==, 1);
        g_assert_cmpint(g_unix_fd_list_append(fds, afd, NULL), ==, 2);
        close(cfd), close(kfd), close(afd);
        g_autoptr(GVariant) reply = bus_call_with_fds(f, "InstallFiles", g_variant_new("(hhh)", 0, 1, 2), fds, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(n_pending(f), ==, 0);
        X509_free(cert);
}

static void test_install_no_match(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        /* A certificate for some other key, and no key given. */
        g_autoptr(GVariant) reply = install_call(f, c->fullchain_pem, c->root_pem, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("MissingKey"));
        g_assert_cmpstr(message, ==,
                        "no private key given, and no pending signing request has this certificate's public key");
        g_assert_cmpuint(n_pending(f), ==, 1);
        g_autofree char *source = bus_get_string(f, "Source");
        g_assert_cmpstr(source, ==, "self-signed");
}

static void test_refused_stays_pending(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        const char *wrong[] = { "other.example.org", NULL };
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        X509 *cert = sign_csr(csr, c, wrong);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autoptr(GVariant) reply = install_call(f, fullchain, c->root_pem, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("NameMismatch"));
        g_assert_cmpuint(n_pending(f), ==, 1);
        g_autofree char *key_path = pending_key_path(f, id);
        g_assert_true(g_file_test(key_path, G_FILE_TEST_EXISTS));
        X509_free(cert);

        /* A right certificate for the same request still works afterwards. */
        const char *names[] = { SERVER_NAME, NULL };
        cert = sign_csr(csr, c, names);
        g_autofree char *good = pki_certs_pem(cert, c->intermediate, NULL);
        g_clear_error(&error);
        g_autoptr(GVariant) ok = install_call(f, good, c->root_pem, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(n_pending(f), ==, 0);
        X509_free(cert);
}

static void test_cancel(BusFixture *f, gconstpointer data) {
        g_autofree char *id = NULL, *csr = NULL;
        g_autoptr(GError) error = NULL;

        create_ok(f, NULL, &id, &csr);
        g_autofree char *key_path = pending_key_path(f, id);
        g_assert_true(g_file_test(key_path, G_FILE_TEST_EXISTS));

        guint from = f->signals->len;
        g_autoptr(GVariant) reply = bus_call(f, "CancelSigningRequest", g_variant_new("(s)", id), &error);
        g_assert_no_error(error);
        g_assert_cmpuint(n_pending(f), ==, 0);
        g_assert_false(g_file_test(key_path, G_FILE_TEST_EXISTS));
        g_assert_nonnull(bus_wait_signal(f, "PropertiesChanged", &from, 2000));

        g_autoptr(GVariant) again = bus_call(f, "CancelSigningRequest", g_variant_new("(s)", id), &error);
        g_assert_null(again);
        g_autofree char *m1 = bus_assert_error(error, CERTD_ERROR("NoSuchRequest"));
        g_clear_error(&error);
        g_autoptr(GVariant) bad = bus_call(f, "CancelSigningRequest", g_variant_new("(s)", "../../current"), &error);
        g_assert_null(bad);
        g_autofree char *m2 = bus_assert_error(error, CERTD_ERROR("NoSuchRequest"));
}

static void setup_limit(BusFixture *f, gconstpointer data) {
        bus_fixture_setup(f, "MaxPendingRequests=2\n");
}

static void test_limit(BusFixture *f, gconstpointer data) {
        g_autofree char *a = NULL, *b = NULL, *csr_a = NULL, *csr_b = NULL;

        create_ok(f, NULL, &a, &csr_a);
        create_ok(f, NULL, &b, &csr_b);
        g_autofree char *message = create_error(f, g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0),
                                                CERTD_ERROR("TooManyRequests"));
        g_assert_nonnull(strstr(message, "MaxPendingRequests="));
        g_assert_cmpuint(n_pending(f), ==, 2);
}

/* Requests survive a restart; an expired one is removed at start, key and all. */
static void test_restart_and_expiry(BusFixture *f, gconstpointer data) {
        g_autofree char *keep = NULL, *old = NULL, *csr1 = NULL, *csr2 = NULL;

        create_ok(f, NULL, &keep, &csr1);
        create_ok(f, NULL, &old, &csr2);
        bus_fixture_stop_daemon(f);

        /* Make one of them 31 days old, as if the daemon had been down that long. */
        g_autofree char *rel = g_strdup_printf("store/pending/%s/meta", old);
        g_autofree char *meta_path = bus_fixture_path(f, rel);
        g_autofree char *meta = NULL;
        g_assert_true(g_file_get_contents(meta_path, &meta, NULL, NULL));
        GString *s = g_string_new(NULL);
        g_auto(GStrv) lines = g_strsplit(meta, "\n", -1);
        for (char **l = lines; *l && **l; l++)
                if (g_str_has_prefix(*l, "expires="))
                        g_string_append(s, "expires=1000000\n");
                else
                        g_string_append_printf(s, "%s\n", *l);
        g_assert_true(g_file_set_contents(meta_path, s->str, -1, NULL));
        g_string_free(s, TRUE);

        bus_fixture_start_daemon(f);
        g_autoptr(GVariant) list = bus_get_property(f, "PendingRequests");
        g_assert_cmpuint(g_variant_n_children(list), ==, 1);
        const char *lid;
        g_variant_get_child(list, 0, "(&s&s&stt)", &lid, NULL, NULL, NULL, NULL);
        g_assert_cmpstr(lid, ==, keep);
        g_autofree char *old_key = pending_key_path(f, old);
        g_assert_false(g_file_test(old_key, G_FILE_TEST_EXISTS));

        /* The survivor still answers: its signed certificate installs without a key. */
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        const char *names[] = { SERVER_NAME, NULL };
        X509 *cert = sign_csr(csr1, c, names);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = install_call(f, fullchain, c->root_pem, &error);
        g_assert_no_error(error);
        X509_free(cert);
}


/* --------------------------------------------------------- drop directory */

static void drop_file(BusFixture *f, const char *name, const char *content) {
        /* Written beside, then moved in: what an operator's `mv` does. */
        g_autofree char *staging = bus_fixture_path(f, name);
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_autofree char *target = g_build_filename(drop, name, NULL);
        g_assert_cmpint(pki_write_file(staging, content), ==, 0);
        g_assert_cmpint(rename(staging, target), ==, 0);
}

static void setup_drop(BusFixture *f, gconstpointer data) {
        bus_fixture_setup(f, "SettleSec=1\n");
}

/* tls.crt + ca.crt and no key: after SettleSec= the pending request's key is used; a stranger is MissingKey. */
static void test_drop_directory(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *id = NULL, *csr = NULL;
        const char *names[] = { SERVER_NAME, NULL };
        guint from = f->signals->len;

        create_ok(f, NULL, &id, &csr);
        X509 *cert = sign_csr(csr, c, names);
        g_autofree char *fullchain = pki_certs_pem(cert, c->intermediate, NULL);
        g_autofree char *expected = fingerprint_of(cert);
        drop_file(f, "ca.crt", c->root_pem);
        drop_file(f, "tls.crt", fullchain);

        BusSignal *s = bus_wait_signal(f, "Installed", &from, 15000);
        g_assert_nonnull(s);
        const char *fp, *source;
        g_variant_get(s->parameters, "(t&s&s)", NULL, &fp, &source);
        g_assert_cmpstr(fp, ==, expected);
        g_assert_cmpstr(source, ==, "drop-directory");
        g_assert_cmpuint(n_pending(f), ==, 0);
        X509_free(cert);

        /* No request for this one. */
        _cleanup_pki_chain_ PkiChain *other = pki_chain_new(SERVER_NAME);
        drop_file(f, "x.ca.pem", other->root_pem);
        drop_file(f, "x.crt", other->fullchain_pem);
        s = bus_wait_signal(f, "Rejected", &from, 15000);
        g_assert_nonnull(s);
        const char *name, *err, *msg;
        g_variant_get(s->parameters, "(&s&s&s&s)", &source, &name, &err, &msg);
        g_assert_cmpstr(err, ==, "MissingKey");
        g_assert_cmpstr(msg, ==, "no private key given, and no pending signing request has this certificate's public key");
        g_autofree char *served = bus_get_string(f, "Fingerprint");
        g_assert_cmpstr(served, ==, expected);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/bus/request/default", BusFixture, NULL, setup, test_default, teardown);
        for (size_t i = 0; i < G_N_ELEMENTS(key_cases); i++) {
                g_autofree char *path = g_strdup_printf("/bus/request/key-type/%s", key_cases[i].name);
                g_strdelimit(path + strlen("/bus/request/key-type/"), " ", '-');
                g_test_add(path, BusFixture, &key_cases[i], setup, test_key_type, teardown);
        }
        g_test_add("/bus/request/subject-and-names", BusFixture, NULL, setup, test_subject_names, teardown);
        g_test_add("/bus/request/bad-options", BusFixture, NULL, setup, test_bad_options, teardown);
        g_test_add("/bus/request/install-matching", BusFixture, NULL, setup, test_install_matching, teardown);
        g_test_add("/bus/request/validate", BusFixture, NULL, setup, test_validate, teardown);
        g_test_add("/bus/request/install-files-matching", BusFixture, NULL, setup, test_install_files_matching,
                   teardown);
        g_test_add("/bus/request/install-no-match", BusFixture, NULL, setup, test_install_no_match, teardown);
        g_test_add("/bus/request/refused-stays-pending", BusFixture, NULL, setup, test_refused_stays_pending,
                   teardown);
        g_test_add("/bus/request/cancel", BusFixture, NULL, setup, test_cancel, teardown);
        g_test_add("/bus/request/limit", BusFixture, NULL, setup_limit, test_limit, teardown);
        g_test_add("/bus/request/restart-and-expiry", BusFixture, NULL, setup, test_restart_and_expiry, teardown);
        g_test_add("/bus/request/drop-directory", BusFixture, NULL, setup_drop, test_drop_directory, teardown);
        return g_test_run();
}
