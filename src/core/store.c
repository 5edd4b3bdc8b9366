/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Store: the generations of installed certificates on disk and the `current`
 * symlink that consumers read.
 *
 *   DIR/generations/N/{fullchain.pem,cert.pem,chain.pem,ca.pem,key.pem,combined.pem,meta}
 *   DIR/current -> generations/N        (relative symlink)
 *   DIR/next-id                         (next generation id, decimal)
 *
 * It stages, commits, prunes and repairs. It deliberately does not validate
 * bundles (validate.c does that before stage), does not decide when to roll
 * back (the daemon does) and reloads nobody. Every path is resolved relative
 * to the directory fds taken at open, so the object keeps working on the
 * directory it opened even if a path component is swapped underneath it.
 *
 * Why it is crash safe: a generation only appears under its final name by a
 * rename of a complete, fsynced temporary directory; `current` only changes
 * by a rename of a complete temporary symlink; stray temporaries are removed
 * at open; and open checks that `current` is a complete generation whose key
 * matches its certificate, else points it at the newest one that is.
 */

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "io-util.h"
#include "store-forms.h"
#include "store-generation.h"
#include "store-cache.h"
#include "store.h"
#include "time-util.h"
#include "trusted-pem.h"

struct Store {
        StoreCache cache;
        uint64_t last_staged_id;   /* written and synced by this process: committing it needs no re-read */
        char *directory;       /* absolute, canonical */
        char *current_path;    /* directory + "/current" */
        int dir_fd;            /* also carries the flock against a second writer */
        int generations_fd;
        unsigned keep_generations;
        gid_t gid;             /* group vertex-tls, or (gid_t) -1 when it does not exist */
        StoreStepHook hook;
        void *userdata;
};

static void step(Store *s, StoreStep k) {
        if (s->hook)
                s->hook(k, s->userdata);
}

static void random_suffix(char buf[static 7]) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char r[6];

        /*
         * The kernel, not RAND_bytes(): OpenSSL's first random bytes set up its DRBG, which fetches
         * every cipher of the provider and keeps them (~100 KiB of heap for good, bench/footprint).
         */
        if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t) sizeof(r)) {
                /* Uniqueness, not secrecy, is what matters here; EEXIST retries cover collisions. */
                uint64_t t = now_usec(CLOCK_REALTIME) ^ (uint64_t) getpid();
                memcpy(r, &t, sizeof(r));
        }
        for (size_t i = 0; i < 6; i++)
                buf[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
        buf[6] = 0;
}

static int fix_owner_mode(Store *s, int fd, mode_t mode) {
        return store_fix_owner_mode(fd, s->gid, mode);
}

/* Creates name (never an existing one) and writes it, unsynced: store_stage() syncs the whole
 * generation at once. Returns 0 or -errno. */
static int create_file_at(Store *s, int dfd, const char *name, const void *data, size_t size, mode_t mode) {
        _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        int r;

        if (fd < 0)
                return negative_errno();
        r = fix_owner_mode(s, fd, mode);
        if (r < 0)
                return r;
        return write_all(fd, data, size);
}

static int uint64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/*
 * Ids of the numeric entries of generations/, ascending (complete or not).
 * ret_max also counts ".tmp-N-…" names, so an id being staged is never handed out twice.
 */
static int scan_ids(Store *s, uint64_t **ret, size_t *ret_n, uint64_t *ret_max) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0, allocated = 0;
        uint64_t max = 0;
        int fd;
        DIR *d;

        fd = openat(s->generations_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }

        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                const char *name = de->d_name;
                uint64_t id;

                if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
                        const char *p = name + strlen(TMP_PREFIX);
                        if (parse_id(p, strcspn(p, "-"), &id) >= 0 && id > max)
                                max = id;
                        continue;
                }
                if (parse_id(name, strlen(name), &id) < 0)
                        continue;
                if (id > max)
                        max = id;
                if (!ret)
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        uint64_t *nids = realloc(ids, a * sizeof(uint64_t));
                        if (!nids) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        ids = nids;
                        allocated = a;
                }
                ids[n++] = id;
        }
        int r = errno > 0 ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;

        if (ids)
                qsort(ids, n, sizeof(uint64_t), uint64_cmp);
        if (ret) {
                *ret = TAKE_PTR(ids);
                *ret_n = n;
        }
        if (ret_max)
                *ret_max = max;
        return 0;
}

/* Removes a directory beneath dfd and everything in it (our generations are flat; one level of depth is handled for safety). */
static int rm_rf_at(int dfd, const char *name, unsigned depth) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return unlinkat(dfd, name, 0) < 0 ? negative_errno() : 0;
                return errno == ENOENT ? 0 : negative_errno();
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        if (errno == EISDIR && depth < 2) {
                                int q = rm_rf_at(dirfd(d), de->d_name, depth + 1);
                                if (q < 0 && r == 0)
                                        r = q;
                        } else if (errno != ENOENT && r == 0)
                                r = negative_errno();
                }
        }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}

static int read_current_id(Store *s, uint64_t *ret) {
        char target[LINK_TARGET_MAX + 1];
        ssize_t n = readlinkat(s->dir_fd, CURRENT_LINK, target, sizeof(target));
        if (n < 0)
                return errno == EINVAL ? -EBADMSG : negative_errno();
        if ((size_t) n >= sizeof(target))
                return -EBADMSG;
        target[n] = 0;

        size_t prefix = strlen(GENERATIONS_DIR "/");
        if ((size_t) n <= prefix || memcmp(target, GENERATIONS_DIR "/", prefix) != 0)
                return -EBADMSG;
        if (parse_id(target + prefix, (size_t) n - prefix, ret) < 0)
                return -EBADMSG;
        return 0;
}

/* The atomic swap: a temporary symlink renamed over `current`, then the directory fsynced. */
static int commit_link(Store *s, uint64_t id) {
        char target[LINK_TARGET_MAX], tmp[sizeof(CURRENT_TMP_PREFIX) + 8];
        int r;

        snprintf(target, sizeof(target), GENERATIONS_DIR "/%" PRIu64, id);
        for (unsigned attempt = 0;; attempt++) {
                char suffix[7];
                random_suffix(suffix);
                snprintf(tmp, sizeof(tmp), CURRENT_TMP_PREFIX "-%s", suffix);
                if (symlinkat(target, s->dir_fd, tmp) >= 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return negative_errno();
        }
        step(s, STORE_STEP_LINK_CREATED);

        if (renameat(s->dir_fd, tmp, s->dir_fd, CURRENT_LINK) < 0) {
                r = negative_errno();
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        step(s, STORE_STEP_CURRENT_SWAPPED);

        if (fsync(s->dir_fd) < 0)
                return negative_errno();
        step(s, STORE_STEP_CURRENT_SYNCED);
        return 0;
}

static int newest_complete(Store *s, uint64_t below, uint64_t *ret) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n;
        int r;

        r = scan_ids(s, &ids, &n, NULL);
        if (r < 0)
                return r;
        for (size_t i = n; i > 0; i--) {
                if (ids[i - 1] >= below)
                        continue;
                r = check_generation(&s->cache, s->generations_fd, ids[i - 1], NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        *ret = ids[i - 1];
                        return 0;
                }
        }
        return -ENOENT;
}

static int remove_temporaries(Store *s) {
        int r = 0;

        for (unsigned pass = 0; pass < 2; pass++) {
                int dfd = pass == 0 ? s->generations_fd : s->dir_fd;
                int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                DIR *d = fdopendir(fd);
                if (!d) {
                        r = negative_errno();
                        safe_close(fd);
                        return r;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        int q = 0;
                        if (pass == 0 && strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
                                q = rm_rf_at(dfd, de->d_name, 0);
                        else if (pass == 1 && (strncmp(de->d_name, CURRENT_TMP_PREFIX, strlen(CURRENT_TMP_PREFIX)) == 0 ||
                                               streq(de->d_name, NEXT_ID_TMP)))
                                q = unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
                        if (q < 0 && r == 0)
                                r = q;
                }
                closedir(d);
        }
        return r;
}

/* Makes `current` a complete, matching generation, or absent when there is none. */
static int recover(Store *s) {
        uint64_t id;
        int r;

        r = remove_temporaries(s);
        if (r < 0)
                return r;

        r = read_current_id(s, &id);
        if (r >= 0) {
                r = load_generation(s->generations_fd, id, NULL, NULL);
                if (r >= 0)
                        return 0;
                if (r == -ENOMEM)
                        return r;
        } else if (r != -ENOENT && r != -EBADMSG)
                return r;

        r = newest_complete(s, UINT64_MAX, &id);
        if (r >= 0)
                return commit_link(s, id);
        if (r != -ENOENT)
                return r;

        /* Nothing to point at: a dangling or broken link must not stay for consumers to trip on. */
        if (unlinkat(s->dir_fd, CURRENT_LINK, 0) < 0) {
                if (errno == ENOENT)
                        return 0;
                return negative_errno();
        }
        if (fsync(s->dir_fd) < 0)
                return negative_errno();
        return 0;
}

/*
 * Generations written before the combined form existed get it now, so that a
 * consumer reading current/combined.pem finds it after an upgrade, and after a
 * rollback to such a generation too. A generation that already has one is
 * left alone: a torn one makes it incomplete (store_form_check()).
 */
static int add_missing_forms(Store *s) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n;
        int r;

        r = scan_ids(s, &ids, &n, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int fd = -EBADF;
                char name[21];

                generation_name(ids[i], name);
                fd = open_dir_at(s->generations_fd, name);
                if (fd < 0)
                        continue;  /* not a generation: nothing a consumer could read */
                if (faccessat(fd, STORE_FORM_COMBINED, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT)
                        continue;
                r = check_generation(&s->cache, s->generations_fd, ids[i], NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;  /* incomplete: prune's business */
                r = store_form_add(fd, s->gid);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* follow: the store directory itself may be a symlink an administrator set up; nothing beneath it may. */
static int make_dir_at(Store *s, int dfd, const char *name, bool follow, bool *ret_created) {
        _cleanup_close_ int fd = -EBADF;
        bool created = false;
        int r;

        if (mkdirat(dfd, name, 0700) >= 0)
                created = true;
        else if (errno != EEXIST)
                return negative_errno();

        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return negative_errno();
        if (created) {
                r = fix_owner_mode(s, fd, MODE_DIR);
                if (r < 0)
                        return r;
        }
        if (ret_created)
                *ret_created = created;
        return TAKE_FD(fd);
}

/* The path as configured, made absolute, symlinks left alone: consumers are configured with the same path. */
static int absolute_path(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        char *p;

        if (path[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return negative_errno();
        }
        if (asprintf(&p, "%s%s%s", cwd ?: "", cwd ? "/" : "", path) < 0)
                return -ENOMEM;
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        *ret = p;
        return 0;
}

int store_open(const char *directory, unsigned keep_generations, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        bool created;
        int r;

        assert(directory);
        assert(ret);

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->generations_fd = -EBADF;
        s->keep_generations = keep_generations < 2 ? 2 : keep_generations;
        s->gid = (gid_t) -1;

        /* The group of consumers; absent on development machines, then files keep our group. Only
         * root needs to look it up: the unit runs us with Group=vertex-tls, so our files get it by
         * themselves, and skipping the NSS lookup keeps its modules (~0.6 MiB) out of the daemon. */
        if (geteuid() == 0) {
                char buf[4096];
                struct group grp, *result = NULL;
                if (getgrnam_r(STORE_GROUP, &grp, buf, sizeof(buf), &result) == 0 && result)
                        s->gid = result->gr_gid;
        }

        r = make_dir_at(s, AT_FDCWD, directory, true, &created);
        if (r < 0)
                return r;
        s->dir_fd = r;

        /* One writer only: recovery would otherwise delete another writer's temporaries mid-install. */
        if (flock(s->dir_fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();

        r = absolute_path(directory, &s->directory);
        if (r < 0)
                return r;
        if (asprintf(&s->current_path, "%s/" CURRENT_LINK, s->directory) < 0) {
                s->current_path = NULL;
                return -ENOMEM;
        }

        r = make_dir_at(s, s->dir_fd, GENERATIONS_DIR, false, &created);
        if (r < 0)
                return r;
        s->generations_fd = r;
        if (created && fsync(s->dir_fd) < 0)
                return negative_errno();

        r = recover(s);
        if (r < 0)
                return r;
        r = add_missing_forms(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        safe_close(s->generations_fd);
        safe_close(s->dir_fd);
        verified_clear(&s->cache);
        free(s->directory);
        free(s->current_path);
        free(s);
        return NULL;
}

const char *store_directory(Store *s) {
        return s->directory;
}

const char *store_current_path(Store *s) {
        return s->current_path;
}

void store_set_step_hook(Store *s, StoreStepHook hook, void *userdata) {
        s->hook = hook;
        s->userdata = userdata;
}

static int read_next_id(Store *s, uint64_t *ret) {
        _cleanup_erase_ char *data = NULL;
        size_t size;
        int r;

        r = read_file_at(s->dir_fd, NEXT_ID_FILE, STORE_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        while (size > 0 && data[size - 1] == '\n')
                size--;
        return parse_id(data, size, ret);
}

/*
 * Hands out a new id: one above everything ever seen. The highest id is
 * remembered in next-id so that an id is never reused, even when the newest
 * generations were removed by hand, by prune of incomplete ones, or an
 * install failed after reserving it (ids appear in logs and on the bus).
 * next-id is replaced atomically; it is not fsynced on its own because
 * the generation directory, fsynced before any commit, records the id too
 * and the maximum of both is taken.
 */
static int allocate_id(Store *s, uint64_t *ret) {
        uint64_t max = 0, next = 0, id;
        char text[32];
        int r;

        r = scan_ids(s, NULL, NULL, &max);
        if (r < 0)
                return r;
        r = read_next_id(s, &next);
        if (r < 0 && r != -ENOENT && r != -EINVAL && r != -ERANGE && r != -EBADMSG && r != -EBADFD && r != -EFBIG)
                return r;
        if (max == UINT64_MAX || next == UINT64_MAX)
                return -ERANGE;
        id = max + 1 > next ? max + 1 : next;

        int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", id + 1);
        _cleanup_close_ int fd = openat(s->dir_fd, NEXT_ID_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        r = fix_owner_mode(s, fd, MODE_PUBLIC);
        if (r < 0)
                return r;
        r = write_all(fd, text, (size_t) n);
        if (r < 0)
                return r;
        /* No fsync of its own: the syncfs() of the staged generation makes it durable with the rest,
         * and a torn next-id falls back to the generation directories anyway. */
        if (renameat(s->dir_fd, NEXT_ID_TMP, s->dir_fd, NEXT_ID_FILE) < 0)
                return negative_errno();

        *ret = id;
        return 0;
}

static bool source_valid(const char *source) {
        if (isempty(source) || strlen(source) > 64)
                return false;
        for (const char *p = source; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int store_files_from_bundle(const CertBundle *b, StoreFiles *ret) {
        StoreFiles f = {};
        int r;

        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                r = cert_bundle_part_pem(b, part, &f.pem[part], &f.size[part]);
                if (r < 0) {
                        store_files_done(&f);
                        return r;
                }
        }
        *ret = f;
        return 0;
}

void store_files_done(StoreFiles *f) {
        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                if (f->pem[part])
                        erase_and_free(f->pem[part], f->size[part]);
                f->pem[part] = NULL;
                f->size[part] = 0;
        }
}

int store_stage(Store *s, const CertBundle *b, const char *source, uint64_t *ret_id) {
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        StoreFiles files;
        int r;

        if (!b->leaf || !b->key)
                return -EINVAL;
        r = cert_info_from_bundle(b, &info);
        if (r < 0)
                return r;
        r = store_files_from_bundle(b, &files);
        if (r < 0)
                return r;
        r = store_stage_files(s, &files, info, source, ret_id);
        store_files_done(&files);
        return r;
}

/* The combined form (store-forms.h), from the very texts of fullchain.pem and key.pem. */
static int stage_combined(Store *s, int tmp_fd, const StoreFiles *files) {
        char *combined;
        size_t size;
        int r;

        r = store_form_combined(files->pem[CERT_BUNDLE_FULLCHAIN] ?: "", files->size[CERT_BUNDLE_FULLCHAIN],
                                files->pem[CERT_BUNDLE_KEY], files->size[CERT_BUNDLE_KEY], &combined, &size);
        if (r < 0)
                return r;
        r = create_file_at(s, tmp_fd, STORE_FORM_COMBINED, combined, size, MODE_KEY);
        erase_and_free(combined, size);
        return r;
}

int store_stage_files(Store *s, const StoreFiles *files, const CertInfo *info, const char *source, uint64_t *ret_id) {
        char tmp[sizeof(TMP_PREFIX) + 21 + 8], final[21];
        _cleanup_close_ int tmp_fd = -EBADF;
        _cleanup_free_ char *meta = NULL;
        bool renamed = false;
        uint64_t id;
        int r;

        assert(s);
        assert(files);
        assert(info);

        if (files->size[CERT_BUNDLE_CERT] == 0 || files->size[CERT_BUNDLE_KEY] == 0 || !source_valid(source))
                return -EINVAL;

        r = allocate_id(s, &id);
        if (r < 0)
                return r;
        generation_name(id, final);

        for (unsigned attempt = 0;; attempt++) {
                char suffix[7];
                random_suffix(suffix);
                snprintf(tmp, sizeof(tmp), TMP_PREFIX "%" PRIu64 "-%s", id, suffix);
                if (mkdirat(s->generations_fd, tmp, 0700) >= 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return negative_errno();
        }

        tmp_fd = open_dir_at(s->generations_fd, tmp);
        if (tmp_fd < 0) {
                r = tmp_fd;
                goto fail;
        }
        r = fix_owner_mode(s, tmp_fd, MODE_DIR);
        if (r < 0)
                goto fail;

        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                r = create_file_at(s, tmp_fd, cert_bundle_part_file(part), files->pem[part] ?: "",
                                   files->size[part], part == CERT_BUNDLE_KEY ? MODE_KEY : MODE_PUBLIC);
                if (r < 0)
                        goto fail;
        }

        r = stage_combined(s, tmp_fd, files);
        if (r < 0)
                goto fail;

        uint64_t installed_usec = now_usec(CLOCK_REALTIME);
        if (asprintf(&meta, "source=%s\ninstalled-at=%" PRIu64 "\n", source, installed_usec) < 0) {
                meta = NULL;
                r = -ENOMEM;
                goto fail;
        }
        r = create_file_at(s, tmp_fd, META_FILE, meta, strlen(meta), MODE_PUBLIC);
        if (r < 0)
                goto fail;
        step(s, STORE_STEP_STAGE_WRITTEN);

        /* One syncfs() instead of an fsync() per file and one for the directory: each of those is a
         * journal commit plus a disk cache flush (about 4 ms here), the one call does all seven files,
         * the temporary directory and next-id in a single commit. Durability is the same: nothing is
         * renamed into place before this returns. */
        if (syncfs(tmp_fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        step(s, STORE_STEP_STAGE_SYNCED);

        if (renameat2(s->generations_fd, tmp, s->generations_fd, final, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                goto fail;
        }
        renamed = true;
        step(s, STORE_STEP_GENERATION_RENAMED);

        if (fsync(s->generations_fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        step(s, STORE_STEP_GENERATION_SYNCED);

        /* Written from files we hold, and synced: no need to read it back to know it is whole. */
        CertInfo *copy = NULL;
        if (cert_info_dup(info, &copy) >= 0)
                (void) verified_add(&s->cache, id, source, installed_usec, copy);
        s->last_staged_id = id;

        if (ret_id)
                *ret_id = id;
        return 0;

fail:
        /* A renamed generation is complete; a failed fsync of generations/ leaves it for prune. */
        if (!renamed)
                (void) rm_rf_at(s->generations_fd, tmp, 0);
        return r;
}

int store_commit(Store *s, uint64_t id) {
        int r;

        assert(s);

        /* Going back to an older generation (rollback, revert after a failed reload) is rare and is
         * where a generation damaged on disk since it was checked would hurt: read it again. */
        if (id == s->last_staged_id)
                r = check_generation(&s->cache, s->generations_fd, id, NULL);
        else
                r = load_generation(s->generations_fd, id, NULL, NULL);
        if (r == -EBADMSG)
                return -ENOENT;
        if (r < 0)
                return r;
        return commit_link(s, id);
}

int store_current(Store *s, uint64_t *ret_id) {
        uint64_t id;
        int r;

        assert(s);

        r = read_current_id(s, &id);
        if (r < 0)
                return r == -EBADMSG ? -ENOENT : r;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int store_previous(Store *s, uint64_t *ret_id) {
        uint64_t current, id;
        int r;

        assert(s);

        r = store_current(s, &current);
        if (r < 0)
                return r;
        r = newest_complete(s, current, &id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int store_prune(Store *s) {
        _cleanup_free_ uint64_t *ids = NULL;
        uint64_t current = 0;
        unsigned kept = 0;
        size_t n;
        int r;

        assert(s);

        r = store_current(s, &current);
        if (r < 0 && r != -ENOENT)
                return r;
        r = scan_ids(s, &ids, &n, NULL);
        if (r < 0)
                return r;

        /* Newest first: keep the keep_generations newest complete ones, and always the current one. */
        for (size_t i = n; i > 0; i--) {
                uint64_t id = ids[i - 1];
                int q = check_generation(&s->cache, s->generations_fd, id, NULL);
                if (q == -ENOMEM)
                        return q;
                if (q >= 0 && (id == current || kept < s->keep_generations)) {
                        kept++;
                        continue;
                }
                if (id == current)
                        continue;  /* broken but current: recovery's business at the next open, never ours */

                /* Renamed away first, so a reader sees a generation either whole or gone. */
                char name[21], doomed[sizeof(TMP_PREFIX) + 21 + 8];
                generation_name(id, name);
                snprintf(doomed, sizeof(doomed), TMP_PREFIX "%s-prune", name);
                if (renameat2(s->generations_fd, name, s->generations_fd, doomed, RENAME_NOREPLACE) < 0)
                        return negative_errno();
                verified_forget(&s->cache, id);
                q = rm_rf_at(s->generations_fd, doomed, 0);
                if (q < 0)
                        return q;
        }

        /* No fsync: a removal lost in a crash leaves an old generation, or a .tmp-N-prune that
         * recovery removes; neither can be served by mistake. */
        step(s, STORE_STEP_PRUNED);
        return 0;
}

/* ------------------------------------------------ reading back, cached */

int store_generation_has_files(Store *s, uint64_t id, const StoreFiles *files) {
        _cleanup_close_ int dfd = -EBADF;
        char name[32];
        int r = 1;

        assert(s);
        assert(files);

        (void) snprintf(name, sizeof(name), "%" PRIu64, id);
        dfd = openat(s->generations_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();

        for (CertBundlePart p = 0; r > 0 && p < _CERT_BUNDLE_PART_MAX; p++) {
                char *data = NULL;
                size_t size = 0;
                int k;

                /* One byte more than expected is enough to tell a longer file. */
                k = read_file_at(dfd, cert_bundle_part_file(p), files->size[p] + 1, &data, &size);
                if (k == -EFBIG)
                        r = 0;
                else if (k < 0)
                        r = k;
                else if (size != files->size[p] || (size > 0 && memcmp(data, files->pem[p], size) != 0))
                        r = 0;
                if (data)
                        erase_and_free(data, size);
        }
        return r;
}

int store_load(Store *s, uint64_t id, CertBundle **ret) {
        assert(s);
        assert(ret);
        return load_generation(s->generations_fd, id, ret, NULL);
}

static int generation_new(Store *s, uint64_t id, StoreGeneration **ret) {
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        VerifiedGeneration *v;
        int r;

        r = check_generation(&s->cache, s->generations_fd, id, &v);
        if (r < 0)
                return r;

        g = calloc(1, sizeof(StoreGeneration));
        if (!g)
                return -ENOMEM;
        g->id = id;
        g->installed_usec = v->installed_usec;
        g->source = strdup(v->source);
        if (!g->source)
                return -ENOMEM;
        r = cert_info_dup(v->info, &g->info);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

int store_get(Store *s, uint64_t id, StoreGeneration **ret) {
        assert(s);
        assert(ret);
        return generation_new(s, id, ret);
}

int store_list(Store *s, StoreGeneration **ret, size_t *ret_n) {
        _cleanup_free_ uint64_t *ids = NULL;
        StoreGeneration *array = NULL;
        size_t n, k = 0;
        int r;

        assert(s);
        assert(ret);
        assert(ret_n);

        r = scan_ids(s, &ids, &n, NULL);
        if (r < 0)
                return r;
        array = calloc(n ? n : 1, sizeof(StoreGeneration));
        if (!array)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                StoreGeneration *g;
                r = generation_new(s, ids[i], &g);
                if (r == -EBADMSG || r == -ENOENT)
                        continue;  /* incomplete: not a generation anyone can use */
                if (r < 0) {
                        store_generation_array_free(array, k);
                        return r;
                }
                array[k++] = *g;
                free(g);
        }
        *ret = array;
        *ret_n = k;
        return 0;
}

StoreGeneration *store_generation_free(StoreGeneration *g) {
        if (!g)
                return NULL;
        free(g->source);
        cert_info_free(g->info);
        free(g);
        return NULL;
}

void store_generation_array_free(StoreGeneration *array, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(array[i].source);
                cert_info_free(array[i].info);
        }
        free(array);
}
