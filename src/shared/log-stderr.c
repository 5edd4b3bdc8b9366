/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log-stderr.h"

static void log_stderrv(int level, const char *format, va_list ap) {
        static int to_journal = -1;

        if (to_journal < 0)
                to_journal = !!getenv("JOURNAL_STREAM");
        if (to_journal)
                fprintf(stderr, "<%d>", level);
        vfprintf(stderr, format, ap);
        fputc('\n', stderr);
}

void log_stderr(int level, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_stderrv(level, format, ap);
        va_end(ap);
}

int log_stderr_errno(int level, int error, const char *format, ...) {
        va_list ap;

        errno = error < 0 ? -error : error;
        va_start(ap, format);
        log_stderrv(level, format, ap);
        va_end(ap);
        return error < 0 ? error : -error;
}
