/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Expiry timers for the served certificate: one CLOCK_REALTIME timer at
 * NotAfter - ExpiryWarningDays, one at NotAfter, and for our own self-signed
 * default one at NotAfter - EXPIRY_REGENERATE_DAYS that renews it through the
 * pipeline. A timer whose time has already passed fires at once, so a daemon
 * started late catches up without polling. An uploaded certificate is only
 * ever warned about, never replaced.
 */

#include <inttypes.h>
#include <time.h>

#include "announce.h"
#include "expiry.h"
#include "journal.h"
#include "pipeline.h"
#include "time-util.h"

static uint64_t minus_days(uint64_t t, unsigned days) {
        uint64_t d = (uint64_t) days * USEC_PER_DAY;
        return t > d ? t - d : 1;   /* 0 would mean "now" to nobody; 1 µs is "long ago" */
}

void expiry_disarm(Context *c) {
        c->expiry_warning_timer = sd_event_source_disable_unref(c->expiry_warning_timer);
        c->expiry_timer = sd_event_source_disable_unref(c->expiry_timer);
        c->regenerate_timer = sd_event_source_disable_unref(c->regenerate_timer);
        c->status_timer = sd_event_source_disable_unref(c->status_timer);
}

/* The next instant at which whole days left changes, so STATUS= stays current without polling. */
static uint64_t next_day_boundary(uint64_t not_after, uint64_t now) {
        if (not_after <= now)
                return 0;
        uint64_t days = (not_after - now) / USEC_PER_DAY;
        return not_after - days * USEC_PER_DAY + 1;
}

static int on_status_day(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;
        uint64_t next;

        announce_status(c);
        if (!c->info)
                return 0;
        next = next_day_boundary(c->info->not_after_usec, now_usec(CLOCK_REALTIME));
        if (next == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_time(s, next);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_warning(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;
        uint64_t now = now_usec(CLOCK_REALTIME);

        if (!c->info || c->expiry_phase != EXPIRY_PHASE_VALID)
                return 0;

        unsigned days = days_left(c->info->not_after_usec, now);
        c->expiry_phase = EXPIRY_PHASE_WARNING;
        announce_expiring(c, days);
        announce_state(c);
        return 0;
}

static int on_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;

        if (!c->info)
                return 0;

        c->expiry_phase = EXPIRY_PHASE_EXPIRED;
        announce_expired(c);
        announce_state(c);
        return 0;
}

static void on_regenerated(Context *c, const PipelineResult *result, void *userdata) {
        c->regenerate_pending = false;
        if (result->r == -ECANCELED)
                return;
        if (result->r >= 0)
                c->regenerate_retry_usec = 0;
        if (result->r < 0) {
                log_error("Automatic renewal of the self-signed certificate failed: %s; retrying in an hour.",
                          result->message ?: "unknown error");
                c->regenerate_retry_usec = now_usec(CLOCK_REALTIME) + EXPIRY_REGENERATE_RETRY_USEC;
                (void) expiry_update(c);
        }
}

static int on_regenerate(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;
        int r;

        if (c->regenerate_pending)
                return 0;

        log_info("The self-signed certificate expires within %u days; generating a new one.", EXPIRY_REGENERATE_DAYS);
        PipelineRequest request = {
                .action = PIPELINE_SELF_SIGNED,
                .source = "self-signed",
                .origin = "expiry",
                .caller = LOG_CALLER_NONE,
                .queue = true,
        };
        r = pipeline_submit(c, &request, on_regenerated, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to queue the renewal of the self-signed certificate: %m");
        c->regenerate_pending = true;
        return 0;
}

static int arm(Context *c, sd_event_source **s, uint64_t when, sd_event_time_handler_t handler) {
        /* One second of accuracy is plenty for days-long deadlines and lets the kernel batch wake-ups. */
        return sd_event_add_time(c->event, s, CLOCK_REALTIME, when, USEC_PER_SEC, handler, c);
}

int expiry_update(Context *c) {
        int r;

        expiry_disarm(c);
        c->expiry_phase = EXPIRY_PHASE_VALID;

        if (!c->info || c->info->not_after_usec == 0) {
                announce_state(c);
                return 0;
        }

        uint64_t not_after = c->info->not_after_usec;

        /* ExpiryWarningDays=0 turns the warning off (certd.conf(5)); expiry itself is always tracked. */
        if (c->config->expiry_warning_days > 0) {
                r = arm(c, &c->expiry_warning_timer, minus_days(not_after, c->config->expiry_warning_days), on_warning);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the expiry warning timer: %m");
        }
        r = arm(c, &c->expiry_timer, not_after, on_expired);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the expiry timer: %m");

        uint64_t day = next_day_boundary(not_after, now_usec(CLOCK_REALTIME));
        if (day > 0) {
                r = arm(c, &c->status_timer, day, on_status_day);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the status timer: %m");
        }

        /* Only our own default renews itself; anything an operator uploaded stays theirs. */
        if (streq_ptr(c->stored_source, "self-signed")) {
                uint64_t when = minus_days(not_after, EXPIRY_REGENERATE_DAYS);
                if (when < c->regenerate_retry_usec)
                        when = c->regenerate_retry_usec;
                r = arm(c, &c->regenerate_timer, when, on_regenerate);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the renewal timer: %m");
        }

        announce_state(c);
        return 0;
}
