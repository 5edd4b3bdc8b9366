/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl's bus commands against the built vertex-certd on a private
 * dbus-daemon (bus-fixture.c). The CLI is run as a program with
 * DBUS_SYSTEM_BUS_ADDRESS pointing at the test bus; each case checks the
 * exit status, what it printed, and what the daemon's properties say after.
 */

#include <fcntl.h>
#include <gio/gio.h>
#include <glib.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-assert.h"
#include "bus-fixture.h"
#include "certinfo.h"
#include "pki.h"
#include "test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free);

static Run certctl_as(BusFixture *f, bool unprivileged, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run certctl_as(BusFixture *f, bool unprivileged, const char *first, ...) {
        g_autofree char *binary = built_program("vertex-certctl");
        g_autofree char *bus = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", f->bus_address);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        const char *envp[] = { "LC_ALL=C", "TZ=UTC", bus, NULL };
        va_list ap;

        g_ptr_array_add(argv, binary);
        va_start(ap, first);
        for (const char *a = first; a; a = va_arg(ap, const char *))
                g_ptr_array_add(argv, (char *) a);
        va_end(ap);
        g_ptr_array_add(argv, NULL);

        Run r = run_program((char **) argv->pdata, (char **) envp, unprivileged ? spawn_as_nobody : NULL);
        if (g_test_verbose())
                g_printerr("exit %d\nstdout:\n%sstderr:\n%s", r.status, r.out, r.err);
        return r;
}

#define certctl(f, ...) certctl_as(f, false, __VA_ARGS__)

typedef struct Fixture {
        BusFixture bus;
        PkiChain *chain;                /* for console.example.com, the daemon's ServerName= */
        char *cert, *key, *ca;          /* its files, readable by everyone (the unprivileged case reads them) */
        char *leaf_fingerprint;
} Fixture;

static char *write_public(Fixture *f, const char *name, const char *content) {
        char *p = bus_fixture_path(&f->bus, name);
        g_assert_cmpint(pki_write_file(p, content), ==, 0);
        g_assert_cmpint(chmod(p, 0644), ==, 0);
        return p;
}

/* A daemon with config (NULL: the defaults), and a bundle for console.example.com in files. */
static void fixture_setup_with(Fixture *f, const char *config) {
        char fp[CERT_FINGERPRINT_MAX];

        bus_fixture_setup(&f->bus, config);
        f->chain = pki_chain_new("console.example.com");
        f->cert = write_public(f, "fullchain.pem", f->chain->fullchain_pem);
        f->key = write_public(f, "key.pem", f->chain->key_pem);
        f->ca = write_public(f, "ca.pem", f->chain->root_pem);
        g_assert_cmpint(cert_fingerprint(f->chain->leaf, fp), ==, 0);
        f->leaf_fingerprint = g_strdup(fp);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        fixture_setup_with(f, NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        bus_fixture_teardown(&f->bus);
        pki_chain_free(f->chain);
        g_free(f->cert);
        g_free(f->key);
        g_free(f->ca);
        g_free(f->leaf_fingerprint);
}

static bool contains_line(const char *text, const char *key, const char *value) {
        /* Aligned "Key: value" lines: the key may be indented, the value is exact. */
        g_autofree char *needle = g_strdup_printf("%s: %s\n", key, value);
        return strstr(text, needle) != NULL;
}

/* ------------------------------------------------------------------ status */

static void test_status(Fixture *f, gconstpointer data) {
        g_autofree char *fingerprint = bus_get_string(&f->bus, "Fingerprint");
        g_autofree char *generation = g_strdup_printf("%" G_GUINT64_FORMAT, bus_get_u64(&f->bus, "Generation"));

        g_auto(Run) r = certctl(&f->bus, "status", NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.err, ==, "");
        g_assert_true(contains_line(r.out, "Server name", "console.example.com"));
        g_assert_true(contains_line(r.out, "Fingerprint", fingerprint));
        g_assert_true(contains_line(r.out, "Source", "self-signed"));
        g_assert_true(contains_line(r.out, "Generation", generation));
        g_assert_true(contains_line(r.out, "Key type", "EC P-256"));
        g_assert_nonnull(strstr(r.out, "Subject: CN=console.example.com"));
        g_assert_nonnull(strstr(r.out, "SANs: DNS:console.example.com\n"));
        g_assert_nonnull(strstr(r.out, "Valid until: "));
        g_assert_nonnull(strstr(r.out, " days)\n"));
        g_assert_nonnull(strstr(r.out, "State: "));
        g_assert_nonnull(strstr(r.out, "Endpoints: none\n"));  /* Units= is empty in the fixture */

        g_auto(Run) j = certctl(&f->bus, "status", "--json", NULL);
        g_autofree char *fpfield = g_strdup_printf("\"Fingerprint\":\"%s\"", fingerprint);
        g_autofree char *genfield = g_strdup_printf("\"Generation\":%s", generation);
        g_assert_cmpint(j.status, ==, 0);
        g_assert_true(g_str_has_prefix(j.out, "{"));
        g_assert_true(g_str_has_suffix(j.out, "}\n"));
        g_assert_nonnull(strstr(j.out, fpfield));
        g_assert_nonnull(strstr(j.out, genfield));
        g_assert_nonnull(strstr(j.out, "\"Source\":\"self-signed\""));
        g_assert_nonnull(strstr(j.out, "\"Endpoints\":[]"));
        g_assert_null(strstr(r.out, "Required names"));

        /* More names than ServerName=: status lists them all. */
        guint from = 0;
        bus_fixture_reconfigure(&f->bus, "AccessNames=192.0.2.10");
        g_assert_nonnull(bus_wait_signal(&f->bus, "Installed", &from, 20000));
        g_auto(Run) n = certctl(&f->bus, "status", NULL);
        g_assert_cmpint(n.status, ==, 0);
        g_assert_true(contains_line(n.out, "Required names", "console.example.com, 192.0.2.10"));
}

/* status --json is a documented interface (vertex-certctl(1), JSON OUTPUT): one key per
 * property of the interface XML, under its D-Bus name, with the JSON type its D-Bus type maps to. */
static void test_status_json_contract(Fixture *f, gconstpointer data) {
        g_autofree char *path = g_build_filename(g_getenv("VERTEX_SOURCE_DIR"), "dbus",
                                                 "org.vertex.Certificates.xml", NULL);
        g_autofree char *xml = NULL;
        g_autoptr(GError) error = NULL;
        g_auto(Run) j = certctl(&f->bus, "status", "--json", NULL);

        g_assert_cmpint(j.status, ==, 0);
        g_assert_true(g_file_get_contents(path, &xml, NULL, &error));
        g_assert_no_error(error);
        g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(node, "org.vertex.Certificates");
        g_assert_nonnull(iface);

        for (GDBusPropertyInfo **p = iface->properties; *p; p++) {
                const char *sig = (*p)->signature;
                /* What may follow the key: a string, a number, or an array. */
                const char *start = sig[0] == 's' ? "\"" : sig[0] == 'a' ? "[" : NULL;
                g_autofree char *key = g_strdup_printf("\"%s\":", (*p)->name);
                const char *at = strstr(j.out, key);

                g_test_message("property %s (%s)", (*p)->name, sig);
                g_assert_nonnull(at);
                at += strlen(key);
                if (start)
                        g_assert_true(g_str_has_prefix(at, start));
                else
                        g_assert_true(g_ascii_isdigit(at[0]));
        }
}

/* ------------------------------------------------------------ install etc. */

static void test_install(Fixture *f, gconstpointer data) {
        guint64 before = bus_get_u64(&f->bus, "Generation");

        g_auto(Run) r = certctl(&f->bus, "install", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.err, ==, "");

        guint64 after = bus_get_u64(&f->bus, "Generation");
        g_autofree char *fp = bus_get_string(&f->bus, "Fingerprint");
        g_autofree char *source = bus_get_string(&f->bus, "Source");
        g_autofree char *gen = g_strdup_printf("%" G_GUINT64_FORMAT, after);
        g_autofree char *line = g_strdup_printf("Installed generation %s.\n", gen);
        g_assert_cmpuint(after, >, before);
        g_assert_cmpstr(fp, ==, f->leaf_fingerprint);
        g_assert_cmpstr(source, ==, "bus");
        g_assert_true(g_str_has_prefix(r.out, line));
        g_assert_true(contains_line(r.out, "Fingerprint", f->leaf_fingerprint));

        g_auto(Run) s = certctl(&f->bus, "status", NULL);
        g_assert_true(contains_line(s.out, "Source", "bus"));
        g_assert_true(contains_line(s.out, "Fingerprint", f->leaf_fingerprint));
        g_assert_true(contains_line(s.out, "Key type", "RSA 2048"));
        g_assert_true(contains_line(s.out, "Chain length", "2"));
        g_assert_nonnull(strstr(s.out, "(in 89 days)\n"));
}

static void test_install_json(Fixture *f, gconstpointer data) {
        g_auto(Run) r = certctl(&f->bus, "install", "--json", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_autofree char *expect = g_strdup_printf("{\"generation\":%" G_GUINT64_FORMAT ",\"fingerprint\":\"%s\"}\n",
                                                  bus_get_u64(&f->bus, "Generation"), f->leaf_fingerprint);
        g_assert_cmpstr(r.out, ==, expect);
}

static void test_install_refused(Fixture *f, gconstpointer data) {
        g_autofree char *before = bus_get_string(&f->bus, "Fingerprint");
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_EC256, 3);
        g_autofree char *other_pem = pki_key_pem(other, NULL);
        g_autofree char *bad_key = write_public(f, "other.key", other_pem);
        EVP_PKEY_free(other);

        g_auto(Run) r = certctl(&f->bus, "install", "--cert", f->cert, "--key", bad_key, "--ca", f->ca, NULL);
        g_assert_cmpint(r.status, ==, 1);
        g_assert_cmpstr(r.out, ==, "");
        g_assert_true(g_str_has_prefix(r.err, "KeyMismatch: "));
        g_assert_nonnull(strstr(r.err, "EC P-256"));

        /* --json: the full error name, on stdout as JSON and on stderr. */
        g_auto(Run) j = certctl(&f->bus, "install", "--json", "--cert", f->cert, "--key", bad_key, "--ca", f->ca, NULL);
        g_assert_cmpint(j.status, ==, 1);
        g_assert_true(g_str_has_prefix(j.out, "{\"error\":\"org.vertex.Certificates.Error.KeyMismatch\",\"message\":\""));
        g_assert_true(g_str_has_prefix(j.err, "org.vertex.Certificates.Error.KeyMismatch: "));

        /* Nothing changed. */
        g_autofree char *after = bus_get_string(&f->bus, "Fingerprint");
        g_assert_cmpstr(after, ==, before);
}

static void test_validate(Fixture *f, gconstpointer data) {
        guint64 generation = bus_get_u64(&f->bus, "Generation");

        g_auto(Run) ok = certctl(&f->bus, "validate", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(ok.status, ==, 0);
        g_assert_cmpstr(ok.err, ==, "");
        g_assert_true(contains_line(ok.out, "Valid", "yes"));
        g_assert_true(contains_line(ok.out, "Fingerprint", f->leaf_fingerprint));

        g_auto(Run) j = certctl(&f->bus, "validate", "--json", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(j.status, ==, 0);
        g_assert_true(g_str_has_prefix(j.out, "{\"valid\":true"));

        /* A certificate for another name: the daemon's ServerName= decides. */
        g_autoptr(PkiChain) other = pki_chain_new("other.example.org");
        g_autofree char *cert = write_public(f, "other.pem", other->fullchain_pem);
        g_autofree char *key = write_public(f, "other.key", other->key_pem);
        g_autofree char *ca = write_public(f, "other-ca.pem", other->root_pem);
        g_auto(Run) bad = certctl(&f->bus, "validate", "--cert", cert, "--key", key, "--ca", ca, NULL);
        g_assert_cmpint(bad.status, ==, 1);
        g_assert_true(g_str_has_prefix(bad.err, "NameMismatch: "));
        g_assert_nonnull(strstr(bad.err, "console.example.com"));
        g_assert_true(contains_line(bad.out, "Valid", "no"));

        /* Validate changes nothing. */
        g_assert_cmpuint(bus_get_u64(&f->bus, "Generation"), ==, generation);
}

static void test_generations_rollback(Fixture *f, gconstpointer data) {
        g_autofree char *self_signed = bus_get_string(&f->bus, "Fingerprint");
        guint64 first = bus_get_u64(&f->bus, "Generation");

        g_auto(Run) i = certctl(&f->bus, "install", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(i.status, ==, 0);
        guint64 installed = bus_get_u64(&f->bus, "Generation");

        g_auto(Run) g = certctl(&f->bus, "generations", NULL);
        g_assert_cmpint(g.status, ==, 0);
        g_assert_true(g_str_has_prefix(g.out, "GEN "));
        g_autofree char *current_row = g_strdup_printf("\n*%" G_GUINT64_FORMAT " ", installed);
        g_autofree char *old_row = g_strdup_printf("\n %" G_GUINT64_FORMAT " ", first);
        g_assert_nonnull(strstr(g.out, current_row));
        g_assert_nonnull(strstr(g.out, old_row));
        g_assert_nonnull(strstr(g.out, f->leaf_fingerprint));
        g_assert_nonnull(strstr(g.out, self_signed));

        g_auto(Run) gj = certctl(&f->bus, "generations", "--json", NULL);
        g_autofree char *cur = g_strdup_printf("{\"current\":%" G_GUINT64_FORMAT ",\"generations\":[", installed);
        g_assert_cmpint(gj.status, ==, 0);
        g_assert_true(g_str_has_prefix(gj.out, cur));
        g_assert_nonnull(strstr(gj.out, "\"source\":\"bus\""));
        g_assert_nonnull(strstr(gj.out, "\"source\":\"self-signed\""));

        g_auto(Run) rb = certctl(&f->bus, "rollback", NULL);
        g_assert_cmpint(rb.status, ==, 0);
        g_assert_true(g_str_has_prefix(rb.out, "Rolled back to generation "));
        g_assert_true(contains_line(rb.out, "Fingerprint", self_signed));
        g_autofree char *now = bus_get_string(&f->bus, "Fingerprint");
        g_assert_cmpstr(now, ==, self_signed);
}

static void test_regenerate_reload(Fixture *f, gconstpointer data) {
        g_autofree char *before = bus_get_string(&f->bus, "Fingerprint");

        g_auto(Run) r = certctl(&f->bus, "regenerate", "--json", NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_autofree char *after = bus_get_string(&f->bus, "Fingerprint");
        g_autofree char *source = bus_get_string(&f->bus, "Source");
        g_autofree char *field = g_strdup_printf("\"fingerprint\":\"%s\"}", after);
        g_assert_cmpstr(after, !=, before);
        g_assert_cmpstr(source, ==, "self-signed");
        g_assert_nonnull(strstr(r.out, field));

        g_auto(Run) l = certctl(&f->bus, "reload", NULL);
        g_assert_cmpint(l.status, ==, 0);
        g_assert_cmpstr(l.out, ==, "");
        g_assert_cmpstr(l.err, ==, "");
}

/* An unprivileged caller may validate and read, not install. */
static void test_unprivileged(Fixture *f, gconstpointer data) {
        if (getuid() != 0) {
                g_test_skip("switching to an unprivileged user needs root");
                return;
        }
        g_autofree char *before = bus_get_string(&f->bus, "Fingerprint");

        g_auto(Run) s = certctl_as(&f->bus, true, "status", NULL);
        g_assert_cmpint(s.status, ==, 0);

        g_auto(Run) v = certctl_as(&f->bus, true, "validate", "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(v.status, ==, 0);

        g_auto(Run) i = certctl_as(&f->bus, true, "install", "--no-ask-password",
                                   "--cert", f->cert, "--key", f->key, "--ca", f->ca, NULL);
        g_assert_cmpint(i.status, ==, 1);
        g_assert_cmpstr(i.out, ==, "");
        g_assert_true(g_str_has_prefix(i.err, "org.freedesktop.DBus.Error.") ||
                      g_str_has_prefix(i.err, "AccessDenied") ||
                      g_str_has_prefix(i.err, "NotAuthorized"));
        g_autofree char *after = bus_get_string(&f->bus, "Fingerprint");
        g_assert_cmpstr(after, ==, before);
}

/* The daemon gone: the name has no owner, an error from the bus, exit 1. */
static void test_no_daemon(Fixture *f, gconstpointer data) {
        bus_fixture_stop_daemon(&f->bus);

        g_auto(Run) r = certctl(&f->bus, "status", NULL);
        g_assert_cmpint(r.status, ==, 1);
        g_assert_true(g_str_has_prefix(r.err, "org.freedesktop.DBus.Error.ServiceUnknown: "));
}


/* ---------------------------------------------------------- signing requests */

/* `openssl x509 -req` standing in for the organisation's CA, as the README shows it. */
static char *sign_with_openssl(Fixture *f, const char *csr_path) {
        g_autofree char *root_key_pem = pki_key_pem(f->chain->root_key, NULL);
        g_autofree char *ca_key = write_public(f, "ca.key", root_key_pem);
        g_autofree char *signed_path = bus_fixture_path(&f->bus, "signed.pem");
        g_autofree char *serial = bus_fixture_path(&f->bus, "ca.srl");
        g_autofree char *openssl = g_find_program_in_path("openssl");
        g_assert_nonnull(openssl);
        const char *argv[] = { openssl, "x509", "-req", "-in", csr_path, "-CA", f->ca, "-CAkey", ca_key,
                               "-CAserial", serial, "-CAcreateserial", "-days", "90", "-copy_extensions", "copy",
                               "-out", signed_path, NULL };
        const char *envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", NULL };
        g_auto(Run) r = run_program((char **) argv, (char **) envp, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpint(chmod(signed_path, 0644), ==, 0);
        return g_steal_pointer(&signed_path);
}

static void test_request_install(Fixture *f, gconstpointer data) {
        /* The CSR alone on stdout, so that `request > r.csr` is the whole workflow. */
        g_auto(Run) r = certctl(&f->bus, "request", "--alt-name", "DNS:console.example.com", NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_true(g_str_has_prefix(r.out, "-----BEGIN CERTIFICATE REQUEST-----\n"));
        g_assert_true(g_str_has_suffix(r.out, "-----END CERTIFICATE REQUEST-----\n"));
        g_assert_null(strstr(r.out, "PRIVATE KEY"));
        g_assert_null(strstr(r.err, "PRIVATE KEY"));
        g_assert_nonnull(strstr(r.err, "vertex-certctl install --cert SIGNED.pem --ca CA.pem"));
        g_autofree char *csr_path = write_public(f, "r.csr", r.out);

        g_auto(Run) l = certctl(&f->bus, "requests", NULL);
        g_assert_cmpint(l.status, ==, 0);
        g_assert_nonnull(strstr(l.out, "EC P-256"));
        g_assert_nonnull(strstr(l.out, "CN=console.example.com"));
        g_assert_nonnull(strstr(l.out, "1 pending signing request.\n"));

        g_autofree char *signed_path = sign_with_openssl(f, csr_path);
        g_auto(Run) i = certctl(&f->bus, "install", "--cert", signed_path, "--ca", f->ca, NULL);
        g_assert_cmpint(i.status, ==, 0);
        g_assert_cmpstr(i.err, ==, "");
        g_autofree char *source = bus_get_string(&f->bus, "Source");
        g_assert_cmpstr(source, ==, "bus");

        g_auto(Run) e = certctl(&f->bus, "requests", NULL);
        g_assert_cmpstr(e.out, ==, "No pending signing requests.\n");

        /* The same certificate again: its request is consumed, so there is no key for it any more. */
        g_auto(Run) again = certctl(&f->bus, "install", "--cert", signed_path, "--ca", f->ca, NULL);
        g_assert_cmpint(again.status, ==, 1);
        g_assert_cmpstr(again.err, ==, "MissingKey: no private key given, and no pending signing request has "
                        "this certificate's public key\n");
}

static void test_request_options_cancel(Fixture *f, gconstpointer data) {
        g_autofree char *out = bus_fixture_path(&f->bus, "out.csr");
        g_auto(Run) r = certctl(&f->bus, "request", "--json", "--key-type", "EC P-384", "--subject", "CN=x.example.com,O=Ex",
                                "--alt-name", "DNS:x.example.com", "--alt-name", "IP:192.0.2.1", "--output", out, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_true(g_str_has_prefix(r.out, "{\"id\":\""));
        g_autofree char *written = NULL;
        g_assert_true(g_file_get_contents(out, &written, NULL, NULL));
        g_assert_true(g_str_has_prefix(written, "-----BEGIN CERTIFICATE REQUEST-----\n"));

        g_auto(Run) j = certctl(&f->bus, "requests", "--json", NULL);
        g_assert_nonnull(strstr(j.out, "\"key_type\":\"EC P-384\""));
        g_assert_nonnull(strstr(j.out, "\"subject\":\"CN=x.example.com,O=Ex\""));
        char id[33] = {};
        const char *p = strstr(j.out, "\"id\":\"");
        g_assert_nonnull(p);
        memcpy(id, p + 6, 32);

        g_auto(Run) bad = certctl(&f->bus, "request", "--key-type", "RSA 1024", NULL);
        g_assert_cmpint(bad.status, ==, 1);
        g_assert_true(g_str_has_prefix(bad.err, "org.freedesktop.DBus.Error.InvalidArgs: KeyType: "));

        g_auto(Run) c = certctl(&f->bus, "cancel-request", id, NULL);
        g_assert_cmpint(c.status, ==, 0);
        g_auto(Run) none = certctl(&f->bus, "cancel-request", id, NULL);
        g_assert_cmpint(none.status, ==, 1);
        g_assert_true(g_str_has_prefix(none.err, "NoSuchRequest: "));
        g_auto(Run) misplaced = certctl(&f->bus, "status", "--subject", "CN=x", NULL);
        g_assert_cmpint(misplaced.status, ==, 2);
}


/* ------------------------------------------------------------------ pkcs12 */

static char *export_pkcs12(Fixture *f, const char *password) {
        g_autofree char *openssl = g_find_program_in_path("openssl");
        g_autofree char *out = bus_fixture_path(&f->bus, "bundle.p12");
        g_autofree char *pass = g_strdup_printf("pass:%s", password);
        const char *argv[] = { openssl, "pkcs12", "-export", "-in", f->cert, "-inkey", f->key, "-certfile", f->ca,
                               "-out", out, "-passout", pass, NULL };
        const char *envp[] = { "LC_ALL=C", NULL };
        g_auto(Run) r = run_program((char **) argv, (char **) envp, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpint(chmod(out, 0644), ==, 0);
        return g_steal_pointer(&out);
}

static void test_pkcs12(Fixture *f, gconstpointer data) {
        g_autofree char *p12 = export_pkcs12(f, "s3cret");
        g_autofree char *wrong = write_public(f, "wrong.pw", "nope\n");
        g_autofree char *right = write_public(f, "right.pw", "s3cret\n");

        g_auto(Run) w = certctl(&f->bus, "install", "--pkcs12", p12, "--password-file", wrong, NULL);
        g_assert_cmpint(w.status, ==, 1);
        g_assert_cmpstr(w.err, ==, "EncryptedKey: the PKCS#12 password is wrong\n");

        /* There is no option that takes the password itself. */
        g_auto(Run) argv_pw = certctl(&f->bus, "install", "--pkcs12", p12, "--password", "s3cret", NULL);
        g_assert_cmpint(argv_pw.status, ==, 2);
        g_auto(Run) mixed = certctl(&f->bus, "install", "--pkcs12", p12, "--cert", f->cert, "--password-file", right, NULL);
        g_assert_cmpint(mixed.status, ==, 2);

        g_auto(Run) r = certctl(&f->bus, "install", "--pkcs12", p12, "--password-file", right, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_true(contains_line(r.out, "Fingerprint", f->leaf_fingerprint));

        /* From the environment, without a terminal to ask on. */
        g_autofree char *binary = built_program("vertex-certctl");
        g_autofree char *bus = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", f->bus.bus_address);
        const char *envp[] = { "LC_ALL=C", bus, "VERTEX_CERTCTL_PKCS12_PASSWORD=s3cret", NULL };
        const char *argv[] = { binary, "install", "--json", "--pkcs12", p12, NULL };
        g_auto(Run) e = run_program((char **) argv, (char **) envp, NULL);
        g_assert_cmpint(e.status, ==, 0);
        g_assert_nonnull(strstr(e.out, f->leaf_fingerprint));

        /* On a pipe, as the web console hands an uploaded file over. */
        g_autofree char *script = g_strdup_printf("cat '%s' | '%s' install --json --pkcs12 -", p12, binary);
        const char *sh[] = { "/bin/sh", "-c", script, NULL };
        g_auto(Run) piped = run_program((char **) sh, (char **) envp, NULL);
        g_assert_cmpint(piped.status, ==, 0);
        g_assert_nonnull(strstr(piped.out, f->leaf_fingerprint));
}

/* ----------------------------------------------- the daemon dies mid-install */

/* Units to reload, and a systemd (this test) that never answers: an install stays in "reloading". */
static void fixture_setup_slow(Fixture *f, gconstpointer data) {
        fixture_setup_with(f, "Units=vertex-fake.service\nReloadTimeoutSec=30");
}

static GDBusMessage *swallow_systemd(GDBusConnection *conn, GDBusMessage *m, gboolean incoming, gpointer userdata) {
        if (incoming && g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
            streq0(g_dbus_message_get_destination(m), "org.freedesktop.systemd1")) {
                g_object_unref(m);
                return NULL;
        }
        return m;
}

static bool daemon_exited(BusFixture *f) {
        while (g_main_context_iteration(NULL, FALSE))
                ;
        return GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited"));
}

/* The daemon's configuration with Units= emptied: restarted, it serves without reloading anything. */
static void drop_units(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "certd.conf"), *text = NULL;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_autoptr(GString) s = g_string_new(text);
        g_assert_cmpuint(g_string_replace(s, "Units=vertex-fake.service", "Units=", 0), ==, 1);
        g_assert_true(g_file_set_contents(path, s->str, -1, NULL));
}

/*
 * SIGKILL while an install is reloading: the caller gets NoReply. vertex-certctl install waits for
 * the daemon to be back and says from Fingerprint whether its upload is served: yes when the commit
 * had happened (data NULL); no when `current` still named the previous generation (data non-NULL:
 * as if killed between staging and committing).
 */
/* data: NULL (PEM files, committed), "not committed", or "pkcs12" (a PKCS#12 file, committed). */
static void test_install_no_reply(Fixture *f, gconstpointer data) {
        bool pkcs12 = g_strcmp0(data, "pkcs12") == 0;
        bool committed = data == NULL || pkcs12;
        g_autofree char *binary = built_program("vertex-certctl");
        g_autofree char *bus = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", f->bus.bus_address);
        g_autofree char *out_path = bus_fixture_path(&f->bus, "certctl.out");
        g_autofree char *err_path = bus_fixture_path(&f->bus, "certctl.err");
        g_autofree char *out = NULL, *err = NULL, *first = NULL;
        g_autofree char *p12 = pkcs12 ? export_pkcs12(f, "s3cret") : NULL;
        char *argv_pem[] = { binary, (char *) "install", (char *) "--no-ask-password", (char *) "--cert", f->cert,
                             (char *) "--key", f->key, (char *) "--ca", f->ca, NULL };
        char *argv_p12[] = { binary, (char *) "install", (char *) "--no-ask-password", (char *) "--pkcs12", p12, NULL };
        char **argv = pkcs12 ? argv_p12 : argv_pem;
        char *envp[] = { (char *) "LC_ALL=C", bus, (char *) "VERTEX_CERTCTL_PKCS12_PASSWORD=s3cret", NULL };
        g_autoptr(GError) error = NULL;
        GPid pid;
        int status = 0;

        /* First boot, with nobody to reload the unit: degraded, and not reloading any more. */
        g_assert_true(bus_wait_property_string(&f->bus, "State", "degraded", 20000));
        first = bus_get_string(&f->bus, "Fingerprint");
        request_name(&f->bus, "org.freedesktop.systemd1", false);
        guint filter = g_dbus_connection_add_filter(f->bus.conn, swallow_systemd, NULL, NULL);

        int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_true(g_spawn_async_with_fds(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                             -1, out_fd, err_fd, &error));
        g_assert_no_error(error);
        close(out_fd);
        close(err_fd);

        /* Committed and reloading: killed now, it never answers. */
        g_assert_true(bus_wait_property_string(&f->bus, "State", "reloading", 20000));
        g_assert_cmpint(kill(f->bus.daemon_pid, SIGKILL), ==, 0);
        while (!daemon_exited(&f->bus))
                g_usleep(10000);
        f->bus.daemon_pid = 0;

        if (!committed) {
                g_autofree char *current = bus_fixture_path(&f->bus, "store/current");
                g_autofree char *tmp = bus_fixture_path(&f->bus, "store/current.test");
                g_assert_cmpint(symlink("generations/1", tmp), ==, 0);
                g_assert_cmpint(rename(tmp, current), ==, 0);
        }

        /* Back a moment later (systemd would restart it), with nothing to reload this time. */
        g_dbus_connection_remove_filter(f->bus.conn, filter);
        request_name(&f->bus, "org.freedesktop.systemd1", true);
        drop_units(&f->bus);
        g_usleep(500 * 1000);
        bus_fixture_start_daemon(&f->bus);

        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
        for (;;) {
                pid_t p = waitpid(pid, &status, WNOHANG);
                g_assert_cmpint(p, >=, 0);
                if (p == pid)
                        break;
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                g_main_context_iteration(NULL, FALSE);
                g_usleep(20000);
        }
        g_spawn_close_pid(pid);
        g_assert_true(g_file_get_contents(out_path, &out, NULL, NULL));
        g_assert_true(g_file_get_contents(err_path, &err, NULL, NULL));
        g_test_message("exit %d\nstdout:\n%sstderr:\n%s", WEXITSTATUS(status), out, err);

        g_assert_true(WIFEXITED(status));
        g_assert_true(g_str_has_prefix(err, "org.freedesktop.DBus.Error.NoReply: "));
        g_assert_nonnull(strstr(err, "waiting for it to be back"));
        g_assert_nonnull(strstr(err, f->leaf_fingerprint));
        if (committed) {
                g_assert_cmpint(WEXITSTATUS(status), ==, 0);
                g_assert_true(g_str_has_prefix(out, "Installed generation 2 (the daemon restarted before it could answer)."));
                g_assert_nonnull(strstr(out, f->leaf_fingerprint));
                g_autofree char *fp = bus_get_string(&f->bus, "Fingerprint");
                g_assert_cmpstr(fp, ==, f->leaf_fingerprint);
        } else {
                g_assert_cmpint(WEXITSTATUS(status), ==, 1);
                g_assert_cmpstr(out, ==, "");
                g_autofree char *expected = g_strdup_printf("The upload was not installed: generation 1 (%s) is served.",
                                                            first);
                g_assert_nonnull(strstr(err, expected));
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/certctl-bus/status", test_status);
        ADD("/certctl-bus/status-json-contract", test_status_json_contract);
        ADD("/certctl-bus/install", test_install);
        ADD("/certctl-bus/install-json", test_install_json);
        ADD("/certctl-bus/install-refused", test_install_refused);
        ADD("/certctl-bus/validate", test_validate);
        ADD("/certctl-bus/generations-rollback", test_generations_rollback);
        ADD("/certctl-bus/regenerate-reload", test_regenerate_reload);
        ADD("/certctl-bus/unprivileged", test_unprivileged);
        ADD("/certctl-bus/no-daemon", test_no_daemon);
        ADD("/certctl-bus/request-install", test_request_install);
        ADD("/certctl-bus/request-options-cancel", test_request_options_cancel);
        ADD("/certctl-bus/pkcs12", test_pkcs12);
        g_test_add("/certctl-bus/install-no-reply/served", Fixture, NULL, fixture_setup_slow,
                   test_install_no_reply, fixture_teardown);
        g_test_add("/certctl-bus/install-no-reply/not-served", Fixture, "not committed", fixture_setup_slow,
                   test_install_no_reply, fixture_teardown);
        g_test_add("/certctl-bus/install-no-reply/pkcs12-served", Fixture, "pkcs12", fixture_setup_slow,
                   test_install_no_reply, fixture_teardown);
#undef ADD

        return g_test_run();
}
