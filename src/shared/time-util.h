/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The clock and time formatting: libc only. */

#include <stdint.h>
#include <time.h>

#include "macro.h"

#define FORMAT_TIMESTAMP_MAX 64
#define FORMAT_RELATIVE_MAX 64

/* The current time of clock in µs (CLOCK_REALTIME: since the epoch); 0 if the clock cannot be read. */
uint64_t now_usec(clockid_t clock);

/* Whole days from now until until_usec, 0 when past. */
unsigned days_left(uint64_t until_usec, uint64_t now);

/* Whole days from now until until_usec, floored: -1 from the first µs past it. */
int64_t days_left_signed(uint64_t until_usec, uint64_t now);

/* The first µs after now at which days_left_signed() changes: until_usec plus
 * or minus a whole number of days, plus one. */
uint64_t days_left_changes_at(uint64_t until_usec, uint64_t now);

/* "Tue 2026-03-03 14:05:00 CET" in local time; "n/a" for 0. Returns buf. */
const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);
/* "2026-03-03T13:05:00Z" (UTC, for JSON); "" for 0. Returns buf. */
const char *format_timestamp_iso(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);
/* "in 89 days", "3 days ago", "in 5 hours", "12 minutes ago", "now"; "" for 0. Returns buf. */
const char *format_relative(char buf[static FORMAT_RELATIVE_MAX], uint64_t usec, uint64_t now);
