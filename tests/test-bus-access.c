/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier: the built vertex-certd on a private dbus-daemon, driven over
 * D-Bus like an operator would. Who may call what, and what may not
 * hurt it: an unprivileged caller, polkit with the interactive flag, garbage on
 * the bus, and the introspection data against the reviewed XML.
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

/* Runs the unprivileged checks in a child that is nobody (see main()). */
static void test_unprivileged(BusFixture *f, gconstpointer data) {
        g_autofree char *before = bus_get_string(f, "Fingerprint");
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Only async-signal-safe calls between fork and exec. */
                if (drop_to_nobody() < 0)
                        _exit(126);
                execl("/proc/self/exe", "test-bus-access", "--unprivileged-helper", f->bus_address, (char *) NULL);
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
                { "CreateSigningRequest", g_variant_new_parsed("(@a{sv} {},)"), 0 },
                { "CancelSigningRequest", g_variant_new("(s)", "0123456789abcdef0123456789abcdef"), 0 },
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
                if (drop_to_nobody() < 0)
                        _exit(126);
                execl("/proc/self/exe", "test-bus-access", "--polkit-helper", f->bus_address, (char *) NULL);
                _exit(127);
        }
        int status = -1;
        g_child_watch_add(pid, on_child_exit, &status);
        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
        while (status == -1 && g_get_monotonic_time() < deadline)
                g_main_context_iteration(NULL, TRUE);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* Asked four times: Install without and with the interactive flag, then InstallPkcs12 and
         * CreateSigningRequest with it, for our action, about the caller's bus name. */
        g_assert_cmpuint(p.n_calls, ==, 4);
        g_assert_cmpuint(p.flags_seen[0], ==, 0);
        g_assert_cmpuint(p.flags_seen[1], ==, 1);
        g_assert_cmpuint(p.flags_seen[2], ==, 1);
        g_assert_cmpuint(p.flags_seen[3], ==, 1);
        g_assert_cmpstr(p.action, ==, "org.vertex.certificates.manage");
        g_assert_cmpstr(p.subject_kind, ==, "system-bus-name");
        g_assert_nonnull(p.subject_name);
        g_assert_true(p.subject_name[0] == ':');

        /* The authorized installs went through; the request is pending. */
        assert_properties(f, 3, "bus", "serving", 2, NULL, NULL);
        g_autoptr(GVariant) pending = bus_get_property(f, "PendingRequests");
        g_assert_cmpuint(g_variant_n_children(pending), ==, 1);

        /* Root is let through without asking. */
        g_autoptr(GVariant) r = bus_call(f, "Rollback", NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(p.n_calls, ==, 4);

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

        /* The calls whose arguments are read again once polkit answered: the password and the
         * options must still be there then. */
        STACK_OF(X509) *extra = sk_X509_new_null();
        sk_X509_push(extra, c->intermediate);
        sk_X509_push(extra, c->root);
        size_t p12_size;
        unsigned char *p12 = pki_pkcs12(c->leaf, c->leaf_key, extra, "pw after polkit", &p12_size);
        sk_X509_free(extra);
        g_autofree char *p12_path = NULL;
        int p12_fd = g_file_open_tmp("polkit-XXXXXX.p12", &p12_path, NULL);
        if (p12_fd < 0 || write(p12_fd, p12, p12_size) != (ssize_t) p12_size)
                failures += helper_fail("writing the PKCS#12 file", NULL);
        free(p12);
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_unix_fd_list_append(fds, p12_fd, NULL);
        close(p12_fd);
        r = g_dbus_connection_call_with_unix_fd_list_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "InstallPkcs12",
                                                          g_variant_new("(hs)", 0, "pw after polkit"),
                                                          G_VARIANT_TYPE("(ts)"),
                                                          G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
                                                          30000, fds, NULL, NULL, &error);
        if (!r)
                failures += helper_fail("InstallPkcs12 with interaction", error);
        g_clear_pointer(&r, g_variant_unref);
        g_clear_error(&error);
        if (p12_path)
                unlink(p12_path);

        r = g_dbus_connection_call_sync(conn, CERTD_NAME, CERTD_PATH, CERTD_INTERFACE, "CreateSigningRequest",
                                        g_variant_new_parsed("({'KeyType': <'EC P-384'>},)"),
                                        G_VARIANT_TYPE("(ss)"), G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
                                        30000, NULL, &error);
        if (!r)
                failures += helper_fail("CreateSigningRequest with interaction", error);
        g_clear_pointer(&r, g_variant_unref);
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
                                               "RegenerateSelfSigned", "ReloadEndpoints", "ListGenerations",
                                               "CreateSigningRequest", "CancelSigningRequest", "InstallPkcs12", NULL };
        static const char *const signals[] = { "Installed", "Rejected", "EndpointsReloaded", "ExpiryWarning", NULL };
        for (const char *const *m = methods; *m; m++)
                g_assert_nonnull(g_dbus_interface_info_lookup_method(live_iface, *m));
        for (const char *const *s = signals; *s; s++)
                g_assert_nonnull(g_dbus_interface_info_lookup_signal(live_iface, *s));
        guint n_props = 0;
        for (GDBusPropertyInfo **p = live_iface->properties; p && *p; p++)
                n_props++;
        g_assert_cmpuint(n_props, ==, 19);

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
        g_test_add("/bus/unprivileged/refused", BusFixture, NULL, setup, test_unprivileged, teardown);
        g_test_add("/bus/garbage/survives", BusFixture, NULL, setup, test_garbage, teardown);
        g_test_add("/bus/polkit/interactive-flag", BusFixture, NULL, setup, test_polkit, teardown);

        return g_test_run();
}
