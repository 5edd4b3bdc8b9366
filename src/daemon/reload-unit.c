/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The steps that finish a reload request's units (reload-unit.h). */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "reload-unit.h"
#include "strv.h"

/* No handshake, retry or second round goes on for u. */
void unit_stop_checks(UnitReload *u) {
        u->confirm_timer = sd_event_source_disable_unref(u->confirm_timer);
        for (size_t i = 0; i < u->n_checks; i++)
                address_check_done(&u->checks[i]);
}

void unit_release(UnitReload *u) {
        u->slot = sd_bus_slot_unref(u->slot);
        unit_stop_checks(u);
        for (size_t i = 0; i < u->n_checks; i++) {
                free(u->checks[i].address);
                free(u->checks[i].fingerprint);
                free(u->checks[i].reason);
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
void request_stop_setup(ReloadRequest *req) {
        req->match_slot = sd_bus_slot_unref(req->match_slot);
        req->subscribe_slot = sd_bus_slot_unref(req->subscribe_slot);
        req->through_slot = sd_bus_slot_unref(req->through_slot);
        req->setup_pending = 0;
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
        unit_stop_checks(u);
        request_check_complete(u->req);
}

void unit_finish(UnitReload *u, const char *state) {
        u->state = state;
        u->phase = UNIT_FINISHED;
        u->slot = sd_bus_slot_unref(u->slot);
        u->confirm_timer = sd_event_source_disable_unref(u->confirm_timer);
        request_check_complete(u->req);
}
