/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier: the built vertex-certd on a private dbus-daemon, driven over
 * D-Bus like an operator would. Changing the certificate: first boot, Install
 * with each error name, InstallFiles, Validate, Rollback, RegenerateSelfSigned,
 * ReloadEndpoints, a restart, and every property after each change.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <gio/gunixfdlist.h>

#include "certinfo.h"
#include "pki.h"
#include "bus-assert.h"
#include "test-util.h"

/* ---------------------------------------------------------------- tests */

static void test_first_boot(BusFixture *f, gconstpointer data) {
        guint from = 0;
        BusSignal *s = bus_wait_signal(f, "Installed", &from, 5000);
        g_assert_nonnull(s);
        guint64 generation;
        const char *fingerprint, *source;
        g_variant_get(s->parameters, "(t&s&s)", &generation, &fingerprint, &source);
        g_assert_cmpuint(generation, ==, 1);
        g_assert_cmpstr(source, ==, "self-signed");

        assert_properties(f, 1, "self-signed", "serving", 1, fingerprint, NULL);
        g_autofree char *subject = bus_get_string(f, "Subject");
        g_assert_cmpstr(subject, ==, "CN=" SERVER_NAME);
        g_autofree char *key_type = bus_get_string(f, "KeyType");
        g_assert_cmpstr(key_type, ==, "EC P-256");

        g_autoptr(GVariant) endpoints = bus_get_property(f, "Endpoints");
        g_assert_cmpuint(g_variant_n_children(endpoints), ==, 0);

        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call(f, "ListGenerations", NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
        g_assert_cmpuint(g_variant_n_children(list), ==, 1);
        guint64 id, not_after, installed_at;
        const char *fp, *src, *subj;
        g_variant_get_child(list, 0, "(t&s&s&stt)", &id, &fp, &src, &subj, &not_after, &installed_at);
        g_assert_cmpuint(id, ==, 1);
        g_assert_cmpstr(fp, ==, fingerprint);
        g_assert_cmpstr(src, ==, "self-signed");
        g_assert_cmpstr(subj, ==, "CN=" SERVER_NAME);
        g_assert_cmpuint(not_after, ==, bus_get_u64(f, "NotAfter"));
        g_assert_cmpuint(installed_at, ==, bus_get_u64(f, "InstalledAt"));
}

static void test_install(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *expected = fingerprint_of(c->leaf);
        g_autofree char *fingerprint = NULL;
        guint64 generation;

        bus_clear_signals(f);
        install_ok(f, c, &generation, &fingerprint);
        g_assert_cmpuint(generation, ==, 2);
        g_assert_cmpstr(fingerprint, ==, expected);

        guint from = 0;
        BusSignal *s = bus_wait_signal(f, "Installed", &from, 5000);
        g_assert_nonnull(s);
        guint64 g;
        const char *fp, *source;
        g_variant_get(s->parameters, "(t&s&s)", &g, &fp, &source);
        g_assert_cmpuint(g, ==, 2);
        g_assert_cmpstr(fp, ==, expected);
        g_assert_cmpstr(source, ==, "bus");
        from = 0;
        g_assert_nonnull(bus_wait_signal(f, "EndpointsReloaded", &from, 5000));
        assert_changed(f, 0, certificate_properties);
        assert_changed(f, 0, (const char *const[]) { "State", "Endpoints", "LastError", NULL });

        assert_properties(f, 2, "bus", "serving", 2, expected, NULL);
        g_assert_cmpuint(n_generations(f), ==, 2);

        /* What consumers read: the key belongs to the certificate. */
        g_autofree char *key_path = bus_fixture_path(f, "store/current/key.pem");
        g_autofree char *key_pem = NULL;
        g_assert_true(g_file_get_contents(key_path, &key_pem, NULL, NULL));
        BIO *bio = BIO_new_mem_buf(key_pem, -1);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        g_assert_nonnull(key);
        g_assert_cmpint(EVP_PKEY_eq(key, c->leaf_key), ==, 1);
        EVP_PKEY_free(key);
        BIO_free(bio);
}

/* One bundle per refusal the bus can produce. */
typedef struct ErrorCase {
        const char *name;
        char *(*make)(char **key, char **ca);   /* returns the certificate input */
        const char *variant;                    /* the test's path: /bus/install/error/NAME[-VARIANT] */
        bool unparsed;                          /* refused for its size before anything is parsed */
} ErrorCase;

static char *bundle_of(PkiChain *c, char **key, char **ca) {
        *key = g_strdup(c->key_pem);
        *ca = g_strdup(c->root_pem);
        char *cert = g_strdup(c->fullchain_pem);
        pki_chain_free(c);
        return cert;
}

static char *make_malformed(char **key, char **ca) {
        PkiChain *c = chain_with(NULL);
        char *cert = bundle_of(c, key, ca);
        g_free(cert);
        return g_strdup("this is not a certificate\n");
}

static char *make_too_large(char **key, char **ca) {
        PkiChain *c = chain_with(NULL);
        char *cert = bundle_of(c, key, ca);
        g_free(cert);
        char *big = g_malloc(2 * 1024 * 1024 + 1);
        memset(big, 'A', 2 * 1024 * 1024);
        big[2 * 1024 * 1024] = 0;
        return big;
}

static char *make_missing_key(char **key, char **ca) {
        char *cert = bundle_of(chain_with(NULL), key, ca);
        g_free(*key);
        *key = g_strdup("");
        return cert;
}

static char *make_encrypted_key(char **key, char **ca) {
        PkiChain *c = chain_with(NULL);
        char *encrypted = pki_key_pem(c->leaf_key, "secret");
        char *cert = bundle_of(c, key, ca);
        g_free(*key);
        *key = encrypted;
        return cert;
}

static char *make_key_mismatch(char **key, char **ca) {
        char *cert = bundle_of(chain_with(NULL), key, ca);
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_RSA2048, 5);
        g_free(*key);
        *key = pki_key_pem(other, NULL);
        EVP_PKEY_free(other);
        return cert;
}

static char *make_chain_incomplete(char **key, char **ca) {
        PkiChain *c = chain_with(NULL);
        char *leaf = g_strdup(c->leaf_pem);
        g_free(bundle_of(c, key, ca));
        return leaf;
}

static char *make_untrusted_chain(char **key, char **ca) {
        /* A self-signed server certificate, no authority: nothing vouches for it. */
        EVP_PKEY *k = pki_key_pooled(PKI_KEY_RSA2048, 6);
        PkiCertOptions o = { .common_name = SERVER_NAME, .dns_names = (const char *[]) { SERVER_NAME, NULL } };
        X509 *cert = pki_cert_new(k, &o);
        char *pem = pki_cert_pem(cert);
        *key = pki_key_pem(k, NULL);
        *ca = g_strdup("");
        X509_free(cert);
        EVP_PKEY_free(k);
        return pem;
}

static void tweak_expired(PkiChainOptions *o) {
        o->leaf.not_before_offset = -30 * PKI_DAY;
        o->leaf.not_after_offset = -PKI_DAY;
}
static char *make_expired(char **key, char **ca) {
        return bundle_of(chain_with(tweak_expired), key, ca);
}

static void tweak_not_yet_valid(PkiChainOptions *o) {
        o->leaf.not_before_offset = PKI_DAY;
        o->leaf.not_after_offset = 30 * PKI_DAY;
}
static char *make_not_yet_valid(char **key, char **ca) {
        return bundle_of(chain_with(tweak_not_yet_valid), key, ca);
}

static void tweak_name(PkiChainOptions *o) {
        o->server_name = "other.example.com";
}
static char *make_name_mismatch(char **key, char **ca) {
        return bundle_of(chain_with(tweak_name), key, ca);
}

static void tweak_client(PkiChainOptions *o) {
        o->leaf.extended_key_usage = "clientAuth";
}
static char *make_not_server(char **key, char **ca) {
        return bundle_of(chain_with(tweak_client), key, ca);
}

static void tweak_weak_key(PkiChainOptions *o) {
        o->leaf_key_type = PKI_KEY_RSA1024;
}
static char *make_weak_key(char **key, char **ca) {
        return bundle_of(chain_with(tweak_weak_key), key, ca);
}

static void tweak_sha1(PkiChainOptions *o) {
        o->leaf.digest = EVP_sha1();
}
static char *make_weak_signature(char **key, char **ca) {
        return bundle_of(chain_with(tweak_sha1), key, ca);
}

/* Covers the server name, valid in every row of the table, but its chain is over what TLS clients accept. */
static void tweak_many_names(PkiChainOptions *o) {
        o->extra_names = 9999;
}
static char *make_too_large_chain(char **key, char **ca) {
        return bundle_of(chain_with(tweak_many_names), key, ca);
}

static const ErrorCase error_cases[] = {
        { "Malformed",            make_malformed },
        { "TooLarge",             make_too_large, .unparsed = true },
        { "TooLarge",             make_too_large_chain, "chain" },
        { "MissingKey",           make_missing_key },
        { "EncryptedKey",         make_encrypted_key },
        { "KeyMismatch",          make_key_mismatch },
        { "ChainIncomplete",      make_chain_incomplete },
        { "UntrustedChain",       make_untrusted_chain },
        { "Expired",              make_expired },
        { "NotYetValid",          make_not_yet_valid },
        { "NameMismatch",         make_name_mismatch },
        { "NotServerCertificate", make_not_server },
        { "WeakKey",              make_weak_key },
        { "WeakSignature",        make_weak_signature },
};

static void test_install_error(BusFixture *f, gconstpointer data) {
        const ErrorCase *e = data;
        g_autofree char *key = NULL, *ca = NULL;
        g_autofree char *cert = e->make(&key, &ca);
        g_autofree char *error_name = g_strconcat("org.vertex.Certificates.Error.", e->name, NULL);
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;

        bus_clear_signals(f);
        g_autoptr(GVariant) reply = install(f, cert, key, ca, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, error_name);
        g_assert_cmpstr(message, !=, "");

        /* An input over MaxInputSize= is answered before anything is parsed, without a Rejected signal. */
        if (!e->unparsed) {
                guint from = 0;
                BusSignal *s = bus_wait_signal(f, "Rejected", &from, 5000);
                g_assert_nonnull(s);
                const char *source, *name, *err, *msg;
                g_variant_get(s->parameters, "(&s&s&s&s)", &source, &name, &err, &msg);
                g_assert_cmpstr(source, ==, "bus");
                g_assert_cmpstr(name, ==, g_dbus_connection_get_unique_name(f->conn));
                g_assert_cmpstr(err, ==, e->name);
                g_assert_cmpstr(msg, ==, message);
                assert_changed(f, 0, (const char *const[]) { "LastError", NULL });
                g_autofree char *prefix = g_strconcat(e->name, ": ", NULL);
                assert_properties(f, 1, "self-signed", "serving", 1, before, prefix);
        } else
                assert_properties(f, 1, "self-signed", "serving", 1, before, NULL);
        g_assert_null(bus_wait_signal(f, "Installed", NULL, 0));
        g_assert_cmpuint(n_generations(f), ==, 1);

        /* Validate names the same problem without changing anything. */
        g_clear_error(&error);
        g_autoptr(GVariant) report = bus_call(f, "Validate", g_variant_new("(sss)", cert, key, ca), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) dict = g_variant_get_child_value(report, 0);
        g_autoptr(GVariantDict) d = g_variant_dict_new(dict);
        gboolean valid = TRUE;
        const char *name;
        g_assert_true(g_variant_dict_lookup(d, "valid", "b", &valid));
        g_assert_false(valid);
        g_assert_true(g_variant_dict_lookup(d, "error", "&s", &name));
        g_assert_cmpstr(name, ==, e->name);
        /* The same words as the refusal: both ran the same checks, in a child. */
        const char *text;
        g_assert_true(g_variant_dict_lookup(d, "message", "&s", &text));
        if (!e->unparsed)
                g_assert_cmpstr(text, ==, message);
}

static int open_file(BusFixture *f, const char *name, const char *content) {
        g_autofree char *path = bus_fixture_path(f, name);
        g_assert_cmpint(pki_write_file(path, content), ==, 0);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void test_install_files(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        _cleanup_pki_chain_ PkiChain *c2 = pki_chain_new(SERVER_NAME);
        g_autofree char *fp1 = fingerprint_of(c->leaf), *fp2 = fingerprint_of(c2->leaf);
        g_autoptr(GError) error = NULL;
        guint64 generation;
        const char *fp;

        /* Three separate files. */
        g_autoptr(GVariant) r1 = install_fds(f, open_file(f, "cert.pem", c->fullchain_pem),
                                             open_file(f, "key.pem", c->key_pem),
                                             open_file(f, "ca.pem", c->root_pem), &error);
        g_assert_no_error(error);
        g_variant_get(r1, "(t&s)", &generation, &fp);
        g_assert_cmpuint(generation, ==, 2);
        g_assert_cmpstr(fp, ==, fp1);
        assert_properties(f, 2, "bus", "serving", 2, fp1, NULL);

        /* One combined file, /dev/null for the absent parts; the read position does not matter. */
        int combined = open_file(f, "bundle.pem", c2->bundle_pem);
        g_assert_cmpint(lseek(combined, 100, SEEK_SET), ==, 100);
        g_autoptr(GVariant) r2 = install_fds(f, combined, open("/dev/null", O_RDONLY | O_CLOEXEC),
                                             open("/dev/null", O_RDONLY | O_CLOEXEC), &error);
        g_assert_no_error(error);
        g_variant_get(r2, "(t&s)", &generation, &fp);
        g_assert_cmpuint(generation, ==, 3);
        g_assert_cmpstr(fp, ==, fp2);
        assert_properties(f, 3, "bus", "serving", 2, fp2, NULL);

        /* A FIFO could block the daemon: refused, not read. */
        g_autofree char *fifo = bus_fixture_path(f, "key.fifo");
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        g_autoptr(GVariant) r3 = install_fds(f, open_file(f, "cert3.pem", c->fullchain_pem),
                                             open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC),
                                             open_file(f, "ca3.pem", c->root_pem), &error);
        g_assert_null(r3);
        g_free(bus_assert_error(error, CERTD_ERROR("Malformed")));
        g_clear_error(&error);

        /* A directory is no file either. */
        g_autoptr(GVariant) r4 = install_fds(f, open(f->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                             open_file(f, "key4.pem", c->key_pem),
                                             open_file(f, "ca4.pem", c->root_pem), &error);
        g_assert_null(r4);
        g_free(bus_assert_error(error, CERTD_ERROR("Malformed")));
        g_clear_error(&error);

        /* Larger than MaxInputSize= (1 MiB by default). */
        g_autofree char *big = g_malloc(1024 * 1024 + 2);
        memset(big, 'A', 1024 * 1024 + 1);
        big[1024 * 1024 + 1] = 0;
        g_autoptr(GVariant) r5 = install_fds(f, open_file(f, "big.pem", big),
                                             open_file(f, "key5.pem", c->key_pem),
                                             open_file(f, "ca5.pem", c->root_pem), &error);
        g_assert_null(r5);
        g_free(bus_assert_error(error, CERTD_ERROR("TooLarge")));
        g_clear_error(&error);

        /* A refused pair of files is refused like strings are. */
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_RSA2048, 7);
        g_autofree char *other_pem = pki_key_pem(other, NULL);
        EVP_PKEY_free(other);
        g_autoptr(GVariant) r6 = install_fds(f, open_file(f, "cert6.pem", c->fullchain_pem),
                                             open_file(f, "key6.pem", other_pem),
                                             open_file(f, "ca6.pem", c->root_pem), &error);
        g_assert_null(r6);
        g_free(bus_assert_error(error, CERTD_ERROR("KeyMismatch")));

        assert_properties(f, 3, "bus", "serving", 2, fp2, "KeyMismatch: ");
}

static void test_validate(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *expected = fingerprint_of(c->leaf);
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;
        CertInfo *info = NULL;

        g_assert_cmpint(cert_info_new(c->leaf, 2, &info), ==, 0);
        bus_clear_signals(f);

        g_autoptr(GVariant) reply = bus_call(f, "Validate",
                                             g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) dict = g_variant_get_child_value(reply, 0);
        g_autoptr(GVariantDict) d = g_variant_dict_new(dict);
        gboolean valid = FALSE;
        const char *s;
        guint64 t;
        guint32 u;
        g_assert_true(g_variant_dict_lookup(d, "valid", "b", &valid));
        g_assert_true(valid);
        g_assert_true(g_variant_dict_lookup(d, "error", "&s", &s));
        g_assert_cmpstr(s, ==, "");
        g_assert_true(g_variant_dict_lookup(d, "message", "&s", &s));
        g_assert_cmpstr(s, ==, "");
        g_assert_true(g_variant_dict_lookup(d, "subject", "&s", &s));
        g_assert_cmpstr(s, ==, info->subject);
        g_assert_true(g_variant_dict_lookup(d, "issuer", "&s", &s));
        g_assert_cmpstr(s, ==, info->issuer);
        g_assert_true(g_variant_dict_lookup(d, "fingerprint", "&s", &s));
        g_assert_cmpstr(s, ==, expected);
        g_assert_true(g_variant_dict_lookup(d, "key-type", "&s", &s));
        g_assert_cmpstr(s, ==, "RSA 2048");
        g_assert_true(g_variant_dict_lookup(d, "not-after", "t", &t));
        g_assert_cmpuint(t, ==, info->not_after_usec);
        g_assert_true(g_variant_dict_lookup(d, "chain-length", "u", &u));
        g_assert_cmpuint(u, ==, 2);
        g_autofree const char **alt = NULL;
        g_assert_true(g_variant_dict_lookup(d, "alternative-names", "^a&s", &alt));
        g_assert_cmpstr(alt[0], ==, "DNS:" SERVER_NAME);

        /* A refused bundle still describes what was parsed. */
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_RSA2048, 5);
        g_autofree char *other_pem = pki_key_pem(other, NULL);
        EVP_PKEY_free(other);
        g_autoptr(GVariant) reply2 = bus_call(f, "Validate",
                                              g_variant_new("(sss)", c->fullchain_pem, other_pem, c->root_pem), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) dict2 = g_variant_get_child_value(reply2, 0);
        g_autoptr(GVariantDict) d2 = g_variant_dict_new(dict2);
        g_assert_true(g_variant_dict_lookup(d2, "valid", "b", &valid));
        g_assert_false(valid);
        g_assert_true(g_variant_dict_lookup(d2, "error", "&s", &s));
        g_assert_cmpstr(s, ==, "KeyMismatch");
        g_assert_true(g_variant_dict_lookup(d2, "message", "&s", &s));
        g_assert_cmpstr(s, !=, "");
        g_assert_true(g_variant_dict_lookup(d2, "fingerprint", "&s", &s));
        g_assert_cmpstr(s, ==, expected);

        /* Nothing changed, nothing announced. */
        assert_properties(f, 1, "self-signed", "serving", 1, before, NULL);
        g_assert_null(bus_wait_signal(f, "Installed", NULL, 0));
        g_assert_null(bus_wait_signal(f, "Rejected", NULL, 0));
        g_assert_null(bus_wait_signal(f, "PropertiesChanged", NULL, 0));
        cert_info_free(info);
}

static void test_rollback(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *first = bus_get_string(f, "Fingerprint");
        g_autofree char *fingerprint = NULL;
        g_autoptr(GError) error = NULL;
        guint64 generation;

        g_autoptr(GVariant) r0 = bus_call(f, "Rollback", NULL, &error);
        g_assert_null(r0);
        g_free(bus_assert_error(error, CERTD_ERROR("NoPreviousGeneration")));
        g_clear_error(&error);

        install_ok(f, c, &generation, &fingerprint);
        g_assert_cmpuint(generation, ==, 2);

        bus_clear_signals(f);
        g_autoptr(GVariant) r1 = bus_call(f, "Rollback", NULL, &error);
        g_assert_no_error(error);
        const char *fp;
        g_variant_get(r1, "(t&s)", &generation, &fp);
        g_assert_cmpuint(generation, ==, 1);
        g_assert_cmpstr(fp, ==, first);

        guint from = 0;
        BusSignal *s = bus_wait_signal(f, "Installed", &from, 5000);
        g_assert_nonnull(s);
        const char *sfp, *source;
        g_variant_get(s->parameters, "(t&s&s)", &generation, &sfp, &source);
        g_assert_cmpuint(generation, ==, 1);
        g_assert_cmpstr(sfp, ==, first);
        g_assert_cmpstr(source, ==, "rollback");
        assert_changed(f, 0, certificate_properties);
        assert_properties(f, 1, "rollback", "serving", 1, first, NULL);

        /* Nothing older than generation 1. */
        g_autoptr(GVariant) r2 = bus_call(f, "Rollback", NULL, &error);
        g_assert_null(r2);
        g_free(bus_assert_error(error, CERTD_ERROR("NoPreviousGeneration")));
        assert_properties(f, 1, "rollback", "serving", 1, first, NULL);
}

static void test_regenerate(BusFixture *f, gconstpointer data) {
        g_autofree char *first = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;
        guint64 generation;
        const char *fp;

        bus_clear_signals(f);
        g_autoptr(GVariant) r = bus_call(f, "RegenerateSelfSigned", NULL, &error);
        g_assert_no_error(error);
        g_variant_get(r, "(t&s)", &generation, &fp);
        g_assert_cmpuint(generation, ==, 2);
        g_assert_cmpstr(fp, !=, first);
        g_assert_nonnull(bus_wait_signal(f, "Installed", NULL, 5000));
        assert_changed(f, 0, certificate_properties);
        assert_properties(f, 2, "self-signed", "serving", 1, fp, NULL);
        g_assert_cmpuint(n_generations(f), ==, 2);
}

static void test_reload_endpoints(BusFixture *f, gconstpointer data) {
        g_autofree char *first = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;

        bus_clear_signals(f);
        g_autoptr(GVariant) r = bus_call(f, "ReloadEndpoints", NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(g_variant_get_type_string(r), ==, "()");
        BusSignal *s = bus_wait_signal(f, "EndpointsReloaded", NULL, 5000);
        g_assert_nonnull(s);
        g_assert_cmpstr(g_variant_get_type_string(s->parameters), ==, "(a(ssss))");
        g_assert_null(bus_wait_signal(f, "Installed", NULL, 0));
        assert_properties(f, 1, "self-signed", "serving", 1, first, NULL);
}

static void test_restart(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *fingerprint = NULL;
        guint64 generation;

        install_ok(f, c, &generation, &fingerprint);
        g_assert_cmpuint(generation, ==, 2);

        bus_fixture_stop_daemon(f);
        bus_clear_signals(f);
        bus_fixture_start_daemon(f);

        /* No new first-boot certificate, the same generation served. */
        g_assert_null(bus_wait_signal(f, "Installed", NULL, 0));
        assert_properties(f, 2, "bus", "serving", 2, fingerprint, NULL);
        g_assert_cmpuint(n_generations(f), ==, 2);
}


/* ------------------------------------------------------ bad descriptors */

typedef struct BadFd {
        const char *what;
        int (*open)(BusFixture *f);
        const char *error;           /* the short name */
        const char *needle;          /* in the message, after the part's name */
} BadFd;

static int open_write_only(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "write-only.pem");
        g_assert_cmpint(pki_write_file(path, "-----BEGIN CERTIFICATE-----\n"), ==, 0);
        return open(path, O_WRONLY | O_CLOEXEC);
}

static int open_o_path(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "o-path.pem");
        g_assert_cmpint(pki_write_file(path, "-----BEGIN CERTIFICATE-----\n"), ==, 0);
        return open(path, O_PATH | O_CLOEXEC);
}

static int open_directory(BusFixture *f) {
        return open(f->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int open_fifo_without_writer(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "lonely.fifo");
        (void) unlink(path);
        g_assert_cmpint(mkfifo(path, 0600), ==, 0);
        /* The read end, and nobody will ever write: reading it would block for good. */
        return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

static int open_socket(BusFixture *f) {
        return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int open_dev_zero(BusFixture *f) {
        return open("/dev/zero", O_RDONLY | O_CLOEXEC);
}

static int open_eventfd(BusFixture *f) {
        return eventfd(0, EFD_CLOEXEC);
}

static int open_sparse_4gib(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "sparse.pem");
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, (off_t) 4 * 1024 * 1024 * 1024), ==, 0);
        return fd;
}

static const BadFd bad_fds[] = {
        { "write-only",         open_write_only,          "Malformed", "file descriptor is not open for reading" },
        { "O_PATH",             open_o_path,              "Malformed", "file descriptor is not open for reading" },
        { "directory",          open_directory,           "Malformed", ", not a directory" },
        { "FIFO without writer", open_fifo_without_writer, "Malformed", ", not a pipe" },
        { "socket",             open_socket,              "Malformed", ", not a socket" },
        { "/dev/zero",          open_dev_zero,            "Malformed", ", not a device" },
        { "eventfd",            open_eventfd,             "Malformed", ", not a special file" },
        { "4 GiB sparse file",  open_sparse_4gib,         "TooLarge",  "is larger than the limit of 1048576 bytes" },
};

typedef struct Pending {
        GVariant *reply;
        GError *error;
        bool done;
} Pending;

static void on_call_done(GObject *source, GAsyncResult *result, gpointer userdata) {
        Pending *p = userdata;
        p->reply = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(source), NULL, result, &p->error);
        p->done = true;
}

/*
 * Every kind of descriptor that is no readable regular file, in each of the three places: refused
 * with a documented name and a message naming the part, and another caller's call made meanwhile is
 * answered at once; nothing changes.
 */
static void test_install_files_bad_fds(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        static const char *const parts[] = { "certificate", "key", "authority" };
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusConnection) other = g_dbus_connection_new_for_address_sync(
                f->bus_address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
        g_assert_no_error(error);

        for (size_t i = 0; i < G_N_ELEMENTS(bad_fds); i++)
                for (size_t part = 0; part < G_N_ELEMENTS(parts); part++) {
                        const BadFd *b = &bad_fds[i];
                        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
                        const char *pems[] = { c->fullchain_pem, c->key_pem, c->root_pem };
                        Pending call = {}, get = {};

                        for (size_t k = 0; k < 3; k++) {
                                g_autofree char *name = g_strdup_printf("part%zu.pem", k);
                                int fd = k == part ? b->open(f) : open_file(f, name, pems[k]);
                                g_assert_cmpint(fd, >=, 0);
                                g_assert_cmpint(g_unix_fd_list_append(fds, fd, NULL), ==, (gint) k);
                                close(fd);
                        }

                        gint64 t0 = g_get_monotonic_time();
                        g_dbus_connection_call_with_unix_fd_list(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE,
                                                                 "InstallFiles", g_variant_new("(hhh)", 0, 1, 2),
                                                                 NULL, G_DBUS_CALL_FLAGS_NONE, 30000, fds, NULL,
                                                                 on_call_done, &call);
                        g_dbus_connection_call_with_unix_fd_list(other, CERTD_NAME, CERTD_PATH,
                                                                 "org.freedesktop.DBus.Properties", "Get",
                                                                 g_variant_new("(ss)", CERTD_INTERFACE, "Generation"),
                                                                 NULL, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL,
                                                                 on_call_done, &get);
                        while (!call.done || !get.done)
                                g_main_context_iteration(NULL, TRUE);
                        gint64 took = g_get_monotonic_time() - t0;

                        g_test_message("%s as the %s: %s (%" G_GINT64_FORMAT " ms)", b->what, parts[part],
                                       call.error ? call.error->message : "accepted?", took / 1000);
                        g_assert_null(call.reply);
                        g_autofree char *name = g_strconcat("org.vertex.Certificates.Error.", b->error, NULL);
                        g_autofree char *message = bus_assert_error(call.error, name);
                        g_autofree char *needle = g_strdup_printf("The %s", parts[part]);
                        g_assert_true(g_str_has_prefix(message, needle));
                        g_assert_nonnull(strstr(message, b->needle));
                        /* Only the key and the authority may be left out, as /dev/null. */
                        if (g_str_has_prefix(b->needle, ", not a"))
                                g_assert_true((strstr(message, "regular file (or /dev/null for none), not") != NULL) ==
                                              (part != 0));
                        g_assert_no_error(get.error);
                        g_assert_nonnull(get.reply);
                        g_assert_cmpint(took, <, 5 * G_USEC_PER_SEC);
                        g_clear_error(&call.error);
                        g_clear_pointer(&get.reply, g_variant_unref);
                }

        /* Refused like any bundle: LastError names the last one. */
        assert_properties(f, 1, "self-signed", "serving", 1, before, "TooLarge: The authority is larger");
        g_assert_cmpuint(n_generations(f), ==, 1);
        g_assert_true(bus_fixture_daemon_alive(f));
}


/* The daemon's children right now (pids), from /proc. */
static GArray *children_of(GPid pid) {
        GArray *a = g_array_new(FALSE, FALSE, sizeof(int));
        g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/children", (int) pid, (int) pid);
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL)) {
                g_auto(GStrv) words = g_strsplit(g_strstrip(text), " ", -1);
                for (char **w = words; *w; w++)
                        if (**w) {
                                int child = atoi(*w);
                                g_array_append_val(a, child);
                        }
        }
        return a;
}

/*
 * Validate reads its untrusted input in a child of its own, as Install does: while a large bundle is
 * being checked the daemon has a child, and one killed half-way still gets the caller an answer
 * (Malformed) while the daemon goes on.
 */
static void test_validate_in_child(BusFixture *f, gconstpointer data) {
        PkiChainOptions o = { .server_name = SERVER_NAME, .extra_names = 9999 };
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new_full(&o);
        bool seen = false, killed = false;

        for (unsigned attempt = 0; attempt < 20 && !killed; attempt++) {
                Pending call = {};

                g_dbus_connection_call_with_unix_fd_list(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE,
                                                         "Validate",
                                                         g_variant_new("(sss)", c->fullchain_pem, c->key_pem,
                                                                       c->root_pem),
                                                         NULL, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL,
                                                         on_call_done, &call);
                while (!call.done) {
                        g_autoptr(GArray) kids = children_of(f->daemon_pid);
                        if (kids->len > 0) {
                                seen = true;
                                /* Every other attempt: let it finish; then kill one half-way. */
                                if (attempt % 2 == 1 && kill(g_array_index(kids, int, 0), SIGKILL) == 0)
                                        killed = true;
                        }
                        g_main_context_iteration(NULL, FALSE);
                        g_usleep(200);
                }
                g_assert_no_error(call.error);
                g_autoptr(GVariant) dict = g_variant_get_child_value(call.reply, 0);
                g_autoptr(GVariantDict) d = g_variant_dict_new(dict);
                const char *name, *message;
                gboolean valid = TRUE;
                g_assert_true(g_variant_dict_lookup(d, "valid", "b", &valid));
                g_assert_false(valid);
                g_assert_true(g_variant_dict_lookup(d, "error", "&s", &name));
                g_assert_true(g_variant_dict_lookup(d, "message", "&s", &message));
                g_test_message("attempt %u%s: %s: %s", attempt, killed ? " (child killed)" : "", name, message);
                if (killed) {
                        g_assert_cmpstr(name, ==, "Malformed");
                        g_assert_nonnull(strstr(message, "ended without an answer"));
                } else {
                        g_assert_cmpstr(name, ==, "TooLarge");
                        g_assert_true(g_str_has_prefix(message, "the chain is "));
                }
                g_variant_unref(call.reply);
        }
        g_assert_true(seen);
        g_assert_true(killed);

        /* The daemon itself is untouched, and answers the next one. */
        g_assert_true(bus_fixture_daemon_alive(f));
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) again = bus_call(f, "Validate", g_variant_new("(sss)", c->fullchain_pem, c->key_pem,
                                                                          c->root_pem), &error);
        g_assert_no_error(error);
        g_assert_cmpuint(n_generations(f), ==, 1);
}


/*
 * Validate never waits for a change, but runs at most 16 children at once: beyond that, Busy at
 * once. Each child is stopped (SIGSTOP) as it appears, so that 16 are surely running; then the next
 * call is Busy, and once they go on every one of them answers.
 */
static void test_validate_bounded(BusFixture *f, gconstpointer data) {
        enum { MAX = 16, TRIES = 64 };
        /* Valid, and slow enough to catch its child: a chain of some 30 KiB. */
        PkiChainOptions o = { .server_name = SERVER_NAME, .extra_names = 1000 };
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new_full(&o);
        Pending calls[TRIES] = {};
        g_autoptr(GArray) stopped = g_array_new(FALSE, FALSE, sizeof(int));
        unsigned n = 0;

        while (stopped->len < MAX) {
                g_assert_cmpuint(n, <, TRIES);
                g_dbus_connection_call_with_unix_fd_list(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Validate",
                                                         g_variant_new("(sss)", c->fullchain_pem, c->key_pem,
                                                                       c->root_pem),
                                                         NULL, G_DBUS_CALL_FLAGS_NONE, 60000, NULL, NULL,
                                                         on_call_done, &calls[n]);
                Pending *p = &calls[n++];
                /* Its child, caught before it answers (else it answered already: one more call). */
                while (!p->done) {
                        g_autoptr(GArray) kids = children_of(f->daemon_pid);
                        bool caught = false;
                        for (guint i = 0; i < kids->len; i++) {
                                int pid = g_array_index(kids, int, i);
                                bool known = false;
                                for (guint j = 0; j < stopped->len; j++)
                                        known |= g_array_index(stopped, int, j) == pid;
                                if (!known && kill(pid, SIGSTOP) == 0) {
                                        g_array_append_val(stopped, pid);
                                        caught = true;
                                }
                        }
                        if (caught)
                                break;
                        g_main_context_iteration(NULL, FALSE);
                        g_usleep(100);
                }
        }

        /* Sixteen are running: the next is turned away at once. */
        g_autoptr(GError) error = NULL;
        gint64 t0 = g_get_monotonic_time();
        g_autoptr(GVariant) r = bus_call(f, "Validate", g_variant_new("(sss)", c->fullchain_pem, c->key_pem,
                                                                      c->root_pem), &error);
        g_assert_null(r);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("Busy"));
        g_assert_cmpstr(message, ==, "16 validations are running already; try again when one has finished.");
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
        /* Reading never waits. */
        g_assert_cmpuint(bus_get_u64(f, "Generation"), ==, 1);

        for (guint i = 0; i < stopped->len; i++)
                (void) kill(g_array_index(stopped, int, i), SIGCONT);
        for (unsigned i = 0; i < n; i++) {
                while (!calls[i].done)
                        g_main_context_iteration(NULL, TRUE);
                g_assert_no_error(calls[i].error);
                g_autoptr(GVariant) dict = g_variant_get_child_value(calls[i].reply, 0);
                g_autoptr(GVariantDict) d = g_variant_dict_new(dict);
                gboolean valid = FALSE;
                g_assert_true(g_variant_dict_lookup(d, "valid", "b", &valid));
                g_assert_true(valid);
                g_variant_unref(calls[i].reply);
        }
        g_assert_true(bus_fixture_daemon_alive(f));
}

/* --------------------------------------------------------------- main */

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/bus/first-boot/self-signed", BusFixture, NULL, setup, test_first_boot, teardown);
        g_test_add("/bus/install/valid", BusFixture, NULL, setup, test_install, teardown);
        for (size_t i = 0; i < G_N_ELEMENTS(error_cases); i++) {
                g_autofree char *path = g_strdup_printf("/bus/install/error/%s%s%s", error_cases[i].name,
                                                        error_cases[i].variant ? "-" : "",
                                                        error_cases[i].variant ?: "");
                g_test_add(path, BusFixture, &error_cases[i], setup, test_install_error, teardown);
        }
        g_test_add("/bus/install-files/fds", BusFixture, NULL, setup, test_install_files, teardown);
        g_test_add("/bus/install-files/bad-fds", BusFixture, NULL, setup, test_install_files_bad_fds, teardown);
        g_test_add("/bus/validate/report", BusFixture, NULL, setup, test_validate, teardown);
        g_test_add("/bus/validate/in-child", BusFixture, NULL, setup, test_validate_in_child, teardown);
        g_test_add("/bus/validate/bounded", BusFixture, NULL, setup, test_validate_bounded, teardown);
        g_test_add("/bus/rollback", BusFixture, NULL, setup, test_rollback, teardown);
        g_test_add("/bus/regenerate-self-signed", BusFixture, NULL, setup, test_regenerate, teardown);
        g_test_add("/bus/reload-endpoints", BusFixture, NULL, setup, test_reload_endpoints, teardown);
        g_test_add("/bus/restart/keeps-generation", BusFixture, NULL, setup, test_restart, teardown);

        return g_test_run();
}
