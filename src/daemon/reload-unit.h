/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A reload request and its units, and the few steps that finish them: what
 * reload.c (the systemd side: lookups, jobs, the deadline) and reload-check.c
 * (the serving check of a unit once its job is done) both use. Not for use
 * outside the two.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "reload-verify.h"
#include "reload.h"

typedef struct UnitReload UnitReload;


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
        char **addresses;      /* VerifyAddresses= of this unit, then the "Stream" listen addresses of its sockets */

        char *job;
        char *removed_result;  /* through a carrier: a JobRemoved of this unit while looking it up */
        const char *state;     /* final state when no address entry decides it */
        int error;
        char *error_message;

        AddressCheck *checks;
        size_t n_checks;

        /* VerifyAddresses= named it: served once, it must serve again CONFIRM_AFTER_USEC later. */
        bool confirm;
        bool confirming;       /* the second round is due or running */
        sd_event_source *confirm_timer;
};

typedef struct RemovedJob {
        char *job;
        char *result;
} RemovedJob;

struct ReloadRequest {
        sd_bus *bus;
        sd_event *event;
        char *fingerprint;
        char *server_name;         /* SNI for the serving check; NULL: none */
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

/* Stops the unit's handshakes and its second-round timer. */
void unit_stop_checks(UnitReload *u);
/* Frees what a unit holds (not the unit itself). */
void unit_release(UnitReload *u);
/* The unit's outcome: failed with a message (the first one stays), or finished in state. */
void unit_fail(UnitReload *u, int error, const char *state, const char *format, ...) _printf_(4, 5);
void unit_finish(UnitReload *u, const char *state);
/* Drops the setup's pending calls (the JobRemoved match, Subscribe, the carrier's job). */
void request_stop_setup(ReloadRequest *req);
/* Once every unit is finished (and the setup answered), done runs from its own event. */
void request_check_complete(ReloadRequest *req);
