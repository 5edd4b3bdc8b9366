/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A file a bus caller passed as a descriptor (InstallFiles, InstallPkcs12),
 * read in the bundle child (bundle-child.c), never in the daemon: even a
 * regular file can block a reader for good (a hung NFS or FUSE mount), and
 * the daemon must answer everyone else meanwhile.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert-error.h"

/*
 * Reads a regular file from offset 0 (whatever the caller's position), or,
 * for an optional part, /dev/null for "none". Anything else, or more than
 * max bytes, is refused rather than read. Returns 0; -EBADMSG with problem
 * set (Malformed or TooLarge, the message naming `what`); -ENOMEM.
 */
int passed_file_read(int fd, const char *what, bool optional, uint64_t max, char **ret, size_t *ret_size,
                     CertProblem *problem);
