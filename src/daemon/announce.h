/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Saying what happened: the bus signals and PropertiesChanged, STATUS= and
 * the structured journal lines. Nothing here decides anything; main.c wires
 * the pipeline's and the drop directory's reports to these functions, and
 * the expiry timers call them directly.
 */

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "context.h"
#include "journal.h"
#include "pipeline.h"

/* PropertiesChanged for the NULL-terminated list of property names. Returns 0 or -errno. */
int announce_properties_changed(Context *c, const char *first, ...) _sentinel_;

/* Appends Endpoints as a(ssss): the property and the EndpointsReloaded signal share it. */
int announce_append_endpoints(sd_bus_message *m, Context *c);

/* State when it changed (PropertiesChanged), and STATUS= always. */
void announce_state(Context *c);

/* STATUS= describing what is served. */
void announce_status(Context *c);

/* Human words for a source in STATUS= and log lines: "uploaded", "self-signed", … */
const char *source_describe(const char *source);

/* The pipeline's reports (PipelineHooks), each announced on the bus and in the journal. */
void announce_served_changed(Context *c, const PipelineEvent *event);
void announce_endpoints_reloaded(Context *c, const PipelineEvent *event);
void announce_refused(Context *c, const PipelineEvent *event);

/* The drop directory refused a bundle before the pipeline saw it. */
void announce_drop_rejected(Context *c, const char *name, CertErrorCode code, const char *message);

/* names.c set or cleared c->name_mismatch: State, LastError, STATUS= and, when set, the journal. */
void announce_name_mismatch(Context *c);

/* A configuration reload changed ServerName= or AccessNames=. */
void announce_names_changed(Context *c);

/* The expiry timers. */
void announce_expiring(Context *c, unsigned days_left);
void announce_expired(Context *c);
