/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Looking a consumer unit up before its reload, one property call at a time
 * (unit_advance()): is it loaded and running, does the carrier reach it and
 * can it reload, which sockets trigger it and on which addresses they listen.
 * Then its job starts (reload.c). It changes nothing in systemd.
 */

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "reload-internal.h"

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
void unit_advance(UnitReload *u) {
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
