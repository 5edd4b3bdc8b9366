/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The file forms of a generation that consumers read besides its five parts
 * (store-forms.c): today the combined file, the full chain followed by the
 * key, which HAProxy's `crt` takes. Written into the generation directory
 * with the parts, before it is renamed into place, so that `current` never
 * shows a combined file of another generation than its fullchain.pem and
 * key.pem. For store.c and store-generation.c only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* fullchain.pem followed by key.pem, mode 0640 like the key. */
#define STORE_FORM_COMBINED "combined.pem"

/* Group (unless (gid_t) -1) and then mode of a file or directory we created. Returns 0 or -errno. */
int store_fix_owner_mode(int fd, gid_t gid, mode_t mode);

/* The combined text: fullchain then key, NUL-terminated; free it with erase_and_free(). Returns 0 or -ENOMEM. */
int store_form_combined(const char *fullchain, size_t fullchain_size, const char *key, size_t key_size,
                        char **ret, size_t *ret_size);

/*
 * Checks the combined file of the generation directory gen_fd against its
 * fullchain.pem and key.pem, byte for byte. A generation written before the
 * combined file existed has none: *ret_missing (may be NULL) says so and
 * that is no error.
 * Returns 0, -EBADMSG when it differs, or -errno.
 */
int store_form_check(int gen_fd, bool *ret_missing);

/*
 * Gives a complete generation written before the combined file existed its
 * combined file: a temporary file, synced, renamed into place, so that a
 * reader sees it whole or not at all. Returns 0 or -errno.
 */
int store_form_add(int gen_fd, gid_t gid);
