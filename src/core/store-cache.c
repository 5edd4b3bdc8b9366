/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cache of checked generations (store-cache.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-cache.h"
#include "store-generation.h"

VerifiedGeneration *verified_find(StoreCache *s, uint64_t id) {
        for (size_t i = 0; i < s->n; i++)
                if (s->entries[i].id == id)
                        return &s->entries[i];
        return NULL;
}

void verified_forget(StoreCache *s, uint64_t id) {
        VerifiedGeneration *v = verified_find(s, id);
        if (!v)
                return;
        free(v->source);
        cert_info_free(v->info);
        *v = s->entries[--s->n];
}

/* Takes ownership of info. Returns 0 or -ENOMEM. */
int verified_add(StoreCache *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info) {
        _cleanup_(cert_info_freep) CertInfo *owned = info;

        verified_forget(s, id);
        VerifiedGeneration *array = reallocarray(s->entries, s->n + 1, sizeof(VerifiedGeneration));
        if (!array)
                return -ENOMEM;
        s->entries = array;
        char *copy = strdup(source);
        if (!copy)
                return -ENOMEM;
        s->entries[s->n++] = (VerifiedGeneration) {
                .id = id,
                .source = copy,
                .installed_usec = installed_usec,
                .info = TAKE_PTR(owned),
        };
        return 0;
}

int check_generation(StoreCache *s, int generations_fd, uint64_t id, VerifiedGeneration **ret) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        CertInfo *info = NULL;
        Meta meta = {};
        int r;

        VerifiedGeneration *v = verified_find(s, id);
        if (!v) {
                r = load_generation(generations_fd, id, &b, &meta);
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

void verified_clear(StoreCache *s) {
        while (s->n > 0)
                verified_forget(s, s->entries[0].id);
        s->entries = mfree(s->entries);
}
