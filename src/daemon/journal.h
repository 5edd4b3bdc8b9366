/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's log: structured journal entries (sd_journal_send) with our
 * MESSAGE_IDs and VERTEX_* fields, plus plain log_* helpers at syslog levels.
 * Nothing here ever receives key material: callers pass fingerprints,
 * subjects, generation numbers and error messages only.
 */

#include <stdint.h>
#include <syslog.h>
#include <sys/types.h>

#include "macro.h"

/* MESSAGE_IDs, catalogued in systemd/vertex-certd.catalog. */
#define VERTEX_MESSAGE_INSTALLED     "15f91bfa02364689841a537ee82c948c"
#define VERTEX_MESSAGE_REJECTED      "424cf695fe7a4775a0a108256e32cc29"
#define VERTEX_MESSAGE_ROLLED_BACK   "874743857505462ca6cfdec4b9abe489"
#define VERTEX_MESSAGE_EXPIRING      "d2bf69223d31409eac39c715dd48a40b"
#define VERTEX_MESSAGE_EXPIRED       "69e872cd112e485db9c9e311ed0477fc"
#define VERTEX_MESSAGE_RELOAD_FAILED "745b592d6a544f89969383b6d3d71a07"
#define VERTEX_MESSAGE_NAME_MISMATCH "46cd3b225d884f7384ffdc34a640cb63"

/* Entries below this level are dropped; default LOG_INFO, VERTEX_LOG_LEVEL=debug|info|… overrides. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Reads VERTEX_LOG_LEVEL (a name or a number). */
void log_parse_environment(void);

/*
 * Logs one line at level. With error != 0, "%m" in format expands to
 * strerror(-error) and the return value is -abs(error), so handlers can write
 * `return log_error_errno(r, "Failed to …: %m");`. Returns 0 otherwise.
 */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* Who asked for a change over the bus; uid/pid -1 when unknown or not a bus change. */
typedef struct LogCaller {
        uid_t uid;
        pid_t pid;
} LogCaller;

#define LOG_CALLER_NONE ((LogCaller) { .uid = (uid_t) -1, .pid = -1 })

/*
 * A structured event: MESSAGE_ID plus VERTEX_CERT_FINGERPRINT,
 * VERTEX_CERT_GENERATION, VERTEX_CERT_SOURCE (each left out when NULL/0),
 * VERTEX_CALLER_UID/PID when known, and VERTEX_ERROR when error_name is set.
 * Returns 0 (logging never fails the caller).
 */
int log_event(int level, const char *message_id,
              const char *fingerprint, uint64_t generation, const char *source,
              LogCaller caller, const char *error_name,
              const char *format, ...) _printf_(8, 9);
