/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What store.c (stage, commit, prune, recovery) and store-read.c (reading
 * generations back, with the cache of checked ones) share. Not for use
 * outside the store.
 */

#include <stdint.h>
#include <sys/types.h>

#include "certinfo.h"
#include "store.h"

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

struct Store {
        VerifiedGeneration *verified;
        size_t n_verified;
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

/* The cache of checked generations (store-read.c). */
VerifiedGeneration *verified_find(Store *s, uint64_t id);
void verified_forget(Store *s, uint64_t id);
int verified_add(Store *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info);
/* Whether generation id is complete and matching, checked once per process. Returns 0, -EBADMSG, -ENOENT, -errno. */
int check_generation(Store *s, uint64_t id, VerifiedGeneration **ret);

/*
 * Ids of the numeric entries of generations/, ascending (complete or not).
 * ret_max also counts ".tmp-N-…" names, so an id being staged is never handed out twice.
 */
int scan_ids(Store *s, uint64_t **ret, size_t *ret_n, uint64_t *ret_max);
