/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MetricsFile=: what is served, as a node_exporter textfile (Prometheus text
 * format), for monitoring that already scrapes the host. Written atomically
 * (a temporary file beside it, then rename) on every change and whenever
 * days_left changes, so no scrape reads a stale count. Off when MetricsFile=
 * is empty.
 */

#include "context.h"

/* Writes the file now and arms the rewrite at the next change of days_left.
 * Returns 0 (also when off), or -errno; a failure is logged. */
int metrics_write(Context *c);

/* The first write, at start. Returns 0 or -errno. */
int metrics_start(Context *c);

/* Disarms the rewrite timer. */
void metrics_stop(Context *c);
