/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Context: ownership of everything the daemon holds, and the small
 * amount of derived state (State, STATUS=). It does not decide anything
 * about certificates; the pipeline changes what is served, the bus layer
 * announces it.
 */

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "bus-api.h"
#include "context.h"
#include "expiry.h"
#include "journal.h"
#include "pipeline.h"
#include "polkit.h"
#include "strv.h"

int context_new(Context **ret) {
        Context *c = calloc(1, sizeof(Context));
        if (!c)
                return -ENOMEM;
        c->last_error = strdup("");
        c->source = strdup("");
        c->stored_source = strdup("");
        if (!c->last_error || !c->source || !c->stored_source) {
                context_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

Context *context_free(Context *c) {
        if (!c)
                return NULL;

        /* Pending work first: it refers to the bus, the store and the event loop. */
        pipeline_cancel_all(c);
        polkit_queries_free(c);
        expiry_disarm(c);
        dropdir_free(c->dropdir);

        sd_bus_flush_close_unref(c->bus);
        sd_event_unref(c->event);

        store_free(c->store);
        config_free(c->config);
        cert_info_free(c->info);
        endpoint_status_array_free(c->endpoints, c->n_endpoints);
        free(c->source);
        free(c->stored_source);
        free(c->last_error);
        free(c->published_state);
        free(c->config_path);
        free(c);
        return NULL;
}

static int replace_string(char **p, const char *s) {
        char *copy = strdup(s ?: "");
        if (!copy)
                return -ENOMEM;
        free(*p);
        *p = copy;
        return 0;
}

int context_load_current(Context *c, const char *source_override) {
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        uint64_t id;
        int r;

        r = store_current(c->store, &id);
        if (r == -ENOENT) {
                c->generation = 0;
                c->info = cert_info_free(c->info);
                c->installed_usec = 0;
                (void) replace_string(&c->source, "");
                (void) replace_string(&c->stored_source, "");
                return -ENOENT;
        }
        if (r < 0)
                return r;

        r = store_get(c->store, id, &g);
        if (r < 0)
                return r;

        if (replace_string(&c->source, source_override ?: g->source) < 0 ||
            replace_string(&c->stored_source, g->source) < 0)
                return -ENOMEM;

        c->generation = g->id;
        c->installed_usec = g->installed_usec;
        cert_info_free(c->info);
        c->info = TAKE_PTR(g->info);
        return 0;
}

const char *context_state(Context *c) {
        if (c->reloading)
                return "reloading";
        if (c->degraded)
                return "degraded";
        if (c->expiry_phase == EXPIRY_PHASE_EXPIRED)
                return "expired";
        if (c->expiry_phase == EXPIRY_PHASE_WARNING)
                return "expiring";
        return "serving";
}

void context_publish_state(Context *c) {
        const char *state = context_state(c);

        if (!streq_ptr(state, c->published_state)) {
                (void) replace_string(&c->published_state, state);
                (void) bus_emit_properties_changed(c, "State", NULL);
        }
        context_update_status(c);
}

static void endpoint_status_clear(EndpointStatus *e) {
        free(e->unit);
        free(e->address);
        free(e->state);
        free(e->fingerprint);
}

int context_set_endpoints(Context *c, const EndpointStatus *endpoints, size_t n) {
        EndpointStatus *copy = NULL;

        if (n > 0) {
                copy = calloc(n, sizeof(EndpointStatus));
                if (!copy)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                copy[i] = (EndpointStatus) {
                        .unit = strdup(endpoints[i].unit ?: ""),
                        .address = strdup(endpoints[i].address ?: ""),
                        .state = strdup(endpoints[i].state ?: ""),
                        .fingerprint = strdup(endpoints[i].fingerprint ?: ""),
                };
                if (!copy[i].unit || !copy[i].address || !copy[i].state || !copy[i].fingerprint) {
                        for (size_t j = 0; j <= i; j++)
                                endpoint_status_clear(&copy[j]);
                        free(copy);
                        return -ENOMEM;
                }
        }

        endpoint_status_array_free(c->endpoints, c->n_endpoints);
        c->endpoints = copy;
        c->n_endpoints = n;
        return 0;
}

int context_set_last_error(Context *c, const char *text) {
        return replace_string(&c->last_error, text);
}

const char *source_describe(const char *source) {
        if (streq_ptr(source, "bus") || streq_ptr(source, "drop-directory"))
                return "uploaded";
        if (streq_ptr(source, "rollback"))
                return "rolled back";
        if (isempty(source))
                return "unknown source";
        return source;
}

void context_update_status(Context *c) {
        char status[512];

        if (!c->info) {
                (void) snprintf(status, sizeof(status), "No certificate installed%s%s",
                                isempty(c->last_error) ? "" : ": ", c->last_error ?: "");
        } else {
                const char *state = context_state(c);
                const char *verb = streq(state, "reloading") ? "Reloading endpoints for" :
                                   streq(state, "degraded") ? "Degraded, serving" :
                                   streq(state, "expired") ? "EXPIRED, serving" : "Serving";
                uint64_t now = (uint64_t) time(NULL) * USEC_PER_SEC;
                time_t t = (time_t) (c->info->not_after_usec / USEC_PER_SEC);
                struct tm tm;
                char date[32] = "?";
                char when[48];

                if (gmtime_r(&t, &tm))
                        (void) strftime(date, sizeof(date), "%Y-%m-%d", &tm);
                if (c->info->not_after_usec > now)
                        (void) snprintf(when, sizeof(when), "expires %s (in %u days)", date,
                                        expiry_days_left(c->info->not_after_usec, now));
                else
                        (void) snprintf(when, sizeof(when), "expired %s (%" PRIu64 " days ago)", date,
                                        (uint64_t) ((now - c->info->not_after_usec) / USEC_PER_DAY));

                if (!isempty(c->info->common_name))
                        (void) snprintf(status, sizeof(status), "%s CN=%s (%s, generation %" PRIu64 "), %s",
                                        verb, c->info->common_name, source_describe(c->source),
                                        c->generation, when);
                else
                        (void) snprintf(status, sizeof(status), "%s %s (%s, generation %" PRIu64 "), %s",
                                        verb, c->info->subject ?: "?", source_describe(c->source),
                                        c->generation, when);
        }

        (void) sd_notifyf(false, "STATUS=%s", status);
}
