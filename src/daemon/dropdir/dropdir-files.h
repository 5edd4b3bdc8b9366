/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The drop directory's files, below the watch (dropdir.c): listing the
 * directory, reading a candidate bundle safely beneath it, content hashes,
 * and removing or rejecting files afterwards. Everything here works on the
 * directory's fd and knows nothing of the DropDir.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cert-error.h"
#include "dropdir-naming.h"
#include "dropdir-safeopen.h"

#define REJECTED_DIR "rejected"
/* Files being removed are renamed to this (+ a digit) first: hidden, and ours. */
#define DROP_REMOVING_PREFIX ".#vertex-certd-removing."

typedef struct DropBundle {
        char *name;               /* what the operator dropped: "console", "tls", "..data" */
        char *certificate;        /* contents, NUL-terminated */
        size_t certificate_size;
        char *key;                /* may be NULL/0 for a combined NAME.pem; erased on free */
        size_t key_size;
        char *authority;          /* NULL/0 when none */
        size_t authority_size;
        char content_hash[65];    /* SHA-256 hex of the contents: the same content is never installed twice */
} DropBundle;

/* A bundle found by a scan. */
typedef struct Candidate {
        char *name;
        char *paths[_DROP_PART_MAX];    /* relative to the directory */
        bool kubelet;
        bool pending;                   /* some file still being written */
        bool complete;
        uint64_t seq;
        uint64_t since;
} Candidate;

/* The bundle handed out, until dropdir_bundle_done(). */
typedef struct Current {
        DropBundle bundle;
        char *paths[_DROP_PART_MAX];
        struct stat lst[_DROP_PART_MAX];   /* lstat() of each path when read */
        bool kubelet;
} Current;

typedef struct Listing {
        char **names;
        mode_t *types;
        size_t n, allocated;
} Listing;

static inline bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void drop_bundle_done(DropBundle *b);
void current_done(Current *c);
void candidate_done(Candidate *c);
void candidates_free(Candidate *c, size_t n);
void listing_done(Listing *l);
int listing_add(Listing *l, const char *name, mode_t type);
mode_t dtype_to_mode(unsigned char t);
int list_dir(int dir_fd, const char *path, Listing *ret);
int candidates_add(Candidate **list, size_t *n, Candidate *c);
int candidate_cmp(const void *a, const void *b);
void incomplete_message(const Candidate *c, CertErrorCode *ret_code, char *buf, size_t size);
int mkdir_parents(const char *path);
int check_directory(int fd);
bool holds_private_key(const char *data, size_t size);
int bundle_hash(DropBundle *b);
int identity_hash(int dir_fd, char *const *paths, char ret[static 65]);
int take_file(int dir_fd, const char *name, const struct stat *expected, int target_fd, const char *target);
int move_to_rejected(int dir_fd, const char *name, char *const *paths, const struct stat *lst,
                     const char *error_name, const char *message);
int remove_files(int dir_fd, char *const *paths, const struct stat *lst);
int read_candidate(int dir_fd, uint64_t max_file_size, const Candidate *c, Current *ret, DropRefusal *refusal);
