/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pending area of the store (store-pending.h). Every access goes through
 * descriptors beneath STORE/pending with O_NOFOLLOW, and ids are checked
 * before they name a directory, so nothing here reaches outside it.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "io-util.h"
#include "macro.h"
#include "store-pending.h"

#define PENDING_DIR "pending"
#define PENDING_FILE_MAX ((size_t) 64 * 1024)

void pending_request_done(PendingRequest *p) {
        if (!p)
                return;
        p->subject = mfree(p->subject);
        p->key_type = mfree(p->key_type);
}

void pending_request_array_free(PendingRequest *array, size_t n) {
        for (size_t i = 0; i < n; i++)
                pending_request_done(&array[i]);
        free(array);
}

int pending_new_id(char ret[static PENDING_ID_MAX]) {
        unsigned char b[16];

        if (RAND_bytes(b, sizeof(b)) != 1)
                return -EIO;
        for (size_t i = 0; i < sizeof(b); i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

bool pending_id_valid(const char *id) {
        return id && strlen(id) == PENDING_ID_MAX - 1 && strspn(id, "0123456789abcdef") == PENDING_ID_MAX - 1;
}

/* STORE/pending, created 0700 when create is set. Returns the fd, -ENOENT when absent, or -errno. */
static int open_pending(const char *store_dir, bool create) {
        _cleanup_close_ int sfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd;

        if (sfd < 0)
                return -errno;
        if (create && mkdirat(sfd, PENDING_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(sfd, PENDING_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int write_file_at(int dfd, const char *name, const char *data, size_t size) {
        _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return -errno;
        r = write_all(fd, data, size);
        if (r < 0)
                return r;
        return fsync(fd) < 0 ? -errno : 0;
}

static int key_pem(EVP_PKEY *key, char **ret, size_t *ret_size) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_secmem());
        char *data, *copy;
        long n;

        if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(bio, &data);
        copy = malloc((size_t) n + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, (size_t) n);
        copy[n] = 0;
        *ret = copy;
        *ret_size = (size_t) n;
        return 0;
}

/* Removes directory name beneath dfd with the files a request has; the key goes first. */
static int remove_request_dir(int dfd, const char *name) {
        static const char *const files[] = { "key.pem", "request.csr", "meta" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", name, files[i]) < 0)
                        return -ENOMEM;
                if (unlinkat(dfd, path, 0) < 0 && errno != ENOENT)
                        return -errno;
        }
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                return -errno;
        return 0;
}

int pending_write(const char *store_dir, const PendingRequest *p, EVP_PKEY *key, const char *csr_pem) {
        _cleanup_close_ int pfd = -EBADF, tfd = -EBADF;
        _cleanup_free_ char *meta = NULL;
        char tmp[PENDING_ID_MAX + 8];
        char *pem = NULL;
        size_t pem_size = 0;
        int r;

        if (!pending_id_valid(p->id) || strchr(p->subject, '\n') || strchr(p->key_type, '\n'))
                return -EINVAL;

        pfd = open_pending(store_dir, true);
        if (pfd < 0)
                return pfd;

        (void) snprintf(tmp, sizeof(tmp), ".tmp-%s", p->id);
        if (mkdirat(pfd, tmp, 0700) < 0)
                return -errno;
        tfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0) {
                r = -errno;
                goto fail;
        }

        if (asprintf(&meta, "subject=%s\nkey-type=%s\ncreated=%" PRIu64 "\nexpires=%" PRIu64 "\n",
                     p->subject, p->key_type, p->created_usec, p->expires_usec) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = key_pem(key, &pem, &pem_size);
        if (r >= 0) {
                r = write_file_at(tfd, "key.pem", pem, pem_size);
                erase_and_free(pem, pem_size);
        }
        if (r >= 0)
                r = write_file_at(tfd, "request.csr", csr_pem, strlen(csr_pem));
        if (r >= 0)
                r = write_file_at(tfd, "meta", meta, strlen(meta));
        if (r >= 0 && fsync(tfd) < 0)
                r = -errno;
        if (r >= 0 && renameat(pfd, tmp, pfd, p->id) < 0)
                r = -errno;
        if (r < 0)
                goto fail;
        /* The rename is durable with the directory; until then a crash leaves the temporary only. */
        return fsync(pfd) < 0 ? -errno : 0;

fail:
        (void) remove_request_dir(pfd, tmp);
        return r;
}

static int parse_meta(const char *text, PendingRequest *p) {
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq++ = 0;
                if (streq(line, "subject")) {
                        free(p->subject);
                        p->subject = strdup(eq);
                        if (!p->subject)
                                return -ENOMEM;
                } else if (streq(line, "key-type")) {
                        free(p->key_type);
                        p->key_type = strdup(eq);
                        if (!p->key_type)
                                return -ENOMEM;
                } else if (streq(line, "created"))
                        p->created_usec = strtoull(eq, NULL, 10);
                else if (streq(line, "expires"))
                        p->expires_usec = strtoull(eq, NULL, 10);
        }
        return p->subject && p->key_type && p->expires_usec > 0 ? 0 : -EBADMSG;
}

static int read_request(int pfd, const char *id, PendingRequest *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        PendingRequest p = {};
        size_t size;
        int r;

        if (asprintf(&path, "%s/meta", id) < 0)
                return -ENOMEM;
        r = read_file_at(pfd, path, PENDING_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        r = parse_meta(text, &p);
        if (r < 0) {
                pending_request_done(&p);
                return r;
        }
        (void) snprintf(p.id, sizeof(p.id), "%s", id);
        *ret = p;
        return 0;
}

static int request_cmp(const void *a, const void *b) {
        const PendingRequest *x = a, *y = b;
        if (x->created_usec != y->created_usec)
                return x->created_usec < y->created_usec ? -1 : 1;
        return strcmp(x->id, y->id);
}

int pending_list(const char *store_dir, PendingRequest **ret, size_t *ret_n) {
        _cleanup_close_ int pfd = open_pending(store_dir, false);
        PendingRequest *list = NULL;
        size_t n = 0;
        DIR *d;
        int r = 0;

        *ret = NULL;
        *ret_n = 0;
        if (pfd == -ENOENT)
                return 0;
        if (pfd < 0)
                return pfd;
        d = fdopendir(fcntl(pfd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return -errno;

        for (struct dirent *de; (de = readdir(d)); ) {
                PendingRequest p;
                if (!pending_id_valid(de->d_name))
                        continue;
                if (read_request(pfd, de->d_name, &p) < 0)
                        continue;   /* unreadable: not offered, and pending_find_key() skips it too */
                PendingRequest *nl = reallocarray(list, n + 1, sizeof(PendingRequest));
                if (!nl) {
                        pending_request_done(&p);
                        r = -ENOMEM;
                        break;
                }
                list = nl;
                list[n++] = p;
        }
        closedir(d);
        if (r < 0) {
                pending_request_array_free(list, n);
                return r;
        }
        if (n > 1)
                qsort(list, n, sizeof(PendingRequest), request_cmp);
        *ret = list;
        *ret_n = n;
        return 0;
}

int pending_clean(const char *store_dir) {
        _cleanup_close_ int pfd = open_pending(store_dir, false);
        DIR *d;

        if (pfd == -ENOENT)
                return 0;
        if (pfd < 0)
                return pfd;
        d = fdopendir(fcntl(pfd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d)); )
                /* A request whose writing a crash interrupted: never handed out, so never wanted. */
                if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        (void) remove_request_dir(pfd, de->d_name);
        closedir(d);
        return 0;
}

int pending_remove(const char *store_dir, const char *id) {
        _cleanup_close_ int pfd = -EBADF;
        struct stat st;
        int r;

        if (!pending_id_valid(id))
                return -ENOENT;
        pfd = open_pending(store_dir, false);
        if (pfd < 0)
                return pfd;
        if (fstatat(pfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        r = remove_request_dir(pfd, id);
        if (r < 0)
                return r;
        return fsync(pfd) < 0 ? -errno : 0;
}

int pending_prune(const char *store_dir, uint64_t now_usec) {
        PendingRequest *list = NULL;
        size_t n = 0;
        int r, removed = 0;

        r = pending_list(store_dir, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (list[i].expires_usec <= now_usec) {
                        r = pending_remove(store_dir, list[i].id);
                        if (r < 0 && r != -ENOENT)
                                break;
                        removed++;
                }
        pending_request_array_free(list, n);
        return r < 0 && r != -ENOENT ? r : removed;
}

static EVP_PKEY *read_key(int pfd, const char *id) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        char *text = NULL;
        size_t size = 0;
        EVP_PKEY *key;

        if (asprintf(&path, "%s/key.pem", id) < 0)
                return NULL;
        if (read_file_at(pfd, path, PENDING_FILE_MAX, &text, &size) < 0)
                return NULL;
        bio = BIO_new_mem_buf(text, (int) size);
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        erase_and_free(text, size);
        return key;
}

int pending_find_key(const char *store_dir, X509 *cert, EVP_PKEY **ret_key, char ret_id[static PENDING_ID_MAX]) {
        _cleanup_close_ int pfd = -EBADF;
        EVP_PKEY *pub = X509_get0_pubkey(cert);
        PendingRequest *list = NULL;
        size_t n = 0;
        int r;

        if (!pub)
                return 0;
        r = pending_list(store_dir, &list, &n);
        if (r < 0)
                return r;
        pfd = n > 0 ? open_pending(store_dir, false) : -ENOENT;

        r = 0;
        for (size_t i = 0; pfd >= 0 && i < n && r == 0; i++) {
                EVP_PKEY *key = read_key(pfd, list[i].id);
                if (key && EVP_PKEY_eq(pub, key) == 1) {
                        memcpy(ret_id, list[i].id, PENDING_ID_MAX);
                        *ret_key = key;
                        r = 1;
                } else
                        EVP_PKEY_free(key);
        }
        pending_request_array_free(list, n);
        return r;
}
