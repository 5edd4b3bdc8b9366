/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the Store: its layout on disk, its struct, and what store.c (stage,
 * commit, prune, recovery) and store-generation.c (reading generations back,
 * the cache of checked ones) share. Not for other files.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define GENERATIONS_DIR "generations"
#define CURRENT_LINK "current"
#define CURRENT_TMP_PREFIX "current.tmp"
#define NEXT_ID_FILE "next-id"
#define NEXT_ID_TMP "next-id.tmp"
#define TMP_PREFIX ".tmp-"
#define META_FILE "meta"
#define STORE_GROUP "vertex-tls"

#define MODE_DIR 0750
#define MODE_KEY 0640
/* Certificates are public; the 0750 directories already gate who reaches them. */
#define MODE_PUBLIC 0644

/* Our own files are small; anything bigger is corruption, not a certificate. */
#define STORE_FILE_MAX ((size_t) 8 * 1024 * 1024)

/* "generations/" + 20 digits + NUL */
#define LINK_TARGET_MAX (sizeof(GENERATIONS_DIR) + 1 + 20 + 1)

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

typedef struct Meta {
        char *source;
        uint64_t installed_usec;
} Meta;

/* store.c */
int parse_id(const char *s, size_t n, uint64_t *ret);
int open_dir_at(int dfd, const char *name);
int scan_ids(Store *s, uint64_t **ret, size_t *ret_n, uint64_t *ret_max);

/* store-generation.c */
void meta_done(Meta *m);
int generation_name(uint64_t id, char buf[static 21]);
/* Reads generation id completely and checks that it is whole; -ENOENT, -EBADMSG when torn, -errno. */
int load_generation(Store *s, uint64_t id, CertBundle **ret_bundle, Meta *ret_meta);
VerifiedGeneration *verified_find(Store *s, uint64_t id);
void verified_forget(Store *s, uint64_t id);
/* Takes info. Returns 0 or -ENOMEM. */
int verified_add(Store *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info);
/* Whether generation id is complete and matching, checked once per process. */
int check_generation(Store *s, uint64_t id, VerifiedGeneration **ret);
