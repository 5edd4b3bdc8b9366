/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * ReloadRequest: after a commit, asks systemd to reload each consumer unit
 * (one job of the ReloadThrough= carrier, or one job per unit), then checks
 * by TLS handshakes (reload-verify.c) that each serves the new certificate.
 * The order of events and why is in docs/design.md, "Reloading the
 * consumers". It rolls nothing back and decides nothing: it reports what
 * each endpoint serves and whether the request succeeded; the pipeline
 * decides. Units not running are not started.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "config.h"
#include "macro.h"
#include "probe.h"
#include "reload-check.h"
#include "reload-unit.h"
#include "reload-verify.h"
#include "reload.h"
#include "strv.h"

static inline size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static void unit_advance(UnitReload *u);


/* Is this unit's job the carrier's (matched by its name) rather than one of its own (by job path)? */
static bool unit_via_carrier(const UnitReload *u) {
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
        free(req->server_name);
        free(req->error_message);
        free(req);
        return NULL;
}

static const char *bus_error_message(sd_bus_message *m) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        return e && e->message ? e->message : e && e->name ? e->name : "unknown error";
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
                        unit_stop_checks(&req->units[i]);
                }

        request_stop_setup(req);
        request_check_complete(req);
}

/* ------------------------------------------------------------------ jobs */

static void unit_job_removed(UnitReload *u, const char *result) {
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

static int on_job_enqueued(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
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

static int unit_get_property(UnitReload *u, const char *path, const char *interface, const char *property,
                             sd_bus_message_handler_t callback) {
        return sd_bus_call_method_async(u->req->bus, &u->slot, "org.freedesktop.systemd1", path,
                                        "org.freedesktop.DBus.Properties", "Get", callback, u,
                                        "ss", interface, property);
}

static int on_listen(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        const char *type, *address;
        int r;

        u->slot = sd_bus_slot_unref(u->slot);

        /* A socket we cannot read leaves that socket's addresses unknown; it does not fail the reload. */
        if (!sd_bus_message_is_method_error(m, NULL)) {
                r = sd_bus_message_enter_container(m, 'v', "a(ss)");
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "(ss)");
                while (r >= 0 && (r = sd_bus_message_read(m, "(ss)", &type, &address)) > 0)
                        if (streq(type, "Stream") && !strv_contains(u->addresses, address) &&
                            strv_extend(&u->addresses, address) < 0) {
                                unit_fail(u, -ENOMEM, "failed", "Out of memory");
                                return 0;
                        }
        }

        u->socket_index++;
        unit_advance(u);
        return 0;
}

static int on_triggered_by(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        const char *name;
        int r;

        u->slot = sd_bus_slot_unref(u->slot);

        if (!sd_bus_message_is_method_error(m, NULL)) {
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "s");
                while (r >= 0 && (r = sd_bus_message_read(m, "s", &name)) > 0) {
                        size_t l = strlen(name);

                        if (l > 7 && streq(name + l - 7, ".socket") && strv_extend(&u->sockets, name) < 0) {
                                unit_fail(u, -ENOMEM, "failed", "Out of memory");
                                return 0;
                        }
                }
        }

        u->phase = UNIT_LISTEN;
        unit_advance(u);
        return 0;
}

/* The carrier cannot serve u: it gets a job of its own; a JobRemoved taken by its name was not that. */
static void unit_take_own_job(UnitReload *u) {
        u->own_job = true;
        free(u->removed_result);
        u->removed_result = NULL;
}

static int on_propagation(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        const char *through = u->req->through;
        const char *name;
        bool reached = false;
        int r;

        u->slot = sd_bus_slot_unref(u->slot);

        if (sd_bus_message_is_method_error(m, NULL)) {
                unit_fail(u, -EIO, "failed", "Failed to read ReloadPropagatedFrom= of %s: %s", u->name,
                          bus_error_message(m));
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(m, "s", &name)) > 0)
                if (streq(name, through))
                        reached = true;
        if (r < 0) {
                unit_fail(u, -EBADMSG, "failed", "Failed to read ReloadPropagatedFrom= of %s: unexpected reply",
                          u->name);
                return 0;
        }
        if (!reached) {
                /* No job would come through the carrier: one of its own, as without a carrier. */
                unit_take_own_job(u);
                u->phase = UNIT_TRIGGERED_BY;
        } else
                u->phase = UNIT_CAN_RELOAD;
        unit_advance(u);
        return 0;
}

static int on_can_reload(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        int can_reload;

        u->slot = sd_bus_slot_unref(u->slot);

        if (sd_bus_message_is_method_error(m, NULL)) {
                unit_fail(u, -EIO, "failed", "Failed to read CanReload of %s: %s", u->name, bus_error_message(m));
                return 0;
        }
        if (sd_bus_message_read(m, "v", "b", &can_reload) < 0) {
                unit_fail(u, -EBADMSG, "failed", "Failed to read CanReload of %s: unexpected reply", u->name);
                return 0;
        }
        /* systemd drops a propagated reload for a unit without ExecReload=: a try-restart of its own. */
        if (!can_reload)
                unit_take_own_job(u);

        u->phase = UNIT_TRIGGERED_BY;
        unit_advance(u);
        return 0;
}

static int on_active_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        const char *state;

        u->slot = sd_bus_slot_unref(u->slot);

        if (sd_bus_message_is_method_error(m, NULL)) {
                unit_fail(u, -EIO, "failed", "Failed to read the state of %s: %s", u->name, bus_error_message(m));
                return 0;
        }
        if (sd_bus_message_read(m, "v", "s", &state) < 0) {
                unit_fail(u, -EBADMSG, "failed", "Failed to read the state of %s: unexpected reply", u->name);
                return 0;
        }

        /*
         * Only a unit that runs (or is about to) holds the old certificate.
         * inactive, failed, deactivating, maintenance: its next start reads the new files.
         */
        u->running = streq(state, "active") || streq(state, "reloading") || streq(state, "activating");
        u->starting = streq(state, "activating");

        u->phase = u->running && !u->starting && u->req->through ? UNIT_PROPAGATION : UNIT_TRIGGERED_BY;
        unit_advance(u);
        return 0;
}

static int on_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitReload *u = userdata;
        const char *path;

        u->slot = sd_bus_slot_unref(u->slot);

        if (sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.NoSuchUnit")) {
                /* Not loaded, so not running: nothing to reload, nothing to ask. */
                unit_finish(u, "inactive");
                return 0;
        }
        if (sd_bus_message_is_method_error(m, NULL)) {
                unit_fail(u, -EIO, "failed", "Failed to look up %s: %s", u->name, bus_error_message(m));
                return 0;
        }
        if (sd_bus_message_read(m, "o", &path) < 0 || !(u->path = strdup(path))) {
                unit_fail(u, -ENOMEM, "failed", "Failed to look up %s: unexpected reply", u->name);
                return 0;
        }

        u->phase = UNIT_ACTIVE_STATE;
        unit_advance(u);
        return 0;
}

static bool name_is_socket(const char *name) {
        size_t l = strlen(name);

        return l > 7 && streq(name + l - 7, ".socket");
}

/* Issues the call of the current phase. Failures to even send finish the unit. */
static void unit_advance(UnitReload *u) {
        ReloadRequest *req = u->req;
        int r = 0;

        switch (u->phase) {
        case UNIT_GET_UNIT:
                r = sd_bus_call_method_async(req->bus, &u->slot, "org.freedesktop.systemd1",
                                             "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                             "GetUnit", on_get_unit, u, "s", u->name);
                break;

        case UNIT_ACTIVE_STATE:
                r = unit_get_property(u, u->path, "org.freedesktop.systemd1.Unit", "ActiveState", on_active_state);
                break;

        case UNIT_PROPAGATION:
                r = unit_get_property(u, u->path, "org.freedesktop.systemd1.Unit", "ReloadPropagatedFrom",
                                      on_propagation);
                break;

        case UNIT_CAN_RELOAD:
                r = unit_get_property(u, u->path, "org.freedesktop.systemd1.Unit", "CanReload", on_can_reload);
                break;

        case UNIT_TRIGGERED_BY:
                if (name_is_socket(u->name)) {
                        r = strv_extend(&u->sockets, u->name);
                        if (r >= 0) {
                                u->phase = UNIT_LISTEN;
                                return unit_advance(u);
                        }
                        break;
                }
                r = unit_get_property(u, u->path, "org.freedesktop.systemd1.Unit", "TriggeredBy", on_triggered_by);
                break;

        case UNIT_LISTEN:
                if (u->sockets && u->sockets[u->socket_index]) {
                        _cleanup_free_ char *path = NULL;

                        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", u->sockets[u->socket_index], &path);
                        if (r >= 0)
                                r = unit_get_property(u, path, "org.freedesktop.systemd1.Socket", "Listen", on_listen);
                        break;
                }

                if (!u->running)
                        return unit_finish(u, "inactive");

                if (unit_via_carrier(u)) {
                        /*
                         * systemd propagates no job to a unit that is still starting (the try-reload
                         * collapses to nothing), but the start reads the files: the handshakes decide.
                         */
                        if (u->starting)
                                return unit_verify(u);
                        /* Its job was asked for with the carrier's: wait for it, or take the one seen. */
                        u->phase = UNIT_JOB;
                        if (u->removed_result)
                                unit_job_removed(u, u->removed_result);
                        return;
                }

                u->phase = UNIT_WAIT_SETUP;
                if (req->setup_pending > 0)
                        return;   /* request_setup_step() comes back here */
                _fallthrough_;

        case UNIT_WAIT_SETUP:
                u->phase = UNIT_JOB;
                r = sd_bus_call_method_async(req->bus, &u->slot, "org.freedesktop.systemd1",
                                             "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                             "ReloadOrTryRestartUnit", on_job_enqueued, u,
                                             "ss", u->name, "replace");
                break;

        case UNIT_JOB:
        case UNIT_VERIFY:
        case UNIT_FINISHED:
                return;
        }

        if (r < 0) {
                errno = -r;
                unit_fail(u, r, "failed", "Failed to ask systemd about %s: %m", u->name);
        }
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
                                if (streq(u->checks[j].state, "unknown")) {
                                        /* Not one answer in all that time. */
                                        u->checks[j].state = "unreachable";
                                        u->checks[j].error = -ETIMEDOUT;
                                }
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

/* An IP literal is never sent as SNI (RFC 6066, section 3). */
static bool is_dns_name(const char *name) {
        struct in6_addr a6;
        struct in_addr a4;

        return !isempty(name) && inet_pton(AF_INET, name, &a4) != 1 && inet_pton(AF_INET6, name, &a6) != 1;
}

int reload_request_start(sd_bus *bus, sd_event *event, const ReloadParameters *p,
                         reload_done_t done, void *userdata, ReloadRequest **ret) {
        _cleanup_(reload_request_abandonp) ReloadRequest *req = NULL;
        char *const *units = p->units;
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
        req->verify = p->verify_serving;
        req->done = done;
        req->userdata = userdata;
        req->fingerprint = strdup(p->fingerprint ?: "");
        if (!req->fingerprint)
                return -ENOMEM;
        if (!isempty(p->through) && !(req->through = strdup(p->through)))
                return -ENOMEM;
        if (is_dns_name(p->server_name) && !(req->server_name = strdup(p->server_name)))
                return -ENOMEM;

        req->units = calloc(max_size(n, 1), sizeof(UnitReload));
        if (!req->units)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                req->units[i] = (UnitReload) { .req = req, .name = strdup(units[i]) };
                req->n_units++;
                if (!req->units[i].name)
                        return -ENOMEM;
                /* Configured first; its sockets' addresses join them (on_listen(), each once). */
                r = config_verify_addresses_of(p->verify_addresses, units[i], &req->units[i].addresses);
                if (r < 0)
                        return r;
                req->units[i].confirm = strv_length(req->units[i].addresses) > 0;
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
        req->deadline = now + p->timeout_usec;
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
