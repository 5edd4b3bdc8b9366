/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one home of vertex-certd's D-Bus names (docs/design.md, "D-Bus
 * contract"): the daemon's bus layer serves them, vertex-certctl calls them.
 * Strings only; the layers below the bus carry error codes, not these names.
 */

#define BUS_NAME "org.vertex.Certificates"
#define BUS_PATH "/org/vertex/Certificates"
#define BUS_INTERFACE "org.vertex.Certificates"

/* Every error of ours is BUS_ERROR_PREFIX + a short name: "KeyMismatch", "Busy", "ReloadFailed", … */
#define BUS_ERROR_PREFIX "org.vertex.Certificates.Error."
#define BUS_ERROR(name) BUS_ERROR_PREFIX name
