/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers of vertex-certctl: reading an operator's file with a bound,
 * and turning µs timestamps into what people read. Prints nothing; the
 * verbs decide how to report failures.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "certctl-util.h"
#include "macro.h"

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char *buf;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;

        /* One allocation up front: growing with realloc() would leave copies of a key behind. */
        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;

        while (n < max + 1) {
                ssize_t k = read(fd, buf + n, max + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = negative_errno();
                        erase_and_free(buf, n);
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;

        *ret = buf;
        *ret_size = n;
        return 0;
}

uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
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
