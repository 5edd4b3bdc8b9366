/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging of the endpoint programs (vertex-endpoint, vertex-endpoint-reload):
 * one line on stderr. Under systemd stderr is a journal stream
 * ($JOURNAL_STREAM set), and a "<N>" prefix gives the line priority N there.
 * Plain libc, so the reload helper can use it.
 */

#include "macro.h"

void log_stderr(int level, const char *format, ...) _printf_(2, 3);

#define log_info(...) log_stderr(6, __VA_ARGS__)
#define log_warning(...) log_stderr(4, __VA_ARGS__)
#define log_error(...) log_stderr(3, __VA_ARGS__)

/* Logs with errno set from error (so "%m" names it) and returns error, which must be negative. */
int log_stderr_errno(int level, int error, const char *format, ...) _printf_(3, 4);

#define log_warning_errno(e, ...) log_stderr_errno(4, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_stderr_errno(3, (e), __VA_ARGS__)
