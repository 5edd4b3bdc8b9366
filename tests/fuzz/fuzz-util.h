/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the fuzz targets and their plain driver: the entry point every
 * target defines, and the splitting of one fuzz input into parts. Parts are
 * separated by FUZZ_SEPARATOR, which occurs in no PEM, INI or file name we
 * care about, so seed files stay readable text a person can edit.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEPARATOR "%%%%"

/* An invariant of the code under test; checked in every build type (NDEBUG or not). */
#define fuzz_assert(expr)                                                               \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* libFuzzer's contract: return 0; anything unexpected aborts (sanitizers or assert). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzPart {
        const uint8_t *data;
        size_t size;
} FuzzPart;

/*
 * Splits data at each FUZZ_SEPARATOR into at most max_parts parts (the last
 * part keeps any further separators). Parts point into data; missing parts
 * are empty. Returns the number of parts found (>= 1).
 */
static inline size_t fuzz_split(const uint8_t *data, size_t size, FuzzPart *parts, size_t max_parts) {
        const size_t sep_len = strlen(FUZZ_SEPARATOR);
        size_t n = 0;

        for (size_t i = 0; i < max_parts; i++)
                parts[i] = (FuzzPart) { .data = (const uint8_t *) "", .size = 0 };

        while (n + 1 < max_parts) {
                const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, sep_len);
                if (!sep)
                        break;
                parts[n++] = (FuzzPart) { .data = data, .size = (size_t) (sep - data) };
                size -= (size_t) (sep - data) + sep_len;
                data = sep + sep_len;
        }
        parts[n++] = (FuzzPart) { .data = data, .size = size };
        return n;
}
