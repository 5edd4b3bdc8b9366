/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The default certificate of a fresh install: EC P-256, self-signed, serverAuth. */

#include "bundle.h"

#define SELFSIGNED_LIFETIME_DAYS_DEFAULT 397u

/*
 * A new key and a certificate with CN = server_name and SANs for server_name
 * and every alternative name (each a DNS name or an IP literal). lifetime_days
 * is capped at 397 (0 means the default, 397). Returns 0, -EINVAL for an
 * unusable name, -ENOMEM, -EIO.
 */
int selfsigned_generate(const char *server_name, char *const *alternative_names,
                        unsigned lifetime_days, CertBundle **ret);

/*
 * Can name go into a certificate's SAN: an IPv4/IPv6 literal, or a DNS name
 * (labels of letters, digits, '-' and '_', 1-63 characters, at most 253 in
 * all, no empty label, no wildcard)? Returns 0 or -EINVAL. config.c uses it
 * so that a bad ServerName= is reported at start, with its line.
 */
int selfsigned_check_name(const char *name);
