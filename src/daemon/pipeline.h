/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * THE pipeline every change goes through, whatever its source:
 * read -> validate -> stage -> commit -> reload + verify -> settle.
 * One change at a time: the running job is jobs[0]; a request that may
 * wait (drop directory, expiry) queues behind it, a bus request gets -EBUSY.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert-error.h"
#include "context.h"
#include "journal.h"
#include "validate.h"

/* Why a change failed. The bus layer turns these into error names; nothing below it does. */
typedef enum PipelineError {
        PIPELINE_ERROR_NONE,
        PIPELINE_ERROR_REFUSED,                 /* validation refused the bundle: PipelineResult.code says why */
        PIPELINE_ERROR_FAILED,                  /* internal: disk full, out of memory, shutting down */
        PIPELINE_ERROR_RELOAD_FAILED,           /* the endpoints did not serve the new generation */
        PIPELINE_ERROR_NO_PREVIOUS_GENERATION,  /* Rollback or ReloadEndpoints with nothing to work on */
} PipelineError;

/* The short name of an error as the bus, the journal and rejected/NAME.error show it: "ReloadFailed", … */
const char *pipeline_error_name(PipelineError error, CertErrorCode code);

typedef enum PipelineAction {
        PIPELINE_INSTALL,       /* PEM bytes from the bus or the drop directory */
        PIPELINE_SELF_SIGNED,   /* first boot, RegenerateSelfSigned, automatic renewal */
        PIPELINE_ROLLBACK,      /* back to the previous generation */
        PIPELINE_RELOAD,        /* ReloadEndpoints: reload and verify, no new generation */
        PIPELINE_RESUME,        /* the start: reload and verify; back to the generation last seen served
                                   when `current` never was and does not serve */
} PipelineAction;

typedef struct PipelineRequest {
        PipelineAction action;
        const char *source;            /* "bus", "drop-directory", "self-signed", "rollback" */
        const char *origin;            /* who, for Rejected: bundle name or bus sender; may be NULL */
        const void *certificate;       /* PIPELINE_INSTALL only; copied */
        size_t certificate_size;
        const void *key;               /* copied, erased when the job ends */
        size_t key_size;
        const void *authority;
        size_t authority_size;
        LogCaller caller;              /* bus changes: the audit trail */
        bool pkcs12;                   /* certificate is a PKCS#12 file, key its password */
        const int *files;              /* INSTALL: passed descriptors of certificate, key and authority (pkcs12:
                                          the file), read in the worker, not here; files_n of them, or none */
        size_t files_n;
        bool queue;                    /* wait behind a running change instead of -EBUSY */
        bool unless_serving;           /* INSTALL: the very files of the generation served (and not degraded)
                                          are not installed again; the result says `unchanged` */
} PipelineRequest;

typedef struct PipelineResult {
        int r;                         /* 0 or -errno */
        PipelineError error;           /* on failure: which kind */
        CertErrorCode code;            /* PIPELINE_ERROR_REFUSED: which check */
        const char *short_error;       /* on failure: "KeyMismatch", "ReloadFailed", …, "Failed" */
        const char *message;           /* on failure: what went wrong, for people */
        uint64_t generation;           /* on success: the generation now served */
        const char *fingerprint;       /* on success */
        bool unchanged;                /* on success: unless_serving, and it was served already (nothing done) */
} PipelineResult;

/* What happened, for the hooks below; strings valid during the call only. */
typedef enum PipelineEventKind {
        PIPELINE_EVENT_INSTALLED,      /* a new generation is current and serving */
        PIPELINE_EVENT_ROLLED_BACK,    /* Rollback: the previous generation is current and serving */
        PIPELINE_EVENT_RELOADED,       /* ReloadEndpoints: every endpoint serves the current generation */
        PIPELINE_EVENT_RELOAD_FAILED,  /* reloading failed and there was nothing to go back to: degraded */
        PIPELINE_EVENT_REVERTED,       /* reloading failed; the previous generation was put back (or not: message) */
        PIPELINE_EVENT_REFUSED,        /* validation refused the bundle; nothing changed */
        PIPELINE_EVENT_FAILED,         /* an internal failure before anything changed */
} PipelineEventKind;

typedef struct PipelineEvent {
        PipelineEventKind kind;
        const char *source;            /* the job's source: "bus", "drop-directory", … */
        const char *origin;            /* bundle name or bus sender; "" when none */
        LogCaller caller;
        const char *fingerprint;       /* INSTALLED, ROLLED_BACK: the new one; REVERTED: the one put back */
        uint64_t previous_generation;  /* current when the job started, 0 if none */
        uint64_t new_generation;       /* the one this job made current (REVERTED: the one that failed) */
        CertErrorCode code;            /* REFUSED */
        const char *message;           /* REFUSED, FAILED, RELOAD_FAILED, REVERTED: for people */
} PipelineEvent;

/*
 * How the pipeline reports upward without knowing who listens: main.c wires
 * these to expiry and the announcements (docs/design.md). Any may be NULL.
 * Context fields (generation, info, LastError, degraded, reloading) are
 * already updated when a hook runs.
 */
typedef struct PipelineHooks {
        void (*state_changed)(Context *c, void *userdata);       /* reloading began or ended */
        void (*served_changed)(Context *c, const PipelineEvent *event, void *userdata);
        void (*endpoints_reloaded)(Context *c, const PipelineEvent *event, void *userdata);
        void (*refused)(Context *c, const PipelineEvent *event, void *userdata);  /* REFUSED or FAILED */
        /* an installed bundle took the key of pending signing request id, and serves */
        void (*request_consumed)(Context *c, const char *id, void *userdata);
        void *userdata;
} PipelineHooks;

/* Creates c->pipeline. Returns 0 or -ENOMEM. */
int pipeline_new(Context *c, const PipelineHooks *hooks);

/* Drops every job, calling done with -ECANCELED, and frees c->pipeline (shutdown). */
void pipeline_free(Context *c);

/* Called exactly once per accepted request, from the event loop, never from within pipeline_submit(). */
typedef void (*pipeline_done_t)(Context *c, const PipelineResult *result, void *userdata);

/* Returns 0 when accepted, -EBUSY when a change runs and !queue, -ENOMEM. */
int pipeline_submit(Context *c, const PipelineRequest *request, pipeline_done_t done, void *userdata);

/* Is a change running or waiting? */
bool pipeline_busy(Context *c);

/* The validation options the configuration asks for. */
void pipeline_validate_options(Context *c, ValidateOptions *ret);
