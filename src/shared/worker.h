/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Short-lived forked workers: the daemon's OpenSSL-heavy jobs run in one
 * (probe-handshake.c, bundle-child.c), so that what OpenSSL fetches and
 * keeps for them never stays in the idle daemon, and untrusted input is
 * parsed outside it. A worker answers on a pipe and leaves with _exit(), so
 * no atexit handler or stdio buffer of the daemon runs twice.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Forks a worker with a pipe to the parent. In the worker: returns 0 with
 * *ret_fd the pipe's write end; every other inherited descriptor from 3 up
 * but `keep` (-1: none) is closed (the store's lock, the bus, other workers'
 * pipes stay the daemon's alone), and SIGPIPE is ignored (a peer that goes
 * away must not kill it before it answers, whatever the caller's signal
 * mask). In the parent: returns the worker's pid with *ret_fd the pipe's
 * read end (close-on-exec). -errno on failure.
 */
pid_t worker_fork(int keep, int *ret_fd);

#define WORKER_KEEP_MAX 4

/* worker_fork() keeping up to WORKER_KEEP_MAX descriptors (-1 entries ignored). */
pid_t worker_fork_keeping(const int *keep, size_t n_keep, int *ret_fd);

/* Kills (when asked) and reaps the worker; pid <= 0 does nothing. */
void worker_reap(pid_t pid, bool kill_it);
