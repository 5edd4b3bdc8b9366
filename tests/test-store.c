/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store: install, rollback, prune, ids, permissions, and recovery after
 * a crash at every step of an install (a forked child _exit()s from the
 * step hook; the parent reopens the store and checks what consumers would
 * see). Bundles are self-signed ones from selfsigned.c: the store does not
 * care where they come from.
 */

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "certinfo.h"
#include "pki.h"
#include "selfsigned.h"
#include "store-served.h"
#include "store.h"

typedef struct Fixture {
        char *dir;       /* the test's temporary directory */
        char *store;     /* dir/store: created by store_open() */
} Fixture;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;
        f->dir = g_dir_make_tmp("test-store-XXXXXX", &error);
        g_assert_no_error(error);
        f->store = g_build_filename(f->dir, "store", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_assert_cmpint(nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
        g_free(f->store);
        g_free(f->dir);
}

static CertBundle *make_bundle(const char *name) {
        CertBundle *b = NULL;
        g_assert_cmpint(selfsigned_generate(name, NULL, 30, &b), ==, 0);
        return b;
}

/* Stages and commits a new bundle; returns its id and (optionally) its leaf fingerprint. */
static uint64_t install(Store *s, const char *name, const char *source, char *fp) {
        _cleanup_(cert_bundle_freep) CertBundle *b = make_bundle(name);
        uint64_t id = 0;

        g_assert_cmpint(store_stage(s, b, source, &id), ==, 0);
        g_assert_cmpint(store_commit(s, id), ==, 0);
        if (fp)
                g_assert_cmpint(cert_fingerprint(b->leaf, fp), ==, 0);
        return id;
}

static char *link_target(const char *store) {
        g_autofree char *path = g_build_filename(store, "current", NULL);
        GError *error = NULL;
        char *t = g_file_read_link(path, &error);
        g_assert_no_error(error);
        return t;
}

static bool generation_exists(const char *store, uint64_t id) {
        g_autofree char *name = g_strdup_printf("%" G_GUINT64_FORMAT, id);
        g_autofree char *path = g_build_filename(store, "generations", name, NULL);
        return g_file_test(path, G_FILE_TEST_IS_DIR);
}

static void assert_no_temporaries(const char *store) {
        g_autofree char *gens = g_build_filename(store, "generations", NULL);
        const char *dirs[] = { store, gens };
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                GError *error = NULL;
                GDir *d = g_dir_open(dirs[i], 0, &error);
                g_assert_no_error(error);
                const char *name;
                while ((name = g_dir_read_name(d))) {
                        g_assert_false(g_str_has_prefix(name, ".tmp-"));
                        g_assert_false(g_str_has_prefix(name, "current.tmp"));
                        g_assert_false(g_str_has_prefix(name, "next-id.tmp"));
                }
                g_dir_close(d);
        }
}

/* What a consumer needs: current -> generations/N, relative, complete, key matching the certificate. */
static uint64_t assert_current_sound(Store *s, const char *store) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        uint64_t id = 0;

        g_assert_cmpint(store_current(s, &id), ==, 0);
        g_autofree char *target = link_target(store);
        g_autofree char *expected = g_strdup_printf("generations/%" G_GUINT64_FORMAT, id);
        g_assert_cmpstr(target, ==, expected);

        g_assert_cmpint(store_load(s, id, &b), ==, 0);
        g_assert_nonnull(b->leaf);
        g_assert_nonnull(b->key);
        g_assert_cmpint(X509_check_private_key(b->leaf, b->key), ==, 1);

        /* And through the path consumers use, not just our loader. */
        g_autofree char *key_path = g_build_filename(store, "current", "key.pem", NULL);
        g_autofree char *cert_path = g_build_filename(store, "current", "fullchain.pem", NULL);
        g_assert_true(g_file_test(key_path, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(cert_path, G_FILE_TEST_IS_REGULAR));
        g_autofree char *combined_path = g_build_filename(store, "current", "combined.pem", NULL);
        g_assert_true(g_file_test(combined_path, G_FILE_TEST_IS_REGULAR));
        return id;
}

static void test_empty(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t id;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_current(s, &id), ==, -ENOENT);
        g_assert_cmpint(store_previous(s, &id), ==, -ENOENT);
        g_assert_cmpint(store_commit(s, 1), ==, -ENOENT);

        g_autofree char *current = g_build_filename(f->store, "current", NULL);
        g_assert_cmpstr(store_current_path(s), ==, current);
        g_assert_true(g_path_is_absolute(store_directory(s)));

        StoreGeneration *list = NULL;
        size_t n = 99;
        g_assert_cmpint(store_list(s, &list, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        store_generation_array_free(list, n);
}

/* last-served: none at first, then the last one written; a damaged marker is an error, not an id. */
static void test_served_marker(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t id = 99;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_served_read(f->store, &id), ==, -ENOENT);
        g_assert_cmpint(store_served_write(f->store, 7), ==, 0);
        g_assert_cmpint(store_served_read(f->store, &id), ==, 0);
        g_assert_cmpuint(id, ==, 7);
        g_assert_cmpint(store_served_write(f->store, 12), ==, 0);
        g_assert_cmpint(store_served_read(f->store, &id), ==, 0);
        g_assert_cmpuint(id, ==, 12);

        g_autofree char *marker = g_build_filename(f->store, "last-served", NULL);
        static const char *const damaged[] = { "", "\n", "twelve\n", "-3\n", "012\n", "99999999999999999999999\n" };
        for (size_t i = 0; i < G_N_ELEMENTS(damaged); i++) {
                g_assert_true(g_file_set_contents(marker, damaged[i], -1, NULL));
                g_assert_cmpint(store_served_read(f->store, &id), <, 0);
        }
        g_assert_cmpint(store_served_read("/nonexistent/store", &id), ==, -ENOENT);
}

static void test_paths(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        g_autofree char *real = g_build_filename(f->dir, "real", NULL);
        g_autofree char *cwd = g_get_current_dir();

        /* The store directory may be a symlink set up by an administrator; its path is kept as given. */
        g_assert_cmpint(g_mkdir(real, 0750), ==, 0);
        g_assert_cmpint(symlink(real, f->store), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_autofree char *current = g_build_filename(f->store, "current", NULL);
        g_assert_cmpstr(store_current_path(s), ==, current);
        install(s, "paths.example.com", "bus", NULL);
        g_autofree char *key = g_build_filename(real, "current", "key.pem", NULL);
        g_assert_true(g_file_test(key, G_FILE_TEST_IS_REGULAR));
        s = store_free(s);

        /* A relative path is made absolute. */
        g_assert_cmpint(chdir(f->dir), ==, 0);
        int r = store_open("store/", 3, &s);
        g_assert_cmpint(chdir(cwd), ==, 0);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(store_directory(s), ==, f->store);
        s = store_free(s);

        /* Beneath it, nothing is followed: generations/ swapped for a symlink is refused. */
        g_autofree char *gens = g_build_filename(real, "generations", NULL);
        g_autofree char *moved = g_build_filename(f->dir, "elsewhere", NULL);
        g_assert_cmpint(rename(gens, moved), ==, 0);
        g_assert_cmpint(symlink(moved, gens), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, -ENOTDIR);  /* O_DIRECTORY|O_NOFOLLOW on a symlink */
}

static void test_busy(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL, *t = NULL;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &t), ==, -EBUSY);
        g_assert_null(t);
}

static void test_install(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        char fp[CERT_FINGERPRINT_MAX];
        uint64_t before = (uint64_t) g_get_real_time();

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        uint64_t id = install(s, "install.example.com", "bus", fp);
        g_assert_cmpuint(id, ==, 1);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);

        g_assert_cmpint(store_get(s, 1, &g), ==, 0);
        g_assert_cmpuint(g->id, ==, 1);
        g_assert_cmpstr(g->source, ==, "bus");
        g_assert_cmpuint(g->installed_usec, >=, before);
        g_assert_cmpuint(g->installed_usec, <=, (uint64_t) g_get_real_time());
        g_assert_cmpstr(g->info->fingerprint, ==, fp);
        g_assert_cmpstr(g->info->common_name, ==, "install.example.com");

        /* The meta file is what an operator reads with cat. */
        g_autofree char *meta_path = g_build_filename(f->store, "generations", "1", "meta", NULL);
        g_autofree char *meta = NULL;
        g_assert_true(g_file_get_contents(meta_path, &meta, NULL, NULL));
        g_autofree char *expected = g_strdup_printf("source=bus\ninstalled-at=%" G_GUINT64_FORMAT "\n", g->installed_usec);
        g_assert_cmpstr(meta, ==, expected);

        /* fullchain = cert (+ empty chain); ca.pem and chain.pem exist even when empty. */
        g_autofree char *cert = NULL, *fullchain = NULL, *chain = NULL, *ca = NULL;
        g_autofree char *p1 = g_build_filename(f->store, "current", "cert.pem", NULL);
        g_autofree char *p2 = g_build_filename(f->store, "current", "fullchain.pem", NULL);
        g_autofree char *p3 = g_build_filename(f->store, "current", "chain.pem", NULL);
        g_autofree char *p4 = g_build_filename(f->store, "current", "ca.pem", NULL);
        g_assert_true(g_file_get_contents(p1, &cert, NULL, NULL));
        g_assert_true(g_file_get_contents(p2, &fullchain, NULL, NULL));
        g_assert_true(g_file_get_contents(p3, &chain, NULL, NULL));
        g_assert_true(g_file_get_contents(p4, &ca, NULL, NULL));
        g_assert_true(g_str_has_prefix(cert, "-----BEGIN CERTIFICATE-----\n"));
        g_assert_cmpstr(cert, ==, fullchain);
        g_assert_cmpstr(chain, ==, "");
        g_assert_cmpstr(ca, ==, "");

        g_assert_cmpint(store_get(s, 2, &g), ==, -ENOENT);
        g_assert_cmpuint(g->id, ==, 1);  /* untouched on failure */
}

static char *read_current(const char *store, const char *file) {
        g_autofree char *p = g_build_filename(store, "current", file, NULL);
        char *text = NULL;
        g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
        return text;
}

static void test_chain(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(pki_chain_freep) PkiChain *pki = pki_chain_new("chain.example.com");
        _cleanup_(cert_bundle_freep) CertBundle *b = cert_bundle_new(), *back = NULL;
        uint64_t id;

        /* An RSA leaf with an intermediate and a root: every file gets its part. */
        b->leaf = X509_dup(pki->leaf);
        b->key = EVP_PKEY_dup(pki->leaf_key);
        g_assert_cmpint(sk_X509_push(b->chain, X509_dup(pki->intermediate)), >, 0);
        g_assert_cmpint(sk_X509_push(b->authority, X509_dup(pki->root)), >, 0);

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_stage(s, b, "drop-directory", &id), ==, 0);
        g_assert_cmpint(store_commit(s, id), ==, 0);
        assert_current_sound(s, f->store);

        g_autofree char *leaf_pem = pki_cert_pem(pki->leaf);
        g_autofree char *int_pem = pki_cert_pem(pki->intermediate);
        g_autofree char *root_pem = pki_cert_pem(pki->root);
        g_autofree char *full_pem = g_strconcat(leaf_pem, int_pem, NULL);
        const struct {
                const char *file, *content;
        } expect[] = {
                { "cert.pem", leaf_pem }, { "chain.pem", int_pem }, { "ca.pem", root_pem }, { "fullchain.pem", full_pem },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
                g_autofree char *p = g_build_filename(f->store, "current", expect[i].file, NULL);
                g_autofree char *text = NULL;
                g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
                g_assert_cmpstr(text, ==, expect[i].content);
        }

        /* HAProxy's form: the full chain, then the very key of key.pem. */
        g_autofree char *key_pem = read_current(f->store, "key.pem");
        g_autofree char *combined = read_current(f->store, "combined.pem");
        g_autofree char *full_and_key = g_strconcat(full_pem, key_pem, NULL);
        g_assert_true(g_str_has_prefix(key_pem, "-----BEGIN PRIVATE KEY-----"));
        g_assert_cmpstr(combined, ==, full_and_key);

        g_assert_cmpint(store_load(s, id, &back), ==, 0);
        g_assert_cmpint(X509_cmp(back->leaf, pki->leaf), ==, 0);
        g_assert_cmpint(sk_X509_num(back->chain), ==, 1);
        g_assert_cmpint(X509_cmp(sk_X509_value(back->chain, 0), pki->intermediate), ==, 0);
        g_assert_cmpint(sk_X509_num(back->authority), ==, 1);
        g_assert_cmpint(X509_cmp(sk_X509_value(back->authority, 0), pki->root), ==, 0);
        g_assert_cmpint(EVP_PKEY_eq(back->key, pki->leaf_key), ==, 1);

        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        g_assert_cmpint(store_get(s, id, &g), ==, 0);
        g_assert_cmpuint(g->info->chain_length, ==, 2);
        g_assert_cmpstr(g->source, ==, "drop-directory");

        /* A fullchain.pem that lost its intermediate is not a complete generation. */
        s = store_free(s);
        g_autofree char *fc = g_build_filename(f->store, "generations", "1", "fullchain.pem", NULL);
        g_assert_true(g_file_set_contents(fc, leaf_pem, -1, NULL));
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_current(s, &id), ==, -ENOENT);
}

static void test_bad_arguments(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(cert_bundle_freep) CertBundle *b = make_bundle("args.example.com");
        _cleanup_(cert_bundle_freep) CertBundle *empty = cert_bundle_new();
        uint64_t id;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpint(store_stage(s, empty, "bus", &id), ==, -EINVAL);
        g_assert_cmpint(store_stage(s, b, "", &id), ==, -EINVAL);
        g_assert_cmpint(store_stage(s, b, "bus\ninstalled-at=0", &id), ==, -EINVAL);
        assert_no_temporaries(f->store);
}

static void test_permissions(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        struct stat st;
        /* A tight umask must not matter: modes are set explicitly. */
        mode_t old = umask(0077);

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "perm.example.com", "self-signed", NULL);
        umask(old);

        struct group *grp = getgrnam("vertex-tls");
        const struct {
                const char *path;
                mode_t mode;
        } expect[] = {
                { "", 0750 },
                { "generations", 0750 },
                { "generations/1", 0750 },
                { "generations/1/key.pem", 0640 },
                { "generations/1/combined.pem", 0640 },
                { "generations/1/cert.pem", 0644 },
                { "generations/1/fullchain.pem", 0644 },
                { "generations/1/chain.pem", 0644 },
                { "generations/1/ca.pem", 0644 },
                { "generations/1/meta", 0644 },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
                g_autofree char *p = g_build_filename(f->store, expect[i].path, NULL);
                g_assert_cmpint(lstat(p, &st), ==, 0);
                if ((st.st_mode & 07777) != expect[i].mode)
                        g_error("%s: mode %04o, expected %04o", expect[i].path,
                                (unsigned) (st.st_mode & 07777), (unsigned) expect[i].mode);
                if (grp && i > 0)
                        g_assert_cmpuint(st.st_gid, ==, grp->gr_gid);
        }

        g_autofree char *current = g_build_filename(f->store, "current", NULL);
        g_assert_cmpint(lstat(current, &st), ==, 0);
        g_assert_true(S_ISLNK(st.st_mode));
}

static void test_rollback(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        char fp1[CERT_FINGERPRINT_MAX], fp2[CERT_FINGERPRINT_MAX];
        uint64_t prev;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(install(s, "one.example.com", "self-signed", fp1), ==, 1);
        g_assert_cmpint(store_previous(s, &prev), ==, -ENOENT);
        g_assert_cmpuint(install(s, "two.example.com", "bus", fp2), ==, 2);
        g_assert_cmpstr(fp1, !=, fp2);

        g_assert_cmpint(store_previous(s, &prev), ==, 0);
        g_assert_cmpuint(prev, ==, 1);
        g_assert_cmpint(store_commit(s, prev), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);
        g_assert_cmpint(store_previous(s, &prev), ==, -ENOENT);

        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        g_assert_cmpint(store_get(s, 1, &g), ==, 0);
        g_assert_cmpstr(g->info->fingerprint, ==, fp1);

        /* And forward again. */
        g_assert_cmpint(store_commit(s, 2), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
        g_assert_cmpint(store_previous(s, &prev), ==, 0);
        g_assert_cmpuint(prev, ==, 1);
}

/* A generation damaged on disk after the store checked it is not put back by a rollback. */
static void test_rollback_damaged(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        char fp1[CERT_FINGERPRINT_MAX], fp2[CERT_FINGERPRINT_MAX];
        uint64_t prev;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(install(s, "one.example.com", "self-signed", fp1), ==, 1);
        g_assert_cmpuint(install(s, "two.example.com", "bus", fp2), ==, 2);
        g_assert_cmpint(store_previous(s, &prev), ==, 0);   /* generation 1 checked and remembered */
        g_assert_cmpuint(prev, ==, 1);

        g_autofree char *key = g_build_filename(f->store, "generations", "1", "key.pem", NULL);
        g_assert_cmpint(truncate(key, 10), ==, 0);

        g_assert_cmpint(store_commit(s, 1), ==, -ENOENT);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
}

static void test_prune(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        for (unsigned i = 1; i <= 5; i++)
                g_assert_cmpuint(install(s, "prune.example.com", "bus", NULL), ==, i);
        g_assert_cmpint(store_prune(s), ==, 0);
        for (unsigned i = 1; i <= 5; i++)
                g_assert_cmpint(generation_exists(f->store, i), ==, i >= 3);

        /* Roll back to the oldest kept one, install two more: the current one survives beyond the count. */
        g_assert_cmpint(store_commit(s, 3), ==, 0);
        _cleanup_(cert_bundle_freep) CertBundle *b6 = make_bundle("six.example.com");
        _cleanup_(cert_bundle_freep) CertBundle *b7 = make_bundle("seven.example.com");
        uint64_t id6, id7;
        g_assert_cmpint(store_stage(s, b6, "bus", &id6), ==, 0);
        g_assert_cmpint(store_stage(s, b7, "bus", &id7), ==, 0);
        g_assert_cmpuint(id6, ==, 6);
        g_assert_cmpuint(id7, ==, 7);
        g_assert_cmpint(store_prune(s), ==, 0);
        g_assert_true(generation_exists(f->store, 3));   /* current */
        g_assert_false(generation_exists(f->store, 4));
        g_assert_true(generation_exists(f->store, 5));
        g_assert_true(generation_exists(f->store, 6));
        g_assert_true(generation_exists(f->store, 7));
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 3);

        StoreGeneration *list = NULL;
        size_t n = 0;
        g_assert_cmpint(store_list(s, &list, &n), ==, 0);
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmpuint(list[0].id, ==, 3);
        g_assert_cmpuint(list[1].id, ==, 5);
        g_assert_cmpuint(list[2].id, ==, 6);
        g_assert_cmpuint(list[3].id, ==, 7);
        g_assert_cmpstr(list[3].info->common_name, ==, "seven.example.com");
        store_generation_array_free(list, n);
        assert_no_temporaries(f->store);
}

static void test_ids_never_reused(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(cert_bundle_freep) CertBundle *b = make_bundle("ids.example.com");
        uint64_t id;

        g_assert_cmpint(store_open(f->store, 2, &s), ==, 0);
        for (unsigned i = 1; i <= 3; i++)
                g_assert_cmpuint(install(s, "ids.example.com", "bus", NULL), ==, i);
        g_assert_cmpint(store_prune(s), ==, 0);
        g_assert_false(generation_exists(f->store, 1));

        /* Staged but never committed, then removed by hand: 4 is still never handed out again. */
        g_assert_cmpint(store_stage(s, b, "bus", &id), ==, 0);
        g_assert_cmpuint(id, ==, 4);
        g_autofree char *four = g_build_filename(f->store, "generations", "4", NULL);
        g_assert_cmpint(nftw(four, rm_cb, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
        g_assert_cmpint(store_stage(s, b, "bus", &id), ==, 0);
        g_assert_cmpuint(id, ==, 5);

        /* next-id lost: the directories still say what was used. */
        g_autofree char *next = g_build_filename(f->store, "next-id", NULL);
        g_autofree char *text = NULL;
        g_assert_true(g_file_get_contents(next, &text, NULL, NULL));
        g_assert_cmpstr(text, ==, "6\n");
        g_assert_cmpint(unlink(next), ==, 0);
        g_assert_cmpint(store_stage(s, b, "bus", &id), ==, 0);
        g_assert_cmpuint(id, ==, 6);

        /* A garbled next-id is not trusted below what exists. */
        g_assert_true(g_file_set_contents(next, "garbage", -1, NULL));
        g_assert_cmpint(store_stage(s, b, "bus", &id), ==, 0);
        g_assert_cmpuint(id, ==, 7);
}

static void test_recover_temporaries(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "tmp.example.com", "bus", NULL);
        s = store_free(s);

        g_autofree char *tmpdir = g_build_filename(f->store, "generations", ".tmp-9-abcdef", NULL);
        g_autofree char *tmpfile = g_build_filename(tmpdir, "key.pem", NULL);
        g_autofree char *tmplink = g_build_filename(f->store, "current.tmp-xyz", NULL);
        g_autofree char *tmpnext = g_build_filename(f->store, "next-id.tmp", NULL);
        g_assert_cmpint(g_mkdir(tmpdir, 0700), ==, 0);
        g_assert_true(g_file_set_contents(tmpfile, "half a key", -1, NULL));
        g_assert_cmpint(symlink("generations/9", tmplink), ==, 0);
        g_assert_true(g_file_set_contents(tmpnext, "1", -1, NULL));

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        assert_no_temporaries(f->store);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);

        /* The id of the vanished temporary is not reused either. */
        _cleanup_(cert_bundle_freep) CertBundle *b = make_bundle("tmp.example.com");
        uint64_t id;
        g_assert_cmpint(store_stage(s, b, "bus", &id), ==, 0);
        g_assert_cmpuint(id, ==, 2);
}

static void truncate_file(const char *path) {
        g_autofree char *data = NULL;
        gsize size;
        g_assert_true(g_file_get_contents(path, &data, &size, NULL));
        g_assert_true(g_file_set_contents(path, data, (gssize) size / 2, NULL));
}

static void test_recover_truncated_key(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t id;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "one.example.com", "bus", NULL);
        install(s, "two.example.com", "bus", NULL);
        s = store_free(s);

        g_autofree char *key = g_build_filename(f->store, "generations", "2", "key.pem", NULL);
        truncate_file(key);

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);
        /* The broken one is no generation: not listed, not committable, pruned. */
        g_assert_cmpint(store_commit(s, 2), ==, -ENOENT);
        g_assert_cmpint(store_previous(s, &id), ==, -ENOENT);
        g_assert_cmpint(store_prune(s), ==, 0);
        g_assert_false(generation_exists(f->store, 2));
}

/* A closed store of three generations, 3 current, for damaging one and opening it again. */
static void make_three_generations(Fixture *f) {
        _cleanup_(store_freep) Store *s = NULL;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "one.example.com", "bus", NULL);
        install(s, "two.example.com", "bus", NULL);
        install(s, "three.example.com", "bus", NULL);
}

static void test_recover_mismatch(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;

        make_three_generations(f);

        /* Generation 3 gets generation 2's key: a pair that does not belong together. */
        g_autofree char *k2 = g_build_filename(f->store, "generations", "2", "key.pem", NULL);
        g_autofree char *k3 = g_build_filename(f->store, "generations", "3", "key.pem", NULL);
        g_autofree char *data2 = NULL;
        g_assert_true(g_file_get_contents(k2, &data2, NULL, NULL));
        g_assert_true(g_file_set_contents(k3, data2, -1, NULL));

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
}

static void test_recover_truncated_fullchain(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "one.example.com", "bus", NULL);
        install(s, "two.example.com", "bus", NULL);
        s = store_free(s);

        g_autofree char *p = g_build_filename(f->store, "generations", "2", "fullchain.pem", NULL);
        truncate_file(p);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);
}

/* A combined.pem that is not this generation's chain and key makes the generation torn. */
static void test_recover_torn_combined(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;

        make_three_generations(f);

        g_autofree char *p3 = g_build_filename(f->store, "generations", "3", "combined.pem", NULL);
        truncate_file(p3);
        /* Generation 2's combined file holds generation 1's key: the pair disagrees. */
        g_autofree char *p2 = g_build_filename(f->store, "generations", "2", "combined.pem", NULL);
        g_autofree char *k1 = g_build_filename(f->store, "generations", "1", "key.pem", NULL);
        g_autofree char *f2 = g_build_filename(f->store, "generations", "2", "fullchain.pem", NULL);
        g_autofree char *key1 = NULL, *full2 = NULL;
        g_assert_true(g_file_get_contents(k1, &key1, NULL, NULL));
        g_assert_true(g_file_get_contents(f2, &full2, NULL, NULL));
        g_autofree char *mixed = g_strconcat(full2, key1, NULL);
        g_assert_true(g_file_set_contents(p2, mixed, -1, NULL));

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);
        g_assert_cmpint(store_commit(s, 2), ==, -ENOENT);
        g_assert_cmpint(store_commit(s, 3), ==, -ENOENT);
}

/* Generations written before combined.pem existed get it at open, whole and 0640. */
static void test_upgrade_adds_combined(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        struct stat st;

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "one.example.com", "bus", NULL);
        install(s, "two.example.com", "bus", NULL);
        s = store_free(s);
        for (unsigned i = 1; i <= 2; i++) {
                g_autofree char *name = g_strdup_printf("%u", i);
                g_autofree char *p = g_build_filename(f->store, "generations", name, "combined.pem", NULL);
                g_assert_cmpint(unlink(p), ==, 0);
        }
        /* A temporary left by a crash while adding one is not in the way. */
        g_autofree char *tmp = g_build_filename(f->store, "generations", "1", ".tmp-combined.pem", NULL);
        g_assert_true(g_file_set_contents(tmp, "torn", -1, NULL));

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
        for (unsigned i = 1; i <= 2; i++) {
                g_autofree char *name = g_strdup_printf("%u", i);
                g_autofree char *dir = g_build_filename(f->store, "generations", name, NULL);
                g_autofree char *p = g_build_filename(dir, "combined.pem", NULL);
                g_autofree char *fp = g_build_filename(dir, "fullchain.pem", NULL);
                g_autofree char *kp = g_build_filename(dir, "key.pem", NULL);
                g_autofree char *combined = NULL, *full = NULL, *key = NULL;
                g_assert_true(g_file_get_contents(p, &combined, NULL, NULL));
                g_assert_true(g_file_get_contents(fp, &full, NULL, NULL));
                g_assert_true(g_file_get_contents(kp, &key, NULL, NULL));
                g_autofree char *expected = g_strconcat(full, key, NULL);
                g_assert_cmpstr(combined, ==, expected);
                g_assert_cmpint(lstat(p, &st), ==, 0);
                g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
        }
        g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
        /* Going back to the older one serves its combined file too. */
        g_assert_cmpint(store_commit(s, 1), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 1);
}

static void test_recover_dangling(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        g_autofree char *current = g_build_filename(f->store, "current", NULL);

        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        install(s, "one.example.com", "bus", NULL);
        install(s, "two.example.com", "bus", NULL);
        g_assert_cmpint(store_commit(s, 1), ==, 0);
        s = store_free(s);

        /* Dangling: to the newest complete one. */
        g_assert_cmpint(unlink(current), ==, 0);
        g_assert_cmpint(symlink("generations/99", current), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
        s = store_free(s);

        /* Missing. */
        g_assert_cmpint(unlink(current), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
        s = store_free(s);

        /* Not one of ours (absolute, somewhere else). */
        g_assert_cmpint(unlink(current), ==, 0);
        g_assert_cmpint(symlink("/etc", current), ==, 0);
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 2);
        s = store_free(s);

        /* Nothing usable at all: no link left behind for consumers to trip on. */
        for (unsigned i = 1; i <= 2; i++) {
                g_autofree char *name = g_strdup_printf("%u", i);
                g_autofree char *key = g_build_filename(f->store, "generations", name, "key.pem", NULL);
                g_assert_cmpint(unlink(key), ==, 0);
        }
        g_assert_cmpint(store_open(f->store, 3, &s), ==, 0);
        uint64_t id;
        g_assert_cmpint(store_current(s, &id), ==, -ENOENT);
        struct stat st;
        g_assert_cmpint(lstat(current, &st), ==, -1);
        g_assert_cmpint(errno, ==, ENOENT);
}

/* ---- crash at every step ---- */

static void crash_hook(StoreStep step, void *userdata) {
        if (step == *(StoreStep *) userdata)
                _exit(0);
}

static void test_crash(Fixture *f, gconstpointer data) {
        StoreStep k = (StoreStep) GPOINTER_TO_INT(data);
        _cleanup_(store_freep) Store *s = NULL;
        char fp_old[CERT_FINGERPRINT_MAX];

        /* Two generations before, keep 2: the third install also prunes one. */
        g_assert_cmpint(store_open(f->store, 2, &s), ==, 0);
        install(s, "zero.example.com", "self-signed", NULL);
        g_assert_cmpuint(install(s, "old.example.com", "bus", fp_old), ==, 2);
        s = store_free(s);  /* the child must be able to take the lock */

        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                Store *c = NULL;
                CertBundle *b = NULL;
                uint64_t id;
                if (store_open(f->store, 2, &c) < 0)
                        _exit(3);
                store_set_step_hook(c, crash_hook, &k);
                if (selfsigned_generate("new.example.com", NULL, 30, &b) < 0)
                        _exit(4);
                if (store_stage(c, b, "bus", &id) < 0 || store_commit(c, id) < 0 || store_prune(c) < 0)
                        _exit(5);
                _exit(2);  /* the hook never fired */
        }
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        g_assert_cmpint(store_open(f->store, 2, &s), ==, 0);
        assert_no_temporaries(f->store);
        uint64_t id = assert_current_sound(s, f->store);
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        g_assert_cmpint(store_get(s, id, &g), ==, 0);
        if (k < STORE_STEP_CURRENT_SWAPPED) {
                g_assert_cmpuint(id, ==, 2);
                g_assert_cmpstr(g->info->fingerprint, ==, fp_old);
        } else {
                g_assert_cmpuint(id, ==, 3);
                g_assert_cmpstr(g->info->common_name, ==, "new.example.com");
        }
        /* The new generation exists, complete, exactly from the rename on. */
        g_assert_cmpint(generation_exists(f->store, 3), ==, k >= STORE_STEP_GENERATION_RENAMED);
        g_assert_cmpint(generation_exists(f->store, 1), ==, k < STORE_STEP_PRUNED);

        /* Id 3 was handed out before the crash, whatever happened to it: never again. */
        _cleanup_(cert_bundle_freep) CertBundle *b = make_bundle("after.example.com");
        uint64_t next;
        g_assert_cmpint(store_stage(s, b, "bus", &next), ==, 0);
        g_assert_cmpuint(next, ==, 4);
        g_assert_cmpint(store_commit(s, next), ==, 0);
        g_assert_cmpuint(assert_current_sound(s, f->store), ==, 4);
}

static const char *const step_names[_STORE_STEP_MAX] = {
        [STORE_STEP_STAGE_WRITTEN] = "stage-written",
        [STORE_STEP_STAGE_SYNCED] = "stage-synced",
        [STORE_STEP_GENERATION_RENAMED] = "generation-renamed",
        [STORE_STEP_GENERATION_SYNCED] = "generation-synced",
        [STORE_STEP_LINK_CREATED] = "link-created",
        [STORE_STEP_CURRENT_SWAPPED] = "current-swapped",
        [STORE_STEP_CURRENT_SYNCED] = "current-synced",
        [STORE_STEP_PRUNED] = "pruned",
};

/* Every step fires once per install, in order. */
typedef struct StepLog {
        StoreStep steps[32];
        size_t n;
} StepLog;

static void log_hook(StoreStep step, void *userdata) {
        StepLog *l = userdata;
        if (l->n < G_N_ELEMENTS(l->steps))
                l->steps[l->n++] = step;
}

static void test_steps(Fixture *f, gconstpointer data) {
        _cleanup_(store_freep) Store *s = NULL;
        StepLog log = {};

        g_assert_cmpint(store_open(f->store, 2, &s), ==, 0);
        store_set_step_hook(s, log_hook, &log);
        install(s, "steps.example.com", "bus", NULL);
        g_assert_cmpint(store_prune(s), ==, 0);
        g_assert_cmpuint(log.n, ==, _STORE_STEP_MAX);
        for (size_t i = 0; i < log.n; i++)
                g_assert_cmpint(log.steps[i], ==, (StoreStep) i);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/store/empty", test_empty);
        ADD("/store/busy", test_busy);
        ADD("/store/paths", test_paths);
        ADD("/store/served-marker", test_served_marker);
        ADD("/store/install", test_install);
        ADD("/store/chain", test_chain);
        ADD("/store/bad-arguments", test_bad_arguments);
        ADD("/store/permissions", test_permissions);
        ADD("/store/rollback", test_rollback);
        ADD("/store/rollback-damaged", test_rollback_damaged);
        ADD("/store/prune", test_prune);
        ADD("/store/ids-never-reused", test_ids_never_reused);
        ADD("/store/steps", test_steps);
        ADD("/store/recover/temporaries", test_recover_temporaries);
        ADD("/store/recover/truncated-key", test_recover_truncated_key);
        ADD("/store/recover/truncated-fullchain", test_recover_truncated_fullchain);
        ADD("/store/recover/key-mismatch", test_recover_mismatch);
        ADD("/store/recover/dangling", test_recover_dangling);
        ADD("/store/recover/torn-combined", test_recover_torn_combined);
        ADD("/store/upgrade-adds-combined", test_upgrade_adds_combined);

        for (StoreStep k = 0; k < _STORE_STEP_MAX; k++) {
                g_autofree char *path = g_strdup_printf("/store/crash/%s", step_names[k]);
                g_test_add(path, Fixture, GINT_TO_POINTER(k), fixture_setup, test_crash, fixture_teardown);
        }
        return g_test_run();
}
