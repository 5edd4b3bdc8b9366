/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's one Context: the event loop, the bus, the configuration, the
 * store, what is being served right now, and every pending thing (pipeline
 * jobs, polkit queries, timers). It is data: context_free() frees what it
 * owns and calls into no other object. main.c stops the pipeline, the
 * Validate calls, the polkit queries and the timers first (docs/design.md, "Objects and hooks").
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "certinfo.h"
#include "config.h"
#include "dropdir.h"
#include "reload.h"
#include "store.h"
#include "store-pending.h"

typedef struct Pipeline Pipeline;
typedef struct PolkitQuery PolkitQuery;
typedef struct RequestWorker RequestWorker;
typedef struct ValidateCall ValidateCall;

typedef enum ExpiryPhase {
        EXPIRY_PHASE_VALID,      /* before NotAfter - ExpiryWarningDays */
        EXPIRY_PHASE_WARNING,    /* the warning timer fired */
        EXPIRY_PHASE_EXPIRED,    /* the NotAfter timer fired */
} ExpiryPhase;

typedef struct Context {
        sd_event *event;
        sd_bus *bus;
        char *config_path;
        Config *config;
        Store *store;
        DropDir *dropdir;

        /* What is served: the `current` generation of the store. */
        uint64_t generation;           /* 0: nothing installed yet */
        char *source;                  /* as shown on the bus: "self-signed", "bus", "drop-directory", "rollback" */
        char *stored_source;           /* as recorded in the store for this generation */
        uint64_t installed_usec;
        CertInfo *info;                /* NULL while nothing is installed */
        EndpointStatus *endpoints;
        size_t n_endpoints;
        char *last_error;              /* "" when the last change succeeded */
        uint64_t last_refusal_usec;    /* the last refusal or failed change since start; 0: none (MetricsFile=) */
        char *last_refusal_name;       /* its error name; NULL: none */
        bool reloading;                /* a pipeline job is between commit and settle */
        bool degraded;                 /* the last reload failed and could not be undone */
        char *name_mismatch;           /* names.c: what the served certificate does not cover; NULL when it fits */
        bool names_regenerating;       /* names.c: a self-signed default for new names is queued */
        ExpiryPhase expiry_phase;
        char *published_state;         /* State as last announced, to emit PropertiesChanged on change only */

        Pipeline *pipeline;            /* pipeline.c: the running change and those waiting */

        /* signing-requests.c: the pending signing requests (no keys: those stay on disk). */
        PendingRequest *pending;
        size_t n_pending;
        RequestWorker *request_worker;     /* making one, at most one at a time */
        sd_event_source *pending_timer;    /* at the earliest expiry */

        PolkitQuery *polkit_queries;
        unsigned polkit_serial;

        ValidateCall *validate_calls;  /* bus-api.c: Validate calls waiting for their child */
        unsigned n_validate_calls;

        sd_event_source *expiry_warning_timer;
        sd_event_source *expiry_timer;
        sd_event_source *regenerate_timer;
        sd_event_source *status_timer;     /* when "in N days" of STATUS= changes */
        sd_event_source *metrics_timer;    /* rewrites MetricsFile= when days_left changes (metrics.c) */
        uint64_t regenerate_retry_usec;  /* after a failed automatic regeneration: not before this */
        bool regenerate_pending;

        bool bus_name_acquired;
} Context;

int context_new(Context **ret);
Context *context_free(Context *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Context *, context_free);

/*
 * Reads the store's current generation into the served state (generation,
 * info, source, installed time). source_override replaces the shown Source
 * (used for "rollback"); NULL keeps the stored one. Returns 0, or -ENOENT
 * when the store is empty (state cleared), or -errno.
 */
int context_load_current(Context *c, const char *source_override);

/* "serving", "reloading", "degraded", "expired", "name-mismatch" or "expiring". */
const char *context_state(Context *c);

/* Remembers state as announced; returns true when it differs from what was announced before. */
bool context_state_changed(Context *c, const char *state);

/* Replaces the endpoint list with a copy. Returns 0 or -ENOMEM. */
int context_set_endpoints(Context *c, const EndpointStatus *endpoints, size_t n);

/* Sets LastError ("" clears it). Returns 0 or -ENOMEM. */
int context_set_last_error(Context *c, const char *text);

/* Sets LastError to "NAME: message" for a refusal or failure, and records when and which
 * (last_refusal_*). Returns 0 or -ENOMEM. */
int context_set_refusal(Context *c, const char *name, const char *message);
