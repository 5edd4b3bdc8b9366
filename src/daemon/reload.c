/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * ReloadRequest: after a commit, asks systemd to reload each consumer unit
 * and then checks by TLS handshakes that each serves the new certificate.
 *
 * Order of events, all asynchronous on the caller's loop:
 *   1. match JobRemoved and call Manager.Subscribe; nothing is enqueued before
 *      both are confirmed, so no job can finish unseen;
 *   2. per unit, in parallel: GetUnit (not loaded = not running), its
 *      ActiveState, the sockets that trigger it and their Listen addresses;
 *   3. running units: ReloadOrTryRestartUnit(unit, "replace"), then wait for
 *      the JobRemoved of that job path. A JobRemoved that overtakes the
 *      method reply is kept and matched when the reply arrives;
 *   4. job result "done": probe each stream listen address until the served
 *      fingerprint is the expected one, retrying with a short back-off, until
 *      the request's deadline.
 *
 * Through a carrier unit (ReloadThrough=, e.g. vertex-tls.target, which each
 * consumer names in ReloadPropagatedFrom=), step 3 is one job instead of one
 * per unit: ReloadUnit(carrier) goes out right behind the match and Subscribe
 * (the bus keeps one sender's messages in order, so both are in effect before
 * systemd sees it), and systemd adds a try-reload job for every consumer to
 * the same transaction. ReloadUnit, not ReloadOrTryRestartUnit: on an
 * inactive target the latter becomes a no-op that propagates nothing. That
 * is one polkit check instead of one per unit: polkitd answers them one
 * after another, each 5-20 ms while PID 1 is busy with the first job. The
 * consumers' job paths are not in the reply, so each running unit takes the
 * first JobRemoved of its name; whichever job that was, the handshakes of
 * step 4 decide whether it serves the new certificate (without a handshake,
 * only "done" counts). Each running unit's ReloadPropagatedFrom= and CanReload are
 * read with its lookups: a consumer the carrier does not reach, or cannot
 * reload (no ExecReload=: systemd drops the propagated job), gets a
 * ReloadOrTryRestartUnit of its own, as without a carrier, so a Units= that
 * predates the carrier keeps working. The carrier's own answer is waited for
 * like Subscribe's, so a refusal of it is never missed.
 *
 * Deliberately does not roll back or decide anything: it reports what each
 * endpoint serves and whether the request succeeded; the pipeline decides.
 * Units not running are not started (their next activation reads the files).
 */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "reload-internal.h"


/* Is this unit's job the carrier's (matched by its name) rather than one of its own (by job path)? */
bool unit_via_carrier(const UnitReload *u) {
        return u->req->through && !u->own_job;
}

void endpoint_status_array_free(EndpointStatus *array, size_t n) {
        if (!array)
                return;
        for (size_t i = 0; i < n; i++) {
                free(array[i].unit);
                free(array[i].address);
                free(array[i].state);
                free(array[i].fingerprint);
        }
        free(array);
}

static void unit_release(UnitReload *u) {
        u->slot = sd_bus_slot_unref(u->slot);
        for (size_t i = 0; i < u->n_checks; i++) {
                address_check_done(&u->checks[i]);
                free(u->checks[i].address);
                free(u->checks[i].fingerprint);
        }
        free(u->checks);
        free(u->name);
        free(u->path);
        free(u->job);
        free(u->removed_result);
        free(u->error_message);
        strv_free(u->sockets);
        strv_free(u->addresses);
}

/* No more JobRemoved, and no answer to Subscribe or the carrier's reload waited for. */
static void request_stop_setup(ReloadRequest *req) {
        req->match_slot = sd_bus_slot_unref(req->match_slot);
        req->subscribe_slot = sd_bus_slot_unref(req->subscribe_slot);
        req->through_slot = sd_bus_slot_unref(req->through_slot);
        req->setup_pending = 0;
}

ReloadRequest *reload_request_free(ReloadRequest *req) {
        if (!req)
                return NULL;

        request_stop_setup(req);
        sd_event_source_disable_unref(req->timeout);
        sd_event_source_disable_unref(req->complete);

        for (size_t i = 0; i < req->n_units; i++)
                unit_release(&req->units[i]);
        free(req->units);

        for (size_t i = 0; i < req->n_removed; i++) {
                free(req->removed[i].job);
                free(req->removed[i].result);
        }
        free(req->removed);

        /* systemd emits signals while anyone is subscribed: stop it when it was us who asked. */
        if (req->subscribed_by_us)
                (void) sd_bus_call_method_async(req->bus, NULL, "org.freedesktop.systemd1",
                                                "/org/freedesktop/systemd1",
                                                "org.freedesktop.systemd1.Manager", "Unsubscribe",
                                                NULL, NULL, NULL);

        sd_bus_unref(req->bus);
        sd_event_unref(req->event);
        free(req->through);
        free(req->fingerprint);
        free(req->error_message);
        free(req);
        return NULL;
}

const char *bus_error_message(sd_bus_message *m) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        return e && e->message ? e->message : e && e->name ? e->name : "unknown error";
}

void request_check_complete(ReloadRequest *req) {
        /* Not before the Subscribe answer: a subscription of ours must be known to be undone. */
        if (req->setup_pending > 0)
                return;
        for (size_t i = 0; i < req->n_units; i++)
                if (req->units[i].phase != UNIT_FINISHED)
                        return;

        /* done runs from its own event so that no handler touches a freed request afterwards. */
        (void) sd_event_source_set_enabled(req->complete, SD_EVENT_ONESHOT);
}

/* Records a failure of unit u (first error wins) and finishes it, like unit_finish(). */
void unit_fail(UnitReload *u, int error, const char *state, const char *format, ...) _printf_(4, 5);
void unit_fail(UnitReload *u, int error, const char *state, const char *format, ...) {
        va_list ap;

        if (!u->error_message) {
                va_start(ap, format);
                if (vasprintf(&u->error_message, format, ap) < 0)
                        u->error_message = NULL;
                va_end(ap);
                u->error = error;
        }
        u->state = state;
        u->phase = UNIT_FINISHED;
        u->slot = sd_bus_slot_unref(u->slot);
        for (size_t i = 0; i < u->n_checks; i++)
                address_check_done(&u->checks[i]);
        request_check_complete(u->req);
}

void unit_finish(UnitReload *u, const char *state) {
        u->state = state;
        u->phase = UNIT_FINISHED;
        u->slot = sd_bus_slot_unref(u->slot);
        request_check_complete(u->req);
}

static int build_status(ReloadRequest *req, EndpointStatus **ret, size_t *ret_n) {
        EndpointStatus *a;
        size_t n = 0, k = 0;

        for (size_t i = 0; i < req->n_units; i++)
                n += max_size(req->units[i].n_checks, 1);

        a = calloc(max_size(n, 1), sizeof(EndpointStatus));
        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];
                size_t m = max_size(u->n_checks, 1);

                for (size_t j = 0; j < m; j++, k++) {
                        AddressCheck *c = u->n_checks > 0 ? &u->checks[j] : NULL;
                        const char *state = u->state ?: "failed";
                        const char *address = "", *fp = "";

                        if (c) {
                                address = c->address;
                                /* A unit that failed before probing reports its own state. */
                                if (c->state && streq(state, "serving"))
                                        state = c->state;
                                fp = c->fingerprint ?: "";
                        } else if (u->addresses && u->addresses[0])
                                address = u->addresses[0];

                        a[k].unit = strdup(u->name);
                        a[k].address = strdup(address);
                        a[k].state = strdup(state);
                        a[k].fingerprint = strdup(fp);
                        if (!a[k].unit || !a[k].address || !a[k].state || !a[k].fingerprint) {
                                endpoint_status_array_free(a, k + 1);
                                return -ENOMEM;
                        }
                }
        }

        *ret = a;
        *ret_n = n;
        return 0;
}

static int request_on_complete(sd_event_source *s, void *userdata) {
        ReloadRequest *req = userdata;
        EndpointStatus *status = NULL;
        size_t n_status = 0;
        _cleanup_strv_free_ char **messages = NULL;
        _cleanup_free_ char *message = NULL;
        reload_done_t done = req->done;
        int r = req->error;

        if (req->error_message)
                (void) strv_extend(&messages, req->error_message);
        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                if (u->error < 0 && r >= 0)
                        r = u->error;
                if (u->error_message)
                        (void) strv_extend(&messages, u->error_message);
        }
        if (r < 0) {
                message = strv_join(messages, "; ");
                if (isempty(message)) {
                        free(message);
                        message = strdup("Reloading the endpoints failed");
                }
        }

        if (build_status(req, &status, &n_status) < 0 && r >= 0)
                r = -ENOMEM;

        /* Nothing more to wait for, whether or not the caller frees the request right away. */
        req->done = NULL;
        req->timeout = sd_event_source_disable_unref(req->timeout);
        request_stop_setup(req);
        if (done)
                /* May free req: nothing below touches it. */
                done(req, r, r < 0 ? (message ?: "Out of memory") : NULL, status, n_status, req->userdata);

        endpoint_status_array_free(status, n_status);
        return 0;
}

static void request_fail_all(ReloadRequest *req, int error, const char *format, ...) _printf_(3, 4);
static void request_fail_all(ReloadRequest *req, int error, const char *format, ...) {
        va_list ap;

        if (!req->error_message) {
                va_start(ap, format);
                if (vasprintf(&req->error_message, format, ap) < 0)
                        req->error_message = NULL;
                va_end(ap);
                req->error = error;
        }

        for (size_t i = 0; i < req->n_units; i++)
                if (req->units[i].phase != UNIT_FINISHED) {
                        req->units[i].state = "failed";
                        req->units[i].phase = UNIT_FINISHED;
                        req->units[i].slot = sd_bus_slot_unref(req->units[i].slot);
                        for (size_t j = 0; j < req->units[i].n_checks; j++)
                                address_check_done(&req->units[i].checks[j]);
                }

        request_stop_setup(req);
        request_check_complete(req);
}

/* ------------------------------------------------------------------ jobs */

void unit_job_removed(UnitReload *u, const char *result) {
        /*
         * Through a carrier the job is only known by its unit, so it may be someone else's (a stop
         * our reload cancelled, say): only a reload that ran and failed fails at once, any other
         * outcome is left to the handshakes.
         */
        bool handshakes_decide = u->req->verify && u->addresses && u->addresses[0];
        bool failed = !unit_via_carrier(u) ? !streq(result, "done") :
                      streq(result, "failed") || streq(result, "timeout") ||
                      (!streq(result, "done") && !handshakes_decide);

        if (failed)
                return unit_fail(u, -EIO, "failed", "Reloading %s failed: job result '%s'", u->name, result);
        unit_verify(u);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ReloadRequest *req = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        RemovedJob *n;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;

        /* A job of its own: its path decides. */
        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                if (!unit_via_carrier(u) && u->phase == UNIT_JOB && u->job && streq(u->job, job)) {
                        unit_job_removed(u, result);
                        return 0;
                }
        }

        /* Through the carrier we know no job path: the unit's name decides (see the top). */
        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                if (!unit_via_carrier(u) || !streq(u->name, unit) || u->phase >= UNIT_VERIFY || u->removed_result)
                        continue;
                if (u->phase == UNIT_JOB)
                        unit_job_removed(u, result);
                else if (!(u->removed_result = strdup(result)))
                        unit_fail(u, -ENOMEM, "failed", "Out of memory");
                return 0;
        }

        /* Possibly ours, ahead of the ReloadOrTryRestartUnit reply: remember it. */
        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                if (unit_via_carrier(u) || u->phase != UNIT_JOB || u->job || !streq(u->name, unit))
                        continue;

                n = reallocarray(req->removed, req->n_removed + 1, sizeof(RemovedJob));
                if (!n)
                        return 0;
                req->removed = n;
                n[req->n_removed] = (RemovedJob) { .job = strdup(job), .result = strdup(result) };
                if (n[req->n_removed].job && n[req->n_removed].result)
                        req->n_removed++;
                else {
                        free(n[req->n_removed].job);
                        free(n[req->n_removed].result);
                }
                break;
        }
        return 0;
}

int on_job_enqueued(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        ReloadRequest *req = u->req;
        const char *job;

        u->slot = sd_bus_slot_unref(u->slot);

        if (sd_bus_message_is_method_error(m, NULL)) {
                unit_fail(u, -EIO, "failed", "Failed to reload %s: %s", u->name, bus_error_message(m));
                return 0;
        }
        if (sd_bus_message_read(m, "o", &job) < 0) {
                unit_fail(u, -EBADMSG, "failed", "Failed to reload %s: unexpected reply", u->name);
                return 0;
        }

        for (size_t i = 0; i < req->n_removed; i++)
                if (streq(req->removed[i].job, job)) {
                        unit_job_removed(u, req->removed[i].result);
                        return 0;
                }

        u->job = strdup(job);
        if (!u->job)
                unit_fail(u, -ENOMEM, "failed", "Out of memory");
        return 0;
}

/* ----------------------------------------------------------------- setup */

static void request_setup_step(ReloadRequest *req) {
        assert(req->setup_pending > 0);
        if (--req->setup_pending > 0)
                return;

        /* The JobRemoved match is in place and systemd sends signals: the looked-up units may enqueue. */
        for (size_t i = 0; i < req->n_units; i++)
                if (req->units[i].phase == UNIT_WAIT_SETUP)
                        unit_advance(&req->units[i]);
        /* Units that finished during the setup (inactive, failed lookups) may be all there is. */
        request_check_complete(req);
}

static int on_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ReloadRequest *req = userdata;

        if (sd_bus_message_is_method_error(m, NULL)) {
                request_fail_all(req, -EIO, "Failed to watch systemd's jobs: %s", bus_error_message(m));
                return 0;
        }
        request_setup_step(req);
        return 0;
}

static int on_subscribed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ReloadRequest *req = userdata;

        req->subscribe_slot = sd_bus_slot_unref(req->subscribe_slot);

        /* Someone on this connection subscribed already: the signals flow, which is all we need. */
        if (sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.AlreadySubscribed"))
                ;
        else if (sd_bus_message_is_method_error(m, NULL)) {
                request_fail_all(req, -EIO, "Failed to subscribe to systemd: %s", bus_error_message(m));
                return 0;
        } else
                req->subscribed_by_us = true;

        request_setup_step(req);
        return 0;
}

static int on_through_enqueued(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ReloadRequest *req = userdata;

        req->through_slot = sd_bus_slot_unref(req->through_slot);

        /* No job: systemd (or polkit) refused it; all fail with that reason. */
        if (sd_bus_message_is_method_error(m, NULL)) {
                request_fail_all(req, -EIO, "Failed to reload %s: %s", req->through, bus_error_message(m));
                return 0;
        }
        request_setup_step(req);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ReloadRequest *req = userdata;

        for (size_t i = 0; i < req->n_units; i++) {
                UnitReload *u = &req->units[i];

                switch (u->phase) {
                case UNIT_FINISHED:
                        break;
                case UNIT_VERIFY:
                        /* Whatever the last probe saw is the answer. */
                        for (size_t j = 0; j < u->n_checks; j++) {
                                address_check_done(&u->checks[j]);
                                u->checks[j].finished = true;
                                if (!u->checks[j].error && !streq(u->checks[j].state, "serving") &&
                                    !streq(u->checks[j].state, "mismatch"))
                                        u->checks[j].error = -ETIMEDOUT;
                        }
                        unit_check_verified(u);
                        break;
                case UNIT_JOB:
                        if (unit_via_carrier(u))
                                unit_fail(u, -ETIMEDOUT, "failed", "Timed out waiting for %s to reload through %s",
                                          u->name, req->through);
                        else
                                unit_fail(u, -ETIMEDOUT, "failed", "Timed out waiting for %s to reload", u->name);
                        break;
                default:
                        unit_fail(u, -ETIMEDOUT, "failed", "Timed out waiting for systemd to answer about %s", u->name);
                }
        }

        request_stop_setup(req);
        request_check_complete(req);
        return 0;
}

/* A request that never started answers nobody: freed without calling done. */
static void reload_request_abandonp(ReloadRequest **p) {
        if (*p) {
                (*p)->done = NULL;
                reload_request_free(*p);
        }
}

int reload_request_start(sd_bus *bus, sd_event *event, char *const *units, const char *through,
                         const char *fingerprint, uint64_t timeout_usec, bool verify_serving,
                         reload_done_t done, void *userdata, ReloadRequest **ret) {
        _cleanup_(reload_request_abandonp) ReloadRequest *req = NULL;
        size_t n = strv_length(units);
        uint64_t now;
        int r;

        assert(bus);
        assert(event);
        assert(done);
        assert(ret);

        req = calloc(1, sizeof(ReloadRequest));
        if (!req)
                return -ENOMEM;
        req->bus = sd_bus_ref(bus);
        req->event = sd_event_ref(event);
        req->verify = verify_serving;
        req->done = done;
        req->userdata = userdata;
        req->fingerprint = strdup(fingerprint ?: "");
        if (!req->fingerprint)
                return -ENOMEM;
        if (!isempty(through) && !(req->through = strdup(through)))
                return -ENOMEM;

        req->units = calloc(max_size(n, 1), sizeof(UnitReload));
        if (!req->units)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                req->units[i] = (UnitReload) { .req = req, .name = strdup(units[i]) };
                req->n_units++;
                if (!req->units[i].name)
                        return -ENOMEM;
        }

        r = sd_event_add_defer(event, &req->complete, request_on_complete, req);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(req->complete, SD_EVENT_OFF);
        if (r < 0)
                return r;

        if (n == 0) {
                (void) sd_event_source_set_enabled(req->complete, SD_EVENT_ONESHOT);
                *ret = TAKE_PTR(req);
                return 0;
        }

        r = sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        req->deadline = now + timeout_usec;
        r = sd_event_add_time(event, &req->timeout, CLOCK_MONOTONIC, req->deadline, 0, on_timeout, req);
        if (r < 0)
                return r;

        /*
         * Both must be confirmed before the first job of a unit's own exists (request_setup_step);
         * the carrier's answer too, so that the request never ends without knowing it was accepted.
         */
        req->setup_pending = req->through ? 3 : 2;
        r = sd_bus_match_signal_async(bus, &req->match_slot, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                      "JobRemoved", on_job_removed, on_match_installed, req);
        if (r < 0)
                return r;
        r = sd_bus_call_method_async(bus, &req->subscribe_slot, "org.freedesktop.systemd1",
                                     "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                     "Subscribe", on_subscribed, req, NULL);
        if (r < 0)
                return r;

        /* Right behind them on the same connection, so in effect after them (see the top). */
        if (req->through) {
                r = sd_bus_call_method_async(bus, &req->through_slot, "org.freedesktop.systemd1",
                                             "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                             "ReloadUnit", on_through_enqueued, req,
                                             "ss", req->through, "replace");
                if (r < 0)
                        return r;
        }

        /*
         * The lookups need neither: they run meanwhile, one round trip less
         * before the first job. Only the enqueueing waits (UNIT_WAIT_SETUP).
         */
        for (size_t i = 0; i < n; i++)
                unit_advance(&req->units[i]);

        *ret = TAKE_PTR(req);
        return 0;
}
