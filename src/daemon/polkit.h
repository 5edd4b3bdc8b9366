/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Authorization of mutating bus calls by asking polkitd over sd-bus
 * (org.freedesktop.PolicyKit1.Authority.CheckAuthorization), asynchronously.
 * While the answer is pending the method handler returns 1 without replying;
 * when it arrives the very same message is queued for dispatch again
 * (sd_bus_enqueue_for_read), the handler runs a second time and
 * polkit_verify() then returns the cached answer. That is what systemd's
 * bus-polkit does; it keeps every handler a straight line.
 */

#include <systemd/sd-bus.h>

#include "context.h"

#define POLKIT_ACTION_MANAGE "org.vertex.certificates.manage"

/* The polkit action a method needs; NULL for methods that are open or unknown. */
const char *polkit_action_for_method(const char *member);

/*
 * Returns 1 when the sender may perform the method's action (uid 0 always
 * may), 0 when a query was started (return 1 from the handler, it will be
 * called again), or a negative errno with *error set: AccessDenied,
 * InteractiveAuthorizationRequired, or AccessDenied for a method without a
 * mapped action and when polkit cannot be asked.
 */
int polkit_verify(Context *c, sd_bus_message *m, sd_bus_error *error);

/* Frees every pending query (their callers get no answer; used at shutdown). */
void polkit_queries_free(Context *c);
