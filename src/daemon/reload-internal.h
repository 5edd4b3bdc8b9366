/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside ReloadRequest (reload.c): the request, one UnitReload per consumer
 * unit (its lookups in reload-discovery.c), and one AddressCheck per listen
 * address of a unit (the handshakes in reload-verify.c). Not for other files.
 */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "probe.h"
#include "reload.h"
#include "strv.h"

#define PROBE_ATTEMPT_TIMEOUT_USEC (3 * USEC_PER_SEC)
#define PROBE_BACKOFF_MIN_USEC (50 * USEC_PER_MSEC)
#define PROBE_BACKOFF_MAX_USEC (1 * USEC_PER_SEC)

static inline size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

typedef struct UnitReload UnitReload;

typedef struct AddressCheck {
        UnitReload *unit;
        char *address;
        Probe *probe;
        sd_event_source *retry;
        uint64_t backoff;
        const char *state;   /* static string */
        char *fingerprint;   /* last one served, NULL when none */
        int error;           /* last probe error */
        bool finished;
} AddressCheck;

typedef enum UnitPhase {
        UNIT_GET_UNIT,
        UNIT_ACTIVE_STATE,
        UNIT_PROPAGATION,      /* through a carrier: does it reach this unit? */
        UNIT_CAN_RELOAD,       /* and can it pass the reload on (an ExecReload=)? */
        UNIT_TRIGGERED_BY,
        UNIT_LISTEN,
        UNIT_WAIT_SETUP,       /* looked up; the job waits for the JobRemoved match and Subscribe */
        UNIT_JOB,
        UNIT_VERIFY,
        UNIT_FINISHED,
} UnitPhase;

struct UnitReload {
        ReloadRequest *req;
        char *name;
        char *path;
        bool running;
        bool starting;         /* activating: a carrier's try-reload skips it (systemd: no-op job) */
        bool own_job;          /* the carrier cannot reload it: a ReloadOrTryRestartUnit of its own */
        UnitPhase phase;
        sd_bus_slot *slot;     /* the pending method call */

        char **sockets;        /* socket units whose addresses we read */
        size_t socket_index;
        char **addresses;      /* "Stream" listen addresses of those sockets */

        char *job;
        char *removed_result;  /* through a carrier: a JobRemoved of this unit while looking it up */
        const char *state;     /* final state when no address entry decides it */
        int error;
        char *error_message;

        AddressCheck *checks;
        size_t n_checks;
};

typedef struct RemovedJob {
        char *job;
        char *result;
} RemovedJob;

struct ReloadRequest {
        sd_bus *bus;
        sd_event *event;
        char *fingerprint;
        bool verify;
        uint64_t deadline;

        char *through;             /* the carrier unit, NULL: one job per unit */
        sd_bus_slot *through_slot;

        reload_done_t done;
        void *userdata;

        sd_bus_slot *match_slot;
        sd_bus_slot *subscribe_slot;
        unsigned setup_pending;
        bool subscribed_by_us;

        sd_event_source *timeout;
        sd_event_source *complete;

        UnitReload *units;
        size_t n_units;

        /* JobRemoved signals for our units whose job path we do not know yet. */
        RemovedJob *removed;
        size_t n_removed;

        int error;
        char *error_message;
};

/* reload.c */
bool unit_via_carrier(const UnitReload *u);
const char *bus_error_message(sd_bus_message *m);
void request_check_complete(ReloadRequest *req);
void unit_fail(UnitReload *u, int error, const char *state, const char *format, ...) _printf_(4, 5);
void unit_finish(UnitReload *u, const char *state);
void unit_job_removed(UnitReload *u, const char *result);
int on_job_enqueued(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

/* reload-discovery.c: the next lookup of a unit, or its job once all are done. */
void unit_advance(UnitReload *u);

/* reload-verify.c: the handshakes with a unit's listen addresses once its job is done. */
void unit_verify(UnitReload *u);
void address_check_done(AddressCheck *c);
void unit_check_verified(UnitReload *u);
