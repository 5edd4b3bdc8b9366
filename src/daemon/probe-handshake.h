/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TLS client handshake of a probe (probe.h), run in a forked child.
 *
 * Why a child: a handshake runs most of libssl and a good part of libcrypto
 * (key exchange, record layer, the DRBG), and OpenSSL keeps what it fetched
 * for that in the process for good. In vertex-certd, which probes every
 * endpoint at each start and after each change, that was 0.65 MiB of the
 * idle RSS (0.26 MiB heap, the rest code pages) for a few handshakes. A
 * child also keeps the parsing of whatever a server sends out of the
 * daemon's address space.
 */

#include <stdint.h>
#include <sys/types.h>

#include "certinfo.h"
#include "probe.h"

/*
 * Forks a child that makes a TLS handshake on the connected stream socket
 * fd (SNI server_name when not NULL), gives up after timeout_usec, and writes
 * its result to the pipe whose read end is returned in *ret_result_fd
 * (nonblocking, close-on-exec). The caller keeps fd and should close it.
 * Returns 0 with *ret_pid, or -errno.
 */
int probe_handshake_fork(int fd, const char *server_name, uint64_t timeout_usec,
                         pid_t *ret_pid, int *ret_result_fd);

/*
 * Reads the child's result once result_fd is readable: returns what
 * probe_done_t would get: fingerprint the leaf served ("" when none was
 * seen), reason why the handshake failed (r == -EPROTO); -EIO when the child
 * ended without a result; -EAGAIN when nothing is there yet.
 */
int probe_handshake_read(int result_fd, char fingerprint[static CERT_FINGERPRINT_MAX],
                         char reason[static PROBE_REASON_MAX]);

/* The child is reaped with worker_reap() (worker.h). */
