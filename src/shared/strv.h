/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string vectors, as systemd uses them for lists in config and on the bus. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s. Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* Appends every element of other (copies). Returns 0 or -ENOMEM. */
int strv_extend_strv(char ***l, char *const *other);
/* Splits s on any run of whitespace and commas. Returns 0 or -ENOMEM; *ret is never NULL on success. */
int strv_split_words(const char *s, char ***ret);
char **strv_copy(char *const *l);
/* Joins with sep; returns NULL on ENOMEM. An empty list gives "". */
char *strv_join(char *const *l, const char *sep);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
