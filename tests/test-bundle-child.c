/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bundle-child: a bundle checked in a forked worker on an sd-event loop;
 * a worker that never finishes is stopped at its deadline, and the bundle
 * is refused by name instead of holding its caller for good.
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "bundle-child.h"
#include "pki.h"

#define SERVER_NAME "console.example.com"

typedef struct Outcome {
        bool done;
        int r;
        CertProblem problem;
        bool has_info;
} Outcome;

static void on_done(BundleWorker *w, BundleResult *result, void *userdata) {
        Outcome *o = userdata;

        o->done = true;
        o->r = result->r;
        o->problem = result->problem;
        o->has_info = result->info != NULL;
        store_files_done(&result->files);
        cert_info_free(result->info);
}

/* Validates the chain's bundle with options; returns what the worker said, and how long it took in ms. */
static gint64 run_validate(const PkiChain *c, const ValidateOptions *options, uint64_t timeout_usec, Outcome *o) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        BundleWorker *w = NULL;

        g_assert_cmpint(sd_event_new(&event), >=, 0);
        g_assert_cmpint(bundle_worker_validate(event, c->fullchain_pem, strlen(c->fullchain_pem), c->key_pem,
                                               strlen(c->key_pem), "", 0, options, NULL, on_done, o, &w), ==, 0);
        if (timeout_usec > 0)
                g_assert_cmpint(bundle_worker_set_timeout(w, timeout_usec), ==, 0);
        gint64 t0 = g_get_monotonic_time();
        while (!o->done)
                g_assert_cmpint(sd_event_run(event, 30 * USEC_PER_SEC), >, 0);
        bundle_worker_free(w);
        return (g_get_monotonic_time() - t0) / 1000;
}

static void test_valid(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *dir = g_dir_make_tmp("vertex-bundle-child-XXXXXX", NULL);
        g_autofree char *roots = g_build_filename(dir, "roots.pem", NULL);
        g_assert_true(g_file_set_contents(roots, c->root_pem, -1, NULL));
        ValidateOptions options = { .server_name = SERVER_NAME, .trust_store_file = roots };
        Outcome o = {};

        run_validate(c, &options, 0, &o);
        g_assert_cmpint(o.r, ==, 0);
        g_assert_true(o.has_info);
        g_unlink(roots);
        g_rmdir(dir);
}

/* A trust store that is a FIFO nobody writes: the check blocks on it, and is stopped at the deadline. */
static void test_stopped_at_deadline(void) {
        _cleanup_(pki_chain_freep) PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *dir = g_dir_make_tmp("vertex-bundle-child-XXXXXX", NULL);
        g_autofree char *fifo = g_build_filename(dir, "roots.pem", NULL);
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        ValidateOptions options = { .server_name = SERVER_NAME, .trust_store_file = fifo };
        Outcome o = {};

        gint64 took = run_validate(c, &options, 300 * USEC_PER_MSEC, &o);
        g_test_message("stopped after %" G_GINT64_FORMAT " ms", took);
        g_assert_cmpint(o.r, ==, -EBADMSG);
        g_assert_cmpint(o.problem.code, ==, CERT_ERROR_TOO_LARGE);
        g_assert_nonnull(strstr(o.problem.message, "checking the bundle took longer than 300 ms, so it was stopped"));
        g_assert_false(o.has_info);
        g_assert_cmpint(took, >=, 250);
        g_assert_cmpint(took, <, 10000);
        g_unlink(fifo);
        g_rmdir(dir);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bundle-child/valid", test_valid);
        g_test_add_func("/bundle-child/stopped-at-deadline", test_stopped_at_deadline);
        return g_test_run();
}
