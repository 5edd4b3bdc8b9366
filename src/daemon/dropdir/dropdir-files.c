/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop directory's files, below the watch: listing the directory,
 * reading a candidate bundle safely beneath it, the content hashes that say
 * "seen before", and what happens to the files afterwards (removed once
 * installed, moved to rejected/ with a NAME.error beside them). It works on
 * the directory's fd only; which names form a bundle, when to offer it and
 * whom to tell is dropdir.c's business.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dropdir-files.h"
#include "openssl-util.h"

/* ------------------------------------------------------------- hashing */

static int sha256_hex(EVP_MD_CTX *ctx, char ret[static 65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32)
                return -EIO;
        for (unsigned i = 0; i < len; i++)
                sprintf(ret + 2 * i, "%02x", md[i]);
        ret[64] = 0;
        return 0;
}

static int update_part(EVP_MD_CTX *ctx, unsigned char tag, const void *data, size_t size) {
        uint64_t n = size;
        if (EVP_DigestUpdate(ctx, &tag, 1) != 1 ||
            EVP_DigestUpdate(ctx, &n, sizeof(n)) != 1 ||
            (size > 0 && EVP_DigestUpdate(ctx, data, size) != 1))
                return -EIO;
        return 0;
}

/* SHA-256 over certificate, key and authority, each tagged and length-prefixed. */
int bundle_hash(DropBundle *b) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return -EIO;
        if (update_part(ctx, 'c', b->certificate, b->certificate_size) < 0 ||
            update_part(ctx, 'k', b->key, b->key_size) < 0 ||
            update_part(ctx, 'a', b->authority, b->authority_size) < 0)
                return -EIO;
        return sha256_hex(ctx, b->content_hash);
}

/* For refusals nothing was read: remember the files by name and inode instead. */
int identity_hash(int dir_fd, char *const *paths, char ret[static 65]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return -EIO;
        for (size_t p = 0; p < _DROP_PART_MAX; p++) {
                struct stat st = {};
                uint64_t v[4];

                if (!paths[p])
                        continue;
                (void) fstatat(dir_fd, paths[p], &st, AT_SYMLINK_NOFOLLOW);
                v[0] = st.st_dev;
                v[1] = st.st_ino;
                v[2] = (uint64_t) st.st_size;
                v[3] = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
                if (update_part(ctx, 'n', paths[p], strlen(paths[p])) < 0 ||
                    update_part(ctx, 'i', v, sizeof(v)) < 0)
                        return -EIO;
        }
        return sha256_hex(ctx, ret);
}

/* ------------------------------------------------------------ outcomes */

/*
 * Moves name (in the drop directory) to target in target_fd, but only if it
 * is still the file described by expected (when given): checking first and
 * renaming after would race with an operator renaming a newer file over
 * it, so it is moved first and checked where it landed. A newer file is put
 * back (unless yet another one took its place, which supersedes it).
 * Returns 1 when moved, 0 when not (vanished, or newer), -errno.
 */
int take_file(int dir_fd, const char *name, const struct stat *expected, int target_fd, const char *target) {
        struct stat st;

        if (renameat2(dir_fd, name, target_fd, target, RENAME_NOREPLACE) < 0) {
                /* Filesystems without RENAME_NOREPLACE: the target names are ours and were checked free. */
                if (errno != EINVAL || renameat(dir_fd, name, target_fd, target) < 0)
                        return errno == ENOENT ? 0 : negative_errno();
        }
        if (!expected)
                return 1;
        if (fstatat(target_fd, target, &st, AT_SYMLINK_NOFOLLOW) >= 0 && same_file(&st, expected))
                return 1;
        if (renameat2(target_fd, target, dir_fd, name, RENAME_NOREPLACE) < 0 && errno == EEXIST)
                (void) unlinkat(target_fd, target, 0);
        return 0;
}

/*
 * head + tail as a name in rejected/, within NAME_MAX (255 bytes). When longer, head is cut (never
 * inside a UTF-8 character) and "~" plus the first 8 hex digits of the SHA-256 of head take its
 * place before tail (".crt", ".1.key", ".error"), so that two long names stay apart, and a
 * bundle's files and its .error file carry the same mark: "console…~1a2b3c4d.error" beside
 * "console…~1a2b3c4d.crt". The README documents this.
 */
static char *fit_name(const char *head, const char *tail) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        size_t h = strlen(head), t = strlen(tail), keep;
        char hash[65], *s;

        if (h + t <= NAME_MAX)
                return asprintf(&s, "%s%s", head, tail) < 0 ? NULL : s;
        if (t + 9 >= NAME_MAX)
                return NULL;

        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, head, h) != 1 || sha256_hex(ctx, hash) < 0)
                return NULL;
        keep = NAME_MAX - t - 9;
        while (keep > 0 && ((unsigned char) head[keep] & 0xC0) == 0x80)
                keep--;
        return asprintf(&s, "%.*s~%.8s%s", (int) keep, head, hash, tail) < 0 ? NULL : s;
}

/* Where files of bundle `name` go in rejected/: unchanged names, or NAME.N… on a clash; within NAME_MAX. */
static char *rejected_name(const char *name, const char *file, unsigned n) {
        _cleanup_free_ char *tail = NULL;
        size_t l = strlen(name);

        /* A file named after its bundle is cut like the bundle's .error file, so the two match. */
        if (strncmp(file, name, l) == 0 && (file[l] == '.' || file[l] == '-' || file[l] == 0)) {
                if (n == 0)
                        return fit_name(name, file + l);
                if (asprintf(&tail, ".%u%s", n, file + l) < 0)
                        return NULL;
                return fit_name(name, tail);
        }
        if (n == 0)
                return fit_name(file, "");
        if (asprintf(&tail, ".%u", n) < 0)
                return NULL;
        return fit_name(file, tail);
}

/*
 * Moves the files to rejected/ beside NAME.error. Files that changed since
 * `lst` (when given) stay. Returns 0, or -errno (-EROFS, -EACCES… for a
 * directory we may not change: the caller remembers the content instead).
 */
static void free_names(char *names[static _DROP_PART_MAX]) {
        for (size_t p = 0; p < _DROP_PART_MAX; p++)
                names[p] = mfree(names[p]);
}

/* The names in rejected/ of a bundle's files and its .error file, for attempt n; 1 when one is taken. */
static int rejected_names(int rfd, const char *name, char *const *paths, unsigned n,
                          char *ret[static _DROP_PART_MAX], char **ret_error_file) {
        bool clash = false;

        char tail[32];

        (void) snprintf(tail, sizeof(tail), n == 0 ? ".error" : ".%u.error", n);
        *ret_error_file = fit_name(name, tail);
        if (!*ret_error_file)
                return -ENOMEM;
        if (faccessat(rfd, *ret_error_file, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                clash = true;
        for (size_t p = 0; p < _DROP_PART_MAX; p++) {
                if (!paths[p])
                        continue;
                ret[p] = rejected_name(name, paths[p], n);
                if (!ret[p])
                        return -ENOMEM;
                if (faccessat(rfd, ret[p], F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                        clash = true;
        }
        return clash;
}

int move_to_rejected(int dir_fd, const char *name, char *const *paths, const struct stat *lst,
                     const char *error_name, const char *message) {
        _cleanup_close_ int rfd = -EBADF, efd = -EBADF;
        _cleanup_free_ char *error_file = NULL, *text = NULL;
        char *targets[_DROP_PART_MAX] = {};
        int r;

        if (mkdirat(dir_fd, REJECTED_DIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        rfd = openat(dir_fd, REJECTED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rfd < 0)
                return negative_errno();

        for (unsigned n = 0; n < 10000; n++) {
                error_file = mfree(error_file);
                free_names(targets);
                r = rejected_names(rfd, name, paths, n, targets, &error_file);
                if (r <= 0)
                        break;
        }

        for (size_t p = 0; r >= 0 && p < _DROP_PART_MAX; p++)
                /* rename moves a symlink itself, never its target. */
                if (paths[p])
                        r = take_file(dir_fd, paths[p], lst ? &lst[p] : NULL, rfd, targets[p]);
        free_names(targets);
        if (r < 0)
                return r;

        if (asprintf(&text, "%s: %s\n", error_name, message) < 0)
                return -ENOMEM;
        efd = openat(rfd, error_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (efd < 0)
                return negative_errno();
        size_t len = strlen(text);
        if (write(efd, text, len) != (ssize_t) len)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* Removes installed (or already installed) files that are unchanged since they were read. */
int remove_files(int dir_fd, char *const *paths, const struct stat *lst) {
        int ret = 0, r;

        for (size_t p = 0; p < _DROP_PART_MAX; p++) {
                _cleanup_free_ char *tmp = NULL;

                if (!paths[p])
                        continue;
                /* Hidden, so no scan takes it for a bundle in the instant it exists; short, so that
                 * a 255-byte name has a temporary name too. */
                if (asprintf(&tmp, DROP_REMOVING_PREFIX "%zu", p) < 0)
                        return -ENOMEM;
                (void) unlinkat(dir_fd, tmp, 0);   /* left over from a crash */
                r = take_file(dir_fd, paths[p], &lst[p], dir_fd, tmp);
                if (r > 0 && unlinkat(dir_fd, tmp, 0) < 0)
                        r = negative_errno();
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

/* ------------------------------------------------------------- reading */

/*
 * Reads every part of a candidate into *ret. Returns 0; -EPERM with
 * *refusal set; -ENOENT when a file vanished or changed under us; -errno.
 */
int read_candidate(int dir_fd, uint64_t max_file_size, const Candidate *c, Current *ret, DropRefusal *refusal) {
        _cleanup_(current_done) Current cur = {};
        DropFile files[_DROP_PART_MAX] = {};
        int r = 0;

        for (size_t p = 0; p < _DROP_PART_MAX; p++) {
                if (!c->paths[p])
                        continue;
                cur.paths[p] = strdup(c->paths[p]);
                if (!cur.paths[p]) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (fstatat(dir_fd, c->paths[p], &cur.lst[p], AT_SYMLINK_NOFOLLOW) < 0) {
                        r = negative_errno();
                        goto finish;
                }
                r = drop_file_read(dir_fd, c->paths[p], max_file_size, &files[p], refusal);
                if (r < 0)
                        goto finish;
        }

        cur.kubelet = c->kubelet;
        cur.bundle.name = strdup(c->name);
        if (!cur.bundle.name) {
                r = -ENOMEM;
                goto finish;
        }
        cur.bundle.certificate = TAKE_PTR(files[DROP_PART_CERT].data);
        cur.bundle.certificate_size = files[DROP_PART_CERT].size;
        cur.bundle.key = TAKE_PTR(files[DROP_PART_KEY].data);
        cur.bundle.key_size = files[DROP_PART_KEY].size;
        cur.bundle.authority = TAKE_PTR(files[DROP_PART_CA].data);
        cur.bundle.authority_size = files[DROP_PART_CA].size;
        r = bundle_hash(&cur.bundle);
        if (r < 0)
                goto finish;

        *ret = cur;
        cur = (Current) {};
finish:
        for (size_t p = 0; p < _DROP_PART_MAX; p++)
                drop_file_done(&files[p]);
        return r;
}

bool holds_private_key(const char *data, size_t size) {
        return memmem(data, size, "PRIVATE KEY-----", strlen("PRIVATE KEY-----")) != NULL;
}

void drop_bundle_done(DropBundle *b) {
        free(b->name);
        free(b->certificate);
        if (b->key)
                erase_and_free(b->key, b->key_size);
        free(b->authority);
        *b = (DropBundle) {};
}

void current_done(Current *c) {
        drop_bundle_done(&c->bundle);
        for (size_t p = 0; p < _DROP_PART_MAX; p++)
                free(c->paths[p]);
        *c = (Current) {};
}

void candidate_done(Candidate *c) {
        free(c->name);
        for (size_t p = 0; p < _DROP_PART_MAX; p++)
                free(c->paths[p]);
        *c = (Candidate) {};
}

void candidates_free(Candidate *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                candidate_done(&c[i]);
        free(c);
}

void listing_done(Listing *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
        free(l->types);
}

int listing_add(Listing *l, const char *name, mode_t type) {
        if (l->n + 1 >= l->allocated) {
                size_t k = l->allocated ? l->allocated * 2 : 64;
                char **nn = reallocarray(l->names, k, sizeof(char *));
                if (!nn)
                        return -ENOMEM;
                l->names = nn;
                mode_t *nt = reallocarray(l->types, k, sizeof(mode_t));
                if (!nt)
                        return -ENOMEM;
                l->types = nt;
                l->allocated = k;
        }
        l->names[l->n] = strdup(name);
        if (!l->names[l->n])
                return -ENOMEM;
        l->types[l->n] = type;
        l->n++;
        l->names[l->n] = NULL;
        return 0;
}

mode_t dtype_to_mode(unsigned char t) {
        switch (t) {
        case DT_REG:  return S_IFREG;
        case DT_DIR:  return S_IFDIR;
        case DT_LNK:  return S_IFLNK;
        case DT_FIFO: return S_IFIFO;
        case DT_SOCK: return S_IFSOCK;
        case DT_CHR:  return S_IFCHR;
        case DT_BLK:  return S_IFBLK;
        default:      return 0;
        }
}

/* Lists a directory beneath the drop directory ("." or "..data"). */
int list_dir(int dir_fd, const char *path, Listing *ret) {
        _cleanup_(listing_done) Listing l = {};
        DIR *dir;
        int fd, r = 0;

        fd = safe_open_beneath(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fd;
        dir = fdopendir(fd);
        if (!dir) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        for (;;) {
                struct dirent *de;
                mode_t type;

                errno = 0;
                de = readdir(dir);
                if (!de) {
                        if (errno != 0)
                                r = negative_errno();
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                type = dtype_to_mode(de->d_type);
                if (type == 0) {
                        struct stat st;
                        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        type = st.st_mode & S_IFMT;
                }
                r = listing_add(&l, de->d_name, type);
                if (r < 0)
                        break;
        }
        closedir(dir);
        if (r < 0)
                return r;
        *ret = l;
        l = (Listing) {};
        return 0;
}

int candidates_add(Candidate **list, size_t *n, Candidate *c) {
        Candidate *nl = reallocarray(*list, *n + 1, sizeof(Candidate));
        if (!nl)
                return -ENOMEM;
        *list = nl;
        nl[(*n)++] = *c;
        *c = (Candidate) {};
        return 0;
}

int candidate_cmp(const void *a, const void *b) {
        const Candidate *x = a, *y = b;
        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return strcmp(x->name, y->name);
}

void incomplete_message(const Candidate *c, CertErrorCode *ret_code, char *buf, size_t size) {
        if (c->paths[DROP_PART_CERT]) {
                *ret_code = CERT_ERROR_MISSING_KEY;
                (void) snprintf(buf, size, "no private key arrived for '%s'", c->paths[DROP_PART_CERT]);
        } else if (c->paths[DROP_PART_KEY]) {
                *ret_code = CERT_ERROR_MALFORMED;
                (void) snprintf(buf, size, "no certificate arrived for '%s'", c->paths[DROP_PART_KEY]);
        } else {
                /* The CA of a bundle already installed (it came last), or of one never dropped. */
                *ret_code = CERT_ERROR_MALFORMED;
                (void) snprintf(buf, size,
                                "the authority '%s' arrived without a certificate and a key; a certificate "
                                "and its key are installed as soon as both are there, so move the authority "
                                "in first, or drop all three again",
                                c->paths[DROP_PART_CA] ?: c->name);
        }
}

int mkdir_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        return 0;
}

/* Whoever can write here can make us install a certificate. Returns 0 or -EPERM. */
int check_directory(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_uid != 0 && st.st_uid != geteuid()))
                return -EPERM;
        return 0;
}
