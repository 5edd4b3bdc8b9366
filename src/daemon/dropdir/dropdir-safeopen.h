/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Opening and reading dropped files strictly beneath the drop directory, and
 * only when they are what a bundle may be made of: regular files of bounded
 * size, owned by root or by us.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cert-error.h"

/* Tests set this to exercise the resolver used when the kernel lacks openat2(). */
extern bool safe_open_force_fallback;

/*
 * Opens path (relative; may cross symlinks and subdirectories) beneath
 * dir_fd with the given open flags (O_PATH|O_CLOEXEC, O_RDONLY|O_DIRECTORY…).
 * Never leaves the directory: absolute symlinks, "..", magic links and
 * mount points crossed by symlinks are refused.
 * Returns the fd, -EXDEV when the path leads out, -ELOOP, -ENOENT, -errno.
 */
int safe_open_beneath(int dir_fd, const char *path, int flags);

/* Why a file was refused: a certificate error name and a message for the operator. */
typedef struct DropRefusal {
        CertErrorCode code;       /* CERT_ERROR_MALFORMED or CERT_ERROR_TOO_LARGE */
        char message[320];
} DropRefusal;

typedef struct DropFile {
        char *data;               /* NUL-terminated; erase before freeing (it may be a key) */
        size_t size;
        struct stat st;           /* of the file read, to recognise it later */
} DropFile;

/*
 * Reads a dropped file. Returns 0; -EPERM with *refusal filled when the file
 * must not be read (leaves the directory, not a regular file, too large,
 * foreign owner; nothing was read); -ENOENT when it vanished; -errno.
 */
int drop_file_read(int dir_fd, const char *path, uint64_t max_size, DropFile *ret, DropRefusal *refusal);
void drop_file_done(DropFile *f);
