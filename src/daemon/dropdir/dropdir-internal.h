/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the DropDir: its struct and what dropdir.c (the watch and the scans)
 * and dropdir-files.c (hashing, reading, removing and rejecting the files)
 * share. Not for other files.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cert-error.h"
#include "dropdir-naming.h"
#include "dropdir-safeopen.h"
#include "dropdir-state.h"
#include "dropdir.h"

#define TRACK_BUCKETS 1024
#define KUBELET_DATA "..data"
#define REJECTED_DIR "rejected"
/* IN_ATTRIB: a chmod of the directory itself makes it (un)safe. */
#define INOTIFY_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
                      IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* What events told us about one name in the directory. */
typedef struct Track {
        struct Track *next;
        char *name;
        bool pending;            /* created or modified, not yet closed */
        bool modified;           /* IN_MODIFY seen since IN_CREATE */
        uint64_t seq;            /* drop order; 0: not yet numbered */
        uint64_t ready_usec;     /* CLOCK_MONOTONIC when it became complete */
        bool present;            /* sweep mark of the current scan */
        mode_t type;             /* S_IFREG, S_IFLNK, … as last listed */
        /* cached answer to "does this certificate file hold a key too?" */
        bool key_checked, has_key;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
} Track;

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

struct DropDir {
        sd_event *event;
        char *path;
        uint64_t settle_usec;
        uint64_t max_file_size;
        dropdir_bundle_t on_bundle;
        dropdir_rejected_t on_rejected;
        void *userdata;

        int dir_fd;             /* open only during a scan or dropdir_bundle_done(): see dir_pin() */
        int inotify_fd;
        int wd;
        bool unsafe;            /* made group/world-writable under us: ignored (and said once) until fixed */

        sd_event_source *io_source;
        sd_event_source *scan_source;
        sd_event_source *settle_source;

        DropSeen *seen;
        Track *tracks[TRACK_BUCKETS];
        uint64_t seq;
        bool busy;
        Current current;

        uint64_t n_overflows;
        uint64_t n_scans;
};

static inline bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* dropdir.c */
int dir_pin(DropDir *d);
void dir_unpin(DropDir *d, int pinned);
void current_done(Current *c);
Track *track_ensure(DropDir *d, const char *name);

/* dropdir-files.c */
int bundle_hash(DropBundle *b);
int identity_hash(DropDir *d, char *const *paths, char ret[static 65]);
int take_file(DropDir *d, const char *name, const struct stat *expected, int target_fd, const char *target);
int remember(DropDir *d, DropSeenKind kind, const char *hash);
int move_to_rejected(DropDir *d, const char *name, char *const *paths, const struct stat *lst, const char *error_name, const char *message);
void reject_candidate(DropDir *d, const Candidate *c, CertErrorCode code, const char *message);
int remove_files(DropDir *d, char *const *paths, const struct stat *lst);
int read_candidate(DropDir *d, const Candidate *c, Current *ret, DropRefusal *refusal);
int check_combined(DropDir *d, const char *path, DropRefusal *refusal);
