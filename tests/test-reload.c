/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The reload orchestration against a stand-in for org.freedesktop.systemd1
 * on a private dbus-daemon, and a real vertex-endpoint as the consumer. The
 * stand-in implements just what reload.c uses (Subscribe, GetUnit,
 * ReloadOrTryRestartUnit, ReloadUnit, JobRemoved, Properties.Get of
 * ActiveState, ReloadPropagatedFrom, TriggeredBy and Listen) and reloads the
 * endpoint through its control socket as ExecReload= would. It only emits
 * JobRemoved to a subscribed client, as systemd does, and can emit it before
 * its method reply (the race reload.c must handle).
 *
 * ReloadUnit of the carrier behaves as systemd 252's transaction does: the
 * carrier's job, plus a try-reload job for each unit that names the carrier
 * in ReloadPropagatedFrom= and is active or reloading (in any other state
 * the try-reload collapses to nothing). Those job paths are in no reply. The
 * real systemd is exercised by the system tests.
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
#define CARRIER "vertex-tls.target"

/* The console's lookups through a carrier: ActiveState, ReloadPropagatedFrom, CanReload, TriggeredBy, Listen. */
#define CONSOLE_LOOKUPS_THROUGH 5

typedef struct JobSignal {
        unsigned id;
        char *job, *unit, *result;
} JobSignal;

typedef struct Mock {
        sd_bus *bus;
        bool subscribed;
        bool enqueued_unsubscribed;   /* a job was asked for before Subscribe */
        bool signal_before_reply;     /* JobRemoved inside the method call, ahead of its reply */
        const char *job_result;       /* NULL: "done"/"failed" from the endpoint's answer */
        const char *reload_unit_error;  /* ReloadUnit answers this D-Bus error, as a polkit refusal */
        bool refuse_late;             /* ... once the console is looked up, as polkit takes a while */
        const char *console_state;    /* its ActiveState; NULL: "active" */
        const char *const *console_propagated_from;  /* its ReloadPropagatedFrom=; NULL: empty, as every other unit's */
        bool console_cannot_reload;   /* its CanReload is false (no ExecReload=) */
        bool console_no_socket;       /* it opens its own listener (nginx, HAProxy): TriggeredBy is empty */
        char *control;
        char *listen;
        unsigned job_id;

        /* Calls, per method. */
        unsigned n_reload_or_try_restart;
        unsigned n_reload_unit;
        unsigned n_propagation_reads;
        unsigned n_endpoint_reloads;  /* what ExecReload= did */

        unsigned console_lookups;     /* Properties.Get answered about the console and its socket */
        int console_lookups_at_job;   /* that count when the console's JobRemoved went out; -1: never */

        GQueue held;                  /* the console's propagated job, until it is looked up */
        sd_bus_message *held_call;    /* a ReloadUnit to refuse once the console is looked up */
        GQueue pending;               /* JobSignals for the deferred emission */
        sd_event_source *emit;        /* emits `pending` */
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

static char *job_path(unsigned id) {
        return g_strdup_printf("/org/freedesktop/systemd1/job/%u", id);
}

static void job_signal_free(JobSignal *s) {
        g_free(s->job);
        g_free(s->unit);
        g_free(s->result);
        g_free(s);
}

static void job_signal_emit(Mock *m, const JobSignal *s) {
        if (streq(s->unit, CONSOLE))
                m->console_lookups_at_job = m->console_lookups;
        g_assert_cmpint(emit_job_removed(m, s->id, s->job, s->unit, s->result), >=, 0);
}

static int on_emit(sd_event_source *source, void *userdata) {
        Mock *m = userdata;
        JobSignal *s;

        m->emit = sd_event_source_disable_unref(m->emit);
        while ((s = g_queue_pop_head(&m->pending))) {
                job_signal_emit(m, s);
                job_signal_free(s);
        }
        return 0;
}

static void mock_arm_emit(Mock *m) {
        if (!m->emit)
                g_assert_cmpint(sd_event_add_defer(sd_bus_get_event(m->bus), &m->emit, on_emit, m), >=, 0);
}

/*
 * A job finished with `result`: JobRemoved now (signal_before_reply), or from the loop once the
 * method reply is out. `held`: not before reload.c has looked the console up, as a real ExecReload=
 * takes longer than those lookups, so that the signal meets a unit that waits for its job.
 */
static void mock_job_finished(Mock *m, unsigned id, const char *unit, const char *result, bool held) {
        JobSignal *s = g_new(JobSignal, 1);

        *s = (JobSignal) {
                .id = id,
                .job = job_path(id),
                .unit = g_strdup(unit),
                .result = g_strdup(result),
        };
        if (m->signal_before_reply) {
                job_signal_emit(m, s);
                job_signal_free(s);
        } else if (held && m->console_lookups < CONSOLE_LOOKUPS_THROUGH)
                g_queue_push_tail(&m->held, s);
        else {
                g_queue_push_tail(&m->pending, s);
                mock_arm_emit(m);
        }
}

/* What ExecReload= does: ask the endpoint; the job fails when it did. */
static const char *mock_exec_reload(Mock *m) {
        g_autofree char *answer = endpoint_control(m->control, "reload\n");

        m->n_endpoint_reloads++;
        return m->job_result ?: (answer && g_str_has_prefix(answer, "ok ") ? "done" : "failed");
}

static const char *mock_console_state(Mock *m) {
        return m->console_state ?: "active";
}

/*
 * systemd 252 collapses the propagated try-reload of a unit neither active nor reloading to
 * nothing, and drops it for a unit that cannot reload.
 */
static bool mock_propagates_to_console(Mock *m) {
        return m->console_propagated_from && g_strv_contains(m->console_propagated_from, CARRIER) &&
               !m->console_cannot_reload &&
               (streq(mock_console_state(m), "active") || streq(mock_console_state(m), "reloading"));
}

/* reload.c has its answers about the console: what waited for that may go out, behind them. */
static void mock_console_looked_up(Mock *m) {
        JobSignal *s;

        if (m->held_call) {
                g_assert_cmpint(sd_bus_reply_method_errorf(m->held_call, m->reload_unit_error, "Access denied"), >=, 0);
                m->held_call = sd_bus_message_unref(m->held_call);
        }
        while ((s = g_queue_pop_head(&m->held))) {
                g_queue_push_tail(&m->pending, s);
                mock_arm_emit(m);
        }
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
                g_autofree char *job = NULL;
                const char *result;
                int r;

                g_assert_cmpint(sd_bus_message_read(msg, "ss", &name, &mode), >=, 0);
                g_assert_cmpstr(mode, ==, "replace");
                g_assert_cmpstr(name, ==, CONSOLE);  /* the stopped unit is never touched */
                if (!m->subscribed)
                        m->enqueued_unsubscribed = true;
                m->n_reload_or_try_restart++;

                result = mock_exec_reload(m);
                job = job_path(++m->job_id);
                if (m->signal_before_reply) {
                        mock_job_finished(m, m->job_id, name, result, false);
                        return sd_bus_reply_method_return(msg, "o", job);
                }
                r = sd_bus_reply_method_return(msg, "o", job);
                mock_job_finished(m, m->job_id, name, result, false);
                return r;
        }

        if (streq(member, "ReloadUnit")) {
                g_autofree char *carrier_job = NULL;
                unsigned carrier_id, console_id = 0;
                const char *console_result = NULL;
                int r;

                g_assert_cmpint(sd_bus_message_read(msg, "ss", &name, &mode), >=, 0);
                g_assert_cmpstr(mode, ==, "replace");
                if (!m->subscribed)
                        m->enqueued_unsubscribed = true;
                m->n_reload_unit++;

                if (m->reload_unit_error && m->refuse_late) {
                        m->held_call = sd_bus_message_ref(msg);
                        return 1;
                }
                if (m->reload_unit_error)
                        return sd_bus_reply_method_errorf(msg, m->reload_unit_error, "Access denied");
                if (!streq(name, CARRIER))
                        return sd_bus_reply_method_errorf(msg, "org.freedesktop.systemd1.NoSuchUnit",
                                                          "Unit %s not found.", name);

                /* One transaction: the carrier's job and the console's propagated try-reload. */
                carrier_id = ++m->job_id;
                carrier_job = job_path(carrier_id);
                if (mock_propagates_to_console(m)) {
                        console_result = mock_exec_reload(m);
                        console_id = ++m->job_id;
                }
                if (m->signal_before_reply) {
                        mock_job_finished(m, carrier_id, CARRIER, "done", false);
                        if (console_id)
                                mock_job_finished(m, console_id, CONSOLE, console_result, false);
                        return sd_bus_reply_method_return(msg, "o", carrier_job);
                }
                r = sd_bus_reply_method_return(msg, "o", carrier_job);
                mock_job_finished(m, carrier_id, CARRIER, "done", false);
                if (console_id)
                        mock_job_finished(m, console_id, CONSOLE, console_result, true);
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
                g_assert_cmpint(sd_bus_message_append(reply, "v", "s", streq(unit, STOPPED) ? "inactive" :
                                                      streq(unit, CONSOLE) ? mock_console_state(m) : "active"), >=, 0);
        else if (streq(interface, "org.freedesktop.systemd1.Unit") && streq(property, "ReloadPropagatedFrom")) {
                m->n_propagation_reads++;
                g_assert_cmpint(sd_bus_message_open_container(reply, 'v', "as"), >=, 0);
                g_assert_cmpint(sd_bus_message_append_strv(reply, streq(unit, CONSOLE) ?
                                                           (char **) m->console_propagated_from : NULL), >=, 0);
                g_assert_cmpint(sd_bus_message_close_container(reply), >=, 0);
        } else if (streq(interface, "org.freedesktop.systemd1.Unit") && streq(property, "CanReload"))
                g_assert_cmpint(sd_bus_message_append(reply, "v", "b", !(streq(unit, CONSOLE) && m->console_cannot_reload)), >=, 0);
        else if (streq(interface, "org.freedesktop.systemd1.Unit") && streq(property, "TriggeredBy")) {
                if (streq(unit, CONSOLE) && !m->console_no_socket)
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

        g_assert_cmpint(sd_bus_send(NULL, reply, NULL), >=, 0);

        if ((streq(unit, CONSOLE) || streq(unit, CONSOLE_SOCKET)) &&
            ++m->console_lookups == CONSOLE_LOOKUPS_THROUGH)
                mock_console_looked_up(m);
        return 1;
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

        f->mock.console_lookups_at_job = -1;
        g_queue_init(&f->mock.held);
        g_queue_init(&f->mock.pending);
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
        sd_event_source_disable_unref(f->mock.emit);
        g_queue_clear_full(&f->mock.held, (GDestroyNotify) job_signal_free);
        g_queue_clear_full(&f->mock.pending, (GDestroyNotify) job_signal_free);
        sd_bus_message_unref(f->mock.held_call);
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

static void run_reload_checking(Fixture *f, char **units, const char *through, char **verify_addresses,
                                uint64_t timeout_usec, Outcome *o) {
        ReloadRequest *req = NULL;

        ReloadParameters p = { .units = units, .through = through, .verify_addresses = verify_addresses,
                               .fingerprint = f->fp2, .timeout_usec = timeout_usec, .verify_serving = true };
        g_assert_cmpint(reload_request_start(f->client, f->event, &p, on_done, o, &req), ==, 0);
        g_assert_nonnull(req);
        while (!o->done)
                g_assert_cmpint(sd_event_run(f->event, UINT64_MAX), >=, 0);
        g_assert_cmpuint(o->calls, ==, 1);
}

static void run_reload_through(Fixture *f, char **units, const char *through, uint64_t timeout_usec, Outcome *o) {
        run_reload_checking(f, units, through, NULL, timeout_usec, o);
}

static void run_reload(Fixture *f, char **units, uint64_t timeout_usec, Outcome *o) {
        run_reload_through(f, units, NULL, timeout_usec, o);
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
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 0);
        g_assert_cmpuint(f->mock.n_propagation_reads, ==, 0);
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


static const char *const break_switch[] = { "--break-serving-if-exists", "/", NULL };

/*
 * The job says done, the endpoint answers, but no handshake completes (its test switch): not
 * unreachable, and final: the request ends at once instead of retrying until its timeout.
 */
static void test_handshake_failed(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, NULL };
        g_autofree char *expected = NULL;
        uint64_t start;
        Outcome o = {};

        f->mock.job_result = "done";
        start = g_get_monotonic_time();
        run_reload(f, units, 20 * USEC_PER_SEC, &o);
        g_test_message("%s after %.0f ms", o.message, (g_get_monotonic_time() - start) / 1000.0);
        g_assert_cmpuint(g_get_monotonic_time() - start, <, 2 * USEC_PER_SEC);
        g_assert_cmpint(o.r, ==, -EPROTO);
        expected = g_strdup_printf("%s answers on %s, but the TLS handshake failed: "
                                   "the endpoint sent the TLS alert 'handshake failure'", CONSOLE, f->mock.listen);
        g_assert_cmpstr(o.message, ==, expected);
        g_assert_null(strstr(o.message, "unreachable"));
        assert_row(&o, 0, CONSOLE, f->mock.listen, "handshake-failed", "");
        assert_row(&o, 1, STOPPED, "", "inactive", "");
        outcome_clear(&o);
}

/* A unit without a socket (nginx, HAProxy): VerifyAddresses= says where its listener is. */
static void test_verify_address(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *word = g_strdup_printf("%s=%s", CONSOLE, f->mock.listen);
        g_autofree char *other = g_strdup_printf("%s=127.0.0.1:1", STOPPED);
        char *verify[] = { other, word, NULL };
        Outcome o = {};

        f->mock.console_no_socket = true;
        uint64_t start = g_get_monotonic_time();
        run_reload_checking(f, units, NULL, verify, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_cmpuint(o.rows->len, ==, 1);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        /* Served once, then again 300 ms later (reload.c, CONFIRM_AFTER_USEC). */
        g_assert_cmpuint(g_get_monotonic_time() - start, >=, 300 * USEC_PER_MSEC);
        outcome_clear(&o);
}

typedef struct Flip {
        Fixture *f;
        PkiChain *chain;
        char *fp;
} Flip;

/* What an old nginx worker does: another certificate served after the new one was. */
static int on_flip(sd_event_source *s, uint64_t usec, void *userdata) {
        Flip *flip = userdata;
        g_autofree char *answer = NULL;

        flip->fp = commit_chain(flip->f, flip->chain);
        answer = endpoint_control(flip->f->e.control, "reload\n");
        g_assert_true(g_str_has_prefix(answer, "ok "));
        return 0;
}

/* The second round catches a unit that served the new certificate once and then another. */
static void test_verify_address_confirm(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *word = g_strdup_printf("%s=%s", CONSOLE, f->mock.listen);
        char *verify[] = { word, NULL };
        g_autoptr(PkiChain) chain3 = pki_chain_new("console.example.com");
        Flip flip = { .f = f, .chain = chain3 };
        sd_event_source *timer = NULL;
        g_autofree char *expected = NULL;
        Outcome o = {};

        f->mock.console_no_socket = true;
        /* After the first round (a few ms), before the second (300 ms). */
        g_assert_cmpint(sd_event_add_time_relative(f->event, &timer, CLOCK_MONOTONIC, 150 * USEC_PER_MSEC, 0,
                                                   on_flip, &flip), >=, 0);
        run_reload_checking(f, units, NULL, verify, 1500 * USEC_PER_MSEC, &o);
        g_assert_nonnull(flip.fp);
        g_assert_cmpint(o.r, ==, -ESTALE);
        expected = g_strdup_printf("%s serves %s on %s instead of %s", CONSOLE, flip.fp, f->mock.listen, f->fp2);
        g_assert_cmpstr(o.message, ==, expected);
        sd_event_source_disable_unref(timer);
        g_free(flip.fp);
        outcome_clear(&o);
}

/* Its job says done but it kept the old certificate: without an address nobody can tell, with one the handshake does. */
static void test_verify_address_mismatch(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *word = g_strdup_printf("%s=%s", CONSOLE, f->mock.listen);
        char *verify[] = { word, NULL };
        g_autofree char *expected = NULL;
        Outcome o = {}, blind = {};

        f->mock.console_no_socket = true;
        f->mock.job_result = "done";
        run_reload(f, units, 700 * USEC_PER_MSEC, &blind);
        g_assert_cmpint(blind.r, ==, 0);
        assert_row(&blind, 0, CONSOLE, "", "serving", "");
        outcome_clear(&blind);

        run_reload_checking(f, units, NULL, verify, 700 * USEC_PER_MSEC, &o);
        g_assert_cmpint(o.r, ==, -ESTALE);
        expected = g_strdup_printf("%s serves %s on %s instead of %s", CONSOLE, f->fp1, f->mock.listen, f->fp2);
        g_assert_cmpstr(o.message, ==, expected);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "mismatch", f->fp1);
        outcome_clear(&o);
}

/* Every address of the unit is checked: one where nothing listens fails it, naming that address. */
static void test_verify_address_unreachable(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *word = g_strdup_printf("%s=%s", CONSOLE, f->mock.listen);
        g_autofree char *dead = g_strdup_printf("%s=127.0.0.1:1", CONSOLE);
        char *verify[] = { word, dead, NULL };
        Outcome o = {};

        f->mock.console_no_socket = true;
        run_reload_checking(f, units, NULL, verify, 700 * USEC_PER_MSEC, &o);
        g_assert_cmpint(o.r, ==, -ECONNREFUSED);
        g_assert_nonnull(strstr(o.message, CONSOLE " is unreachable on 127.0.0.1:1"));
        g_assert_cmpuint(o.rows->len, ==, 2);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        assert_row(&o, 1, CONSOLE, "127.0.0.1:1", "unreachable", "");
        outcome_clear(&o);
}

/* With a socket too, the configured address joins the socket's, each checked once. */
static void test_verify_address_and_socket(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *word = g_strdup_printf("%s=%s", CONSOLE, f->mock.listen);
        char *verify[] = { word, word, NULL };
        Outcome o = {};

        run_reload_checking(f, units, NULL, verify, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_cmpuint(o.rows->len, ==, 1);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        outcome_clear(&o);
}

static void test_empty(Fixture *f, gconstpointer data) {
        char *units[] = { NULL };
        ReloadRequest *req = NULL;
        Outcome o = {};

        ReloadParameters p = { .units = units, .fingerprint = f->fp2, .timeout_usec = USEC_PER_SEC,
                               .verify_serving = true };
        g_assert_cmpint(reload_request_start(f->client, f->event, &p, on_done, &o, &req), ==, 0);
        /* Completes from the loop, not from inside start. */
        g_assert_cmpuint(o.calls, ==, 0);
        while (!o.done)
                g_assert_cmpint(sd_event_run(f->event, UINT64_MAX), >=, 0);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_cmpuint(o.rows->len, ==, 0);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 0);
        outcome_clear(&o);
}

static void test_cancel(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        ReloadRequest *req = NULL;
        Outcome o = {};

        ReloadParameters p = { .units = units, .fingerprint = f->fp2, .timeout_usec = USEC_PER_SEC,
                               .verify_serving = true };
        g_assert_cmpint(reload_request_start(f->client, f->event, &p, on_done, &o, &req), ==, 0);
        g_assert_cmpint(sd_event_run(f->event, 10 * USEC_PER_MSEC), >=, 0);
        reload_request_free(req);
        for (unsigned i = 0; i < 20; i++)
                g_assert_cmpint(sd_event_run(f->event, 50 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(o.calls, ==, 0);
}

/* ------------------------------------------------- through a carrier unit */

static const char *const carrier_reaches[] = { "vertex-other.target", CARRIER, NULL };
static const char *const carrier_misses[] = { "vertex-other.target", NULL };

/* The endpoint's own word on what it serves, past any probe. */
static void assert_endpoint_serves(Fixture *f, const char *fp) {
        g_autofree char *reply = endpoint_control(f->e.control, "status\n");
        g_autofree char *expected = g_strdup_printf("ok %s", fp);

        g_assert_cmpstr(reply, ==, expected);
}

/*
 * The finished request unsubscribes (it subscribed). The stand-in may still have calls of the
 * request queued ahead of Unsubscribe (lookups it dropped), so give the loop a moment.
 */
static void assert_unsubscribes(Fixture *f) {
        int64_t deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

        while (f->mock.subscribed && g_get_monotonic_time() < deadline)
                g_assert_cmpint(sd_event_run(f->event, 100 * USEC_PER_MSEC), >=, 0);
        g_assert_false(f->mock.subscribed);
}

/*
 * Success through the carrier: one ReloadUnit, and own_jobs ReloadOrTryRestartUnit for a
 * console the carrier cannot serve (0 or 1); either way the endpoint was reloaded once.
 */
static void assert_through_success(Fixture *f, Outcome *o, unsigned own_jobs) {
        g_assert_cmpint(o->r, ==, 0);
        g_assert_null(o->message);
        g_assert_cmpuint(o->rows->len, ==, 3);
        assert_row(o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        /* Stopped, and its ReloadPropagatedFrom= is empty: nothing to reach, so not a failure. */
        assert_row(o, 1, STOPPED, "", "inactive", "");
        assert_row(o, 2, MISSING, "", "inactive", "");
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, own_jobs);
        g_assert_cmpuint(f->mock.n_endpoint_reloads, ==, 1);
        g_assert_false(f->mock.enqueued_unsubscribed);
        assert_endpoint_serves(f, f->fp2);
}

static void test_through_success(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* The console's job finishes once it is looked up: the signal meets a unit waiting for it. */
        f->mock.console_propagated_from = carrier_reaches;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        assert_through_success(f, &o, 0);
        g_assert_cmpint(f->mock.console_lookups_at_job, ==, CONSOLE_LOOKUPS_THROUGH);
        outcome_clear(&o);

        assert_unsubscribes(f);
}

static void test_through_signal_before_lookups(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* Both JobRemoved go out inside ReloadUnit, ahead of every answer about the console. */
        f->mock.console_propagated_from = carrier_reaches;
        f->mock.signal_before_reply = true;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        assert_through_success(f, &o, 0);
        g_assert_cmpint(f->mock.console_lookups_at_job, ==, 0);
        outcome_clear(&o);
}

static void test_through_not_reached(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* The console does not name the carrier: systemd would give it no job, so it gets its own. */
        f->mock.console_propagated_from = carrier_misses;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        /* A job of its own, as without a carrier; the carrier is still asked for the others. */
        assert_through_success(f, &o, 1);
        outcome_clear(&o);
}

static void test_through_cannot_reload(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* It names the carrier but has no ExecReload=: systemd drops the propagated job; its own try-restart. */
        f->mock.console_propagated_from = carrier_reaches;
        f->mock.console_cannot_reload = true;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        /* A job of its own, as without a carrier; the carrier is still asked for the others. */
        assert_through_success(f, &o, 1);
        outcome_clear(&o);
}

static void test_through_refused(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* Refused before any lookup came back: no job at all, so the request ends at once with that reason. */
        f->mock.console_propagated_from = carrier_reaches;
        f->mock.reload_unit_error = "org.freedesktop.DBus.Error.AccessDenied";
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, -EIO);
        g_assert_cmpstr(o.message, ==, "Failed to reload " CARRIER ": Access denied");
        g_assert_cmpuint(o.rows->len, ==, 3);
        assert_row(&o, 0, CONSOLE, "", "failed", "");
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 0);
        g_assert_cmpuint(f->mock.n_endpoint_reloads, ==, 0);
        assert_endpoint_serves(f, f->fp1);
        outcome_clear(&o);

        assert_unsubscribes(f);
}

static void test_through_refused_late(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, (char *) MISSING, NULL };
        Outcome o = {};

        /* As with a real polkit round trip: the refusal meets the console waiting for its job. */
        f->mock.console_propagated_from = carrier_reaches;
        f->mock.reload_unit_error = "org.freedesktop.DBus.Error.AccessDenied";
        f->mock.refuse_late = true;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, -EIO);
        g_assert_cmpstr(o.message, ==, "Failed to reload " CARRIER ": Access denied");
        g_assert_cmpuint(o.rows->len, ==, 3);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "failed", "");
        assert_row(&o, 1, STOPPED, "", "inactive", "");
        assert_row(&o, 2, MISSING, "", "inactive", "");
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 0);
        g_assert_cmpuint(f->mock.n_endpoint_reloads, ==, 0);
        assert_endpoint_serves(f, f->fp1);
        outcome_clear(&o);

        assert_unsubscribes(f);
}

static void test_through_job_failed(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, (char *) STOPPED, NULL };
        Outcome o = {};

        /* The carrier's job is done, the console's propagated one failed (the endpoint refused). */
        f->mock.console_propagated_from = carrier_reaches;
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, -EIO);
        g_assert_cmpstr(o.message, ==, "Reloading " CONSOLE " failed: job result 'failed'");
        g_assert_cmpuint(o.rows->len, ==, 2);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "failed", "");
        assert_row(&o, 1, STOPPED, "", "inactive", "");
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 0);
        g_assert_cmpuint(f->mock.n_endpoint_reloads, ==, 1);
        g_assert_cmpint(f->mock.console_lookups_at_job, ==, CONSOLE_LOOKUPS_THROUGH);
        assert_endpoint_serves(f, f->fp1);
        outcome_clear(&o);
}

static void test_through_empty(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        Outcome o = {};

        /* "" is no carrier: one job per unit, and nobody asks about ReloadPropagatedFrom=. */
        run_reload_through(f, units, "", 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_null(o.message);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        g_assert_cmpuint(f->mock.n_reload_or_try_restart, ==, 1);
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 0);
        g_assert_cmpuint(f->mock.n_propagation_reads, ==, 0);
        outcome_clear(&o);
}

static void test_through_starting(Fixture *f, gconstpointer data) {
        char *units[] = { (char *) CONSOLE, NULL };
        g_autofree char *started = NULL;
        int64_t start;
        Outcome o = {};

        /*
         * A unit still starting gets no propagated job from systemd (the try-reload collapses to a
         * no-op), so no JobRemoved ever comes; its start reads the new files, which the endpoint
         * here does by itself. The handshakes decide, long before the timeout.
         */
        f->mock.console_state = "activating";
        f->mock.console_propagated_from = carrier_reaches;
        started = endpoint_control(f->e.control, "reload\n");
        g_assert_true(g_str_has_prefix(started, "ok "));
        start = g_get_monotonic_time();
        run_reload_through(f, units, CARRIER, 10 * USEC_PER_SEC, &o);
        g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_null(o.message);
        assert_row(&o, 0, CONSOLE, f->mock.listen, "serving", f->fp2);
        g_assert_cmpuint(f->mock.n_reload_unit, ==, 1);
        g_assert_cmpuint(f->mock.n_endpoint_reloads, ==, 0);
        g_assert_cmpuint(f->mock.n_propagation_reads, ==, 0);
        outcome_clear(&o);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/reload/success", Fixture, NULL, fixture_setup, test_success, fixture_teardown);
        g_test_add("/reload/signal-before-reply", Fixture, NULL, fixture_setup, test_signal_before_reply, fixture_teardown);
        g_test_add("/reload/already-subscribed", Fixture, NULL, fixture_setup, test_already_subscribed, fixture_teardown);
        g_test_add("/reload/job-failed", Fixture, fail_switch, fixture_setup, test_job_failed, fixture_teardown);
        g_test_add("/reload/mismatch", Fixture, fail_switch, fixture_setup, test_mismatch, fixture_teardown);
        g_test_add("/reload/unreachable", Fixture, NULL, fixture_setup, test_unreachable, fixture_teardown);
        g_test_add("/reload/handshake-failed", Fixture, break_switch, fixture_setup, test_handshake_failed,
                   fixture_teardown);
        g_test_add("/reload/empty", Fixture, NULL, fixture_setup, test_empty, fixture_teardown);
        g_test_add("/reload/verify-address", Fixture, NULL, fixture_setup, test_verify_address, fixture_teardown);
        g_test_add("/reload/verify-address-confirm", Fixture, NULL, fixture_setup, test_verify_address_confirm,
                   fixture_teardown);
        g_test_add("/reload/verify-address-mismatch", Fixture, fail_switch, fixture_setup, test_verify_address_mismatch,
                   fixture_teardown);
        g_test_add("/reload/verify-address-unreachable", Fixture, NULL, fixture_setup, test_verify_address_unreachable,
                   fixture_teardown);
        g_test_add("/reload/verify-address-and-socket", Fixture, NULL, fixture_setup, test_verify_address_and_socket,
                   fixture_teardown);
        g_test_add("/reload/cancel", Fixture, NULL, fixture_setup, test_cancel, fixture_teardown);
        g_test_add("/reload/through/success", Fixture, NULL, fixture_setup, test_through_success, fixture_teardown);
        g_test_add("/reload/through/signal-before-lookups", Fixture, NULL, fixture_setup,
                   test_through_signal_before_lookups, fixture_teardown);
        g_test_add("/reload/through/not-reached", Fixture, NULL, fixture_setup, test_through_not_reached, fixture_teardown);
        g_test_add("/reload/through/cannot-reload", Fixture, NULL, fixture_setup, test_through_cannot_reload,
                   fixture_teardown);
        g_test_add("/reload/through/refused", Fixture, NULL, fixture_setup, test_through_refused, fixture_teardown);
        g_test_add("/reload/through/refused-late", Fixture, NULL, fixture_setup, test_through_refused_late,
                   fixture_teardown);
        g_test_add("/reload/through/job-failed", Fixture, fail_switch, fixture_setup, test_through_job_failed,
                   fixture_teardown);
        g_test_add("/reload/through/empty", Fixture, NULL, fixture_setup, test_through_empty, fixture_teardown);
        g_test_add("/reload/through/starting", Fixture, NULL, fixture_setup, test_through_starting, fixture_teardown);

        return g_test_run();
}
