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

#include "context.h"
#include "journal.h"

#define BUS_ERROR_PREFIX "org.vertex.Certificates.Error."
#define BUS_ERROR_BUSY BUS_ERROR_PREFIX "Busy"
#define BUS_ERROR_RELOAD_FAILED BUS_ERROR_PREFIX "ReloadFailed"
#define BUS_ERROR_NO_PREVIOUS_GENERATION BUS_ERROR_PREFIX "NoPreviousGeneration"

typedef enum PipelineAction {
        PIPELINE_INSTALL,       /* PEM bytes from the bus or the drop directory */
        PIPELINE_SELF_SIGNED,   /* first boot, RegenerateSelfSigned, automatic renewal */
        PIPELINE_ROLLBACK,      /* back to the previous generation */
        PIPELINE_RELOAD,        /* ReloadEndpoints: reload and verify, no new generation */
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
        bool queue;                    /* wait behind a running change instead of -EBUSY */
} PipelineRequest;

typedef struct PipelineResult {
        int r;                         /* 0 or -errno */
        const char *error_name;        /* on failure: full D-Bus error name, NULL for internal errors */
        const char *short_error;       /* on failure: "KeyMismatch", "ReloadFailed", …, "Failed" */
        const char *message;           /* on failure: what went wrong, for people */
        uint64_t generation;           /* on success: the generation now served */
        const char *fingerprint;       /* on success */
} PipelineResult;

/* Called exactly once per accepted request, from the event loop, never from within pipeline_submit(). */
typedef void (*pipeline_done_t)(Context *c, const PipelineResult *result, void *userdata);

/* Returns 0 when accepted, -EBUSY when a change runs and !queue, -ENOMEM. */
int pipeline_submit(Context *c, const PipelineRequest *request, pipeline_done_t done, void *userdata);

/* Is a change running or waiting? */
bool pipeline_busy(Context *c);

/* Drops every job without calling done (shutdown). */
void pipeline_cancel_all(Context *c);

/* The validation options the configuration asks for. */
void pipeline_validate_options(Context *c, ValidateOptions *ret);
