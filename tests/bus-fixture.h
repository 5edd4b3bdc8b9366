/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The bus test fixture: a private dbus-daemon in a temporary directory and
 * the built vertex-certd on it (DBUS_SYSTEM_BUS_ADDRESS), with a config
 * whose every path is in that directory. Signals from the daemon are
 * recorded so tests can assert what was announced.
 */

#include <stdbool.h>
#include <sys/types.h>

#include <gio/gio.h>

#define CERTD_NAME "org.vertex.Certificates"
#define CERTD_PATH "/org/vertex/Certificates"
#define CERTD_INTERFACE "org.vertex.Certificates"
#define CERTD_ERROR(name) "org.vertex.Certificates.Error." name

#define streq0(a, b) (g_strcmp0((a), (b)) == 0)

typedef struct BusSignal {
        char *member;          /* "Installed", "PropertiesChanged", … */
        GVariant *parameters;
} BusSignal;

typedef struct BusFixture {
        char *tmpdir;
        char *bus_address;
        GPid dbus_pid;
        GPid daemon_pid;
        GDBusConnection *conn;
        char *extra_config;        /* appended to [Certificates] */
        bool capture_log;          /* the daemon's stderr goes to TMPDIR/daemon.log (printed at teardown) */
        GPtrArray *signals;        /* BusSignal*, in arrival order */
        guint subscription;
} BusFixture;

/* Starts dbus-daemon and vertex-certd (with extra config lines, may be NULL) and connects. */
void bus_fixture_setup(BusFixture *f, const char *extra_config);
/* The same, the daemon's log captured (bus_fixture_daemon_log()). */
void bus_fixture_setup_logged(BusFixture *f, const char *extra_config);
void bus_fixture_teardown(BusFixture *f);

/* Starts the daemon (again) and waits until its name is on the bus. */
void bus_fixture_start_daemon(BusFixture *f);
/* SIGTERM, waits, asserts a clean exit (status 0). */
void bus_fixture_stop_daemon(BusFixture *f);
/* Rewrites the configuration with other extra lines (may be NULL) and sends SIGHUP, as systemctl reload does. */
void bus_fixture_reconfigure(BusFixture *f, const char *extra_config);
/* Is the daemon process still running (not exited)? */
bool bus_fixture_daemon_alive(BusFixture *f);

/* What the daemon logged so far (capture_log set before it started; g_free it). */
char *bus_fixture_daemon_log(BusFixture *f);

/* A path inside the fixture's temporary directory (g_free it). */
char *bus_fixture_path(BusFixture *f, const char *name);

/* Calls a method of org.vertex.Certificates; returns the reply or NULL with *error set. */
GVariant *bus_call(BusFixture *f, const char *method, GVariant *parameters, GError **error);
/* Same with a file descriptor list. */
GVariant *bus_call_with_fds(BusFixture *f, const char *method, GVariant *parameters, GUnixFDList *fds,
                            GError **error);

/* Asserts the call failed with this D-Bus error name; returns the message (g_free it). */
char *bus_assert_error(GError *error, const char *name);

/* Property value (new reference). */
GVariant *bus_get_property(BusFixture *f, const char *name);
guint64 bus_get_u64(BusFixture *f, const char *name);
char *bus_get_string(BusFixture *f, const char *name);

/* Dispatches pending signals; then waits up to timeout_ms for a signal `member` from index *from on.
 * Returns it (owned by the fixture) or NULL on timeout; *from is moved past it. */
BusSignal *bus_wait_signal(BusFixture *f, const char *member, guint *from, guint timeout_ms);
/* Waits until property `name` (string) equals value, via PropertiesChanged or polling Get. */
bool bus_wait_property_string(BusFixture *f, const char *name, const char *value, guint timeout_ms);
/* Drops the recorded signals. */
void bus_clear_signals(BusFixture *f);
/* Names of every property announced in PropertiesChanged since index from (a GHashTable of strings). */
GHashTable *bus_changed_properties(BusFixture *f, guint from);
