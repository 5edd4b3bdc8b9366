/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop directory on a real sd-event loop, with a real validating
 * handler: on_bundle runs cert_bundle_load() and reports the outcome with
 * dropdir_bundle_done(), as the daemon's pipeline does.
 */

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dropdir-safeopen.h"
#include "dropdir-state.h"
#include "dropdir.h"
#include "pki.h"
#include "validate.h"

#define SERVER_NAME "console.example.test"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free)

/* A key that belongs to none of the chains. */
static char *other_key_pem(void) {
        EVP_PKEY *k = pki_key_pooled(PKI_KEY_RSA2048, 5);
        char *s = pki_key_pem(k, NULL);
        EVP_PKEY_free(k);
        return s;
}

typedef struct Fixture {
        char *tmp, *drop, *state, *trust;
        sd_event *event;
        DropDir *dd;
        DropDirOptions options;
        ValidateOptions vopts;
        bool manual;              /* the test calls dropdir_bundle_done() itself */

        GPtrArray *handed;        /* bundle names, in order */
        GPtrArray *installed;     /* bundle names that validated */
        GPtrArray *rejected;      /* "name|ErrorName|message" from on_rejected and validation */
        GPtrArray *ignored;       /* "name|reason" from on_ignored */
        char *last_certificate;   /* of the last valid bundle */
        char *last_authority;
        bool last_had_key;
        gint64 handed_at;         /* g_get_monotonic_time() of the last on_bundle */
} Fixture;

static PkiChain *chain;        /* console.example.test */
static PkiChain *chain2;       /* a second, different leaf for the same name */

static void on_bundle(DropDir *d, const DropBundle *b, void *userdata) {
        Fixture *f = userdata;
        _cleanup_(cert_bundle_freep) CertBundle *cb = NULL;
        CertProblem problem = {};
        int r;

        f->handed_at = g_get_monotonic_time();
        g_ptr_array_add(f->handed, g_strdup(b->name));
        g_assert_cmpuint(strlen(b->content_hash), ==, 64);
        if (f->manual)
                return;

        r = cert_bundle_load(b->certificate, b->certificate_size, b->key, b->key_size,
                             b->authority, b->authority_size, &f->vopts, &cb, &problem);
        if (r == 0) {
                g_ptr_array_add(f->installed, g_strdup(b->name));
                g_free(f->last_certificate);
                f->last_certificate = g_strdup(b->certificate);
                g_free(f->last_authority);
                f->last_authority = g_strdup(b->authority);
                f->last_had_key = b->key != NULL;
                g_assert_cmpint(dropdir_bundle_done(d, NULL, NULL), ==, 0);
        } else {
                g_assert_cmpint(r, ==, -EBADMSG);
                g_ptr_array_add(f->rejected, g_strdup_printf("%s|%s|%s", b->name, cert_error_name(problem.code), problem.message));
                g_assert_cmpint(dropdir_bundle_done(d, cert_error_name(problem.code), problem.message), >=, 0);
        }
}

static void on_rejected(DropDir *d, const char *name, CertErrorCode code, const char *message, void *userdata) {
        Fixture *f = userdata;
        g_ptr_array_add(f->rejected, g_strdup_printf("%s|%s|%s", name, cert_error_name(code), message));
}

static void on_ignored(DropDir *d, const char *name, const char *reason, void *userdata) {
        Fixture *f = userdata;
        g_ptr_array_add(f->ignored, g_strdup_printf("%s|%s", name, reason));
}

static char *path(Fixture *f, const char *name) {
        return g_build_filename(f->drop, name, NULL);
}

static void drop(Fixture *f, const char *name, const char *content) {
        g_autofree char *p = path(f, name);
        g_assert_cmpint(pki_write_file(p, content), ==, 0);
}

static bool exists(Fixture *f, const char *name) {
        g_autofree char *p = path(f, name);
        struct stat st;
        return lstat(p, &st) == 0;
}

static char *read_text(Fixture *f, const char *name) {
        g_autofree char *p = path(f, name);
        char *s = NULL;
        if (!g_file_get_contents(p, &s, NULL, NULL))
                return NULL;
        return s;
}

static void start(Fixture *f) {
        g_assert_null(f->dd);
        g_assert_cmpint(dropdir_new(f->event, &f->options, &f->dd), ==, 0);
}

static void stop(Fixture *f) {
        f->dd = dropdir_free(f->dd);
}

/* Runs the loop until cond holds or timeout passes; returns cond. */
static bool run_until(Fixture *f, bool (*cond)(Fixture *f), uint64_t timeout_usec) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout_usec;

        while (!(cond && cond(f))) {
                gint64 left = end - g_get_monotonic_time();
                if (left <= 0)
                        return false;
                g_assert_cmpint(sd_event_run(f->event, (uint64_t) MIN(left, 10000)), >=, 0);
        }
        return true;
}

static void run_for(Fixture *f, uint64_t usec) {
        (void) run_until(f, NULL, usec);
}

static bool one_installed(Fixture *f) { return f->installed->len >= 1; }
static bool one_handed(Fixture *f) { return f->handed->len >= 1; }
static bool one_rejected(Fixture *f) { return f->rejected->len >= 1; }

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->tmp = g_dir_make_tmp("test-dropdir-XXXXXX", &error);
        g_assert_no_error(error);
        f->drop = g_build_filename(f->tmp, "drop", NULL);
        f->state = g_build_filename(f->tmp, "drop.state", NULL);
        f->trust = g_build_filename(f->tmp, "trust.pem", NULL);
        g_assert_cmpint(pki_write_file(f->trust, chain->root_pem), ==, 0);

        g_assert_cmpint(sd_event_new(&f->event), >=, 0);
        f->options = (DropDirOptions) {
                .path = f->drop,
                .state_file = f->state,
                .settle_usec = 200 * USEC_PER_MSEC,
                .max_file_size = 1024 * 1024,
                .on_bundle = on_bundle,
                .on_rejected = on_rejected,
                .on_ignored = on_ignored,
                .userdata = f,
        };
        f->vopts = (ValidateOptions) { .server_name = SERVER_NAME, .trust_store_file = f->trust };
        f->handed = g_ptr_array_new_with_free_func(g_free);
        f->installed = g_ptr_array_new_with_free_func(g_free);
        f->rejected = g_ptr_array_new_with_free_func(g_free);
        f->ignored = g_ptr_array_new_with_free_func(g_free);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = NULL;

        dropdir_free(f->dd);
        sd_event_unref(f->event);
        cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
        g_free(f->drop);
        g_free(f->state);
        g_free(f->trust);
        g_free(f->last_certificate);
        g_free(f->last_authority);
        g_ptr_array_unref(f->handed);
        g_ptr_array_unref(f->installed);
        g_ptr_array_unref(f->rejected);
        g_ptr_array_unref(f->ignored);
        safe_open_force_fallback = false;
}

#define TEST(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

/* ---------------------------------------------------------------- forms */

static void test_crt_key(Fixture *f, gconstpointer data) {
        g_autofree char *state = NULL;

        start(f);
        /* the directory is created 0700 */
        struct stat st;
        g_assert_cmpint(stat(f->drop, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);

        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpstr(f->installed->pdata[0], ==, "console");
        g_assert_cmpstr(f->last_certificate, ==, chain->fullchain_pem);
        g_assert_true(f->last_had_key);
        g_assert_null(f->last_authority);

        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_false(exists(f, "console.crt"));
        g_assert_false(exists(f, "console.key"));
        g_assert_cmpuint(f->handed->len, ==, 1);
        g_assert_cmpuint(f->rejected->len, ==, 0);

        /* The files are gone, so nothing needs remembering: a drop of the same content is a new request. */
        if (g_file_get_contents(f->state, &state, NULL, NULL))
                g_assert_null(strstr(state, "\ninstalled "));
}

static void test_ca_forms(Fixture *f, gconstpointer data) {
        static const char *const forms[] = { "console.ca.crt", "console-ca.pem", "console.ca.pem" };

        start(f);
        for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
                g_autoptr(PkiChain) c = pki_chain_new(SERVER_NAME);   /* new content each round */

                g_assert_cmpint(pki_write_file(f->trust, c->root_pem), ==, 0);
                drop(f, forms[i], c->root_pem);
                drop(f, "console.crt", c->fullchain_pem);
                drop(f, "console.key", c->key_pem);
                g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
                g_assert_cmpstr(f->last_authority, ==, c->root_pem);
                g_assert_cmpstr(f->last_certificate, ==, c->fullchain_pem);
                run_for(f, 20 * USEC_PER_MSEC);
                g_assert_false(exists(f, forms[i]));
                g_ptr_array_set_size(f->installed, 0);
        }
        g_assert_cmpuint(f->rejected->len, ==, 0);
}

static void test_cert_manager(Fixture *f, gconstpointer data) {
        start(f);
        drop(f, "ca.crt", chain->root_pem);
        drop(f, "tls.key", chain->key_pem);
        drop(f, "tls.crt", chain->fullchain_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpstr(f->installed->pdata[0], ==, "tls");
        g_assert_cmpstr(f->last_authority, ==, chain->root_pem);
        run_for(f, 20 * USEC_PER_MSEC);
        g_assert_false(exists(f, "ca.crt"));
        g_assert_cmpuint(f->handed->len, ==, 1);
}

static void test_combined(Fixture *f, gconstpointer data) {
        start(f);
        drop(f, "console.pem", chain->bundle_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpstr(f->installed->pdata[0], ==, "console");
        g_assert_false(f->last_had_key);
        g_assert_cmpstr(f->last_certificate, ==, chain->bundle_pem);
        run_for(f, 20 * USEC_PER_MSEC);
        g_assert_false(exists(f, "console.pem"));
}

/* What the kubelet does for a Secret volume: timestamped dir, ..data_tmp, rename over ..data. */
static void kubelet_write(Fixture *f, const char *stamp, const PkiChain *c, bool first) {
        g_autofree char *dir = path(f, stamp);
        g_autofree char *crt = g_build_filename(dir, "tls.crt", NULL);
        g_autofree char *key = g_build_filename(dir, "tls.key", NULL);
        g_autofree char *ca = g_build_filename(dir, "ca.crt", NULL);
        g_autofree char *tmp = path(f, "..data_tmp");
        g_autofree char *data = path(f, "..data");

        g_assert_cmpint(mkdir(dir, 0755), ==, 0);
        g_assert_cmpint(pki_write_file(crt, c->fullchain_pem), ==, 0);
        g_assert_cmpint(pki_write_file(key, c->key_pem), ==, 0);
        g_assert_cmpint(pki_write_file(ca, c->root_pem), ==, 0);
        g_assert_cmpint(symlink(stamp, tmp), ==, 0);
        g_assert_cmpint(rename(tmp, data), ==, 0);
        if (first)
                for (const char *const *n = (const char *const[]) { "tls.crt", "tls.key", "ca.crt", NULL }; *n; n++) {
                        g_autofree char *link = path(f, *n);
                        g_autofree char *target = g_strconcat("..data/", *n, NULL);
                        g_assert_cmpint(symlink(target, link), ==, 0);
                }
}

static void test_kubelet(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c2 = pki_chain_new(SERVER_NAME);
        g_autofree char *old = NULL;

        g_assert_cmpint(mkdir(f->drop, 0700), ==, 0);
        kubelet_write(f, "..2026_11_27_01_02_03.123456789", chain, true);
        start(f);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpstr(f->installed->pdata[0], ==, "..data");
        g_assert_cmpstr(f->last_authority, ==, chain->root_pem);
        run_for(f, 100 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 1);
        /* the kubelet's files are never touched */
        g_assert_true(exists(f, "tls.crt"));
        g_assert_true(exists(f, "..2026_11_27_01_02_03.123456789/tls.key"));

        /* one swap = one install */
        g_assert_cmpint(pki_write_file(f->trust, c2->root_pem), ==, 0);
        kubelet_write(f, "..2026_11_27_02_00_00.000000001", c2, false);
        old = path(f, "..2026_11_27_01_02_03.123456789");
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", old);
        g_assert_cmpint(system(cmd), ==, 0);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 2);
        g_assert_cmpuint(f->installed->len, ==, 2);
        g_assert_cmpstr(f->last_certificate, ==, c2->fullchain_pem);
        g_assert_cmpuint(f->rejected->len, ==, 0);

        /* a restart remembers it by hash */
        stop(f);
        start(f);
        run_for(f, 200 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 2);
}

/* --------------------------------------------------------------- timing */

static void test_slow_writer(Fixture *f, gconstpointer data) {
        g_autofree char *key = path(f, "console.key");
        size_t half = strlen(chain->key_pem) / 2;
        int fd;

        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, chain->key_pem, half), ==, (ssize_t) half);
        /* a pause longer than SettleSec=: neither processed nor rejected */
        run_for(f, 400 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 0);
        g_assert_cmpuint(f->rejected->len, ==, 0);
        g_assert_cmpint(write(fd, chain->key_pem + half, 10), ==, 10);
        run_for(f, 100 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 0);
        size_t rest = strlen(chain->key_pem) - half - 10;
        g_assert_cmpint(write(fd, chain->key_pem + half + 10, rest), ==, (ssize_t) rest);
        g_assert_cmpint(close(fd), ==, 0);

        g_assert_true(run_until(f, one_handed, 5 * USEC_PER_SEC));
        g_assert_cmpuint(f->installed->len, ==, 1);
        g_assert_cmpuint(f->rejected->len, ==, 0);
}

static void test_rename_into_place(Fixture *f, gconstpointer data) {
        g_autofree char *tc = path(f, ".console.crt.part");
        g_autofree char *tk = path(f, "console.key.tmp");
        g_autofree char *c = path(f, "console.crt");
        g_autofree char *k = path(f, "console.key");

        f->options.settle_usec = 10 * USEC_PER_SEC;   /* a complete bundle never waits for it */
        start(f);
        g_assert_cmpint(pki_write_file(tc, chain->fullchain_pem), ==, 0);
        g_assert_cmpint(pki_write_file(tk, chain->key_pem), ==, 0);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 0);
        g_assert_cmpuint(f->rejected->len, ==, 0);   /* temporary names are no bundle */

        g_assert_cmpint(rename(tc, c), ==, 0);
        gint64 t0 = g_get_monotonic_time();
        g_assert_cmpint(rename(tk, k), ==, 0);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpuint(f->rejected->len, ==, 0);
        /* at once, not after a settle time */
        g_test_message("rename -> on_bundle: %.3f ms", (f->handed_at - t0) / 1000.0);
        g_assert_cmpint(f->handed_at - t0, <, 1000 * 1000);
}

static void test_hard_link(Fixture *f, gconstpointer data) {
        g_autofree char *oc = g_build_filename(f->tmp, "orig.crt", NULL), *ok = g_build_filename(f->tmp, "orig.key", NULL);
        g_autofree char *c = path(f, "console.crt"), *k = path(f, "console.key");

        g_assert_cmpint(pki_write_file(oc, chain->fullchain_pem), ==, 0);
        g_assert_cmpint(pki_write_file(ok, chain->key_pem), ==, 0);
        start(f);
        run_for(f, 20 * USEC_PER_MSEC);
        /* IN_CREATE and never a close: complete all the same */
        g_assert_cmpint(link(oc, c), ==, 0);
        g_assert_cmpint(link(ok, k), ==, 0);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpuint(f->rejected->len, ==, 0);

        /* Read like any file (the owner check applies to the file itself); removing it removes this name only. */
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_false(exists(f, "console.crt"));
        g_assert_false(exists(f, "console.key"));
        g_assert_true(g_file_test(oc, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(ok, G_FILE_TEST_IS_REGULAR));
        g_assert_cmpuint(f->ignored->len, ==, 0);
}

static void test_incomplete(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        gint64 t0;

        start(f);
        t0 = g_get_monotonic_time();
        drop(f, "console.crt", chain->fullchain_pem);
        g_assert_true(run_until(f, one_rejected, 5 * USEC_PER_SEC));
        g_assert_cmpint(g_get_monotonic_time() - t0, >=, 200 * 1000 - 5000);
        g_assert_cmpstr(f->rejected->pdata[0], ==, "console|MissingKey|no private key arrived for 'console.crt'");
        g_assert_cmpuint(f->handed->len, ==, 0);

        g_assert_false(exists(f, "console.crt"));
        g_assert_true(exists(f, "rejected/console.crt"));
        error = read_text(f, "rejected/console.error");
        g_assert_cmpstr(error, ==, "MissingKey: no private key arrived for 'console.crt'\n");

        /* a key without certificate */
        drop(f, "grpc.key", chain->key_pem);
        run_for(f, 400 * USEC_PER_MSEC);
        g_assert_cmpuint(f->rejected->len, ==, 2);
        g_assert_cmpstr(f->rejected->pdata[1], ==, "grpc|Malformed|no certificate arrived for 'grpc.key'");
}

static void test_key_arrives_in_time(Fixture *f, gconstpointer data) {
        f->options.settle_usec = 2 * USEC_PER_SEC;
        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 0);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->rejected->len, ==, 0);
        g_assert_false(exists(f, "console.crt"));
}

/* --------------------------------------------------------------- safety */

static void assert_rejected_once(Fixture *f, const char *error_name, const char *message_part) {
        g_auto(GStrv) parts = NULL;

        g_assert_true(run_until(f, one_rejected, 5 * USEC_PER_SEC));
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_cmpuint(f->rejected->len, ==, 1);
        g_assert_cmpuint(f->handed->len, ==, 0);
        parts = g_strsplit(f->rejected->pdata[0], "|", 3);
        g_assert_cmpstr(parts[0], ==, "console");
        g_assert_cmpstr(parts[1], ==, error_name);
        g_assert_nonnull(strstr(parts[2], message_part));

        g_autofree char *error = read_text(f, "rejected/console.error");
        g_autofree char *expected = g_strdup_printf("%s: %s\n", parts[1], parts[2]);
        g_assert_cmpstr(error, ==, expected);
}

static void symlink_out(Fixture *f, bool fallback) {
        g_autofree char *link = path(f, "console.crt");
        g_autofree char *moved = path(f, "rejected/console.crt");
        char target[64] = {};
        struct stat st;

        safe_open_force_fallback = fallback;
        start(f);
        g_assert_cmpint(symlink("/etc/shadow", link), ==, 0);
        drop(f, "console.key", chain->key_pem);
        assert_rejected_once(f, "Malformed", "'console.crt' is a symbolic link leading out of the drop directory");
        /* the link itself moved, the target untouched */
        g_assert_cmpint(lstat(moved, &st), ==, 0);
        g_assert_true(S_ISLNK(st.st_mode));
        g_assert_cmpint(readlink(moved, target, sizeof(target) - 1), >, 0);
        g_assert_cmpstr(target, ==, "/etc/shadow");
        g_assert_true(exists(f, "rejected/console.key"));
}

static void test_symlink_out(Fixture *f, gconstpointer data) {
        symlink_out(f, false);
}

static void test_symlink_out_fallback(Fixture *f, gconstpointer data) {
        symlink_out(f, true);
}

static void test_symlink_dotdot(Fixture *f, gconstpointer data) {
        g_autofree char *link = path(f, "console.crt");
        g_autofree char *outside = g_build_filename(f->tmp, "outside.crt", NULL);

        g_assert_cmpint(pki_write_file(outside, chain->fullchain_pem), ==, 0);
        safe_open_force_fallback = true;
        start(f);
        g_assert_cmpint(symlink("../outside.crt", link), ==, 0);
        drop(f, "console.key", chain->key_pem);
        assert_rejected_once(f, "Malformed", "leading out of the drop directory");
}

static void test_symlink_inside(Fixture *f, gconstpointer data) {
        g_autofree char *sub = path(f, "store");
        g_autofree char *real = path(f, "store/real.pem");
        g_autofree char *link = path(f, "console.crt");

        start(f);
        g_assert_cmpint(mkdir(sub, 0700), ==, 0);
        g_assert_cmpint(pki_write_file(real, chain->fullchain_pem), ==, 0);
        g_assert_cmpint(symlink("store/real.pem", link), ==, 0);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpstr(f->last_certificate, ==, chain->fullchain_pem);
}

static void test_fifo(Fixture *f, gconstpointer data) {
        g_autofree char *fifo = path(f, "console.crt");
        gint64 t0;

        start(f);
        t0 = g_get_monotonic_time();
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        drop(f, "console.key", chain->key_pem);
        assert_rejected_once(f, "Malformed", "'console.crt' is a FIFO, not read");
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
}

static void test_too_large(Fixture *f, gconstpointer data) {
        g_autofree char *big = path(f, "console.crt");
        gint64 t0;
        int fd;

        start(f);
        t0 = g_get_monotonic_time();
        fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 10 * 1024 * 1024), ==, 0);
        g_assert_cmpint(close(fd), ==, 0);
        drop(f, "console.key", chain->key_pem);
        assert_rejected_once(f, "TooLarge", "'console.crt' is 10485760 bytes, more than the limit of 1048576 bytes");
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
}

static void test_foreign_owner(Fixture *f, gconstpointer data) {
        g_autofree char *key = path(f, "console.key");

        if (geteuid() != 0) {
                g_test_skip("needs root to chown");
                return;
        }
        start(f);
        g_assert_cmpint(pki_write_file(key, chain->key_pem), ==, 0);
        g_assert_cmpint(chown(key, 1000, 1000), ==, 0);
        drop(f, "console.crt", chain->fullchain_pem);
        assert_rejected_once(f, "Malformed", "'console.key' is owned by uid 1000, neither root nor the daemon");
}

static void test_unsafe_directory(Fixture *f, gconstpointer data) {
        DropDir *d = NULL;

        g_assert_cmpint(mkdir(f->drop, 0777), ==, 0);
        g_assert_cmpint(chmod(f->drop, 0777), ==, 0);
        g_assert_cmpint(dropdir_new(f->event, &f->options, &d), ==, -EPERM);
        g_assert_cmpint(chmod(f->drop, 0770), ==, 0);
        g_assert_cmpint(dropdir_new(f->event, &f->options, &d), ==, -EPERM);
        g_assert_cmpint(chmod(f->drop, 0755), ==, 0);
        g_assert_cmpint(dropdir_new(f->event, &f->options, &d), ==, 0);
        dropdir_free(d);
}

static void test_unsafe_later(Fixture *f, gconstpointer data) {
        g_autofree char *expected = NULL;

        start(f);
        run_for(f, 20 * USEC_PER_MSEC);
        g_assert_cmpint(chmod(f->drop, 0777), ==, 0);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        run_for(f, 300 * USEC_PER_MSEC);
        /* nothing trusted, said once */
        g_assert_cmpuint(f->handed->len, ==, 0);
        g_assert_cmpuint(f->rejected->len, ==, 1);
        expected = g_strdup_printf("%s|Malformed|the drop directory '%s' is writable by group or others or owned by another user, ignoring it until that is fixed",
                                   f->drop, f->drop);
        g_assert_cmpstr(f->rejected->pdata[0], ==, expected);
        g_assert_true(exists(f, "console.crt"));

        /* fixed: picked up without any new file */
        g_assert_cmpint(chmod(f->drop, 0700), ==, 0);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpuint(f->rejected->len, ==, 1);
}

/* ------------------------------------------------------------- outcomes */

static void test_error_file(Fixture *f, gconstpointer data) {
        g_autofree char *other = other_key_pem();
        g_autofree char *error = NULL, *error1 = NULL;
        g_auto(GStrv) parts = NULL;

        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", other);
        g_assert_true(run_until(f, one_rejected, 5 * USEC_PER_SEC));
        parts = g_strsplit(f->rejected->pdata[0], "|", 3);
        g_assert_cmpstr(parts[0], ==, "console");
        g_assert_cmpstr(parts[1], ==, "KeyMismatch");
        error = read_text(f, "rejected/console.error");
        g_autofree char *expected = g_strdup_printf("KeyMismatch: %s\n", parts[2]);
        g_assert_cmpstr(error, ==, expected);
        g_assert_true(exists(f, "rejected/console.crt"));
        g_assert_true(exists(f, "rejected/console.key"));
        g_assert_false(exists(f, "console.crt"));

        /* the same mistake again: rejected again (feedback), beside the first under a new name */
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", other);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->rejected->len, ==, 2);
        error1 = read_text(f, "rejected/console.1.error");
        g_assert_cmpstr(error1, ==, expected);
        g_assert_true(exists(f, "rejected/console.1.crt"));
        g_assert_true(exists(f, "rejected/console.1.key"));
}

/*
 * Content dropped again after its files were removed is a new request, handed out again: the daemon
 * decides (already serving it, or installing it again as a new generation). Before a restart and
 * after it, under the same name or another.
 */
static void test_redrop(Fixture *f, gconstpointer data) {
        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_false(exists(f, "console.crt"));

        /* the same content under another name */
        drop(f, "api.crt", chain->fullchain_pem);
        drop(f, "api.key", chain->key_pem);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 2);
        g_assert_cmpstr(f->handed->pdata[1], ==, "api");
        g_assert_false(exists(f, "api.crt"));
        g_assert_false(exists(f, "api.key"));

        /* and after a restart, under the first name */
        stop(f);
        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 3);
        g_assert_cmpuint(f->rejected->len, ==, 0);
        g_assert_false(exists(f, "console.crt"));

        /* an older content again, too */
        drop(f, "console.crt", chain2->fullchain_pem);
        drop(f, "console.key", chain2->key_pem);
        g_assert_cmpint(pki_write_file(f->trust, chain2->root_pem), ==, 0);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->installed->len, ==, 4);
        g_assert_cmpuint(f->ignored->len, ==, 0);
}

/* A CA file that comes after its certificate and key (installed at once without it): refused, named. */
static void test_ca_after(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;

        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        drop(f, "console.ca.crt", chain->root_pem);
        g_assert_true(run_until(f, one_rejected, 5 * USEC_PER_SEC));
        g_test_message("%s", (char *) f->rejected->pdata[0]);
        g_assert_true(g_str_has_prefix(f->rejected->pdata[0],
                                       "console|Malformed|the authority 'console.ca.crt' arrived without a certificate and a key"));
        g_assert_null(strstr(f->rejected->pdata[0], "(null)"));
        g_assert_false(exists(f, "console.ca.crt"));
        g_assert_true(exists(f, "rejected/console.ca.crt"));
        error = read_text(f, "rejected/console.error");
        g_assert_true(g_str_has_prefix(error, "Malformed: the authority 'console.ca.crt' arrived without"));
        g_assert_nonnull(strstr(error, "move the authority in first"));
}

static bool three_ignored(Fixture *f) { return f->ignored->len >= 3; }

/*
 * What is no part of a bundle is left alone and said once, when it has stayed SettleSec=: a hidden
 * name, a directory (even one named like a key), a name we do not recognise. A temporary file
 * renamed into place within SettleSec= is never mentioned; nor are rejected/ and our own names.
 */
static void test_ignored(Fixture *f, gconstpointer data) {
        g_autofree char *dir = path(f, "grpc.key");

        start(f);
        run_for(f, 20 * USEC_PER_MSEC);
        drop(f, ".hidden.crt", chain->fullchain_pem);
        g_assert_cmpint(mkdir(dir, 0700), ==, 0);
        drop(f, "README.txt", "notes\n");
        /* written aside and renamed in: the usual way, never mentioned */
        drop(f, ".console.crt.tmp", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_autofree char *tmp = path(f, ".console.crt.tmp"), *final = path(f, "console.crt");
        g_assert_cmpint(rename(tmp, final), ==, 0);

        g_assert_true(run_until(f, three_ignored, 5 * USEC_PER_SEC));
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        run_for(f, 400 * USEC_PER_MSEC);
        g_assert_cmpuint(f->ignored->len, ==, 3);
        bool hidden = false, directory = false, unknown = false;
        for (guint i = 0; i < f->ignored->len; i++) {
                const char *e = f->ignored->pdata[i];
                g_test_message("ignored: %s", e);
                hidden |= g_str_has_prefix(e, ".hidden.crt|is hidden (its name starts with '.')");
                directory |= streq(e, "grpc.key|is a directory");
                unknown |= g_str_has_prefix(e, "README.txt|is not named as a part of a bundle");
        }
        g_assert_true(hidden && directory && unknown);
        g_assert_true(exists(f, ".hidden.crt"));
        g_assert_true(exists(f, "README.txt"));
        g_assert_true(exists(f, "grpc.key"));

        /* once per entry: more scans say nothing new */
        drop(f, "api.crt", chain->fullchain_pem);
        drop(f, "api.key", chain->key_pem);
        run_for(f, 500 * USEC_PER_MSEC);
        g_assert_cmpuint(f->ignored->len, ==, 3);

        /* a new entry under an old name is a new entry */
        g_autofree char *readme = path(f, "README.txt");
        g_assert_cmpint(unlink(readme), ==, 0);
        run_for(f, 50 * USEC_PER_MSEC);
        drop(f, "README.txt", "more notes\n");
        run_for(f, 500 * USEC_PER_MSEC);
        g_assert_cmpuint(f->ignored->len, ==, 4);
        g_assert_cmpuint(f->rejected->len, ==, 0);
}

/* A NAME of n bytes: "nnnn…" */
static char *long_name(size_t n, char c) {
        char *s = g_malloc(n + 1);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

/* The longest names there are: rejected/ names stay within 255 bytes, shortened as documented. */
static void test_long_names(Fixture *f, gconstpointer data) {
        g_autofree char *other = other_key_pem();
        g_autofree char *name = long_name(251, 'n');             /* NAME.crt, NAME.key: 255 bytes */
        g_autofree char *crt = g_strconcat(name, ".crt", NULL), *key = g_strconcat(name, ".key", NULL);
        g_autofree char *rcrt = g_strconcat("rejected/", crt, NULL), *rkey = g_strconcat("rejected/", key, NULL);

        start(f);
        for (unsigned round = 0; round < 2; round++) {
                drop(f, crt, chain->fullchain_pem);
                drop(f, key, other);
                for (unsigned i = 0; i < 100 && f->rejected->len < round + 1; i++)
                        run_for(f, 20 * USEC_PER_MSEC);
                run_for(f, 100 * USEC_PER_MSEC);
                g_assert_cmpuint(f->rejected->len, ==, round + 1);
                /* nothing left behind */
                g_assert_false(exists(f, crt));
                g_assert_false(exists(f, key));
        }
        g_assert_true(exists(f, rcrt));
        g_assert_true(exists(f, rkey));

        /* two .error files and the second pair, each name cut and marked: "nnn…n~XXXXXXXX.error" */
        g_autofree char *rdir = path(f, "rejected");
        g_autoptr(GDir) dir = g_dir_open(rdir, 0, NULL);
        unsigned errors = 0, files = 0, marked = 0;
        g_autofree char *mark = NULL;
        const char *e;
        while ((e = g_dir_read_name(dir))) {
                g_assert_cmpuint(strlen(e), <=, 255);
                files++;
                /* Every cut name of the bundle carries the same mark, its files and its .error files alike. */
                const char *m = strchr(e, '~');
                if (m) {
                        if (!mark)
                                mark = g_strndup(m, 9);
                        g_assert_cmpint(strncmp(m, mark, 9), ==, 0);
                        marked++;
                }
                if (g_str_has_suffix(e, ".error")) {
                        g_autofree char *rel = g_strconcat("rejected/", e, NULL);
                        g_autofree char *text = read_text(f, rel);
                        g_assert_true(g_str_has_prefix(text, "KeyMismatch: "));
                        /* "nnn…n~XXXXXXXX.error" and "nnn…n~XXXXXXXX.1.error": 255 bytes each */
                        g_assert_cmpuint(strlen(e), ==, 255);
                        const char *tilde = strchr(e, '~');
                        g_assert_nonnull(tilde);
                        g_assert_cmpuint(strspn(e, "n"), ==, (size_t) (tilde - e));
                        g_assert_cmpuint(strspn(tilde + 1, "0123456789abcdef"), ==, 8);
                        g_assert_true(streq(tilde + 9, ".error") || streq(tilde + 9, ".1.error"));
                        errors++;
                }
        }
        g_assert_cmpuint(errors, ==, 2);
        g_assert_cmpuint(files, ==, 6);
        g_assert_cmpuint(marked, ==, 4);   /* NAME.crt and NAME.key fit; both .error and the .1. pair are cut */

        /* A combined NAME.pem of 255 bytes is installed, and its file removed. */
        g_autofree char *pname = long_name(251, 'p');
        g_autofree char *pem = g_strconcat(pname, ".pem", NULL);
        drop(f, pem, chain->bundle_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        run_for(f, 100 * USEC_PER_MSEC);
        g_assert_false(exists(f, pem));
        g_assert_cmpuint(f->ignored->len, ==, 0);
}

static void test_state_file(Fixture *f, gconstpointer data) {
        DropSeen *s = NULL;
        char hash[65];
        g_autofree char *text = NULL;

        g_assert_cmpint(drop_seen_load(f->state, &s), ==, 0);
        for (unsigned i = 0; i < DROP_SEEN_MAX + 10; i++) {
                for (unsigned k = 0; k < 64; k++)
                        hash[k] = "0123456789abcdef"[(i >> (4 * (k % 4))) & 15];
                hash[64] = 0;
                g_assert_cmpint(drop_seen_add(s, i % 2 ? DROP_SEEN_REJECTED : DROP_SEEN_INSTALLED, hash), ==, 0);
        }
        g_assert_cmpint(drop_seen_add(s, DROP_SEEN_INSTALLED, "nothex"), ==, -EINVAL);
        drop_seen_free(s);

        g_assert_true(g_file_get_contents(f->state, &text, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        g_assert_cmpuint(g_strv_length(lines), ==, 1 + DROP_SEEN_MAX + 1);   /* comment, entries, "" */
        g_assert_true(g_str_has_prefix(lines[0], "#"));
        g_assert_true(g_str_has_prefix(lines[1], "installed ") || g_str_has_prefix(lines[1], "rejected "));

        g_assert_cmpint(drop_seen_load(f->state, &s), ==, 0);
        DropSeenKind kind;
        g_assert_true(drop_seen_contains(s, hash, &kind));      /* the newest */
        g_assert_cmpint(kind, ==, DROP_SEEN_REJECTED);
        drop_seen_free(s);
}

/* ------------------------------------------------ directory and queue */

static void test_recreated(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->drop);

        start(f);
        run_for(f, 20 * USEC_PER_MSEC);
        g_assert_cmpint(system(cmd), ==, 0);
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_cmpint(g_mkdir_with_parents(f->drop, 0700), ==, 0);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));

        /* moved away and replaced */
        g_autofree char *away = g_build_filename(f->tmp, "away", NULL);
        g_assert_cmpint(rename(f->drop, away), ==, 0);
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_cmpint(g_mkdir_with_parents(f->drop, 0700), ==, 0);
        drop(f, "console.crt", chain2->fullchain_pem);
        drop(f, "console.key", chain2->key_pem);
        g_assert_cmpint(pki_write_file(f->trust, chain2->root_pem), ==, 0);
        run_for(f, 300 * USEC_PER_MSEC);
        g_assert_cmpuint(f->installed->len, ==, 2);
        g_assert_cmpstr(f->last_certificate, ==, chain2->fullchain_pem);
}

static void test_overflow(Fixture *f, gconstpointer data) {
        int max = 16384;
        g_autofree char *text = NULL;

        if (g_file_get_contents("/proc/sys/fs/inotify/max_queued_events", &text, NULL, NULL))
                max = atoi(text);
        start(f);
        run_for(f, 20 * USEC_PER_MSEC);

        /* More events than the queue holds, before the loop reads any. */
        for (int i = 0; i < max / 2 + 100; i++) {
                char name[32];
                g_autofree char *p = NULL;
                int fd;

                snprintf(name, sizeof(name), "noise%d", i);
                p = path(f, name);
                fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                g_assert_cmpint(fd, >=, 0);
                close(fd);
                g_assert_cmpint(unlink(p), ==, 0);
        }
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);

        g_assert_true(run_until(f, one_installed, 5 * USEC_PER_SEC));
        g_assert_cmpuint(dropdir_get_overflows(f->dd), >=, 1);
        g_assert_cmpstr(f->last_certificate, ==, chain->fullchain_pem);
        run_for(f, 50 * USEC_PER_MSEC);
        g_assert_false(exists(f, "console.key"));
}

static void test_burst(Fixture *f, gconstpointer data) {
        enum { N = 500 };
        g_autofree char *other = other_key_pem();
        char *certs[N];

        start(f);
        run_for(f, 20 * USEC_PER_MSEC);

        /* Names sort backwards to drop order, so only drop order can win. */
        for (int i = 0; i < N; i++) {
                PkiCertOptions o = {
                        .common_name = SERVER_NAME,
                        .dns_names = (const char *const[]) { SERVER_NAME, NULL },
                        .issuer_cert = chain->intermediate,
                        .issuer_key = chain->intermediate_key,
                };
                X509 *leaf = pki_cert_new(chain->leaf_key, &o);
                char name[32];

                certs[i] = pki_certs_pem(leaf, chain->intermediate, NULL);
                X509_free(leaf);
                snprintf(name, sizeof(name), "b%03d.crt", N - i);
                drop(f, name, certs[i]);
                snprintf(name, sizeof(name), "b%03d.key", N - i);
                drop(f, name, i == N - 1 ? other : chain->key_pem);   /* the very last is invalid */
        }

        gint64 t0 = g_get_monotonic_time();
        for (;;) {
                run_for(f, 100 * USEC_PER_MSEC);
                if (f->handed->len == N)
                        break;
                g_assert_cmpint(g_get_monotonic_time() - t0, <, 60 * G_USEC_PER_SEC);
        }
        run_for(f, 100 * USEC_PER_MSEC);
        g_test_message("%d bundles handled in %.2f s", N, (g_get_monotonic_time() - t0) / 1e6);

        g_assert_cmpuint(f->handed->len, ==, N);
        g_assert_cmpuint(f->installed->len, ==, N - 1);
        g_assert_cmpuint(f->rejected->len, ==, 1);
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof(name), "b%03d", N - i);
                g_assert_cmpstr(f->handed->pdata[i], ==, name);
        }
        /* the last valid complete bundle in drop order stays installed */
        g_assert_cmpstr(f->last_certificate, ==, certs[N - 2]);
        g_assert_true(g_str_has_prefix(f->rejected->pdata[0], "b001|KeyMismatch|"));

        GDir *dir = g_dir_open(f->drop, 0, NULL);
        const char *e;
        while ((e = g_dir_read_name(dir)))
                g_assert_cmpstr(e, ==, "rejected");
        g_dir_close(dir);
        for (int i = 0; i < N; i++)
                free(certs[i]);
}

/* Same name rewritten while its previous bundle is out: only the newest is installed. */
static void test_superseded(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c3 = pki_chain_new(SERVER_NAME);

        f->manual = true;
        start(f);
        drop(f, "console.crt", chain->fullchain_pem);
        drop(f, "console.key", chain->key_pem);
        g_assert_true(run_until(f, one_handed, 5 * USEC_PER_SEC));

        /* while it is out: two more versions of console, replaced by rename */
        for (int i = 0; i < 2; i++) {
                const PkiChain *c = i == 0 ? chain2 : c3;
                g_autofree char *tc = path(f, ".tmp.crt"), *tk = path(f, ".tmp.key");
                g_autofree char *pc = path(f, "console.crt"), *pk = path(f, "console.key");
                g_assert_cmpint(pki_write_file(tc, c->fullchain_pem), ==, 0);
                g_assert_cmpint(pki_write_file(tk, c->key_pem), ==, 0);
                g_assert_cmpint(rename(tc, pc), ==, 0);
                g_assert_cmpint(rename(tk, pk), ==, 0);
                run_for(f, 20 * USEC_PER_MSEC);
        }
        g_assert_cmpuint(f->handed->len, ==, 1);
        g_assert_cmpint(dropdir_bundle_done(f->dd, NULL, NULL), ==, 0);
        g_assert_cmpint(dropdir_bundle_done(f->dd, NULL, NULL), ==, -ESTALE);

        /* the new files stayed (they changed while the first was out); the newest comes next */
        for (int i = 0; i < 50 && f->handed->len < 2; i++)
                run_for(f, 10 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 2);
        g_assert_cmpint(dropdir_bundle_done(f->dd, NULL, NULL), ==, 0);
        run_for(f, 200 * USEC_PER_MSEC);
        g_assert_cmpuint(f->handed->len, ==, 2);
        g_assert_false(exists(f, "console.crt"));
}

/* A read-only directory (a Secret volume): remembered by hash, handed out and rejected once. */
static void test_read_only(Fixture *f, gconstpointer data) {
        if (g_test_subprocess()) {
                g_autofree char *other = other_key_pem();

                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                        g_printerr("no private mount namespace (%m): not tested\n");
                        g_clear_pointer(&other, g_free);
                        exit(0);
                }
                g_assert_cmpint(mkdir(f->drop, 0700), ==, 0);
                g_assert_cmpint(mount("tmpfs", f->drop, "tmpfs", 0, "mode=0700"), ==, 0);
                drop(f, "console.crt", chain->fullchain_pem);
                drop(f, "console.key", chain->key_pem);
                drop(f, "grpc.crt", chain2->fullchain_pem);
                drop(f, "grpc.key", other);
                drop(f, "api.crt", chain->fullchain_pem);   /* never completed */
                g_assert_cmpint(mount(NULL, f->drop, NULL, MS_REMOUNT | MS_RDONLY, "mode=0700"), ==, 0);

                start(f);
                run_for(f, 600 * USEC_PER_MSEC);
                g_assert_cmpuint(f->handed->len, ==, 2);
                g_assert_cmpuint(f->installed->len, ==, 1);
                g_assert_cmpstr(f->installed->pdata[0], ==, "console");
                g_assert_cmpuint(f->rejected->len, ==, 2);   /* grpc: KeyMismatch; api: MissingKey */
                g_assert_true(exists(f, "console.crt"));

                /* a restart: nothing again */
                stop(f);
                start(f);
                run_for(f, 600 * USEC_PER_MSEC);
                g_assert_cmpuint(f->handed->len, ==, 2);
                g_assert_cmpuint(f->rejected->len, ==, 2);
                g_assert_cmpstr(f->handed->pdata[1], ==, "grpc");

                stop(f);
                g_assert_cmpint(umount2(f->drop, MNT_DETACH), ==, 0);
                fixture_teardown(f, NULL);
                g_clear_pointer(&other, g_free);   /* exit() skips g_autofree */
                exit(0);
        }

        if (geteuid() != 0) {
                g_test_skip("needs root for a private mount namespace");
                return;
        }
        g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        chain = pki_chain_new(SERVER_NAME);
        chain2 = pki_chain_new(SERVER_NAME);

        TEST("/dropdir/crt-key", test_crt_key);
        TEST("/dropdir/ca-forms", test_ca_forms);
        TEST("/dropdir/cert-manager", test_cert_manager);
        TEST("/dropdir/combined-pem", test_combined);
        TEST("/dropdir/kubelet-swap", test_kubelet);
        TEST("/dropdir/slow-writer", test_slow_writer);
        TEST("/dropdir/rename-into-place", test_rename_into_place);
        TEST("/dropdir/hard-link", test_hard_link);
        TEST("/dropdir/incomplete", test_incomplete);
        TEST("/dropdir/key-arrives-in-time", test_key_arrives_in_time);
        TEST("/dropdir/symlink-out", test_symlink_out);
        TEST("/dropdir/symlink-out-fallback", test_symlink_out_fallback);
        TEST("/dropdir/symlink-dotdot", test_symlink_dotdot);
        TEST("/dropdir/symlink-inside", test_symlink_inside);
        TEST("/dropdir/fifo", test_fifo);
        TEST("/dropdir/too-large", test_too_large);
        TEST("/dropdir/foreign-owner", test_foreign_owner);
        TEST("/dropdir/unsafe-directory", test_unsafe_directory);
        TEST("/dropdir/unsafe-later", test_unsafe_later);
        TEST("/dropdir/error-file", test_error_file);
        TEST("/dropdir/redrop", test_redrop);
        TEST("/dropdir/ca-after", test_ca_after);
        TEST("/dropdir/ignored", test_ignored);
        TEST("/dropdir/long-names", test_long_names);
        TEST("/dropdir/state-file", test_state_file);
        TEST("/dropdir/recreated", test_recreated);
        TEST("/dropdir/overflow", test_overflow);
        TEST("/dropdir/burst", test_burst);
        TEST("/dropdir/superseded", test_superseded);
        TEST("/dropdir/read-only", test_read_only);

        int r = g_test_run();
        pki_chain_free(chain);
        pki_chain_free(chain2);
        return r;
}
