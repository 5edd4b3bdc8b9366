/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MetricsFile=: what is served, as a node_exporter textfile (Prometheus text
 * format), for monitoring that already scrapes the host. Written atomically
 * (a temporary file beside it, then rename) on every change and once a day,
 * so days_left stays current. Off when MetricsFile= is empty.
 */

#include "context.h"

/* Writes the file now. Returns 0 (also when off), or -errno; a failure is logged. */
int metrics_write(Context *c);

/* Writes the file and arms the daily rewrite. Returns 0 or -errno. */
int metrics_start(Context *c);

/* Disarms the daily rewrite. */
void metrics_stop(Context *c);
