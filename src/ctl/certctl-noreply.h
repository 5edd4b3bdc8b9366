/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An install call that got no answer: was the upload installed after all? */

#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "certctl.h"

/* The daemon went away (or stayed silent) instead of answering a call. */
bool bus_error_is_no_answer(const sd_bus_error *error);

/*
 * An install whose call got no answer (call_error): the daemon may or may not
 * have committed the upload (in most such cases it had). Waits until it is
 * back and done reloading, then tells from Fingerprint whether the upload,
 * whose leaf has the fingerprint uploaded, is served. fingerprint_r < 0: the
 * upload could not be read back (uploaded is then unused). Returns an exit code.
 */
int install_after_no_answer(const CertctlArgs *a, const sd_bus_error *call_error, int fingerprint_r,
                            const char *uploaded);
