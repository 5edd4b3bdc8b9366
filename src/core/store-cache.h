/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The store's cache of generations it has checked whole (store.c): below the
 * store, it knows generation directories (store-generation.h), not Store.
 */

#include <stddef.h>
#include <stdint.h>

#include "certinfo.h"

/*
 * A generation this process has checked whole, or written itself. Generation
 * directories never change once renamed into place (only prune removes
 * them), so one check per process is enough: commit, prune, previous and the
 * bus's property reads then cost no parsing. Recovery at open starts empty.
 */
typedef struct VerifiedGeneration {
        uint64_t id;
        char *source;
        uint64_t installed_usec;
        CertInfo *info;
} VerifiedGeneration;

typedef struct StoreCache {
        VerifiedGeneration *entries;
        size_t n;
} StoreCache;

VerifiedGeneration *verified_find(StoreCache *s, uint64_t id);
void verified_forget(StoreCache *s, uint64_t id);
/* Takes info. Returns 0 or -ENOMEM. */
int verified_add(StoreCache *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info);
/* Empties the cache. */
void verified_clear(StoreCache *s);
/*
 * Whether generation id (in generations_fd) is complete and matching, checked
 * once per process. Returns 0, -EBADMSG, -ENOENT, -errno.
 */
int check_generation(StoreCache *s, int generations_fd, uint64_t id, VerifiedGeneration **ret);
