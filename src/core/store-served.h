/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * STORE/last-served: the generation every endpoint was last seen serving.
 * Written after each verified reload; at start, a `current` that differs
 * from it was committed by an instance that stopped before it could verify
 * it (crash, SIGKILL, power loss), and the daemon checks it as an install
 * would, going back to this generation if the endpoints do not serve it.
 */

#include <stdint.h>

/* The generation last seen served; -ENOENT when none was recorded. Returns 0 or -errno. */
int store_served_read(const char *store_dir, uint64_t *ret_id);

/* Records id as served (a temporary file renamed over the last one). Returns 0 or -errno. */
int store_served_write(const char *store_dir, uint64_t id);
