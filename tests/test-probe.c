/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The TLS probe against the built vertex-endpoint and against sockets that
 * misbehave: refused, silent, not TLS. Runs the probe on a real sd-event loop.
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include <systemd/sd-event.h>

#include "endpoint-spawn.h"
#include "pki.h"
#include "probe.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free)

typedef struct Result {
        bool done;
        unsigned calls;
        int r;
        char *fingerprint;
        char *reason;
} Result;

static char *last_reason;   /* of the last probe_run() */

static void on_done(Probe *p, int r, const char *fingerprint, const char *reason, void *userdata) {
        Result *res = userdata;

        res->calls++;
        res->done = true;
        res->r = r;
        res->fingerprint = g_strdup(fingerprint);
        res->reason = g_strdup(reason);
        /* A reason exactly when the handshake failed. */
        g_assert_true((r == -EPROTO) == (reason != NULL));
        /* The documented way to finish: freeing from within the callback. */
        probe_free(p);
}

/* Live children of this process (/proc/self/task/TID/children): the handshake runs in one. */
static unsigned count_children(void) {
        g_autoptr(GDir) tasks = g_dir_open("/proc/self/task", 0, NULL);
        const char *tid;
        unsigned n = 0;

        g_assert_nonnull(tasks);
        while ((tid = g_dir_read_name(tasks))) {
                g_autofree char *path = g_strdup_printf("/proc/self/task/%s/children", tid);
                g_autofree char *list = NULL;

                g_assert_true(g_file_get_contents(path, &list, NULL, NULL));
                g_auto(GStrv) pids = g_strsplit_set(g_strstrip(list), " ", -1);
                for (char **q = pids; *q; q++)
                        n += **q != 0;
        }
        return n;
}

/* Runs one probe to completion; returns its result code, *ret_fp the fingerprint. */
static int probe_run(sd_event *e, const char *address, uint64_t timeout_usec, char **ret_fp) {
        unsigned children = count_children();
        Result res = {};
        Probe *p = NULL;
        int r;

        r = probe_start(e, address, "console.example.com", timeout_usec, on_done, &res, &p);
        if (r < 0)
                return r;
        g_assert_nonnull(p);
        while (!res.done)
                g_assert_cmpint(sd_event_run(e, UINT64_MAX), >=, 0);
        g_assert_cmpuint(res.calls, ==, 1);
        /* Whatever the outcome, the handshake's child is gone and reaped. */
        g_assert_cmpuint(count_children(), ==, children);
        if (ret_fp)
                *ret_fp = res.fingerprint;
        else
                g_free(res.fingerprint);
        g_free(last_reason);
        last_reason = res.reason;
        if (last_reason)
                g_test_message("%s: handshake failed: %s", address, last_reason);
        return res.r;
}

typedef struct Fixture {
        char *tmp;
        sd_event *event;
        SpawnedEndpoint e;
        char *fingerprint;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        f->tmp = g_dir_make_tmp("test-probe-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        g_assert_cmpint(sd_event_new(&f->event), >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);

        if (f->e.pid > 0) {
                kill(f->e.pid, SIGKILL);
                waitpid(f->e.pid, NULL, 0);
        }
        g_free(f->e.control);
        sd_event_unref(f->event);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
        g_free(f->fingerprint);
}

static void start_endpoint(Fixture *f, bool v6) {
        g_autoptr(PkiChain) chain = pki_chain_new("console.example.com");
        char fp[CERT_FINGERPRINT_MAX];

        g_assert_cmpint(pki_chain_write_dir(chain, f->tmp), ==, 0);
        g_assert_cmpint(cert_fingerprint(chain->leaf, fp), ==, 0);
        f->fingerprint = g_strdup(fp);
        endpoint_spawn(&f->e, "console", f->tmp, f->tmp, v6, NULL);
}

static void test_fingerprint(Fixture *f, gconstpointer data) {
        const char *forms[] = { "127.0.0.1:", "0.0.0.0:", "" };

        start_endpoint(f, false);

        for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
                g_autofree char *address = g_strdup_printf("%s%d", forms[i], f->e.port);
                g_autofree char *fp = NULL;

                g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, 0);
                g_assert_cmpstr(fp, ==, f->fingerprint);
        }

        endpoint_stop(&f->e);
}

static void test_ipv6(Fixture *f, gconstpointer data) {
        const char *forms[] = { "[::]:", "[::1]:", "127.0.0.1:" };

        if (!ipv6_loopback_works()) {
                g_test_skip("no IPv6 loopback here");
                return;
        }
        start_endpoint(f, true);

        for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
                g_autofree char *address = g_strdup_printf("%s%d", forms[i], f->e.port);
                g_autofree char *fp = NULL;

                g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, 0);
                g_assert_cmpstr(fp, ==, f->fingerprint);
        }

        endpoint_stop(&f->e);
}

static void test_refused(Fixture *f, gconstpointer data) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        g_autofree char *address = NULL, *fp = NULL;
        int fd;

        /* A port that was just free and has no listener: bound, never listened on. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(getsockname(fd, (struct sockaddr *) &sa, &len), ==, 0);
        address = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));

        g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, -ECONNREFUSED);
        g_assert_null(fp);
        close(fd);
}

static void test_timeout(Fixture *f, gconstpointer data) {
        g_autofree char *address = NULL, *fp = NULL;
        uint64_t start, end;
        int port, fd;

        /* Listens, so the TCP handshake completes in the backlog, but never speaks TLS. */
        fd = listen_loopback(false, &port);
        address = g_strdup_printf("127.0.0.1:%d", port);

        start = g_get_monotonic_time();
        g_assert_cmpint(probe_run(f->event, address, 300 * USEC_PER_MSEC, &fp), ==, -ETIMEDOUT);
        end = g_get_monotonic_time();
        g_assert_null(fp);
        g_assert_cmpuint(end - start, >=, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(end - start, <, 5 * USEC_PER_SEC);
        close(fd);
}

static int on_not_tls(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        static const char garbage[] = "HTTP/1.0 400 Bad Request\r\n\r\nthis is not TLS\r\n";

        /* Half-close, not close: closing with the ClientHello unread would send a reset instead. */
        if (c >= 0) {
                (void) write(c, garbage, sizeof(garbage) - 1);
                (void) shutdown(c, SHUT_WR);
                *(int *) userdata = c;
        }
        return 0;
}

static void test_not_tls(Fixture *f, gconstpointer data) {
        g_autofree char *address = NULL, *fp = NULL;
        sd_event_source *s = NULL;
        int port, fd, accepted = -1;

        fd = listen_loopback(false, &port);
        g_assert_cmpint(sd_event_add_io(f->event, &s, fd, EPOLLIN, on_not_tls, &accepted), >=, 0);
        address = g_strdup_printf("127.0.0.1:%d", port);

        /* It answers, but not TLS: a failed handshake, not an unreachable endpoint. */
        g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, -EPROTO);
        g_assert_null(fp);
        g_assert_nonnull(last_reason);
        g_assert_cmpstr(last_reason, !=, "");
        sd_event_source_disable_unref(s);
        if (accepted >= 0)
                close(accepted);
        close(fd);
}


/* An endpoint that answers, but whose every handshake fails (its test switch): -EPROTO, with the alert. */
static void test_handshake_fails(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain = pki_chain_new("console.example.com");
        g_autofree char *address = NULL, *fp = NULL, *sw = g_build_filename(f->tmp, "break", NULL);
        const char *args[] = { "--break-serving-if-exists", sw, NULL };

        g_assert_cmpint(pki_chain_write_dir(chain, f->tmp), ==, 0);
        g_assert_cmpint(pki_write_file(sw, ""), ==, 0);
        endpoint_spawn(&f->e, "console", f->tmp, f->tmp, false, args);
        address = g_strdup_printf("127.0.0.1:%d", f->e.port);

        g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, -EPROTO);
        /* It failed before any certificate showed. */
        g_assert_null(fp);
        g_assert_nonnull(strstr(last_reason, "the endpoint sent the TLS alert"));
        endpoint_stop(&f->e);
}

/*
 * An endpoint serving a chain over what clients accept (vertex-endpoint does not validate): the probe
 * sees the leaf, and fails the handshake as a client with OpenSSL's default limits would, saying why.
 */
static void test_chain_too_large(Fixture *f, gconstpointer data) {
        PkiChainOptions o = { .server_name = "console.example.com", .extra_names = 9999 };
        g_autoptr(PkiChain) chain = pki_chain_new_full(&o);
        g_autofree char *address = NULL, *fp = NULL;
        char expected[CERT_FINGERPRINT_MAX];

        g_assert_cmpint(pki_chain_write_dir(chain, f->tmp), ==, 0);
        g_assert_cmpint(cert_fingerprint(chain->leaf, expected), ==, 0);
        endpoint_spawn(&f->e, "console", f->tmp, f->tmp, false, NULL);
        address = g_strdup_printf("127.0.0.1:%d", f->e.port);

        g_assert_cmpint(probe_run(f->event, address, 5 * USEC_PER_SEC, &fp), ==, -EPROTO);
        g_assert_cmpstr(fp, ==, expected);
        g_assert_true(g_str_has_prefix(last_reason, "the chain served is "));
        g_assert_nonnull(strstr(last_reason, " KiB; TLS clients refuse certificate lists over 100 KiB"));
        endpoint_stop(&f->e);
}

static int on_reset(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        /* Closed with the ClientHello unread: a reset, as from a service that is going away. */
        if (c >= 0)
                close(c);
        return 0;
}

/* Reset or closed before any TLS: unreachable (retried), not a failed handshake. */
static void test_reset(Fixture *f, gconstpointer data) {
        g_autofree char *address = NULL, *fp = NULL;
        sd_event_source *s = NULL;
        int port, fd, r;

        fd = listen_loopback(false, &port);
        g_assert_cmpint(sd_event_add_io(f->event, &s, fd, EPOLLIN, on_reset, NULL), >=, 0);
        address = g_strdup_printf("127.0.0.1:%d", port);

        r = probe_run(f->event, address, 5 * USEC_PER_SEC, &fp);
        g_test_message("reset: %s", errno_name(r));
        g_assert_true(r == -ECONNRESET || r == -EPIPE);
        g_assert_null(fp);
        g_assert_null(last_reason);
        sd_event_source_disable_unref(s);
        close(fd);
}

static void test_bad_address(Fixture *f, gconstpointer data) {
        const char *bad[] = { "", "nonsense", "example.com:443", "127.0.0.1:0", "127.0.0.1:99999",
                              "[::1]8443", "::1:8443", "127.0.0.1:" };
        Result res = {};
        Probe *p = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                g_assert_cmpint(probe_start(f->event, bad[i], NULL, USEC_PER_SEC, on_done, &res, &p), ==, -EINVAL);
        g_assert_null(p);
        g_assert_cmpuint(res.calls, ==, 0);
}

static void test_cancel(Fixture *f, gconstpointer data) {
        g_autofree char *address = NULL;
        Result res = {};
        Probe *p = NULL;
        int port, fd;

        fd = listen_loopback(false, &port);
        address = g_strdup_printf("127.0.0.1:%d", port);

        /*
         * Freed while waiting: done is never called, even when its timeout would have passed.
         * The loopback connect completes at once, so the first iteration starts the handshake's
         * child (the listener never answers); freeing the probe kills and reaps it.
         */
        unsigned children = count_children();
        g_assert_cmpint(probe_start(f->event, address, NULL, 50 * USEC_PER_MSEC, on_done, &res, &p), ==, 0);
        g_assert_cmpint(sd_event_run(f->event, 10 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(count_children(), ==, children + 1);
        probe_free(p);
        g_assert_cmpuint(count_children(), ==, children);
        g_assert_cmpint(sd_event_run(f->event, 200 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(res.calls, ==, 0);
        close(fd);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/probe/fingerprint", Fixture, NULL, fixture_setup, test_fingerprint, fixture_teardown);
        g_test_add("/probe/ipv6-and-wildcards", Fixture, NULL, fixture_setup, test_ipv6, fixture_teardown);
        g_test_add("/probe/refused", Fixture, NULL, fixture_setup, test_refused, fixture_teardown);
        g_test_add("/probe/timeout", Fixture, NULL, fixture_setup, test_timeout, fixture_teardown);
        g_test_add("/probe/not-tls", Fixture, NULL, fixture_setup, test_not_tls, fixture_teardown);
        g_test_add("/probe/handshake-fails", Fixture, NULL, fixture_setup, test_handshake_fails, fixture_teardown);
        g_test_add("/probe/chain-too-large", Fixture, NULL, fixture_setup, test_chain_too_large, fixture_teardown);
        g_test_add("/probe/reset", Fixture, NULL, fixture_setup, test_reset, fixture_teardown);
        g_test_add("/probe/bad-address", Fixture, NULL, fixture_setup, test_bad_address, fixture_teardown);
        g_test_add("/probe/cancel", Fixture, NULL, fixture_setup, test_cancel, fixture_teardown);

        return g_test_run();
}
