/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading generations back (store.h): each checked whole once per process
 * and remembered, since a generation directory never changes once renamed
 * into place; commit, prune, previous and the bus's property reads then
 * cost no parsing.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "io-util.h"
#include "store-generation.h"
#include "store-internal.h"
#include "store.h"

VerifiedGeneration *verified_find(Store *s, uint64_t id) {
        for (size_t i = 0; i < s->n_verified; i++)
                if (s->verified[i].id == id)
                        return &s->verified[i];
        return NULL;
}

void verified_forget(Store *s, uint64_t id) {
        VerifiedGeneration *v = verified_find(s, id);
        if (!v)
                return;
        free(v->source);
        cert_info_free(v->info);
        *v = s->verified[--s->n_verified];
}

/* Takes ownership of info. Returns 0 or -ENOMEM. */
int verified_add(Store *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info) {
        _cleanup_(cert_info_freep) CertInfo *owned = info;

        verified_forget(s, id);
        VerifiedGeneration *array = reallocarray(s->verified, s->n_verified + 1, sizeof(VerifiedGeneration));
        if (!array)
                return -ENOMEM;
        s->verified = array;
        char *copy = strdup(source);
        if (!copy)
                return -ENOMEM;
        s->verified[s->n_verified++] = (VerifiedGeneration) {
                .id = id,
                .source = copy,
                .installed_usec = installed_usec,
                .info = TAKE_PTR(owned),
        };
        return 0;
}

int check_generation(Store *s, uint64_t id, VerifiedGeneration **ret) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        CertInfo *info = NULL;
        Meta meta = {};
        int r;

        VerifiedGeneration *v = verified_find(s, id);
        if (!v) {
                r = load_generation(s->generations_fd, id, &b, &meta);
                if (r < 0)
                        return r;
                r = cert_info_from_bundle(b, &info);
                if (r >= 0)
                        r = verified_add(s, id, meta.source, meta.installed_usec, info);
                meta_done(&meta);
                if (r < 0)
                        return r;
                v = verified_find(s, id);
        }
        if (ret)
                *ret = v;
        return 0;
}

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

        r = check_generation(s, id, &v);
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
