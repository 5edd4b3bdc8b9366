/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reads and writes that do the whole size, over short counts and EINTR. */

#include <stddef.h>

/* Writes all of data. Returns 0 or -errno. */
int write_all(int fd, const void *data, size_t size);

/* Reads exactly size bytes. Returns 0, -EPIPE when the end of file comes first, or -errno. */
int read_exactly(int fd, void *data, size_t size);
