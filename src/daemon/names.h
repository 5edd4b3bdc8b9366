/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The names clients use (ServerName= and AccessNames=) against what is
 * served. Checked at start, after every configuration reload and after every
 * change of the served generation: our self-signed default follows the names
 * (a new generation), an uploaded certificate is never replaced but marked
 * name-mismatch until a covering one is installed or the names change back.
 */

#include <stdbool.h>

#include "context.h"

/* ServerName= then AccessNames=, as the RequiredNames property shows them. Returns 0 or -ENOMEM. */
int names_required(Context *c, char ***ret);

/*
 * Compares the served certificate with the configured names and acts:
 * regenerates the self-signed default when it no longer fits (only when
 * may_regenerate), sets or clears c->name_mismatch and announces a change.
 * Returns 0 or -errno (logged).
 */
int names_check(Context *c, bool may_regenerate);
