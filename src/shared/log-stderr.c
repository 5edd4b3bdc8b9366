/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log-stderr.h"

void log_stderr(int level, const char *format, ...) {
        static int to_journal = -1;
        va_list ap;

        if (to_journal < 0)
                to_journal = !!getenv("JOURNAL_STREAM");
        if (to_journal)
                fprintf(stderr, "<%d>", level);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}
