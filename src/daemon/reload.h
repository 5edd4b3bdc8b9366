/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Asking systemd to reload the consumer units after a commit, then checking
 * by a TLS handshake (probe.h) that each serves the expected certificate.
 * Asynchronous on the caller's sd-event loop; one request at a time.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct EndpointStatus {
        char *unit;         /* "vertex-console.service" */
        char *address;      /* listen address of its socket, "127.0.0.1:8443", "[::1]:9443"; "" when unknown */
        char *state;        /* "serving", "inactive", "failed", "mismatch", "unreachable", "handshake-failed",
                               "unknown" (not checked: another unit's failure ended the request) */
        char *fingerprint;  /* leaf fingerprint served, "" when unknown */
} EndpointStatus;

void endpoint_status_array_free(EndpointStatus *array, size_t n);

typedef struct ReloadRequest ReloadRequest;

/*
 * Called once. r >= 0: every running unit reloaded and (when verifying)
 * serves `fingerprint`. r < 0: error_message says which unit failed and how
 * (-EPROTO: an endpoint answers but its TLS handshake fails, which ends the
 * request at once; other -errno: unreachable, another certificate, a job).
 * endpoints/n_endpoints describe every unit either way; they are owned by the
 * request and valid during the call only.
 */
typedef void (*reload_done_t)(ReloadRequest *req, int r, const char *error_message,
                              const EndpointStatus *endpoints, size_t n_endpoints,
                              void *userdata);

/* What to reload, and what each unit must then serve. */
typedef struct ReloadParameters {
        char *const *units;
        /* NULL or "": one reload job per unit; a unit name: one job of that unit, whose reload systemd
         * propagates to `units` (ReloadPropagatedFrom=); a running unit it cannot reach gets a job of its own. */
        const char *through;
        /* VerifyAddresses= ("UNIT=ADDRESS" words, may be NULL): listen addresses to check for a unit, beside
         * those of its sockets; a server that opens its own listeners (nginx, HAProxy) has no socket unit. */
        char *const *verify_addresses;
        const char *fingerprint;     /* what every endpoint must serve */
        /* Sent as SNI in the serving check when a DNS name (never an address); NULL: none. A server
         * that refuses clients without SNI (nginx's ssl_reject_handshake, HAProxy's strict-sni) needs it. */
        const char *server_name;
        uint64_t timeout_usec;
        bool verify_serving;         /* false: the job results alone decide */
} ReloadParameters;

/*
 * Starts reloading p->units on `bus` (the system bus with org.freedesktop.systemd1).
 * An empty unit list completes (asynchronously, from the event loop) with
 * success and no endpoints. Returns 0 and the request, or -errno.
 */
int reload_request_start(sd_bus *bus, sd_event *event, const ReloadParameters *p,
                         reload_done_t done, void *userdata, ReloadRequest **ret);

/* Cancels (done is not called) and frees. */
ReloadRequest *reload_request_free(ReloadRequest *req);
