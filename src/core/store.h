/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The certificate store on disk:
 *   DIR/generations/N/{fullchain.pem,cert.pem,chain.pem,ca.pem,key.pem,combined.pem,meta}
 *   DIR/current -> generations/N
 * Installing is stage (a complete, fsynced generation directory) then commit
 * (atomic swap of `current`). A crash at any instant leaves `current` at a
 * complete generation whose key matches its certificate.
 */

#include <stdint.h>

#include "bundle.h"
#include "certinfo.h"

typedef struct Store Store;

typedef struct StoreGeneration {
        uint64_t id;
        char *source;             /* "self-signed", "bus", "drop-directory" */
        uint64_t installed_usec;  /* µs since the epoch */
        CertInfo *info;
} StoreGeneration;

/* The points at which a crash is simulated by the tests (see store_set_step_hook()). */
typedef enum StoreStep {
        STORE_STEP_STAGE_WRITTEN,     /* files of the temporary generation dir written */
        STORE_STEP_STAGE_SYNCED,      /* files and temporary dir fsynced */
        STORE_STEP_GENERATION_RENAMED,/* temp dir renamed to generations/N, not yet fsynced */
        STORE_STEP_GENERATION_SYNCED, /* generations/ fsynced */
        STORE_STEP_LINK_CREATED,      /* temporary symlink created */
        STORE_STEP_CURRENT_SWAPPED,   /* renamed over `current`, not yet fsynced */
        STORE_STEP_CURRENT_SYNCED,    /* store dir fsynced: commit durable */
        STORE_STEP_PRUNED,            /* old generations removed */
        _STORE_STEP_MAX,
} StoreStep;

typedef void (*StoreStepHook)(StoreStep step, void *userdata);

/*
 * Opens (creating with 0750 if needed) the store and recovers it: removes
 * stray temporaries, and if `current` is missing, dangling or broken, points
 * it at the newest complete generation. Returns 0 or -errno.
 */
int store_open(const char *directory, unsigned keep_generations, Store **ret);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

const char *store_directory(Store *s);
/* Absolute path of DIR/current, what consumers read. */
const char *store_current_path(Store *s);

/* The files of a generation as the store writes them, indexed by CertBundlePart. */
typedef struct StoreFiles {
        char *pem[_CERT_BUNDLE_PART_MAX];
        size_t size[_CERT_BUNDLE_PART_MAX];
} StoreFiles;

/* The PEM texts of a bundle's parts. Returns 0 or -errno. */
int store_files_from_bundle(const CertBundle *b, StoreFiles *ret);
/* Frees the texts, erasing the key. */
void store_files_done(StoreFiles *f);

/*
 * Writes a complete, fsynced generation (not yet current) from files made by
 * store_files_from_bundle() (here or in a worker) and remembers info as its
 * description, so that nothing is parsed or described again. Returns 0 and
 * its id, or -errno (-EINVAL without a leaf or a key).
 */
int store_stage_files(Store *s, const StoreFiles *files, const CertInfo *info, const char *source, uint64_t *ret_id);

/* store_stage_files() for a bundle held in memory. Returns 0 and its id, or -errno. */
int store_stage(Store *s, const CertBundle *b, const char *source, uint64_t *ret_id);
/* Points `current` at generation id atomically and durably. Returns 0 or -errno (-ENOENT: no such complete generation). */
int store_commit(Store *s, uint64_t id);
/* Removes generations beyond keep_generations (never the current one, never ids in keep). Returns 0 or -errno. */
int store_prune(Store *s);

/* Id of the current generation; -ENOENT when the store is empty. */
int store_current(Store *s, uint64_t *ret_id);
/* The newest complete generation older than the current one; -ENOENT when none. */
int store_previous(Store *s, uint64_t *ret_id);

/* Does generation id hold exactly these files (byte for byte)? Returns 1, 0, or -errno. */
int store_generation_has_files(Store *s, uint64_t id, const StoreFiles *files);

/* Reads a generation back (certificates, authority, key). Returns 0 or -errno. */
int store_load(Store *s, uint64_t id, CertBundle **ret);
/* One generation's metadata. Returns 0 or -errno. */
int store_get(Store *s, uint64_t id, StoreGeneration **ret);
/* All complete generations, ascending by id. Returns 0 or -errno. */
int store_list(Store *s, StoreGeneration **ret, size_t *ret_n);

StoreGeneration *store_generation_free(StoreGeneration *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreGeneration *, store_generation_free);
void store_generation_array_free(StoreGeneration *array, size_t n);

/* Tests only: called after each step of stage/commit/prune. */
void store_set_step_hook(Store *s, StoreStepHook hook, void *userdata);
