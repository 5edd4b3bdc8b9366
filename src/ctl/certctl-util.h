/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vertex-certctl's inputs; reading and time formatting come from shared/ (io-util.h, time-util.h). */

#include <stddef.h>
#include <stdint.h>

#include "io-util.h"
#include "macro.h"
#include "time-util.h"

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
