/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AddressCheck: the handshakes with one listen address of a reloaded unit
 * (reload-verify.h). It reports its outcome to its owner and decides
 * nothing about the unit or the request.
 */

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "macro.h"
#include "reload-verify.h"

#define PROBE_ATTEMPT_TIMEOUT_USEC (3 * USEC_PER_SEC)
#define PROBE_BACKOFF_MIN_USEC (50 * USEC_PER_MSEC)
#define PROBE_BACKOFF_MAX_USEC (1 * USEC_PER_SEC)

static inline uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

void address_check_init(AddressCheck *c) {
        c->backoff = PROBE_BACKOFF_MIN_USEC;
        c->state = "unknown";
}

static void finish(AddressCheck *c) {
        c->finished = true;
        if (c->on_finished)
                c->on_finished(c, c->userdata);
}

void address_check_done(AddressCheck *c) {
        c->probe = probe_free(c->probe);
        c->retry = sd_event_source_disable_unref(c->retry);
}


static int address_check_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        AddressCheck *c = userdata;

        c->retry = sd_event_source_disable_unref(c->retry);
        if (address_check_start(c) < 0)
                finish(c);
        return 0;
}

static void address_check_on_probe(Probe *p, int r, const char *fingerprint, const char *reason, void *userdata) {
        AddressCheck *c = userdata;
        uint64_t now;

        c->probe = probe_free(c->probe);

        if (r >= 0) {
                free(c->fingerprint);
                c->fingerprint = strdup(fingerprint);
                if (strcasecmp(fingerprint, c->expected) == 0) {
                        c->state = "serving";
                        return finish(c);
                }
                c->state = "mismatch";
        } else if (r == -EPROTO) {
                free(c->fingerprint);
                c->fingerprint = fingerprint ? strdup(fingerprint) : NULL;
                free(c->reason);
                c->reason = strdup(reason ?: "the TLS handshake did not complete");
                c->error = r;
                /*
                 * It answers, and the handshake fails with the certificate it should serve (or before
                 * any certificate showed: the previous one served, so it is not the previous one
                 * failing). Waiting will not mend that: final.
                 */
                if (!fingerprint || strcasecmp(fingerprint, c->expected) == 0) {
                        c->state = "handshake-failed";
                        return finish(c);
                }
                /* Still another certificate, failing or not: its reload may not have happened yet. */
                c->state = "mismatch";
        } else {
                c->state = "unreachable";
                c->error = r;
        }

        /*
         * Not yet: the endpoint may still be between its reload and its swap. Try again shortly;
         * the last attempt starts a little before the deadline, so that it has time to finish.
         */
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) < 0 ||
            now + PROBE_BACKOFF_MIN_USEC >= c->deadline ||
            sd_event_add_time_relative(c->event, &c->retry, CLOCK_MONOTONIC,
                                       min_u64(c->backoff, c->deadline - now - PROBE_BACKOFF_MIN_USEC),
                                       0, address_check_on_retry, c) < 0)
                return finish(c);
        c->backoff = min_u64(c->backoff * 2, PROBE_BACKOFF_MAX_USEC);
}

int address_check_start(AddressCheck *c) {
        uint64_t now, timeout;
        int r;

        r = sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (now >= c->deadline) {
                /* A retry late past the deadline: what the last probe saw stays the answer. */
                if (streq(c->state, "unknown")) {
                        c->state = "unreachable";
                        c->error = -ETIMEDOUT;
                }
                return -ETIMEDOUT;
        }
        timeout = min_u64(c->deadline - now, PROBE_ATTEMPT_TIMEOUT_USEC);

        r = probe_start(c->event, c->address, c->server_name, timeout, address_check_on_probe, c, &c->probe);
        if (r < 0) {
                c->state = "unreachable";
                c->error = r;
        }
        return r;
}

