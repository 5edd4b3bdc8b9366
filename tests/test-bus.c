/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier: the built vertex-certd on a private dbus-daemon, driven over
 * D-Bus like an operator would. Every method, each error name the bus can
 * produce, every property after each change, each signal, file descriptors,
 * an unprivileged caller, a restart, and garbage that must not hurt it.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <gio/gunixfdlist.h>

#include "bus-fixture.h"
#include "certinfo.h"
#include "pki.h"

#define SERVER_NAME "console.example.com"
#define NOBODY 65534

#define _cleanup_pki_chain_ __attribute__((cleanup(pki_chain_freep)))

static void setup(BusFixture *f, gconstpointer data) {
        bus_fixture_setup(f, NULL);
}

static void teardown(BusFixture *f, gconstpointer data) {
        bus_fixture_teardown(f);
}

static char *fingerprint_of(X509 *cert) {
        char buf[CERT_FINGERPRINT_MAX];
        g_assert_cmpint(cert_fingerprint(cert, buf), ==, 0);
        return g_strdup(buf);
}

/* The leaf certificate `current` points at, as consumers would read it. */
static X509 *read_current_leaf(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "store/current/cert.pem");
        FILE *fp = fopen(path, "re");
        g_assert_nonnull(fp);
        X509 *leaf = PEM_read_X509(fp, NULL, NULL, NULL);
        fclose(fp);
        g_assert_nonnull(leaf);
        return leaf;
}

static GVariant *install(BusFixture *f, const char *cert, const char *key, const char *ca, GError **error) {
        return bus_call(f, "Install", g_variant_new("(sss)", cert, key, ca), error);
}

static void install_ok(BusFixture *f, const PkiChain *c, guint64 *ret_generation, char **ret_fingerprint) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = install(f, c->fullchain_pem, c->key_pem, c->root_pem, &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(ts)", ret_generation, ret_fingerprint);
}

/*
 * Every property of the interface against what is on disk under current/:
 * the bus must describe exactly the certificate consumers read.
 */
static void assert_properties(BusFixture *f, guint64 generation, const char *source, const char *state,
                              guint chain_length, const char *fingerprint, const char *last_error_prefix) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH,
                                                                "org.freedesktop.DBus.Properties", "GetAll",
                                                                g_variant_new("(s)", CERTD_INTERFACE),
                                                                G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                                                10000, NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) all = g_variant_get_child_value(reply, 0);
        g_autoptr(GVariantDict) d = g_variant_dict_new(all);
        X509 *leaf = read_current_leaf(f);
        CertInfo *info = NULL;
        g_assert_cmpint(cert_info_new(leaf, chain_length, &info), ==, 0);

        static const struct { const char *name, *type; } props[] = {
                { "Generation", "t" }, { "Source", "s" }, { "Subject", "s" }, { "Issuer", "s" },
                { "SerialNumber", "s" }, { "SubjectAlternativeNames", "as" }, { "NotBefore", "t" },
                { "NotAfter", "t" }, { "Fingerprint", "s" }, { "KeyType", "s" }, { "ChainLength", "u" },
                { "InstalledAt", "t" }, { "ServerName", "s" }, { "DropDirectory", "s" }, { "State", "s" },
                { "Endpoints", "a(ssss)" }, { "LastError", "s" },
        };
        g_assert_cmpuint(g_variant_n_children(all), ==, G_N_ELEMENTS(props));
        for (size_t i = 0; i < G_N_ELEMENTS(props); i++) {
                g_autoptr(GVariant) v = g_variant_dict_lookup_value(d, props[i].name, NULL);
                if (!v)
                        g_error("property %s missing", props[i].name);
                g_assert_cmpstr(g_variant_get_type_string(v), ==, props[i].type);
        }

        guint64 t, installed_at;
        const char *s;
        g_assert_true(g_variant_dict_lookup(d, "Generation", "t", &t));
        g_assert_cmpuint(t, ==, generation);
        g_assert_true(g_variant_dict_lookup(d, "Source", "&s", &s));
        g_assert_cmpstr(s, ==, source);
        g_assert_true(g_variant_dict_lookup(d, "Subject", "&s", &s));
        g_assert_cmpstr(s, ==, info->subject);
        g_assert_true(g_variant_dict_lookup(d, "Issuer", "&s", &s));
        g_assert_cmpstr(s, ==, info->issuer);
        g_assert_true(g_variant_dict_lookup(d, "SerialNumber", "&s", &s));
        g_assert_cmpstr(s, ==, info->serial);
        g_assert_true(g_variant_dict_lookup(d, "Fingerprint", "&s", &s));
        g_assert_cmpstr(s, ==, info->fingerprint);
        if (fingerprint)
                g_assert_cmpstr(s, ==, fingerprint);
        g_assert_true(g_variant_dict_lookup(d, "KeyType", "&s", &s));
        g_assert_cmpstr(s, ==, info->key_type);
        g_assert_true(g_variant_dict_lookup(d, "NotBefore", "t", &t));
        g_assert_cmpuint(t, ==, info->not_before_usec);
        g_assert_true(g_variant_dict_lookup(d, "NotAfter", "t", &t));
        g_assert_cmpuint(t, ==, info->not_after_usec);
        guint32 u;
        g_assert_true(g_variant_dict_lookup(d, "ChainLength", "u", &u));
        g_assert_cmpuint(u, ==, chain_length);
        g_assert_true(g_variant_dict_lookup(d, "InstalledAt", "t", &installed_at));
        g_assert_cmpuint(installed_at, >, (guint64) (g_get_real_time() - (gint64) 3600 * G_USEC_PER_SEC));
        g_assert_cmpuint(installed_at, <=, (guint64) (g_get_real_time() + G_USEC_PER_SEC));
        g_assert_true(g_variant_dict_lookup(d, "ServerName", "&s", &s));
        g_assert_cmpstr(s, ==, SERVER_NAME);
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_assert_true(g_variant_dict_lookup(d, "DropDirectory", "&s", &s));
        g_assert_cmpstr(s, ==, drop);
        g_assert_true(g_variant_dict_lookup(d, "State", "&s", &s));
        g_assert_cmpstr(s, ==, state);
        g_assert_true(g_variant_dict_lookup(d, "LastError", "&s", &s));
        if (last_error_prefix) {
                if (!g_str_has_prefix(s, last_error_prefix))
                        g_error("LastError '%s' does not start with '%s'", s, last_error_prefix);
        } else
                g_assert_cmpstr(s, ==, "");

        g_autofree const char **alt = NULL;
        g_assert_true(g_variant_dict_lookup(d, "SubjectAlternativeNames", "^a&s", &alt));
        g_assert_cmpuint(g_strv_length((char **) alt), ==, g_strv_length(info->alt_names));
        for (size_t i = 0; alt[i]; i++)
                g_assert_cmpstr(alt[i], ==, info->alt_names[i]);

        cert_info_free(info);
        X509_free(leaf);
}

static void assert_changed(BusFixture *f, guint from, const char *const *names) {
        g_autoptr(GHashTable) changed = bus_changed_properties(f, from);
        for (const char *const *n = names; *n; n++)
                if (!g_hash_table_contains(changed, *n))
                        g_error("no PropertiesChanged for %s", *n);
}

static const char *const certificate_properties[] = {
        "Generation", "Source", "Subject", "Issuer", "SerialNumber", "SubjectAlternativeNames",
        "NotBefore", "NotAfter", "Fingerprint", "KeyType", "ChainLength", "InstalledAt", NULL
};

static guint n_generations(BusFixture *f) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call(f, "ListGenerations", NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
        return (guint) g_variant_n_children(list);
}

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
} ErrorCase;

static PkiChain *chain_with(void (*tweak)(PkiChainOptions *o)) {
        PkiChainOptions o = { .server_name = SERVER_NAME };
        if (tweak)
                tweak(&o);
        return pki_chain_new_full(&o);
}

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

static const ErrorCase error_cases[] = {
        { "Malformed",            make_malformed },
        { "TooLarge",             make_too_large },
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

        /* TooLarge is answered before anything is parsed, without a Rejected signal. */
        if (!streq0(e->name, "TooLarge")) {
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
}

static int open_file(BusFixture *f, const char *name, const char *content) {
        g_autofree char *path = bus_fixture_path(f, name);
        g_assert_cmpint(pki_write_file(path, content), ==, 0);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static GVariant *install_fds(BusFixture *f, int cert, int key, int ca, GError **error) {
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(fds, cert, NULL), ==, 0);
        g_assert_cmpint(g_unix_fd_list_append(fds, key, NULL), ==, 1);
        g_assert_cmpint(g_unix_fd_list_append(fds, ca, NULL), ==, 2);
        close(cert);
        close(key);
        close(ca);
        return bus_call_with_fds(f, "InstallFiles", g_variant_new("(hhh)", 0, 1, 2), fds, error);
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

/* Runs the unprivileged checks in a child that is nobody (see main()). */
static void test_unprivileged(BusFixture *f, gconstpointer data) {
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Only async-signal-safe calls between fork and exec. */
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(126);
                execl("/proc/self/exe", "test-bus", "--unprivileged-helper", f->bus_address, (char *) NULL);
                _exit(127);
        }
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        assert_properties(f, 1, "self-signed", "serving", 1, before, NULL);
        g_assert_cmpuint(n_generations(f), ==, 1);
}

static int helper_fail(const char *what, GError *error) {
        fprintf(stderr, "unprivileged helper: %s: %s\n", what, error ? error->message : "unexpected success");
        return 1;
}

static int unprivileged_helper(const char *address) {
        g_autoptr(GError) error = NULL;
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        int failures = 0;

        if (getuid() != NOBODY)
                return helper_fail("not running as nobody", NULL);

        GDBusConnection *conn = g_dbus_connection_new_for_address_sync(address,
                        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                        NULL, NULL, &error);
        if (!conn)
                return helper_fail("connect", error);

        struct { const char *method; GVariant *args; GDBusCallFlags flags; } denied[] = {
                { "Install", g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem), 0 },
                { "Install", g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem),
                  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION },
                { "Rollback", NULL, 0 },
                { "RegenerateSelfSigned", NULL, 0 },
                { "ReloadEndpoints", NULL, 0 },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(denied); i++) {
                g_clear_error(&error);
                GVariant *r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE,
                                                          denied[i].method, denied[i].args, NULL, denied[i].flags,
                                                          30000, NULL, &error);
                g_autofree char *remote = error ? g_dbus_error_get_remote_error(error) : NULL;
                if (r || !streq0(remote, "org.freedesktop.DBus.Error.AccessDenied")) {
                        failures += helper_fail(denied[i].method, error);
                        g_clear_pointer(&r, g_variant_unref);
                }
        }

        /* InstallFiles too, with real (harmless) descriptors. */
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        for (int i = 0; i < 3; i++) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                g_unix_fd_list_append(fds, fd, NULL);
                close(fd);
        }
        g_clear_error(&error);
        GVariant *r = g_dbus_connection_call_with_unix_fd_list_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE,
                                                                    "InstallFiles", g_variant_new("(hhh)", 0, 1, 2),
                                                                    NULL, 0, 30000, fds, NULL, NULL, &error);
        g_autofree char *remote = error ? g_dbus_error_get_remote_error(error) : NULL;
        if (r || !streq0(remote, "org.freedesktop.DBus.Error.AccessDenied"))
                failures += helper_fail("InstallFiles", error);

        /* Reading is open to everyone. */
        g_clear_error(&error);
        r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Validate",
                                        g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem),
                                        G_VARIANT_TYPE("(a{sv})"), 0, 30000, NULL, &error);
        if (!r)
                failures += helper_fail("Validate", error);
        else {
                gboolean valid = FALSE;
                g_autoptr(GVariant) dict = g_variant_get_child_value(r, 0);
                if (!g_variant_lookup(dict, "valid", "b", &valid) || !valid)
                        failures += helper_fail("Validate said invalid", NULL);
                g_variant_unref(r);
        }
        g_clear_error(&error);
        r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                                        g_variant_new("(s)", CERTD_INTERFACE), G_VARIANT_TYPE("(a{sv})"), 0, 30000,
                                        NULL, &error);
        if (!r)
                failures += helper_fail("GetAll", error);
        else {
                guint64 generation = 0;
                g_autoptr(GVariant) dict = g_variant_get_child_value(r, 0);
                if (!g_variant_lookup(dict, "Generation", "t", &generation) || generation != 1)
                        failures += helper_fail("Generation is not 1", NULL);
                g_variant_unref(r);
        }
        g_clear_error(&error);
        r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "ListGenerations", NULL,
                                        G_VARIANT_TYPE("(a(tssstt))"), 0, 30000, NULL, &error);
        if (!r)
                failures += helper_fail("ListGenerations", error);
        else
                g_variant_unref(r);

        g_object_unref(conn);
        return failures == 0 ? 0 : 1;
}

/* ------------------------------------------------- raw invalid UTF-8 */

static void put_align(GByteArray *b, guint n) {
        static const guint8 zero = 0;
        while (b->len % n)
                g_byte_array_append(b, &zero, 1);
}
static void put_byte(GByteArray *b, guint8 v) {
        g_byte_array_append(b, &v, 1);
}
static void put_u32(GByteArray *b, guint32 v) {
        put_align(b, 4);
        g_byte_array_append(b, (const guint8 *) &v, 4);
}
static void put_string(GByteArray *b, const char *s, size_t n) {
        put_u32(b, (guint32) n);
        g_byte_array_append(b, (const guint8 *) s, (guint) n);
        put_byte(b, 0);
}
static void put_signature(GByteArray *b, const char *s) {
        put_byte(b, (guint8) strlen(s));
        g_byte_array_append(b, (const guint8 *) s, (guint) strlen(s) + 1);
}
static void put_field(GByteArray *b, guint8 code, const char *type, const char *value) {
        put_align(b, 8);
        put_byte(b, code);
        put_signature(b, type);
        if (streq0(type, "g"))
                put_signature(b, value);
        else
                put_string(b, value, strlen(value));
}

/* A little-endian method call, marshalled by hand so that nothing on our side validates it. */
static GByteArray *raw_method_call(guint32 serial, const char *destination, const char *path,
                                   const char *interface, const char *member, const char *signature,
                                   const GByteArray *body) {
        GByteArray *m = g_byte_array_new();
        put_byte(m, 'l');
        put_byte(m, 1);         /* METHOD_CALL */
        put_byte(m, 0);
        put_byte(m, 1);         /* protocol version */
        put_u32(m, body ? body->len : 0);
        put_u32(m, serial);
        put_u32(m, 0);          /* header field array length, patched below */
        guint start = m->len;
        put_field(m, 1, "o", path);
        put_field(m, 2, "s", interface);
        put_field(m, 3, "s", member);
        put_field(m, 6, "s", destination);
        if (signature)
                put_field(m, 8, "g", signature);
        guint32 fields_len = m->len - start;
        memcpy(m->data + 12, &fields_len, 4);
        put_align(m, 8);
        if (body)
                g_byte_array_append(m, body->data, body->len);
        return m;
}

static void write_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                g_assert_cmpint(k, >, 0);
                p = (const char *) p + k;
                n -= (size_t) k;
        }
}

/* Sends Install with invalid UTF-8; returns true when the bus answered with an error or hung up. */
static bool send_invalid_utf8(BusFixture *f) {
        g_autofree char *socket_path = bus_fixture_path(f, "bus.sock");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char buf[4096];

        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.sun_path, socket_path, sizeof(sa.sun_path));
        g_assert_cmpint(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);

        g_autofree char *uid = g_strdup_printf("%u", (unsigned) getuid());
        GString *hex = g_string_new(NULL);
        for (const char *p = uid; *p; p++)
                g_string_append_printf(hex, "%02x", (unsigned char) *p);
        g_autofree char *auth = g_strdup_printf("AUTH EXTERNAL %s\r\n", hex->str);
        g_string_free(hex, TRUE);
        write_all(fd, "\0", 1);
        write_all(fd, auth, strlen(auth));
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        g_assert_cmpint(k, >, 2);
        buf[k] = 0;
        g_assert_true(g_str_has_prefix(buf, "OK "));
        write_all(fd, "BEGIN\r\n", 7);

        g_autoptr(GByteArray) hello = raw_method_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus", "Hello", NULL, NULL);
        write_all(fd, hello->data, hello->len);

        g_autoptr(GByteArray) body = g_byte_array_new();
        static const char bad[] = "-----BEGIN CERTIFICATE-----\n\xff\xfe\xc3\x28 not UTF-8\n";
        put_string(body, bad, sizeof(bad) - 1);
        put_string(body, "", 0);
        put_string(body, "", 0);
        g_autoptr(GByteArray) call = raw_method_call(2, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Install", "sss", body);
        write_all(fd, call->data, call->len);

        /* Read until the connection closes or an error for serial 2 arrives (type 3 = ERROR). */
        bool answered = false;
        GByteArray *in = g_byte_array_new();
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        break;
                k = read(fd, buf, sizeof(buf));
                if (k <= 0) {
                        answered = true;   /* hung up on us: the broker refused the message */
                        break;
                }
                g_byte_array_append(in, (const guint8 *) buf, (guint) k);
                /* Walk complete messages. */
                guint off = 0;
                while (in->len - off >= 16) {
                        guint32 body_len, fields_len;
                        memcpy(&body_len, in->data + off + 4, 4);
                        memcpy(&fields_len, in->data + off + 12, 4);
                        guint header = 16 + fields_len;
                        header = (header + 7) & ~7u;
                        if (in->len - off < header + body_len)
                                break;
                        if (in->data[off + 1] == 3) {
                                /* An ERROR: find REPLY_SERIAL (field 5, "u"). */
                                guint p2 = off + 16;
                                while (p2 < off + 16 + fields_len) {
                                        p2 = off + (((p2 - off) + 7) & ~7u);
                                        guint8 code = in->data[p2];
                                        guint8 siglen = in->data[p2 + 1];
                                        char sig = (char) in->data[p2 + 2];
                                        p2 += 3 + siglen;
                                        if (sig == 'u') {
                                                p2 = off + (((p2 - off) + 3) & ~3u);
                                                guint32 v;
                                                memcpy(&v, in->data + p2, 4);
                                                if (code == 5 && v == 2)
                                                        answered = true;
                                                p2 += 4;
                                        } else if (sig == 's' || sig == 'o') {
                                                p2 = off + (((p2 - off) + 3) & ~3u);
                                                guint32 len;
                                                memcpy(&len, in->data + p2, 4);
                                                p2 += 4 + len + 1;
                                        } else if (sig == 'g') {
                                                p2 += 1 + in->data[p2] + 1;
                                        } else
                                                break;
                                }
                        }
                        off += header + body_len;
                }
                g_byte_array_remove_range(in, 0, off);
                if (answered)
                        break;
        }
        g_byte_array_unref(in);
        close(fd);
        return answered;
}

static void test_garbage(BusFixture *f, gconstpointer data) {
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        g_autoptr(GError) error = NULL;
        GVariant *r;

        /* Wrong types, wrong arity, unknown members. */
        r = bus_call(f, "Install", g_variant_new("(iii)", 1, 2, 3), &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.InvalidArgs"));
        g_clear_error(&error);
        r = bus_call(f, "Install", g_variant_new("(ss)", "a", "b"), &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.InvalidArgs"));
        g_clear_error(&error);
        r = bus_call(f, "Validate", g_variant_new("(sssu)", "a", "b", "c", 4), &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.InvalidArgs"));
        g_clear_error(&error);
        r = bus_call(f, "Rollback", g_variant_new("(s)", "now"), &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.InvalidArgs"));
        g_clear_error(&error);
        r = bus_call(f, "Uninstall", NULL, &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.UnknownMethod"));
        g_clear_error(&error);

        /* Read-only properties stay read-only. */
        r = g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH, "org.freedesktop.DBus.Properties", "Set",
                                        g_variant_new("(ssv)", CERTD_INTERFACE, "Fingerprint", g_variant_new_string("x")),
                                        NULL, 0, 10000, NULL, &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, "org.freedesktop.DBus.Error.PropertyReadOnly"));
        g_clear_error(&error);

        /* InstallFiles naming descriptors that were never passed. */
        r = bus_call(f, "InstallFiles", g_variant_new("(hhh)", 5, 6, 7), &error);
        g_assert_null(r);
        g_clear_error(&error);

        /* Text that is no PEM at all, and binary noise that is valid UTF-8. */
        r = install(f, "\x01\x02\x03 \xc3\xa9\xe2\x82\xac", "\x7f", "", &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, CERTD_ERROR("Malformed")));
        g_clear_error(&error);

        /*
         * 100 MB strings: refused by size, the daemon does not try to parse them. Under
         * AddressSanitizer sd-bus's repeated realloc() of its read buffer copies the whole
         * message per read, which takes minutes; 8 MB is still far beyond MaxInputSize=.
         */
#ifdef __SANITIZE_ADDRESS__
        gsize big_len = 8 * 1024 * 1024;
#else
        gsize big_len = 100 * 1024 * 1024;
#endif
        char *big = g_malloc(big_len + 1);
        memset(big, 'A', big_len);
        big[big_len] = 0;
        r = install(f, big, "", "", &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, CERTD_ERROR("TooLarge")));
        g_clear_error(&error);
        r = install(f, "", big, "", &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, CERTD_ERROR("TooLarge")));
        g_clear_error(&error);
        r = bus_call(f, "Validate", g_variant_new("(sss)", "", "", big), &error);
        g_assert_no_error(error);
        const char *name = NULL;
        g_autoptr(GVariant) dict = g_variant_get_child_value(r, 0);
        g_assert_true(g_variant_lookup(dict, "error", "&s", &name));
        g_assert_cmpstr(name, ==, "TooLarge");
        g_variant_unref(r);
        g_free(big);

        /* Invalid UTF-8 can only be sent raw; the broker (or the daemon) must say no. */
        g_assert_true(send_invalid_utf8(f));

        /* Still up, still serving the same certificate; the last refusal is the noise above. */
        g_assert_true(bus_fixture_daemon_alive(f));
        assert_properties(f, 1, "self-signed", "serving", 1, before, "Malformed: ");
        g_assert_cmpuint(n_generations(f), ==, 1);
}

/* ---------------------------------------------- one change at a time */

static void setup_slow_reload(BusFixture *f, gconstpointer data) {
        /* A unit to reload, and a reload that can only time out: see swallow_systemd(). */
        bus_fixture_setup(f, "Units=vertex-fake.service\nReloadTimeoutSec=2");
}

/* Plays a systemd that never answers: every call to it is dropped unanswered. */
static GDBusMessage *swallow_systemd(GDBusConnection *conn, GDBusMessage *m, gboolean incoming, gpointer userdata) {
        if (incoming && g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
            streq0(g_dbus_message_get_destination(m), "org.freedesktop.systemd1")) {
                g_atomic_int_inc((int *) userdata);
                g_object_unref(m);
                return NULL;
        }
        return m;
}

static void request_name(BusFixture *f, const char *name, bool release) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus",
                                                            release ? "ReleaseName" : "RequestName",
                                                            release ? g_variant_new("(s)", name)
                                                                    : g_variant_new("(su)", name, 4u),
                                                            G_VARIANT_TYPE("(u)"), 0, 10000, NULL, &error);
        g_assert_no_error(error);
        guint32 v;
        g_variant_get(r, "(u)", &v);
        g_assert_cmpuint(v, ==, 1);
}

typedef struct AsyncReply {
        bool done;
        GVariant *reply;
        GError *error;
} AsyncReply;

static void on_async_reply(GObject *source, GAsyncResult *result, gpointer userdata) {
        AsyncReply *a = userdata;
        a->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &a->error);
        a->done = true;
}

static void test_busy(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autoptr(GError) error = NULL;
        int swallowed = 0;

        /* First boot with a unit and no systemd: the certificate is there, the reload is not. */
        assert_properties(f, 1, "self-signed", "degraded", 1, NULL, "");
        g_autofree char *first = bus_get_string(f, "Fingerprint");
        g_autofree char *first_error = bus_get_string(f, "LastError");
        g_assert_cmpstr(first_error, !=, "");

        request_name(f, "org.freedesktop.systemd1", false);
        guint filter = g_dbus_connection_add_filter(f->conn, swallow_systemd, &swallowed, NULL);

        AsyncReply a = {};
        g_dbus_connection_call(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Install",
                               g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem),
                               NULL, 0, 60000, NULL, on_async_reply, &a);
        g_assert_true(bus_wait_property_string(f, "State", "reloading", 10000));
        g_assert_false(a.done);

        /* Every other change is turned away at once... */
        static const char *const methods[] = { "Install", "Rollback", "RegenerateSelfSigned", "ReloadEndpoints", NULL };
        for (const char *const *m = methods; *m; m++) {
                GVariant *args = streq0(*m, "Install")
                        ? g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem) : NULL;
                GVariant *r = bus_call(f, *m, args, &error);
                g_assert_null(r);
                g_autofree char *message = bus_assert_error(error, CERTD_ERROR("Busy"));
                g_clear_error(&error);
        }
        g_autoptr(GVariant) r_files = install_fds(f, open("/dev/null", O_RDONLY | O_CLOEXEC),
                                                  open("/dev/null", O_RDONLY | O_CLOEXEC),
                                                  open("/dev/null", O_RDONLY | O_CLOEXEC), &error);
        g_assert_null(r_files);
        g_free(bus_assert_error(error, CERTD_ERROR("Busy")));
        g_clear_error(&error);

        /* ...while reading never waits for the change. */
        gint64 start = g_get_monotonic_time();
        g_assert_cmpuint(bus_get_u64(f, "Generation"), ==, 1);
        g_autofree char *during = bus_get_string(f, "Fingerprint");
        g_assert_cmpstr(during, ==, first);
        g_autoptr(GVariant) report = bus_call(f, "Validate",
                                              g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem), &error);
        g_assert_no_error(error);
        g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
        g_assert_false(a.done);

        /* The reload times out; the previous generation goes back, and its reload times out too. */
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
        while (!a.done && g_get_monotonic_time() < deadline)
                g_main_context_iteration(NULL, TRUE);
        g_assert_true(a.done);
        g_assert_null(a.reply);
        g_autofree char *message = bus_assert_error(a.error, CERTD_ERROR("ReloadFailed"));
        g_assert_nonnull(strstr(message, "generation 1 was put back"));
        g_clear_error(&a.error);
        g_assert_cmpint(g_atomic_int_get(&swallowed), >, 0);

        assert_properties(f, 1, "self-signed", "degraded", 1, first, "");
        g_autofree char *last = bus_get_string(f, "LastError");
        g_assert_cmpstr(last, ==, message);

        /* The next change is accepted again. */
        g_dbus_connection_remove_filter(f->conn, filter);
        request_name(f, "org.freedesktop.systemd1", true);
        g_autoptr(GVariant) r = bus_call(f, "ReloadEndpoints", NULL, &error);
        g_assert_null(r);
        g_free(bus_assert_error(error, CERTD_ERROR("ReloadFailed")));
        g_autofree char *state = bus_get_string(f, "State");
        g_assert_cmpstr(state, ==, "degraded");
        g_assert_true(bus_fixture_daemon_alive(f));
}

/* ------------------------------------------------------------ expiry */

static void tweak_short_lived(PkiChainOptions *o) {
        o->leaf.not_before_offset = -3600;
        o->leaf.not_after_offset = 4;
}

static void test_expiry(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = chain_with(tweak_short_lived);
        g_autofree char *fingerprint = NULL;
        guint64 generation;
        CertInfo *info = NULL;

        g_assert_cmpint(cert_info_new(c->leaf, 2, &info), ==, 0);
        bus_clear_signals(f);
        install_ok(f, c, &generation, &fingerprint);

        /* Within ExpiryWarningDays= (30) at once: warned, expiring. */
        BusSignal *s = bus_wait_signal(f, "ExpiryWarning", NULL, 5000);
        g_assert_nonnull(s);
        guint64 not_after;
        guint32 days;
        g_variant_get(s->parameters, "(tu)", &not_after, &days);
        g_assert_cmpuint(not_after, ==, info->not_after_usec);
        g_assert_cmpuint(days, ==, 0);
        g_assert_true(bus_wait_property_string(f, "State", "expiring", 5000));
        assert_properties(f, 2, "bus", "expiring", 2, fingerprint, NULL);

        /* At NotAfter the timer fires: expired, and an uploaded certificate is not replaced. */
        guint from = f->signals->len;
        g_assert_true(bus_wait_property_string(f, "State", "expired", 15000));
        assert_changed(f, from, (const char *const[]) { "State", NULL });
        assert_properties(f, 2, "bus", "expired", 2, fingerprint, NULL);
        g_assert_null(bus_wait_signal(f, "Installed", &from, 0));
        cert_info_free(info);
}

/* ------------------------------------------------------ drop directory */

static void drop_file(BusFixture *f, const char *name, const char *content) {
        /* Written beside, then moved in: what an operator's `mv` or `install` does. */
        g_autofree char *staging = bus_fixture_path(f, name);
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_autofree char *target = g_build_filename(drop, name, NULL);
        g_assert_cmpint(pki_write_file(staging, content), ==, 0);
        g_assert_cmpint(rename(staging, target), ==, 0);
}

static void test_drop_directory(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *expected = fingerprint_of(c->leaf);
        g_autofree char *drop = bus_fixture_path(f, "drop");
        guint from = 0;

        bus_clear_signals(f);
        drop_file(f, "ca.crt", c->root_pem);
        drop_file(f, "tls.key", c->key_pem);
        drop_file(f, "tls.crt", c->fullchain_pem);

        BusSignal *s = bus_wait_signal(f, "Installed", &from, 15000);
        g_assert_nonnull(s);
        guint64 generation;
        const char *fp, *source;
        g_variant_get(s->parameters, "(t&s&s)", &generation, &fp, &source);
        g_assert_cmpuint(generation, ==, 2);
        g_assert_cmpstr(fp, ==, expected);
        g_assert_cmpstr(source, ==, "drop-directory");
        assert_properties(f, 2, "drop-directory", "serving", 2, expected, NULL);

        /* A bad bundle is refused and announced; the served certificate stays. */
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_RSA2048, 8);
        g_autofree char *other_pem = pki_key_pem(other, NULL);
        EVP_PKEY_free(other);
        _cleanup_pki_chain_ PkiChain *c2 = pki_chain_new(SERVER_NAME);
        g_autofree char *bundle = pki_strcat(c2->fullchain_pem, other_pem, c2->root_pem, NULL);
        drop_file(f, "bad.pem", bundle);

        s = bus_wait_signal(f, "Rejected", &from, 15000);
        g_assert_nonnull(s);
        const char *name, *err, *msg;
        g_variant_get(s->parameters, "(&s&s&s&s)", &source, &name, &err, &msg);
        g_assert_cmpstr(source, ==, "drop-directory");
        g_assert_cmpstr(err, ==, "KeyMismatch");
        g_assert_cmpstr(msg, !=, "");
        assert_properties(f, 2, "drop-directory", "serving", 2, expected, "KeyMismatch: ");
}

/* ------------------------------------------------------- fake polkit */

typedef struct FakePolkit {
        guint n_calls;
        guint32 flags_seen[8];
        char *action;
        char *subject_kind;
        char *subject_name;
} FakePolkit;

/* Authorizes only when interactive authorization was allowed; otherwise says "challenge". */
static void fake_polkit_method(GDBusConnection *conn, const char *sender, const char *path, const char *interface,
                               const char *method, GVariant *parameters, GDBusMethodInvocation *invocation,
                               gpointer userdata) {
        FakePolkit *p = userdata;
        g_autoptr(GVariant) subject = NULL, subject_details = NULL, details = NULL;
        const char *kind, *action, *cancel;
        guint32 flags;

        g_variant_get(parameters, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject_details, &action, &details, &flags, &cancel);
        if (p->n_calls < G_N_ELEMENTS(p->flags_seen))
                p->flags_seen[p->n_calls] = flags;
        p->n_calls++;
        g_free(p->action);
        p->action = g_strdup(action);
        g_free(p->subject_kind);
        p->subject_kind = g_strdup(kind);
        g_free(p->subject_name);
        p->subject_name = NULL;
        (void) g_variant_lookup(subject_details, "name", "s", &p->subject_name);

        bool yes = flags & 1;
        g_dbus_method_invocation_return_value(invocation,
                g_variant_new("((bb@a{ss}))", yes, !yes, g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0)));
}

static const char fake_polkit_xml[] =
        "<node><interface name='org.freedesktop.PolicyKit1.Authority'>"
        "<method name='CheckAuthorization'>"
        "<arg type='(sa{sv})' direction='in'/><arg type='s' direction='in'/><arg type='a{ss}' direction='in'/>"
        "<arg type='u' direction='in'/><arg type='s' direction='in'/><arg type='(bba{ss})' direction='out'/>"
        "</method></interface></node>";

static void on_child_exit(GPid pid, int status, gpointer userdata) {
        *(int *) userdata = status;
        g_spawn_close_pid(pid);
}

static void test_polkit(BusFixture *f, gconstpointer data) {
        FakePolkit p = {};
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(fake_polkit_xml, &error);
        g_assert_no_error(error);
        static const GDBusInterfaceVTable vtable = { .method_call = fake_polkit_method };
        guint object = g_dbus_connection_register_object(f->conn, "/org/freedesktop/PolicyKit1/Authority",
                                                         node->interfaces[0], &vtable, &p, NULL, &error);
        g_assert_no_error(error);
        request_name(f, "org.freedesktop.PolicyKit1", false);

        /* The child is nobody; we answer polkit for the daemon meanwhile, so run the loop. */
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(126);
                execl("/proc/self/exe", "test-bus", "--polkit-helper", f->bus_address, (char *) NULL);
                _exit(127);
        }
        int status = -1;
        g_child_watch_add(pid, on_child_exit, &status);
        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
        while (status == -1 && g_get_monotonic_time() < deadline)
                g_main_context_iteration(NULL, TRUE);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* Asked twice: without and with the interactive flag, for our action, about the caller's bus name. */
        g_assert_cmpuint(p.n_calls, ==, 2);
        g_assert_cmpuint(p.flags_seen[0], ==, 0);
        g_assert_cmpuint(p.flags_seen[1], ==, 1);
        g_assert_cmpstr(p.action, ==, "org.vertex.certificates.manage");
        g_assert_cmpstr(p.subject_kind, ==, "system-bus-name");
        g_assert_nonnull(p.subject_name);
        g_assert_true(p.subject_name[0] == ':');

        /* The authorized install went through. */
        assert_properties(f, 2, "bus", "serving", 2, NULL, NULL);

        /* Root is let through without asking. */
        g_autoptr(GVariant) r = bus_call(f, "Rollback", NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(p.n_calls, ==, 2);

        g_dbus_connection_unregister_object(f->conn, object);
        g_free(p.action);
        g_free(p.subject_kind);
        g_free(p.subject_name);
}

static int polkit_helper(const char *address) {
        g_autoptr(GError) error = NULL;
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        int failures = 0;

        GDBusConnection *conn = g_dbus_connection_new_for_address_sync(address,
                        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                        NULL, NULL, &error);
        if (!conn)
                return helper_fail("connect", error);

        /* Without the flag polkit's "challenge" must come back as InteractiveAuthorizationRequired. */
        GVariant *r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Install",
                                                  g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem),
                                                  NULL, 0, 30000, NULL, &error);
        g_autofree char *remote = error ? g_dbus_error_get_remote_error(error) : NULL;
        if (r || !streq0(remote, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"))
                failures += helper_fail("Install without interaction", error);
        g_clear_error(&error);

        /* With it, the (fake) administrator says yes and the install happens. */
        r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "Install",
                                        g_variant_new("(sss)", c->fullchain_pem, c->key_pem, c->root_pem),
                                        G_VARIANT_TYPE("(ts)"), G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
                                        30000, NULL, &error);
        if (!r)
                failures += helper_fail("Install with interaction", error);
        else {
                guint64 generation;
                const char *fp;
                g_variant_get(r, "(t&s)", &generation, &fp);
                if (generation != 2)
                        failures += helper_fail("Install did not give generation 2", NULL);
                g_variant_unref(r);
        }
        g_object_unref(conn);
        return failures == 0 ? 0 : 1;
}

/* ------------------------------------------------------- introspection */

static void compare_args(const char *where, GDBusArgInfo **a, GDBusArgInfo **b) {
        size_t i = 0;
        for (; a && a[i]; i++) {
                if (!b || !b[i])
                        g_error("%s: argument '%s' missing on the other side", where, a[i]->name);
                if (!streq0(a[i]->name, b[i]->name) || !streq0(a[i]->signature, b[i]->signature))
                        g_error("%s: argument %zu is %s %s on one side, %s %s on the other", where, i,
                                a[i]->signature, a[i]->name, b[i]->signature, b[i]->name);
        }
        if (b && b[i])
                g_error("%s: extra argument '%s'", where, b[i]->name);
}

/* Everything in a is in b with the same arguments. */
static void compare_interfaces(const char *a_name, GDBusInterfaceInfo *a, const char *b_name, GDBusInterfaceInfo *b) {
        for (GDBusMethodInfo **m = a->methods; m && *m; m++) {
                GDBusMethodInfo *o = g_dbus_interface_info_lookup_method(b, (*m)->name);
                if (!o)
                        g_error("method %s is in %s but not in %s", (*m)->name, a_name, b_name);
                g_autofree char *in = g_strdup_printf("%s (in)", (*m)->name);
                g_autofree char *out = g_strdup_printf("%s (out)", (*m)->name);
                compare_args(in, (*m)->in_args, o->in_args);
                compare_args(out, (*m)->out_args, o->out_args);
        }
        for (GDBusSignalInfo **s = a->signals; s && *s; s++) {
                GDBusSignalInfo *o = g_dbus_interface_info_lookup_signal(b, (*s)->name);
                if (!o)
                        g_error("signal %s is in %s but not in %s", (*s)->name, a_name, b_name);
                compare_args((*s)->name, (*s)->args, o->args);
        }
        for (GDBusPropertyInfo **p = a->properties; p && *p; p++) {
                GDBusPropertyInfo *o = g_dbus_interface_info_lookup_property(b, (*p)->name);
                if (!o)
                        g_error("property %s is in %s but not in %s", (*p)->name, a_name, b_name);
                g_assert_cmpstr((*p)->signature, ==, o->signature);
                g_assert_cmpint((*p)->flags, ==, o->flags);
        }
}

/* Each member element is directly preceded by a comment documenting it. */
static void assert_documented(const char *xml, GDBusInterfaceInfo *i) {
        GPtrArray *tags = g_ptr_array_new_with_free_func(g_free);
        for (GDBusMethodInfo **m = i->methods; m && *m; m++)
                g_ptr_array_add(tags, g_strdup_printf("<method name=\"%s\"", (*m)->name));
        for (GDBusSignalInfo **s = i->signals; s && *s; s++)
                g_ptr_array_add(tags, g_strdup_printf("<signal name=\"%s\"", (*s)->name));
        for (GDBusPropertyInfo **p = i->properties; p && *p; p++)
                g_ptr_array_add(tags, g_strdup_printf("<property name=\"%s\"", (*p)->name));

        for (guint k = 0; k < tags->len; k++) {
                const char *tag = g_ptr_array_index(tags, k);
                const char *at = strstr(xml, tag);
                g_assert_nonnull(at);
                /* Between the last element end before the tag and the tag there must be a comment. */
                const char *p = at;
                while (p > xml && isspace((unsigned char) p[-1]))
                        p--;
                if (p - xml < 3 || strncmp(p - 3, "-->", 3) != 0)
                        g_error("%s…> has no comment right before it", tag);
        }
        g_ptr_array_unref(tags);
}

static void test_introspection(BusFixture *f, gconstpointer data) {
        g_autofree char *path = g_build_filename(g_getenv("VERTEX_SOURCE_DIR") ?: "..", "dbus",
                                                 "org.vertex.Certificates.xml", NULL);
        g_autofree char *xml = NULL;
        g_autoptr(GError) error = NULL;

        g_assert_true(g_file_get_contents(path, &xml, NULL, &error));
        g_assert_no_error(error);
        g_autoptr(GDBusNodeInfo) file_node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        GDBusInterfaceInfo *file_iface = g_dbus_node_info_lookup_interface(file_node, CERTD_INTERFACE);
        g_assert_nonnull(file_iface);

        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH,
                                                                "org.freedesktop.DBus.Introspectable", "Introspect",
                                                                NULL, G_VARIANT_TYPE("(s)"), 0, 10000, NULL, &error);
        g_assert_no_error(error);
        const char *live_xml;
        g_variant_get(reply, "(&s)", &live_xml);
        g_autoptr(GDBusNodeInfo) live_node = g_dbus_node_info_new_for_xml(live_xml, &error);
        g_assert_no_error(error);
        GDBusInterfaceInfo *live_iface = g_dbus_node_info_lookup_interface(live_node, CERTD_INTERFACE);
        g_assert_nonnull(live_iface);

        compare_interfaces("the XML file", file_iface, "the daemon", live_iface);
        compare_interfaces("the daemon", live_iface, "the XML file", file_iface);

        /* The design's members, by name, so neither side can drop one unnoticed. */
        static const char *const methods[] = { "Install", "InstallFiles", "Validate", "Rollback",
                                               "RegenerateSelfSigned", "ReloadEndpoints", "ListGenerations", NULL };
        static const char *const signals[] = { "Installed", "Rejected", "EndpointsReloaded", "ExpiryWarning", NULL };
        for (const char *const *m = methods; *m; m++)
                g_assert_nonnull(g_dbus_interface_info_lookup_method(live_iface, *m));
        for (const char *const *s = signals; *s; s++)
                g_assert_nonnull(g_dbus_interface_info_lookup_signal(live_iface, *s));
        guint n_props = 0;
        for (GDBusPropertyInfo **p = live_iface->properties; p && *p; p++)
                n_props++;
        g_assert_cmpuint(n_props, ==, 17);

        assert_documented(xml, file_iface);
}

/* --------------------------------------------------------------- main */

int main(int argc, char *argv[]) {
        if (argc == 3 && streq0(argv[1], "--unprivileged-helper"))
                return unprivileged_helper(argv[2]);
        if (argc == 3 && streq0(argv[1], "--polkit-helper"))
                return polkit_helper(argv[2]);

        g_test_init(&argc, &argv, NULL);

        g_test_add("/bus/introspection/matches-xml", BusFixture, NULL, setup, test_introspection, teardown);
        g_test_add("/bus/first-boot/self-signed", BusFixture, NULL, setup, test_first_boot, teardown);
        g_test_add("/bus/install/valid", BusFixture, NULL, setup, test_install, teardown);
        for (size_t i = 0; i < G_N_ELEMENTS(error_cases); i++) {
                g_autofree char *path = g_strdup_printf("/bus/install/error/%s", error_cases[i].name);
                g_test_add(path, BusFixture, &error_cases[i], setup, test_install_error, teardown);
        }
        g_test_add("/bus/install-files/fds", BusFixture, NULL, setup, test_install_files, teardown);
        g_test_add("/bus/validate/report", BusFixture, NULL, setup, test_validate, teardown);
        g_test_add("/bus/rollback", BusFixture, NULL, setup, test_rollback, teardown);
        g_test_add("/bus/regenerate-self-signed", BusFixture, NULL, setup, test_regenerate, teardown);
        g_test_add("/bus/reload-endpoints", BusFixture, NULL, setup, test_reload_endpoints, teardown);
        g_test_add("/bus/restart/keeps-generation", BusFixture, NULL, setup, test_restart, teardown);
        g_test_add("/bus/unprivileged/refused", BusFixture, NULL, setup, test_unprivileged, teardown);
        g_test_add("/bus/garbage/survives", BusFixture, NULL, setup, test_garbage, teardown);
        g_test_add("/bus/busy/one-change-at-a-time", BusFixture, NULL, setup_slow_reload, test_busy, teardown);
        g_test_add("/bus/expiry/warning-and-expired", BusFixture, NULL, setup, test_expiry, teardown);
        g_test_add("/bus/drop-directory/install-and-reject", BusFixture, NULL, setup, test_drop_directory, teardown);
        g_test_add("/bus/polkit/interactive-flag", BusFixture, NULL, setup, test_polkit, teardown);

        return g_test_run();
}
