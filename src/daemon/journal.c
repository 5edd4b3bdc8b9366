/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging for the daemon: every line goes to the journal natively (so that
 * structured fields survive), and to stderr as well unless stderr already is
 * the journal (JOURNAL_STREAM), so a test or a foreground run sees it too.
 * Does not format certificates or touch key material; callers hand in
 * finished strings.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "journal.h"

static int max_level = LOG_INFO;
static int stderr_is_journal = -1;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_parse_environment(void) {
        const char *e = getenv("VERTEX_LOG_LEVEL");
        if (isempty(e))
                return;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(e, level_names[i])) {
                        max_level = (int) i;
                        return;
                }
        if (e[0] >= '0' && e[0] <= '7' && e[1] == 0)
                max_level = e[0] - '0';
}

/* JOURNAL_STREAM=DEV:INODE names the stream systemd connected our stderr to. */
static bool stderr_goes_to_journal(void) {
        if (stderr_is_journal >= 0)
                return stderr_is_journal;

        stderr_is_journal = 0;
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                stderr_is_journal = 1;
        return stderr_is_journal;
}

static void log_to_stderr(int level, const char *message) {
        if (stderr_goes_to_journal())
                return;
        fprintf(stderr, "vertex-certd[%s]: %s\n",
                level >= 0 && level < (int) ELEMENTSOF(level_names) ? level_names[level] : "?", message);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        int ret = error == 0 ? 0 : (error > 0 ? -error : error);

        if (level > max_level)
                return ret;

        char message[2048];
        va_list ap;
        /* %m means the error we were given, not whatever errno happens to be. */
        int saved = errno;
        if (error != 0)
                errno = -ret;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        errno = saved;

        log_to_stderr(level, message);

        char code_line[32];
        (void) snprintf(code_line, sizeof(code_line), "%d", line);
        if (error != 0)
                (void) sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", level,
                                       "ERRNO=%d", -ret, "CODE_FILE=%s", file,
                                       "CODE_LINE=%s", code_line, "CODE_FUNC=%s", func, NULL);
        else
                (void) sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", level,
                                       "CODE_FILE=%s", file, "CODE_LINE=%s", code_line,
                                       "CODE_FUNC=%s", func, NULL);
        return ret;
}

#define MAX_FIELDS 10

int log_event(int level, const char *message_id,
              const char *fingerprint, uint64_t generation, const char *source,
              LogCaller caller, const char *error_name,
              const char *format, ...) {
        char message[2048];
        va_list ap;

        if (level > max_level)
                return 0;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        log_to_stderr(level, message);

        /* Each field is formatted into its own buffer; sd_journal_sendv() wants "KEY=value" iovecs. */
        char fields[MAX_FIELDS][2200];
        struct iovec iov[MAX_FIELDS];
        size_t n = 0;

#define ADD(...)                                                                        \
        do {                                                                            \
                int _k = snprintf(fields[n], sizeof(fields[n]), __VA_ARGS__);          \
                if (_k > 0) {                                                           \
                        iov[n].iov_base = fields[n];                                    \
                        iov[n].iov_len = (size_t) _k < sizeof(fields[n]) ? (size_t) _k \
                                                                         : sizeof(fields[n]) - 1; \
                        n++;                                                            \
                }                                                                       \
        } while (0)

        ADD("MESSAGE=%s", message);
        ADD("PRIORITY=%d", level);
        ADD("SYSLOG_IDENTIFIER=vertex-certd");
        if (message_id)
                ADD("MESSAGE_ID=%s", message_id);
        if (!isempty(fingerprint))
                ADD("VERTEX_CERT_FINGERPRINT=%s", fingerprint);
        if (generation > 0)
                ADD("VERTEX_CERT_GENERATION=%" PRIu64, generation);
        if (!isempty(source))
                ADD("VERTEX_CERT_SOURCE=%s", source);
        if (caller.uid != (uid_t) -1)
                ADD("VERTEX_CALLER_UID=%u", (unsigned) caller.uid);
        if (caller.pid > 0)
                ADD("VERTEX_CALLER_PID=%d", (int) caller.pid);
        if (!isempty(error_name))
                ADD("VERTEX_ERROR=%s", error_name);
#undef ADD

        (void) sd_journal_sendv(iov, (int) n);
        return 0;
}
