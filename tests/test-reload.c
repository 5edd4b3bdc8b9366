/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The reload orchestration against a stand-in for org.freedesktop.systemd1
 * on a private dbus-daemon, and a real vertex-endpoint as the consumer. The
 * stand-in implements just what reload.c uses (Subscribe, GetUnit,
 * ReloadOrTryRestartUnit, JobRemoved, Properties.Get of ActiveState,
 * TriggeredBy and Listen) and reloads the endpoint through its control
 * socket as ExecReload= would. It only emits JobRemoved to a subscribed
 * client, as systemd does, and can emit it before its method reply (the race
 * reload.c must handle). The real systemd is exercised by the system tests.
 */

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "endpoint-spawn.h"
#include "pki.h"
#include "reload.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free)

#define CONSOLE "vertex-console.service"
#define CONSOLE_SOCKET "vertex-console.socket"
#define STOPPED "vertex-stopped.service"
#define MISSING "vertex-missing.service"

typedef struct Mock {
        sd_bus *bus;
        bool subscribed;
        bool enqueued_unsubscribed;   /* a job was asked for before Subscribe */
        bool signal_before_reply;
        const char *job_result;       /* NULL: "done"/"failed" from the endpoint's answer */
        char *control;
        char *listen;
        unsigned job_id;
        unsigned n_reloads;
        sd_event_source *pending;     /* deferred JobRemoved */
        char *pending_job, *pending_unit, *pending_result;
} Mock;

typedef struct Fixture {
        char *tmp;
        char *current;
        unsigned generation;
        GTestDBus *dbus;
        sd_event *event;
        sd_bus *client;
        Mock mock;
        SpawnedEndpoint e;
        char *fp1, *fp2;
} Fixture;

typedef struct Outcome {
        bool done;
        unsigned calls;
        int r;
        char *message;
        GPtrArray *rows;  /* "unit|address|state|fingerprint" */
} Outcome;

static int emit_job_removed(Mock *m, unsigned id, const char *job, const char *unit, const char *result) {
        /* systemd sends job signals only while someone is subscribed. */
        if (!m->subscribed)
                return 0;
        return sd_bus_emit_signal(m->bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                  "JobRemoved", "uoss", id, job, unit, result);
}

static int on_pending(sd_event_source *s, void *userdata) {
        Mock *m = userdata;

        g_assert_cmpint(emit_job_removed(m, m->job_id, m->pending_job, m->pending_unit, m->pending_result), >=, 0);
        m->pending = sd_event_source_disable_unref(m->pending);
        g_clear_pointer(&m->pending_job, g_free);
        g_clear_pointer(&m->pending_unit, g_free);
        g_clear_pointer(&m->pending_result, g_free);
        return 0;
}

static int manager_handler(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Mock *m = userdata;
        const char *member = sd_bus_message_get_member(msg);
        const char *name, *mode;

        if (!sd_bus_message_has_signature(msg, "") && !sd_bus_message_has_signature(msg, "s") &&
            !sd_bus_message_has_signature(msg, "ss"))
                return 0;
        if (!streq_ptr(sd_bus_message_get_interface(msg), "org.freedesktop.systemd1.Manager"))
                return 0;

        if (streq(member, "Subscribe")) {
                if (m->subscribed)
                        return sd_bus_reply_method_errorf(msg, "org.freedesktop.systemd1.AlreadySubscribed",
                                                          "Client is already subscribed.");
                m->subscribed = true;
                return sd_bus_reply_method_return(msg, NULL);
        }

        if (streq(member, "Unsubscribe")) {
                m->subscribed = false;
                return sd_bus_reply_method_return(msg, NULL);
        }

        if (streq(member, "GetUnit")) {
                g_autofree char *path = NULL;

                g_assert_cmpint(sd_bus_message_read(msg, "s", &name), >=, 0);
                if (!streq(name, CONSOLE) && !streq(name, STOPPED) && !streq(name, CONSOLE_SOCKET))
                        return sd_bus_reply_method_errorf(msg, "org.freedesktop.systemd1.NoSuchUnit",
                                                          "Unit %s not loaded.", name);
                g_assert_cmpint(sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path), >=, 0);
                return sd_bus_reply_method_return(msg, "o", path);
        }

        if (streq(member, "ReloadOrTryRestartUnit")) {
                g_autofree char *job = NULL, *answer = NULL;
                const char *result;
                int r;

                g_assert_cmpint(sd_bus_message_read(msg, "ss", &name, &mode), >=, 0);
                g_assert_cmpstr(mode, ==, "replace");
                g_assert_cmpstr(name, ==, CONSOLE);  /* the stopped unit is never touched */
                if (!m->subscribed)
                        m->enqueued_unsubscribed = true;
                m->n_reloads++;

                /* What ExecReload= does: ask the endpoint, the job fails when it did. */
                answer = endpoint_control(m->control, "reload\n");
                result = m->job_result ?: (answer && g_str_has_prefix(answer, "ok ") ? "done" : "failed");

                job = g_strdup_printf("/org/freedesktop/systemd1/job/%u", ++m->job_id);
                if (m->signal_before_reply) {
                        g_assert_cmpint(emit_job_removed(m, m->job_id, job, name, result), >=, 0);
                        return sd_bus_reply_method_return(msg, "o", job);
                }

                r = sd_bus_reply_method_return(msg, "o", job);
                m->pending_job = g_strdup(job);
                m->pending_unit = g_strdup(name);
                m->pending_result = g_strdup(result);
                g_assert_cmpint(sd_event_add_defer(sd_bus_get_event(m->bus), &m->pending, on_pending, m), >=, 0);
                return r;
        }

        return 0;
}

static int unit_handler(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Mock *m = userdata;
        g_autofree char *unit = NULL;
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
        const char *interface, *property;

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.Properties", "Get"))
                return 0;
        g_assert_cmpint(sd_bus_path_decode(sd_bus_message_get_path(msg), "/org/freedesktop/systemd1/unit", &unit), >, 0);
        g_assert_cmpint(sd_bus_message_read(msg, "ss", &interface, &property), >=, 0);
        g_assert_cmpint(sd_bus_message_new_method_return(msg, &reply), >=, 0);

        if (streq(interface, "org.freedesktop.systemd1.Unit") && streq(property, "ActiveState"))
                g_assert_cmpint(sd_bus_message_append(reply, "v", "s", streq(unit, STOPPED) ? "inactive" : "active"), >=, 0);
        else if (streq(interface, "org.freedesktop.systemd1.Unit") && streq(property, "TriggeredBy")) {
                if (streq(unit, CONSOLE))
                        g_assert_cmpint(sd_bus_message_append(reply, "v", "as", 2, "vertex-console.path", CONSOLE_SOCKET), >=, 0);
                else
                        g_assert_cmpint(sd_bus_message_append(reply, "v", "as", 0), >=, 0);
        } else if (streq(interface, "org.freedesktop.systemd1.Socket") && streq(property, "Listen") &&
                   streq(unit, CONSOLE_SOCKET))
                g_assert_cmpint(sd_bus_message_append(reply, "v", "a(ss)", 2, "Datagram", "127.0.0.1:9",
                                                      "Stream", m->listen), >=, 0);
        else
                return sd_bus_reply_method_errorf(msg, "org.freedesktop.DBus.Error.UnknownProperty",
                                                  "No %s.%s on %s", interface, property, unit);

        return sd_bus_send(NULL, reply, NULL);
}

static sd_bus *bus_connect(GTestDBus *dbus, sd_event *event) {
        sd_bus *bus = NULL;

        g_assert_cmpint(sd_bus_new(&bus), >=, 0);
        g_assert_cmpint(sd_bus_set_address(bus, g_test_dbus_get_bus_address(dbus)), >=, 0);
        g_assert_cmpint(sd_bus_set_bus_client(bus, true), >=, 0);
        g_assert_cmpint(sd_bus_start(bus), >=, 0);
        g_assert_cmpint(sd_bus_attach_event(bus, event, 0), >=, 0);
        return bus;
}

static char *commit_chain(Fixture *f, PkiChain *chain) {
        g_autofree char *name = g_strdup_printf("gen-%u", ++f->generation);
        g_autofree char *dir = g_build_filename(f->tmp, name, NULL);
        g_autofree char *tmp_link = g_build_filename(f->tmp, "current.tmp", NULL);
        char fp[CERT_FINGERPRINT_MAX];

        g_assert_cmpint(g_mkdir(dir, 0750), ==, 0);
        g_assert_cmpint(pki_chain_write_dir(chain, dir), ==, 0);
        g_assert_cmpint(symlink(name, tmp_link), ==, 0);
        g_assert_cmpint(rename(tmp_link, f->current), ==, 0);
        g_assert_cmpint(cert_fingerprint(chain->leaf, fp), ==, 0);
        return g_strdup(fp);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain1 = pki_chain_new("console.example.com");
        g_autoptr(PkiChain) chain2 = pki_chain_new("console.example.com");
        const char *const *extra = data;

        f->tmp = g_dir_make_tmp("test-reload-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        f->current = g_build_filename(f->tmp, "current", NULL);

        f->dbus = g_test_dbus_new(G_TEST_DBUS_NONE);
        g_test_dbus_up(f->dbus);
        g_assert_cmpint(sd_event_new(&f->event), >=, 0);

        f->mock.bus = bus_connect(f->dbus, f->event);
        g_assert_cmpint(sd_bus_add_object(f->mock.bus, NULL, "/org/freedesktop/systemd1", manager_handler, &f->mock), >=, 0);
        g_assert_cmpint(sd_bus_add_fallback(f->mock.bus, NULL, "/org/freedesktop/systemd1/unit", unit_handler, &f->mock), >=, 0);
        g_assert_cmpint(sd_bus_request_name(f->mock.bus, "org.freedesktop.systemd1", 0), >=, 0);
        f->client = bus_connect(f->dbus, f->event);

        f->fp1 = commit_chain(f, chain1);
        endpoint_spawn(&f->e, "console", f->current, f->tmp, false, extra);
        f->mock.control = g_strdup(f->e.control);
        f->mock.listen = g_strdup_printf("127.0.0.1:%d", f->e.port);
        f->fp2 = commit_chain(f, chain2);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);

        if (f->e.pid > 0)
                endpoint_stop(&f->e);
        sd_event_source_disable_unref(f->mock.pending);
        g_free(f->mock.pending_job);
        g_free(f->mock.pending_unit);
        g_free(f->mock.pending_result);
        sd_bus_flush_close_unref(f->client);
        sd_bus_flush_close_unref(f->mock.bus);
        sd_event_unref(f->event);
        g_test_dbus_down(f->dbus);
        g_object_unref(f->dbus);
        g_free(f->mock.control);
        g_free(f->mock.listen);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
        g_free(f->current);
        g_free(f->fp1);
        g_free(f->fp2);
}

static void on_done(ReloadRequest *req, int r, const char *error_message,
                    const EndpointStatus *endpoints, size_t n_endpoints, void *userdata) {
        Outcome *o = userdata;

        o->calls++;
        o->done = true;
        o->r = r;
        o->message = g_strdup(error_message);
        o->rows = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < n_endpoints; i++)
                g_ptr_array_add(o->rows, g_strdup_printf("%s|%s|%s|%s", endpoints[i].unit, endpoints[i].address,
                                                         endpoints[i].state, endpoints[i].fingerprint));
        reload_request_free(req);
}

static void run_reload(Fixture *f, char **units, uint64_t timeout_usec, Outcome *o) {
        ReloadRequest *req = NULL;

        g_assert_cmpint(reload_request_start(f->client, f->event, units, f->fp2, timeout_usec, true,
                                             on_done, o, &req), ==, 0);
        g_assert_nonnull(req);
        while (!o->done)
                g_assert_cmpint(sd_event_run(f->event, UINT64_MAX), >=, 0);
        g_assert_cmpuint(o->calls, ==, 1);
}

static void outcome_clear(Outcome *o) {
        g_free(o->message);
        if (o->rows)
                g_ptr_array_unref(o->rows);
}

static void assert_row(Outcome *o, guint i, const char *unit, const char *address, const char *state, const char *fp) {
        g_autofree char *expected = g_strdup_printf("%s|%s|%s|%s", unit, address, state, fp);

        g_assert_cmpuint(o->rows->len, >, i);
        g_assert_cmpstr(g_ptr_array_index(o->rows, i), ==, expected);
}

static void test_success(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        run_reload(f, units, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_null(o.message);
        g_assert_cmpuint(o.rows->len, ==, 3);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        assert_row(&o, 1, STOPPED, "", "inactive", "");
        assert_row(&o, 2, MISSING, "", "inactive", "");
        g_assert_cmpuint(f->mock.n_reloads, ==, 1);
        g_assert_false(f->mock.enqueued_unsubscribed);
        outcome_clear(&o);

        /* The request unsubscribes when done (it subscribed): a second one subscribes again. */
        g_assert_cmpint(sd_event_run(f->event, 100 * USEC_PER_MSEC), >=, 0);
        g_assert_false(f->mock.subscribed);
}

static void test_signal_before_reply(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        Outcome o = {};

        f->mock.signal_before_reply = true;
        run_reload(f, units, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        outcome_clear(&o);
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        g_assert_false(sd_bus_message_is_method_error(m, NULL));
        *(bool *) userdata = true;
        return 0;
}

static void test_already_subscribed(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        bool replied = false;
        Outcome o = {};

        /* Someone else on the connection subscribed: AlreadySubscribed is fine, and is not undone. */
        g_assert_cmpint(sd_bus_call_method_async(f->client, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                 "org.freedesktop.systemd1.Manager", "Subscribe", on_reply, &replied, NULL), >=, 0);
        while (!replied)
                g_assert_cmpint(sd_event_run(f->event, UINT64_MAX), >=, 0);
        g_assert_true(f->mock.subscribed);
        run_reload(f, units, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        g_assert_cmpint(sd_event_run(f->event, 100 * USEC_PER_MSEC), >=, 0);
        g_assert_true(f->mock.subscribed);
        outcome_clear(&o);
}

static const char *const fail_switch[] = { "--fail-reload-if-exists", "/", NULL };

static void test_job_failed(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, NULL };
        Outcome o = {};

        /* The endpoint refuses (test switch "/" always exists), so the job fails. */
        run_reload(f, units, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, -EIO);
        g_assert_cmpstr(o.message, ==, "Reloading " CONSOLE " failed: job result 'failed'");
        assert_row(&o, 0, CONSOLE, f->mock.listen, "failed", "");
        assert_row(&o, 1, STOPPED, "", "inactive", "");
        outcome_clear(&o);
}

static void test_mismatch(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *expected = NULL;
        uint64_t start;
        Outcome o = {};

        /* The job says done but the endpoint kept the old certificate: only the handshake can tell. */
        f->mock.job_result = "done";
        start = g_get_monotonic_time();
        run_reload(f, units, 700 * USEC_PER_MSEC, &o);
        g_assert_cmpuint(g_get_monotonic_time() - start, >=, 500 * USEC_PER_MSEC);
        g_assert_cmpint(o.r, ==, -ESTALE);
        expected = g_strdup_printf("%s serves %s on %s instead of %s", CONSOLE, f->fp1, f->mock.listen, f->fp2);
        g_assert_cmpstr(o.message, ==, expected);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "mismatch", f->fp1);
        outcome_clear(&o);
}

static void test_unreachable(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        Outcome o = {};

        /* The socket claims a port nobody listens on. */
        endpoint_stop(&f->e);
        f->mock.job_result = "done";
        run_reload(f, units, 500 * USEC_PER_MSEC, &o);
        g_assert_cmpint(o.r, ==, -ECONNREFUSED);
        g_assert_nonnull(strstr(o.message, "is unreachable on"));
        assert_row(&o, 0, CONSOLE, f->mock.listen, "unreachable", "");
        outcome_clear(&o);
}

static void test_empty(Fixture *f, gconstpointer data) {
        char *units[] = { NULL };
        ReloadRequest *req = NULL;
        Outcome o = {};

        g_assert_cmpint(reload_request_start(f->client, f->event, units, f->fp2, USEC_PER_SEC, true,
                                             on_done, &o, &req), ==, 0);
        /* Completes from the loop, not from inside start. */
        g_assert_cmpuint(o.calls, ==, 0);
        while (!o.done)
                g_assert_cmpint(sd_event_run(f->event, UINT64_MAX), >=, 0);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_cmpuint(o.rows->len, ==, 0);
        g_assert_cmpuint(f->mock.n_reloads, ==, 0);
        outcome_clear(&o);
}

static void test_cancel(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        ReloadRequest *req = NULL;
        Outcome o = {};

        g_assert_cmpint(reload_request_start(f->client, f->event, units, f->fp2, USEC_PER_SEC, true,
                                             on_done, &o, &req), ==, 0);
        g_assert_cmpint(sd_event_run(f->event, 10 * USEC_PER_MSEC), >=, 0);
        reload_request_free(req);
        for (unsigned i = 0; i < 20; i++)
                g_assert_cmpint(sd_event_run(f->event, 50 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(o.calls, ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/reload/success", Fixture, NULL, fixture_setup, test_success, fixture_teardown);
        g_test_add("/reload/signal-before-reply", Fixture, NULL, fixture_setup, test_signal_before_reply, fixture_teardown);
        g_test_add("/reload/already-subscribed", Fixture, NULL, fixture_setup, test_already_subscribed, fixture_teardown);
        g_test_add("/reload/job-failed", Fixture, fail_switch, fixture_setup, test_job_failed, fixture_teardown);
        g_test_add("/reload/mismatch", Fixture, fail_switch, fixture_setup, test_mismatch, fixture_teardown);
        g_test_add("/reload/unreachable", Fixture, NULL, fixture_setup, test_unreachable, fixture_teardown);
        g_test_add("/reload/empty", Fixture, NULL, fixture_setup, test_empty, fixture_teardown);
        g_test_add("/reload/cancel", Fixture, NULL, fixture_setup, test_cancel, fixture_teardown);

        return g_test_run();
}
