/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier: the built vertex-certd on a private dbus-daemon, driven over
 * D-Bus like an operator would. Changes that come on their own or at
 * once: one change at a time (Busy), the expiry timers, the drop directory.
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

#include "certinfo.h"
#include "pki.h"
#include "bus-assert.h"
#include "test-util.h"

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

/* ------------------------------------------- the names clients use */

static void assert_required_names(BusFixture *f, const char *const *expected) {
        g_autoptr(GVariant) v = bus_get_property(f, "RequiredNames");
        g_autofree const char **names = g_variant_get_strv(v, NULL);
        g_assert_cmpstrv(names, expected);
}

static bool has_alt_name(BusFixture *f, const char *name) {
        g_autoptr(GVariant) v = bus_get_property(f, "SubjectAlternativeNames");
        g_autofree const char **names = g_variant_get_strv(v, NULL);
        return g_strv_contains(names, name);
}

/* Ours follows the names: a reload with new ones is a new self-signed generation covering them. */
static void test_names_self_signed(BusFixture *f, gconstpointer data) {
        guint from = 0;

        assert_properties(f, 1, "self-signed", "serving", 1, NULL, "");
        assert_required_names(f, (const char *const[]) { SERVER_NAME, NULL });
        g_assert_false(has_alt_name(f, "IP:192.0.2.10"));

        bus_clear_signals(f);
        bus_fixture_reconfigure(f, "AccessNames=192.0.2.10 2001:db8::10");
        BusSignal *s = bus_wait_signal(f, "Installed", &from, 20000);
        g_assert_nonnull(s);
        assert_properties(f, 2, "self-signed", "serving", 1, NULL, "");
        assert_required_names(f, (const char *const[]) { SERVER_NAME, "192.0.2.10", "2001:db8::10", NULL });
        g_assert_true(has_alt_name(f, "DNS:" SERVER_NAME));
        g_assert_true(has_alt_name(f, "IP:192.0.2.10"));
        g_assert_true(has_alt_name(f, "IP:2001:DB8:0:0:0:0:0:10") || has_alt_name(f, "IP:2001:db8::10"));
        g_autoptr(GHashTable) changed = bus_changed_properties(f, 0);
        g_assert_true(g_hash_table_contains(changed, "RequiredNames"));

        /* A new primary name is the new subject. */
        bus_fixture_reconfigure(f, "ServerName=vertex.example.net\nAccessNames=192.0.2.10");
        s = bus_wait_signal(f, "Installed", &from, 20000);
        g_assert_nonnull(s);
        g_assert_cmpuint(bus_get_u64(f, "Generation"), ==, 3);
        g_autofree char *state = bus_get_string(f, "State");
        g_assert_cmpstr(state, ==, "serving");
        g_autofree char *subject = bus_get_string(f, "Subject");
        g_assert_cmpstr(subject, ==, "CN=vertex.example.net");
        g_autofree char *server_name = bus_get_string(f, "ServerName");
        g_assert_cmpstr(server_name, ==, "vertex.example.net");

        /* The same names again: nothing to do. */
        bus_fixture_reconfigure(f, "ServerName=vertex.example.net\nAccessNames=192.0.2.10");
        g_assert_null(bus_wait_signal(f, "Installed", &from, 1500));
        g_assert_cmpuint(bus_get_u64(f, "Generation"), ==, 3);

        /* A bad configuration keeps the running one. */
        bus_fixture_reconfigure(f, "AccessNames=192.0.2.10 192.0.2.10");
        g_assert_null(bus_wait_signal(f, "Installed", &from, 1500));
        g_assert_true(bus_fixture_daemon_alive(f));
        assert_required_names(f, (const char *const[]) { "vertex.example.net", "192.0.2.10", NULL });
}

/* An uploaded certificate is never replaced: it is marked, and the mark goes with a covering one. */
static void test_names_uploaded(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autoptr(GError) error = NULL;
        guint64 generation;
        g_autofree char *fp = NULL;

        install_ok(f, c, &generation, &fp);
        g_assert_cmpuint(generation, ==, 2);

        bus_fixture_reconfigure(f, "AccessNames=192.0.2.10");
        g_assert_true(bus_wait_property_string(f, "State", "name-mismatch", 10000));
        assert_properties(f, 2, "bus", "name-mismatch", 2, fp, "NameMismatch: ");
        g_autofree char *last_error = bus_get_string(f, "LastError");
        g_assert_nonnull(strstr(last_error, "not '192.0.2.10' (an address clients use in AccessNames=)"));
        g_assert_null(strstr(last_error, "not '" SERVER_NAME "'"));

        /* The same certificate is now refused, naming the missing address. */
        g_autoptr(GVariant) r = install(f, c->fullchain_pem, c->key_pem, c->root_pem, &error);
        g_assert_null(r);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("NameMismatch"));
        g_assert_nonnull(strstr(message, "not '192.0.2.10' (an address clients use in AccessNames=)"));
        g_clear_error(&error);

        /* The names change back: the mark goes. */
        bus_fixture_reconfigure(f, NULL);
        g_assert_true(bus_wait_property_string(f, "State", "serving", 10000));
        assert_properties(f, 2, "bus", "serving", 2, fp, "");

        /* Marked again, then a covering certificate clears it. */
        bus_fixture_reconfigure(f, "AccessNames=192.0.2.10");
        g_assert_true(bus_wait_property_string(f, "State", "name-mismatch", 10000));
        _cleanup_pki_chain_ PkiChain *covering = pki_chain_new_full(&(PkiChainOptions) {
                .server_name = SERVER_NAME, .alt_names = (const char *const[]) { "192.0.2.10", NULL } });
        g_autofree char *fp2 = NULL;
        install_ok(f, covering, &generation, &fp2);
        g_assert_cmpuint(generation, ==, 3);
        g_assert_true(bus_wait_property_string(f, "State", "serving", 10000));
        assert_properties(f, 3, "bus", "serving", 2, fp2, "");

        /* Going back to the certificate that lacks the address marks it again. */
        g_autoptr(GVariant) back = bus_call(f, "Rollback", NULL, &error);
        g_assert_no_error(error);
        g_assert_true(bus_wait_property_string(f, "State", "name-mismatch", 10000));
}

static void setup_logged(BusFixture *f, gconstpointer data) {
        bus_fixture_setup_logged(f, NULL);
}

static void drop_bundle(BusFixture *f, const PkiChain *c) {
        drop_file(f, "ca.crt", c->root_pem);
        drop_file(f, "tls.key", c->key_pem);
        drop_file(f, "tls.crt", c->fullchain_pem);
}

/* Waits for the daemon to have logged `needle`. */
static bool wait_log(BusFixture *f, const char *needle, guint timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                g_autofree char *log = bus_fixture_daemon_log(f);
                if (strstr(log, needle))
                        return true;
                if (g_get_monotonic_time() >= deadline)
                        return false;
                g_main_context_iteration(NULL, FALSE);
                g_usleep(20000);
        }
}

static bool drop_is_empty(BusFixture *f) {
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_autoptr(GDir) dir = g_dir_open(drop, 0, NULL);
        const char *e;

        while ((e = g_dir_read_name(dir)))
                if (!streq0(e, "rejected"))
                        return false;
        return true;
}

/*
 * No silent outcome: content an older generation served is installed again as a new generation;
 * content the served generation holds already is logged as such and its files removed; a leaf too
 * large to serve is refused (TooLarge, as on the bus); an entry that is no bundle is logged once.
 */
static void test_drop_outcomes(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *a = pki_chain_new(SERVER_NAME);
        _cleanup_pki_chain_ PkiChain *b = pki_chain_new(SERVER_NAME);
        g_autofree char *fp_a = fingerprint_of(a->leaf), *fp_b = fingerprint_of(b->leaf);
        const char *fp, *source;
        guint64 generation;
        guint from = 0;
        BusSignal *s;

        bus_clear_signals(f);
        drop_bundle(f, a);
        g_assert_nonnull(s = bus_wait_signal(f, "Installed", &from, 15000));
        drop_bundle(f, b);
        g_assert_nonnull(s = bus_wait_signal(f, "Installed", &from, 15000));
        g_variant_get(s->parameters, "(t&s&s)", &generation, &fp, &source);
        g_assert_cmpuint(generation, ==, 3);
        g_assert_cmpstr(fp, ==, fp_b);

        /* A's content again (say, after a rollback went the other way): a new generation. */
        drop_bundle(f, a);
        g_assert_nonnull(s = bus_wait_signal(f, "Installed", &from, 15000));
        g_variant_get(s->parameters, "(t&s&s)", &generation, &fp, &source);
        g_assert_cmpuint(generation, ==, 4);
        g_assert_cmpstr(fp, ==, fp_a);
        assert_properties(f, 4, "drop-directory", "serving", 2, fp_a, NULL);

        /* And again: what generation 4 serves already. Said, files removed, nothing else. */
        drop_bundle(f, a);
        g_assert_true(wait_log(f, "Bundle 'tls' in the drop directory: already serving generation 4, removing its files.",
                               15000));
        for (unsigned i = 0; i < 100 && !drop_is_empty(f); i++)
                g_usleep(20000);
        g_assert_true(drop_is_empty(f));
        g_assert_null(bus_wait_signal(f, "Installed", &from, 500));
        g_assert_null(bus_wait_signal(f, "Rejected", NULL, 0));
        assert_properties(f, 4, "drop-directory", "serving", 2, fp_a, NULL);

        /* 10,000 names covering ServerName=: refused as Install and Validate refuse it. */
        PkiChainOptions many = { .server_name = SERVER_NAME, .extra_names = 9999 };
        _cleanup_pki_chain_ PkiChain *big = pki_chain_new_full(&many);
        drop_file(f, "big.pem", big->bundle_pem);
        g_assert_nonnull(s = bus_wait_signal(f, "Rejected", &from, 15000));
        const char *name, *err, *msg;
        g_variant_get(s->parameters, "(&s&s&s&s)", &source, &name, &err, &msg);
        g_assert_cmpstr(name, ==, "big");
        g_assert_cmpstr(err, ==, "TooLarge");
        g_assert_true(g_str_has_prefix(msg, "the chain is "));
        g_autofree char *error_file = bus_fixture_path(f, "drop/rejected/big.error");
        g_autofree char *error_text = NULL;
        for (unsigned i = 0; i < 100 && !g_file_get_contents(error_file, &error_text, NULL, NULL); i++)
                g_usleep(20000);
        g_assert_nonnull(error_text);
        g_assert_true(g_str_has_prefix(error_text, "TooLarge: the chain is "));

        /* Something that is no bundle: left alone, and said once. */
        drop_file(f, ".notes", "remember to renew\n");
        g_assert_true(wait_log(f, "Ignoring '.notes' in the drop directory: it is hidden", 15000));
        g_autofree char *log = bus_fixture_daemon_log(f);
        const char *first = strstr(log, "Ignoring '.notes'");
        g_assert_null(strstr(first + 1, "Ignoring '.notes'"));
}

/* --------------------------------------------------------------- main */

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/bus/busy/one-change-at-a-time", BusFixture, NULL, setup_slow_reload, test_busy, teardown);
        g_test_add("/bus/expiry/warning-and-expired", BusFixture, NULL, setup, test_expiry, teardown);
        g_test_add("/bus/drop-directory/install-and-reject", BusFixture, NULL, setup, test_drop_directory, teardown);
        g_test_add("/bus/names/self-signed-follows-reload", BusFixture, NULL, setup, test_names_self_signed, teardown);
        g_test_add("/bus/names/uploaded-name-mismatch", BusFixture, NULL, setup, test_names_uploaded, teardown);
        g_test_add("/bus/drop-directory/every-outcome-said", BusFixture, NULL, setup_logged, test_drop_outcomes,
                   teardown);

        return g_test_run();
}
