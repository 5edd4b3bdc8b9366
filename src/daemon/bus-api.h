/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus contract of DESIGN.md: org.vertex.Certificates on
 * /org/vertex/Certificates. Handlers parse, check, ask polkit, and hand every
 * change to the pipeline; the emit helpers are what the pipeline and the
 * expiry timers use to announce changes.
 */

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "context.h"
#include "reload.h"

#define BUS_NAME "org.vertex.Certificates"
#define BUS_PATH "/org/vertex/Certificates"
#define BUS_INTERFACE "org.vertex.Certificates"

/* Registers the object. Returns 0 or -errno. */
int bus_api_add_object(Context *c);

/* PropertiesChanged for the NULL-terminated list of property names. Returns 0 or -errno. */
int bus_emit_properties_changed(Context *c, const char *first, ...) _sentinel_;
/* PropertiesChanged for everything describing the served certificate and its state. */
int bus_emit_all_changed(Context *c);

int bus_emit_installed(Context *c, uint64_t generation, const char *fingerprint, const char *source);
int bus_emit_rejected(Context *c, const char *source, const char *name, const char *error_name, const char *message);
int bus_emit_endpoints_reloaded(Context *c);
int bus_emit_expiry_warning(Context *c, uint64_t not_after_usec, unsigned days_left);
