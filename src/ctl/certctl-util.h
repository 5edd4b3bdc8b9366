/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vertex-certctl helpers without output: bounded file reading and time formatting. */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define FORMAT_TIMESTAMP_MAX 64
#define FORMAT_RELATIVE_MAX 64

/*
 * Reads at most max + 1 bytes of path into a NUL-terminated buffer, so that
 * the PEM reader can refuse an oversized file as TooLarge without us ever
 * holding more than that. Refuses directories. The buffer may hold key
 * material: free it with erase_and_free(*ret, *ret_size). Returns 0 or -errno.
 */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_size);

/* The current time, µs since the epoch. */
uint64_t now_usec(void);

/* "Tue 2026-03-03 14:05:00 CET" in local time; "n/a" for 0. Returns buf. */
const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);
/* "2026-03-03T13:05:00Z" (UTC, for JSON); "" for 0. Returns buf. */
const char *format_timestamp_iso(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);
/* "in 89 days", "3 days ago", "in 5 hours", "12 minutes ago", "now"; "" for 0. Returns buf. */
const char *format_relative(char buf[static FORMAT_RELATIVE_MAX], uint64_t usec, uint64_t now);

/* A file's bytes, possibly key material: erased when freed. */
typedef struct Input {
        char *data;
        size_t size;
} Input;

static inline void input_done(Input *i) {
        if (i->data)
                erase_and_free(i->data, i->size);
        i->data = NULL;
        i->size = 0;
}
