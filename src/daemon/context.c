/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Context: ownership of everything the daemon holds, and the small
 * amount of derived state (State). It does not decide anything about
 * certificates and announces nothing: the pipeline changes what is served,
 * announce.c says so.
 */

#include <assert.h>
#include <stdio.h>

#include "context.h"
#include "strv.h"
#include "time-util.h"

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

        /* main.c has stopped the pipeline, the polkit queries and the timers: they refer to what follows. */
        assert(!c->pipeline && !c->polkit_queries);
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
        free(c->last_refusal_name);
        free(c->published_state);
        pending_request_array_free(c->pending, c->n_pending);
        free(c->name_mismatch);
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
        if (c->name_mismatch)
                return "name-mismatch";
        if (c->expiry_phase == EXPIRY_PHASE_WARNING)
                return "expiring";
        return "serving";
}

bool context_state_changed(Context *c, const char *state) {
        if (streq_ptr(state, c->published_state))
                return false;
        (void) replace_string(&c->published_state, state);
        return true;
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

int context_set_refusal(Context *c, const char *name, const char *message) {
        _cleanup_free_ char *text = NULL;

        if (asprintf(&text, "%s: %s", name ?: "Malformed", message ?: "") < 0)
                return -ENOMEM;
        free(c->last_error);
        c->last_error = TAKE_PTR(text);
        c->last_refusal_usec = now_usec(CLOCK_REALTIME);
        return replace_string(&c->last_refusal_name, name ?: "Malformed");
}
