/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A private system bus and the built daemon for the bus tests. Everything
 * lives in one temporary directory; both processes are stopped by PID.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "bus-fixture.h"
#include "test-util.h"

static void bus_signal_free(gpointer p) {
        BusSignal *s = p;
        g_free(s->member);
        g_variant_unref(s->parameters);
        g_free(s);
}

static void on_signal(GDBusConnection *conn, const char *sender, const char *path, const char *interface,
                      const char *member, GVariant *parameters, gpointer userdata) {
        BusFixture *f = userdata;
        BusSignal *s = g_new0(BusSignal, 1);

        s->member = g_strdup(member);
        s->parameters = g_variant_ref(parameters);
        g_ptr_array_add(f->signals, s);
}

char *bus_fixture_path(BusFixture *f, const char *name) {
        return g_build_filename(f->tmpdir, name, NULL);
}

/* Runs in the child before exec: if the test dies (a failed assertion aborts), so do its servers,
 * instead of holding the test's output pipes open until meson's timeout. */
static void die_with_parent(gpointer userdata) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* The same, and stderr to the file userdata names (when not NULL). Async-signal-safe. */
static void daemon_child_setup(gpointer userdata) {
        const char *log = userdata;

        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (log) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        (void) dup2(fd, STDERR_FILENO);
                        (void) close(fd);
                }
        }
}

char *bus_fixture_daemon_log(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "daemon.log");
        char *text = NULL;

        g_assert_true(f->capture_log);
        if (!g_file_get_contents(path, &text, NULL, NULL))
                text = g_strdup("");
        return text;
}

static void write_bus_config(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "bus.conf");
        g_autofree char *socket = bus_fixture_path(f, "bus.sock");
        /* Everyone may connect (the unprivileged test runs as nobody), own and call anything;
         * messages up to 200 MB so the daemon, not the broker, answers the 100 MB string. */
        g_autofree char *text = g_strdup_printf(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>system</type>\n"
                "  <listen>unix:path=%s</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <allow own=\"*\"/>\n"
                "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                "    <allow receive_sender=\"*\"/>\n"
                "  </policy>\n"
                "  <limit name=\"max_message_size\">209715200</limit>\n"
                "  <limit name=\"max_incoming_bytes\">419430400</limit>\n"
                "  <limit name=\"max_outgoing_bytes\">419430400</limit>\n"
                "  <limit name=\"reply_timeout\">60000</limit>\n"
                "</busconfig>\n", socket);
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void write_daemon_config(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "certd.conf");
        g_autofree char *store = bus_fixture_path(f, "store");
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_autofree char *text = g_strdup_printf(
                "[Certificates]\n"
                "StoreDirectory=%s\n"
                "DropDirectory=%s\n"
                "Units=\n"
                "ServerName=console.example.com\n"
                "SettleSec=1\n"
                "%s\n", store, drop, f->extra_config ?: "");
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void start_bus(BusFixture *f) {
        g_autofree char *conf = bus_fixture_path(f, "bus.conf");
        g_autofree char *config_arg = g_strdup_printf("--config-file=%s", conf);
        char *argv[] = { (char *) "dbus-daemon", config_arg, (char *) "--print-address", (char *) "--nofork", NULL };
        g_autoptr(GError) error = NULL;
        int out_fd = -1;
        char line[512];
        size_t n = 0;

        write_bus_config(f);
        g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
                                               G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                                               die_with_parent, NULL, &f->dbus_pid, NULL, &out_fd, NULL, &error));
        g_assert_no_error(error);

        /* The address is the first line dbus-daemon prints once it listens. */
        while (n < sizeof(line) - 1) {
                ssize_t k = read(out_fd, line + n, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                g_assert_cmpint(k, ==, 1);
                if (line[n] == '\n')
                        break;
                n++;
        }
        line[n] = 0;
        close(out_fd);
        f->bus_address = g_strdup(line);
        g_assert_true(g_str_has_prefix(f->bus_address, "unix:"));
}

static void on_daemon_exit(GPid pid, int status, gpointer userdata) {
        BusFixture *f = userdata;
        /* Remember how it ended; bus_fixture_stop_daemon() asserts on it. */
        g_object_set_data(G_OBJECT(f->conn), "daemon-status", GINT_TO_POINTER(status));
        g_object_set_data(G_OBJECT(f->conn), "daemon-exited", GINT_TO_POINTER(1));
        g_spawn_close_pid(pid);
}

static void on_name_appeared(GDBusConnection *conn, const char *name, const char *owner, gpointer userdata) {
        *(bool *) userdata = true;
}

static gboolean on_timeout_flag(gpointer userdata) {
        *(bool *) userdata = true;
        return G_SOURCE_REMOVE;
}

void bus_fixture_start_daemon(BusFixture *f) {
        g_autofree char *binary = built_program("vertex-certd");
        g_autofree char *config = bus_fixture_path(f, "certd.conf");
        char *argv[] = { binary, (char *) "--config", config, NULL };
        g_auto(GStrv) env = g_get_environ();
        g_autoptr(GError) error = NULL;
        bool appeared = false, timed_out = false;

        env = g_environ_setenv(env, "DBUS_SYSTEM_BUS_ADDRESS", f->bus_address, TRUE);
        env = g_environ_unsetenv(env, "NOTIFY_SOCKET");
        env = g_environ_unsetenv(env, "JOURNAL_STREAM");
        env = g_environ_unsetenv(env, "WATCHDOG_USEC");

        g_object_set_data(G_OBJECT(f->conn), "daemon-exited", GINT_TO_POINTER(0));
        g_autofree char *log = f->capture_log ? bus_fixture_path(f, "daemon.log") : NULL;
        g_assert_true(g_spawn_async(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                    daemon_child_setup, log, &f->daemon_pid, &error));
        g_assert_no_error(error);
        g_child_watch_add(f->daemon_pid, on_daemon_exit, f);

        guint watch = g_bus_watch_name_on_connection(f->conn, CERTD_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                     on_name_appeared, NULL, &appeared, NULL);
        guint timeout = g_timeout_add_seconds(20, on_timeout_flag, &timed_out);
        while (!appeared && !timed_out && !GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")))
                g_main_context_iteration(NULL, TRUE);
        g_bus_unwatch_name(watch);
        if (!timed_out)
                g_source_remove(timeout);

        g_assert_false(GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")));
        g_assert_true(appeared);
}

bool bus_fixture_daemon_alive(BusFixture *f) {
        while (g_main_context_iteration(NULL, FALSE))
                ;
        return f->daemon_pid > 0 && !GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")) &&
               kill(f->daemon_pid, 0) == 0;
}

void bus_fixture_reconfigure(BusFixture *f, const char *extra_config) {
        g_free(f->extra_config);
        f->extra_config = g_strdup(extra_config);
        write_daemon_config(f);
        g_assert_cmpint(kill(f->daemon_pid, SIGHUP), ==, 0);
}

void bus_fixture_stop_daemon(BusFixture *f) {
        bool timed_out = false;

        if (f->daemon_pid <= 0)
                return;
        if (!GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")))
                g_assert_cmpint(kill(f->daemon_pid, SIGTERM), ==, 0);

        guint timeout = g_timeout_add_seconds(20, on_timeout_flag, &timed_out);
        while (!timed_out && !GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")))
                g_main_context_iteration(NULL, TRUE);
        if (!timed_out)
                g_source_remove(timeout);
        else {
                (void) kill(f->daemon_pid, SIGKILL);
                g_error("vertex-certd did not exit on SIGTERM");
        }

        int status = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-status"));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        f->daemon_pid = 0;
}

static void fixture_setup(BusFixture *f, const char *extra_config, bool capture_log) {
        g_autoptr(GError) error = NULL;

        memset(f, 0, sizeof(*f));
        f->capture_log = capture_log;
        f->tmpdir = g_dir_make_tmp("vertex-bus-XXXXXX", &error);
        g_assert_no_error(error);
        /* The unprivileged caller must reach the socket. */
        g_assert_cmpint(chmod(f->tmpdir, 0755), ==, 0);
        f->extra_config = g_strdup(extra_config);
        f->signals = g_ptr_array_new_with_free_func(bus_signal_free);

        write_daemon_config(f);
        start_bus(f);

        f->conn = g_dbus_connection_new_for_address_sync(f->bus_address,
                        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                        NULL, NULL, &error);
        g_assert_no_error(error);
        g_dbus_connection_set_exit_on_close(f->conn, FALSE);

        /* Any sender: the daemon's unique name changes when it restarts. */
        f->subscription = g_dbus_connection_signal_subscribe(f->conn, NULL, NULL, NULL, CERTD_PATH, NULL,
                                                             G_DBUS_SIGNAL_FLAGS_NONE, on_signal, f, NULL);

        bus_fixture_start_daemon(f);
}

void bus_fixture_setup(BusFixture *f, const char *extra_config) {
        fixture_setup(f, extra_config, false);
}

void bus_fixture_setup_logged(BusFixture *f, const char *extra_config) {
        fixture_setup(f, extra_config, true);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

void bus_fixture_teardown(BusFixture *f) {
        if (f->daemon_pid > 0 && f->conn) {
                if (!GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited"))) {
                        (void) kill(f->daemon_pid, SIGTERM);
                        bool timed_out = false;
                        guint timeout = g_timeout_add_seconds(10, on_timeout_flag, &timed_out);
                        while (!timed_out && !GPOINTER_TO_INT(g_object_get_data(G_OBJECT(f->conn), "daemon-exited")))
                                g_main_context_iteration(NULL, TRUE);
                        if (timed_out)
                                (void) kill(f->daemon_pid, SIGKILL);
                        else
                                g_source_remove(timeout);
                }
        }
        if (f->conn) {
                g_dbus_connection_signal_unsubscribe(f->conn, f->subscription);
                g_dbus_connection_close_sync(f->conn, NULL, NULL);
                g_clear_object(&f->conn);
        }
        if (f->dbus_pid > 0) {
                (void) kill(f->dbus_pid, SIGTERM);
                (void) waitpid(f->dbus_pid, NULL, 0);
                g_spawn_close_pid(f->dbus_pid);
        }
        while (g_main_context_iteration(NULL, FALSE))
                ;
        if (f->tmpdir && f->capture_log) {
                g_autofree char *log = bus_fixture_daemon_log(f);
                g_printerr("%s", log);
        }
        if (f->tmpdir)
                (void) nftw(f->tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        g_clear_pointer(&f->signals, g_ptr_array_unref);
        g_free(f->tmpdir);
        g_free(f->bus_address);
        g_free(f->extra_config);
}

GVariant *bus_call_with_fds(BusFixture *f, const char *method, GVariant *parameters, GUnixFDList *fds,
                            GError **error) {
        return g_dbus_connection_call_with_unix_fd_list_sync(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE,
                                                            method, parameters, NULL, G_DBUS_CALL_FLAGS_NONE,
                                                            60000, fds, NULL, NULL, error);
}

GVariant *bus_call(BusFixture *f, const char *method, GVariant *parameters, GError **error) {
        return g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, method, parameters,
                                           NULL, G_DBUS_CALL_FLAGS_NONE, 60000, NULL, error);
}

char *bus_assert_error(GError *error, const char *name) {
        g_assert_nonnull(error);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        if (!streq0(remote, name))
                g_error("expected error %s, got %s: %s", name, remote ?: "(none)", error->message);
        g_dbus_error_strip_remote_error(error);
        return g_strdup(error->message);
}

GVariant *bus_get_property(BusFixture *f, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH,
                                                                "org.freedesktop.DBus.Properties", "Get",
                                                                g_variant_new("(ss)", CERTD_INTERFACE, name),
                                                                G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                                                10000, NULL, &error);
        g_assert_no_error(error);
        GVariant *v;
        g_variant_get(reply, "(v)", &v);
        return v;
}

guint64 bus_get_u64(BusFixture *f, const char *name) {
        g_autoptr(GVariant) v = bus_get_property(f, name);
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
                return g_variant_get_uint32(v);
        return g_variant_get_uint64(v);
}

char *bus_get_string(BusFixture *f, const char *name) {
        g_autoptr(GVariant) v = bus_get_property(f, name);
        return g_variant_dup_string(v, NULL);
}

/* Runs the main context for at most ms milliseconds, returning early when something was dispatched. */
static void iterate_for(guint ms) {
        bool fired = false;
        guint id = g_timeout_add(ms, on_timeout_flag, &fired);
        g_main_context_iteration(NULL, TRUE);
        if (!fired)
                g_source_remove(id);
}

BusSignal *bus_wait_signal(BusFixture *f, const char *member, guint *from, guint timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        guint start = from ? *from : 0;

        for (;;) {
                while (g_main_context_iteration(NULL, FALSE))
                        ;
                for (guint i = start; i < f->signals->len; i++) {
                        BusSignal *s = g_ptr_array_index(f->signals, i);
                        if (streq0(s->member, member)) {
                                if (from)
                                        *from = i + 1;
                                return s;
                        }
                }
                if (g_get_monotonic_time() >= deadline)
                        return NULL;
                iterate_for(50);
        }
}

bool bus_wait_property_string(BusFixture *f, const char *name, const char *value, guint timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                g_autofree char *v = bus_get_string(f, name);
                if (streq0(v, value))
                        return true;
                if (g_get_monotonic_time() >= deadline)
                        return false;
                iterate_for(50);
        }
}

void bus_clear_signals(BusFixture *f) {
        while (g_main_context_iteration(NULL, FALSE))
                ;
        g_ptr_array_set_size(f->signals, 0);
}

GHashTable *bus_changed_properties(BusFixture *f, guint from) {
        GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        while (g_main_context_iteration(NULL, FALSE))
                ;
        for (guint i = from; i < f->signals->len; i++) {
                BusSignal *s = g_ptr_array_index(f->signals, i);
                if (!streq0(s->member, "PropertiesChanged"))
                        continue;
                g_autoptr(GVariant) changed = NULL;
                g_autofree const char **invalidated = NULL;
                const char *interface;
                g_variant_get(s->parameters, "(&s@a{sv}^a&s)", &interface, &changed, &invalidated);
                if (!streq0(interface, CERTD_INTERFACE))
                        continue;
                GVariantIter iter;
                const char *key;
                GVariant *value;
                g_variant_iter_init(&iter, changed);
                while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
                        g_hash_table_add(names, g_strdup(key));
                        g_variant_unref(value);
                }
                for (const char **p = invalidated; p && *p; p++)
                        g_hash_table_add(names, g_strdup(*p));
        }
        return names;
}
