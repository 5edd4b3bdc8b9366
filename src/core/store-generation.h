/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The store's layout on disk and reading one generation directory back
 * (store-generation.c). For store.c only.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle.h"

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

typedef struct Meta {
        char *source;
        uint64_t installed_usec;
} Meta;

/* Strict decimal: no sign, no leading zero, no overflow. Ids start at 1. */
int parse_id(const char *s, size_t n, uint64_t *ret);
/* A directory beneath dfd, not through a symlink. Returns the fd or -errno. */
int open_dir_at(int dfd, const char *name);

void meta_done(Meta *m);
int generation_name(uint64_t id, char buf[static 21]);
/*
 * Reads generation id beneath generations_fd completely and checks that it is
 * whole. Returns 0, -ENOENT when there is no such directory, -EBADMSG when it
 * is incomplete or torn, or -errno.
 */
int load_generation(int generations_fd, uint64_t id, CertBundle **ret_bundle, Meta *ret_meta);
