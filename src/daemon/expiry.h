/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Expiry of the served certificate: CLOCK_REALTIME timers at
 * NotAfter - ExpiryWarningDays and at NotAfter (no polling). A self-signed
 * certificate of ours is renewed through the pipeline once it is within
 * EXPIRY_REGENERATE_DAYS of NotAfter; an uploaded one is never replaced.
 */

#include <stdint.h>

#include "context.h"

#define EXPIRY_REGENERATE_DAYS 30u
/* After a failed automatic renewal, the next attempt waits this long. */
#define EXPIRY_REGENERATE_RETRY_USEC (3600ULL * USEC_PER_SEC)

/* Re-arms the timers for the served certificate (call after every change). Returns 0 or -errno. */
int expiry_update(Context *c);

/* Disarms every timer. */
void expiry_disarm(Context *c);
