/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serving check of a reloaded unit (reload-check.h): TLS handshakes at
 * each of its addresses (reload-verify.c) until it serves the new certificate,
 * a second round for a unit that opens its own listeners, and the unit's
 * outcome from what they saw. A failed handshake cuts the whole request short.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reload-check.h"
#include "reload-unit.h"
#include "strv.h"

/*
 * A server that opens its own listeners and replaces its worker processes on
 * reload may let old workers accept for a moment after new ones serve:
 * nginx starts the new workers, sleeps 100 ms, and only then tells the old
 * ones to stop. One handshake with the new certificate does not yet mean
 * that every next one gets it; a second round this much later does.
 */
#define CONFIRM_AFTER_USEC (300 * USEC_PER_MSEC)

static void request_cut_short(ReloadRequest *req);
static int on_confirm(sd_event_source *s, uint64_t usec, void *userdata);

/* Whether a second round of handshakes, CONFIRM_AFTER_USEC from now, fits before the deadline with time to retry. */
static bool confirm_fits(UnitReload *u) {
        uint64_t now;

        return sd_event_now(u->req->event, CLOCK_MONOTONIC, &now) >= 0 &&
                now + 2 * CONFIRM_AFTER_USEC < u->req->deadline;
}

void unit_check_verified(UnitReload *u) {
        bool all_serving = true;

        /* A handshake that failed for good decides at once: every other address and unit would only add waiting. */
        for (size_t i = 0; i < u->n_checks; i++) {
                AddressCheck *c = &u->checks[i];

                if (!c->finished || !streq(c->state, "handshake-failed"))
                        continue;
                unit_fail(u, -EPROTO, "serving", "%s answers on %s, but the TLS handshake %sfailed: %s", u->name,
                          c->address, c->fingerprint ? "with the new certificate " : "",
                          c->reason ?: "the TLS handshake did not complete");
                return request_cut_short(u->req);
        }

        for (size_t i = 0; i < u->n_checks; i++) {
                if (!u->checks[i].finished)
                        return;
                if (!streq(u->checks[i].state, "serving"))
                        all_serving = false;
        }

        if (all_serving && u->confirm && !u->confirming && confirm_fits(u)) {
                u->confirming = true;
                if (sd_event_add_time_relative(u->req->event, &u->confirm_timer, CLOCK_MONOTONIC,
                                               CONFIRM_AFTER_USEC, 0, on_confirm, u) >= 0)
                        return;
                /* No timer: the first round is all we can have. */
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

/*
 * An endpoint failed for good: the request's outcome is known. The other units stop where they are,
 * with what their checks saw so far ("unknown" when nothing yet), so that the pipeline can put the
 * previous generation back without waiting for them. Their systemd jobs run on; a reload asked for
 * afterwards is queued behind a running one, never merged into it.
 */
static void request_cut_short(ReloadRequest *req) {
        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                if (u->phase == UNIT_FINISHED)
                        continue;
                for (size_t j = 0; j < u->n_checks; j++) {
                        address_check_done(&u->checks[j]);
                        u->checks[j].finished = true;
                }
                unit_finish(u, u->phase == UNIT_VERIFY ? "serving" : "unknown");
        }
        request_stop_setup(req);
        request_check_complete(req);
}

static void on_check_finished(AddressCheck *c, void *userdata) {
        unit_check_verified(userdata);
}

/* The second round: every address again, each retried until it serves the new certificate or the deadline. */
static int on_confirm(sd_event_source *s, uint64_t usec, void *userdata) {
        UnitReload *u = userdata;

        u->confirm_timer = sd_event_source_disable_unref(u->confirm_timer);
        for (size_t i = 0; i < u->n_checks; i++) {
                AddressCheck *c = &u->checks[i];

                address_check_done(c);
                address_check_init(c);
                c->finished = false;
                c->error = 0;
        }
        for (size_t i = 0; i < u->n_checks; i++)
                if (address_check_start(&u->checks[i]) < 0)
                        u->checks[i].finished = true;
        unit_check_verified(u);
        return 0;
}

void unit_verify(UnitReload *u) {
        size_t n = strv_length(u->addresses);

        u->phase = UNIT_VERIFY;

        /* Without a socket or VerifyAddresses= we know no address to ask: the job result is all we have. */
        if (!u->req->verify || n == 0)
                return unit_finish(u, "serving");

        u->checks = calloc(n, sizeof(AddressCheck));
        if (!u->checks)
                return unit_fail(u, -ENOMEM, "failed", "Out of memory");
        for (size_t i = 0; i < n; i++) {
                u->checks[i] = (AddressCheck) {
                        .event = u->req->event,
                        .address = strdup(u->addresses[i]),
                        .expected = u->req->fingerprint,
                        .server_name = u->req->server_name,
                        .deadline = u->req->deadline,
                        .on_finished = on_check_finished,
                        .userdata = u,
                };
                address_check_init(&u->checks[i]);
                u->n_checks++;
                if (!u->checks[i].address)
                        return unit_fail(u, -ENOMEM, "failed", "Out of memory");
        }

        for (size_t i = 0; i < n; i++)
                if (address_check_start(&u->checks[i]) < 0)
                        u->checks[i].finished = true;

        unit_check_verified(u);
}
