/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One listen address of a reloaded unit: TLS handshakes (probe.c) until the
 * served leaf is the expected one, retried with a short back-off until a
 * deadline. It reports to its owner through on_finished; what the unit's
 * outcome is, the owner (reload.c) decides.
 *
 * Retried: unreachable (refused, reset, silent: a service restarting) and
 * another certificate served (its reload has not swapped yet). Not retried:
 * an endpoint that answers but whose handshake fails with the expected
 * certificate, or before any certificate showed ("handshake-failed"), which
 * time does not mend.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "probe.h"

typedef struct AddressCheck AddressCheck;

struct AddressCheck {
        /* Set by the owner before address_check_start(). */
        sd_event *event;
        char *address;
        const char *expected;       /* the fingerprint that should be served */
        const char *server_name;    /* sent as SNI; NULL: none */
        uint64_t deadline;          /* CLOCK_MONOTONIC */
        void (*on_finished)(AddressCheck *c, void *userdata);
        void *userdata;

        /* The outcome so far. */
        Probe *probe;
        sd_event_source *retry;
        uint64_t backoff;
        const char *state;          /* "unknown" (no answer yet), "serving", "mismatch", "unreachable",
                                       "handshake-failed" (static strings) */
        char *fingerprint;          /* last one served, NULL when none */
        char *reason;               /* "handshake-failed": why, in OpenSSL's or our words */
        int error;                  /* last probe error */
        bool finished;
};

/* Initializes the outcome fields; the owner sets the others. */
void address_check_init(AddressCheck *c);

/* Starts the first handshake. Returns 0, or -errno (then it is finished and unreachable). */
int address_check_start(AddressCheck *c);

/* Stops a handshake or a retry in progress; the outcome stays. */
void address_check_done(AddressCheck *c);
