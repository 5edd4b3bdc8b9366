/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reads and writes that do the whole size, over short counts and EINTR. */

#include <stddef.h>

/* Writes all of data. Returns 0 or -errno. */
int write_all(int fd, const void *data, size_t size);

/* Reads exactly size bytes. Returns 0, -EPIPE when the end of file comes first, or -errno. */
int read_exactly(int fd, void *data, size_t size);

typedef enum ReadFlags {
        READ_FROM_START  = 1 << 0,  /* pread() from offset 0, whatever the descriptor's position */
        READ_KEEP_EXCESS = 1 << 1,  /* hand back max + 1 bytes instead of -EFBIG: the caller names the refusal */
} ReadFlags;

/*
 * THE bounded reader: reads fd to its end into a NUL-terminated buffer,
 * never holding more than max + 1 bytes, so a file too large (or one that
 * grows while read) is noticed without being read whole. The buffer may hold
 * key material: every buffer given up on the way is erased, and the caller
 * frees the result with erase_and_free(*ret, *ret_size). Returns 0, -EFBIG
 * when the file holds more than max bytes, or -errno.
 */
int read_fd_bounded(int fd, size_t max, ReadFlags flags, char **ret, size_t *ret_size);

/*
 * Opens name beneath dfd without following a final symlink and reads it with
 * read_fd_bounded(). Returns 0, -EBADFD for anything but a regular file,
 * -EFBIG, or -errno.
 */
int read_file_at(int dfd, const char *name, size_t max, char **ret, size_t *ret_size);
