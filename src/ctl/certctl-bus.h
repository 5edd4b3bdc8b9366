/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus client's plumbing, shared by every verb that talks to the daemon. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "certctl.h"

#define BUS_NAME "org.vertex.Certificates"
#define BUS_PATH "/org/vertex/Certificates"
#define BUS_INTERFACE "org.vertex.Certificates"
#define BUS_ERROR_PREFIX "org.vertex.Certificates.Error."

/* Installs reload units and probe their listeners; polkit may ask a password. Generous. */
#define MUTATING_CALL_TIMEOUT_USEC (300 * USEC_PER_SEC)

/* The system bus, with interactive authorization unless --no-ask-password. Returns an exit code. */
int bus_connect(const CertctlArgs *a, sd_bus **ret);

/*
 * One method call on the daemon's object (types/...: its arguments, or NULL);
 * on an error reply prints it. A call with MUTATING_CALL_TIMEOUT_USEC runs
 * the polkit agent. Returns an exit code.
 */
int call_method(const CertctlArgs *a, sd_bus *bus, const char *member, uint64_t timeout,
                sd_bus_message **ret_reply, const char *types, ...);

/* Like call_method(), but an error reply is left in *error, not printed. Returns an exit code. */
int call_method_error(const CertctlArgs *a, sd_bus *bus, const char *member, uint64_t timeout,
                      sd_bus_message **ret_reply, sd_bus_error *error, const char *types, ...);

/* Sends a built call; like call_method(). Returns an exit code. */
int call_message(const CertctlArgs *a, sd_bus *bus, sd_bus_message *m, uint64_t timeout,
                 sd_bus_message **ret_reply);

/* org.vertex.Certificates.Error.KeyMismatch → KeyMismatch; other names stay whole. */
const char *bus_error_short_name(const char *name);

/* Prints an error reply (or r when there is none), as JSON too with --json. Returns CERTCTL_EXIT_REFUSED. */
int report_bus_error(const CertctlArgs *a, const sd_bus_error *error, int r);

/* Sends a built call; an error reply is left in *error, not printed. Returns an exit code. */
int call_message_error(const CertctlArgs *a, sd_bus *bus, sd_bus_message *m, uint64_t timeout,
                       sd_bus_message **ret_reply, sd_bus_error *error);

/* Says that the reply was not understood. Returns CERTCTL_EXIT_USAGE. */
int bus_parse_error(int r);

/* "<what> generation N." and the fingerprint (or JSON) from a (ts) reply. Returns an exit code. */
int print_generation_reply(const CertctlArgs *a, sd_bus_message *reply, const char *what);

/* Aligned columns; cells is n_rows × n_cols, row 0 the header. */
void print_table(const char *const *cells, size_t n_rows, size_t n_cols);
