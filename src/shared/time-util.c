/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one clock helper and the time formatting shared by the daemon and the
 * CLI. Times are µs since the epoch (or since boot for CLOCK_MONOTONIC), as
 * systemd counts them.
 */

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "time-util.h"

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

unsigned days_left(uint64_t until_usec, uint64_t now) {
        if (until_usec <= now)
                return 0;
        return (unsigned) ((until_usec - now) / USEC_PER_DAY);
}

int64_t days_left_signed(uint64_t until_usec, uint64_t now) {
        if (now <= until_usec)
                return (int64_t) ((until_usec - now) / USEC_PER_DAY);
        return -(int64_t) ((now - until_usec + USEC_PER_DAY - 1) / USEC_PER_DAY);
}

uint64_t days_left_changes_at(uint64_t until_usec, uint64_t now) {
        uint64_t boundary;

        /* The count floors, so it changes one µs after a whole day from until_usec. */
        if (now <= until_usec)
                boundary = until_usec - (until_usec - now) / USEC_PER_DAY * USEC_PER_DAY;
        else
                boundary = until_usec + (now - until_usec + USEC_PER_DAY - 1) / USEC_PER_DAY * USEC_PER_DAY;
        return boundary + 1;
}

const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) ||
            strftime(buf, FORMAT_TIMESTAMP_MAX, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, FORMAT_TIMESTAMP_MAX, "n/a");
        return buf;
}

const char *format_timestamp_iso(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        buf[0] = 0;
        if (usec == 0 || !gmtime_r(&t, &tm) ||
            strftime(buf, FORMAT_TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                buf[0] = 0;
        return buf;
}

const char *format_relative(char buf[static FORMAT_RELATIVE_MAX], uint64_t usec, uint64_t now) {
        static const struct {
                uint64_t usec;
                const char *one, *many;
        } units[] = {
                { USEC_PER_DAY,          "day",    "days"    },
                { 3600 * USEC_PER_SEC,   "hour",   "hours"   },
                { 60 * USEC_PER_SEC,     "minute", "minutes" },
        };
        bool future = usec > now;
        uint64_t d = future ? usec - now : now - usec;

        buf[0] = 0;
        if (usec == 0)
                return buf;

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                uint64_t k = d / units[i].usec;
                if (k == 0)
                        continue;
                snprintf(buf, FORMAT_RELATIVE_MAX, "%s%llu %s%s",
                         future ? "in " : "", (unsigned long long) k,
                         k == 1 ? units[i].one : units[i].many,
                         future ? "" : " ago");
                return buf;
        }
        snprintf(buf, FORMAT_RELATIVE_MAX, "now");
        return buf;
}
