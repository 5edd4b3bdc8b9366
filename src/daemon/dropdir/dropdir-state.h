/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The drop directory's memory of content it has already handed out: SHA-256
 * hashes of installed bundles, and of rejected ones that could not be moved
 * away (read-only directories). Kept in a small text file, rewritten
 * atomically. Format, one entry a line, oldest first, at most
 * DROP_SEEN_MAX entries:
 *
 *     # vertex-certd drop directory: content already handed out
 *     installed 3f2a…(64 hex)
 *     rejected 9c1e…(64 hex)
 */

#include <stdbool.h>

#include "macro.h"

#define DROP_SEEN_MAX 64

typedef enum DropSeenKind {
        DROP_SEEN_INSTALLED,
        DROP_SEEN_REJECTED,
        _DROP_SEEN_KIND_MAX,
} DropSeenKind;

typedef struct DropSeen DropSeen;

/* path NULL: memory only. A missing file is an empty memory; bad lines are skipped. Returns 0 or -errno. */
int drop_seen_load(const char *path, DropSeen **ret);
DropSeen *drop_seen_free(DropSeen *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(DropSeen *, drop_seen_free);

/* Is hash (64 hex) remembered, of either kind? Sets *ret_kind when found and ret_kind not NULL. */
bool drop_seen_contains(const DropSeen *s, const char *hash, DropSeenKind *ret_kind);

/* Remembers hash (moving it to the newest position) and rewrites the file. Returns 0 or -errno; the memory is updated even when saving failed. */
int drop_seen_add(DropSeen *s, DropSeenKind kind, const char *hash);

const char *drop_seen_kind_to_string(DropSeenKind k);
