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
