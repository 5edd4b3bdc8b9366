/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus contract (docs/design.md): org.vertex.Certificates on
 * /org/vertex/Certificates. Handlers parse, check, ask polkit, and hand every
 * change to the pipeline; properties read the Context. Signals are sent by
 * announce.c. The only place that turns error codes into D-Bus error names.
 */

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "context.h"
#include "reload.h"

/* Registers the object. Returns 0 or -errno. */
int bus_api_add_object(Context *c);

/* Answers Validate calls still waiting for their child with an error and stops those children (shutdown). */
void bus_api_validate_calls_free(Context *c);

/* Takes org.vertex.Certificates on the bus. Returns 0 or -errno (logged). */
int bus_api_request_name(Context *c);
