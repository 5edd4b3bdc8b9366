/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The last step of a ReloadRequest for one unit: a TLS handshake with each of
 * its stream listen addresses (probe.c), retried with a short back-off until
 * the served leaf is the expected one or the request's deadline passes. It
 * reports each address's state to its unit; it does not decide the request.
 */

#include <errno.h>
#include <stdio.h>

#include "reload-internal.h"

void address_check_done(AddressCheck *c) {
        c->probe = probe_free(c->probe);
        c->retry = sd_event_source_disable_unref(c->retry);
}

void unit_check_verified(UnitReload *u) {
        bool all_serving = true;

        for (size_t i = 0; i < u->n_checks; i++) {
                if (!u->checks[i].finished)
                        return;
                if (!streq(u->checks[i].state, "serving"))
                        all_serving = false;
        }

        if (all_serving)
                return unit_finish(u, "serving");

        for (size_t i = 0; i < u->n_checks; i++) {
                AddressCheck *c = &u->checks[i];

                if (streq(c->state, "serving"))
                        continue;
                if (streq(c->state, "mismatch"))
                        unit_fail(u, -ESTALE, "serving",
                                  "%s serves %s on %s instead of %s", u->name, c->fingerprint,
                                  c->address, u->req->fingerprint);
                else {
                        errno = -c->error;
                        unit_fail(u, c->error < 0 ? c->error : -EHOSTUNREACH, "serving",
                                  "%s is unreachable on %s: %m", u->name, c->address);
                }
        }
}

static int address_check_start(AddressCheck *c);

static int address_check_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        AddressCheck *c = userdata;

        c->retry = sd_event_source_disable_unref(c->retry);
        if (address_check_start(c) < 0) {
                c->finished = true;
                unit_check_verified(c->unit);
        }
        return 0;
}

static void address_check_on_probe(Probe *p, int r, const char *fingerprint, void *userdata) {
        AddressCheck *c = userdata;
        ReloadRequest *req = c->unit->req;
        uint64_t now;

        c->probe = probe_free(c->probe);

        if (r >= 0) {
                free(c->fingerprint);
                c->fingerprint = strdup(fingerprint);
                if (strcasecmp(fingerprint, req->fingerprint) == 0) {
                        c->state = "serving";
                        c->finished = true;
                        return unit_check_verified(c->unit);
                }
                c->state = "mismatch";
        } else {
                c->state = "unreachable";
                c->error = r;
        }

        /*
         * Not yet: the endpoint may still be between its reload and its swap. Try again shortly;
         * the last attempt starts a little before the deadline, so that it has time to finish.
         */
        if (sd_event_now(req->event, CLOCK_MONOTONIC, &now) < 0 ||
            now + PROBE_BACKOFF_MIN_USEC >= req->deadline ||
            sd_event_add_time_relative(req->event, &c->retry, CLOCK_MONOTONIC,
                                       min_u64(c->backoff, req->deadline - now - PROBE_BACKOFF_MIN_USEC),
                                       0, address_check_on_retry, c) < 0) {
                c->finished = true;
                return unit_check_verified(c->unit);
        }
        c->backoff = min_u64(c->backoff * 2, PROBE_BACKOFF_MAX_USEC);
}

static int address_check_start(AddressCheck *c) {
        ReloadRequest *req = c->unit->req;
        uint64_t now, timeout;
        int r;

        r = sd_event_now(req->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (now >= req->deadline)
                return -ETIMEDOUT;
        timeout = min_u64(req->deadline - now, PROBE_ATTEMPT_TIMEOUT_USEC);

        r = probe_start(req->event, c->address, NULL, timeout, address_check_on_probe, c, &c->probe);
        if (r < 0) {
                c->state = "unreachable";
                c->error = r;
        }
        return r;
}

void unit_verify(UnitReload *u) {
        size_t n = strv_length(u->addresses);

        u->phase = UNIT_VERIFY;

        /* Without a socket we know no address to ask: the job result is all we have. */
        if (!u->req->verify || n == 0)
                return unit_finish(u, "serving");

        u->checks = calloc(n, sizeof(AddressCheck));
        if (!u->checks)
                return unit_fail(u, -ENOMEM, "failed", "Out of memory");
        for (size_t i = 0; i < n; i++) {
                u->checks[i] = (AddressCheck) {
                        .unit = u,
                        .address = strdup(u->addresses[i]),
                        .backoff = PROBE_BACKOFF_MIN_USEC,
                        .state = "unreachable",
                };
                u->n_checks++;
                if (!u->checks[i].address)
                        return unit_fail(u, -ENOMEM, "failed", "Out of memory");
        }

        for (size_t i = 0; i < n; i++)
                if (address_check_start(&u->checks[i]) < 0)
                        u->checks[i].finished = true;

        unit_check_verified(u);
}
