/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A TLS handshake with a listen address, reporting the leaf certificate's
 * fingerprint. Nonblocking, driven by sd-event; no certificate verification
 * (we compare fingerprints, which is stronger for this purpose), but what a
 * client with OpenSSL's default limits refuses fails the handshake.
 *
 * It tells two failures apart: an endpoint that cannot be reached (refused,
 * reset, closed, silent: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, …) and one
 * that answers but whose TLS handshake fails (-EPROTO, with the reason and,
 * when the server showed one before failing, the leaf's fingerprint).
 */

#include <stdint.h>

#include <systemd/sd-event.h>

#include "certinfo.h"

typedef struct Probe Probe;

#define PROBE_REASON_MAX 256

/*
 * r >= 0: fingerprint is the served leaf's. r == -EPROTO: the handshake
 * failed; reason says why, fingerprint is the leaf shown before it failed or
 * NULL. Other r < 0: unreachable (-errno), both NULL.
 */
typedef void (*probe_done_t)(Probe *p, int r, const char *fingerprint, const char *reason, void *userdata);

/*
 * address: "127.0.0.1:8443", "[::1]:8443", "8443" (= 127.0.0.1). server_name
 * is sent as SNI when not NULL. Returns 0 or -errno.
 */
int probe_start(sd_event *event, const char *address, const char *server_name,
                uint64_t timeout_usec, probe_done_t done, void *userdata, Probe **ret);

/* Cancels (done is not called) and frees. */
Probe *probe_free(Probe *p);
