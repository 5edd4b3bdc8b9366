/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/drop-latency: how long from the final rename of a bundle into the
 * drop directory until it is installed, for the built vertex-certd (until
 * its Installed signal, on a private dbus-daemon) and, in the same run, for
 * the script an administrator would otherwise write (drop-latency-baseline.sh:
 * inotifywait + openssl checks + cp, until it reports the copy done).
 *
 * Each rotation stages NAME.ca.crt, NAME.crt and NAME.key on the drop
 * directory's filesystem, renames the first two in, starts the clock and
 * renames the key in. Every rotation has a new leaf certificate, so nothing
 * is skipped as already installed.
 *
 * usage: bench-drop-latency [--strict] BASELINE_SCRIPT [ROTATIONS]   (VERTEX_BUILD_DIR names the build)
 * With --strict the exit status says whether the goals (p50 < 20 ms, >= 10x
 * faster than the script) were met; otherwise only whether the run worked,
 * as figures on a busy machine are no verdict on the code.
 */

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "pki.h"

#define SERVER_NAME "console.example.com"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free)

typedef struct Rotation {
        char *fullchain;
} Rotation;

static GArray *installed_at;   /* gint64 monotonic µs of each Installed signal */

static void on_installed(GDBusConnection *conn, const char *sender, const char *path, const char *interface,
                         const char *member, GVariant *parameters, gpointer userdata) {
        gint64 now = g_get_monotonic_time();
        g_array_append_val(installed_at, now);
}

static gboolean wake(gpointer userdata) {
        return G_SOURCE_CONTINUE;
}

static void write_or_die(const char *path, const char *content) {
        if (pki_write_file(path, content) < 0) {
                g_printerr("Cannot write %s: %m\n", path);
                exit(EXIT_FAILURE);
        }
}

static void rename_or_die(const char *from, const char *to) {
        if (rename(from, to) < 0) {
                g_printerr("Cannot rename %s to %s: %m\n", from, to);
                exit(EXIT_FAILURE);
        }
}

/* Stages one bundle, renames ca and cert in, returns the clock at the key's rename. */
static gint64 drop_bundle(const char *stage, const char *drop, const PkiChain *chain, const char *fullchain) {
        static const char *const names[] = { "console.ca.crt", "console.crt", "console.key" };
        const char *contents[] = { chain->root_pem, fullchain, chain->key_pem };
        gint64 t0 = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autofree char *s = g_build_filename(stage, names[i], NULL);
                write_or_die(s, contents[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autofree char *s = g_build_filename(stage, names[i], NULL);
                g_autofree char *d = g_build_filename(drop, names[i], NULL);
                if (i == G_N_ELEMENTS(names) - 1)
                        t0 = g_get_monotonic_time();
                rename_or_die(s, d);
        }
        return t0;
}

static int cmp_i64(gconstpointer a, gconstpointer b) {
        gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
        return x < y ? -1 : x > y;
}

static double percentile(GArray *v, unsigned p) {
        size_t i;

        g_array_sort(v, cmp_i64);
        i = (v->len * p + 99) / 100;
        i = i == 0 ? 0 : i - 1;
        return g_array_index(v, gint64, MIN(i, v->len - 1)) / 1000.0;
}

/* Reads one line from fd within timeout_ms; returns it (g_free) or NULL. */
static char *read_line(int fd, int timeout_ms) {
        GString *s = g_string_new(NULL);
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                gint64 left = (deadline - g_get_monotonic_time()) / 1000;
                char c;

                if (left <= 0 || poll(&p, 1, (int) left) <= 0 || read(fd, &c, 1) != 1) {
                        g_string_free(s, TRUE);
                        return NULL;
                }
                if (c == '\n')
                        return g_string_free(s, FALSE);
                g_string_append_c(s, c);
        }
}

static void child_setup(gpointer userdata) {
        (void) setpgid(0, 0);   /* so the script and its inotifywait stop together */
}

int main(int argc, char *argv[]) {
        g_autoptr(PkiChain) chain = NULL;
        g_autoptr(GArray) daemon_ms = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_autoptr(GArray) script_ms = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_autoptr(GError) error = NULL;
        BusFixture f;
        unsigned n = 200;
        Rotation *rot;
        int out_fd = -1, err_fd = -1;
        GPid script_pid = 0;

        bool strict = false;
        if (argc > 1 && g_str_equal(argv[1], "--strict")) {
                strict = true;
                argv++;
                argc--;
        }
        if (argc < 2) {
                g_printerr("usage: bench-drop-latency [--strict] BASELINE_SCRIPT [ROTATIONS]\n");
                return EXIT_FAILURE;
        }
        if (argc > 2)
                n = (unsigned) atoi(argv[2]);
        if (!g_getenv("VERTEX_BUILD_DIR")) {
                g_printerr("VERTEX_BUILD_DIR must name the build directory.\n");
                return EXIT_FAILURE;
        }

        chain = pki_chain_new(SERVER_NAME);
        rot = g_new0(Rotation, n + 1);
        for (unsigned i = 0; i <= n; i++) {
                PkiCertOptions o = {
                        .common_name = SERVER_NAME,
                        .dns_names = (const char *const[]) { SERVER_NAME, NULL },
                        .issuer_cert = chain->intermediate,
                        .issuer_key = chain->intermediate_key,
                };
                X509 *leaf = pki_cert_new(chain->leaf_key, &o);
                rot[i].fullchain = pki_certs_pem(leaf, chain->intermediate, NULL);
                X509_free(leaf);
        }

        bus_fixture_setup(&f, NULL);
        installed_at = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_dbus_connection_signal_subscribe(f.conn, NULL, CERTD_INTERFACE, "Installed", CERTD_PATH, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_installed, NULL, NULL);

        g_autofree char *drop = bus_fixture_path(&f, "drop");
        g_autofree char *stage = bus_fixture_path(&f, "stage");
        g_autofree char *script_drop = bus_fixture_path(&f, "script-drop");
        g_autofree char *script_target = bus_fixture_path(&f, "script-target");
        (void) g_mkdir_with_parents(drop, 0700);
        (void) g_mkdir_with_parents(stage, 0700);
        (void) g_mkdir_with_parents(script_drop, 0700);
        (void) g_mkdir_with_parents(script_target, 0700);

        /* vertex-certd: rotation 0 warms up, 1..n are measured. */
        for (unsigned i = 0; i <= n; i++) {
                guint before = installed_at->len;
                gint64 t0 = drop_bundle(stage, drop, chain, rot[i].fullchain), deadline = t0 + 10 * G_USEC_PER_SEC;

                while (installed_at->len == before && g_get_monotonic_time() < deadline) {
                        /* a wake-up now and then, so the deadline is noticed when nothing arrives */
                        guint id = g_timeout_add(100, wake, NULL);
                        g_main_context_iteration(NULL, TRUE);
                        g_source_remove(id);
                }
                if (installed_at->len == before) {
                        g_printerr("vertex-certd did not install rotation %u within 10 s.\n", i);
                        for (guint k = 0; k < f.signals->len; k++) {
                                BusSignal *s = g_ptr_array_index(f.signals, k);
                                if (streq0(s->member, "Rejected")) {
                                        g_autofree char *p = g_variant_print(s->parameters, FALSE);
                                        g_printerr("  Rejected%s\n", p);
                                }
                        }
                        bus_fixture_teardown(&f);
                        return EXIT_FAILURE;
                }
                gint64 dt = g_array_index(installed_at, gint64, before) - t0;
                if (i > 0)
                        g_array_append_val(daemon_ms, dt);
        }

        /* The administrator's script, same bundles, same filesystem. */
        char *script_argv[] = { (char *) "bash", argv[1], script_drop, script_target, (char *) SERVER_NAME, NULL };
        if (!g_spawn_async_with_pipes(NULL, script_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                      child_setup, NULL, &script_pid, NULL, &out_fd, &err_fd, &error)) {
                g_printerr("Cannot start the baseline script: %s\n", error->message);
                bus_fixture_teardown(&f);
                return EXIT_FAILURE;
        }
        for (;;) {
                g_autofree char *line = read_line(err_fd, 10000);
                if (!line) {
                        g_printerr("inotifywait did not start.\n");
                        kill(-script_pid, SIGTERM);
                        bus_fixture_teardown(&f);
                        return EXIT_FAILURE;
                }
                if (strstr(line, "Watches established"))
                        break;
        }
        for (unsigned i = 0; i <= n; i++) {
                gint64 t0 = drop_bundle(stage, script_drop, chain, rot[i].fullchain);
                g_autofree char *line = read_line(out_fd, 10000);
                gint64 dt = g_get_monotonic_time() - t0;

                if (!line || !g_str_equal(line, "installed")) {
                        g_printerr("The baseline script did not install rotation %u: %s\n", i, line ?: "timeout");
                        kill(-script_pid, SIGTERM);
                        bus_fixture_teardown(&f);
                        return EXIT_FAILURE;
                }
                if (i > 0)
                        g_array_append_val(script_ms, dt);
        }
        kill(-script_pid, SIGTERM);
        (void) waitpid(script_pid, NULL, 0);
        g_spawn_close_pid(script_pid);
        close(out_fd);
        close(err_fd);

        bus_fixture_teardown(&f);

        double d50 = percentile(daemon_ms, 50), d99 = percentile(daemon_ms, 99);
        double s50 = percentile(script_ms, 50), s99 = percentile(script_ms, 99);
        double ratio = s50 / (d50 > 0 ? d50 : 0.001);

        printf("drop-latency: %u rotations each (final rename into the drop directory -> installed)\n", n);
        printf("  vertex-certd (-> Installed signal)      p50 %8.2f ms   p99 %8.2f ms\n", d50, d99);
        printf("  inotifywait + openssl + cp script       p50 %8.2f ms   p99 %8.2f ms\n", s50, s99);
        printf("  ratio (script p50 / vertex-certd p50)   %.1fx\n", ratio);
        printf("  goal p50 < 20 ms: %s; goal >= 10x faster: %s\n",
               d50 < 20.0 ? "met" : "MISSED", ratio >= 10.0 ? "met" : "MISSED");

        for (unsigned i = 0; i <= n; i++)
                free(rot[i].fullchain);
        g_free(rot);
        g_array_unref(installed_at);
        return !strict || (d50 < 20.0 && ratio >= 10.0) ? EXIT_SUCCESS : EXIT_FAILURE;
}
