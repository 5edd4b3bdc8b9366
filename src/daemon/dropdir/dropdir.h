/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The drop directory: an inotify watch (through sd-event) that finds complete
 * bundles of PEM files, reads them safely beneath the directory, hands them to
 * the daemon one at a time, and removes or rejects the files afterwards.
 * It does not validate certificates; the daemon's pipeline does.
 */

#include <stdint.h>

#include <systemd/sd-event.h>

#include "cert-error.h"
#include "dropdir-files.h"

typedef struct DropDir DropDir;


/*
 * A bundle is ready. The daemon processes it (possibly asynchronously) and
 * then calls dropdir_bundle_done(). Until then no further bundle is handed out.
 * The bundle (and its strings) stays valid until dropdir_bundle_done(); the
 * callback may call dropdir_bundle_done() itself before returning.
 */
typedef void (*dropdir_bundle_t)(DropDir *d, const DropBundle *bundle, void *userdata);

/*
 * The drop directory refused something on its own, before any validation:
 * an unsafe file, an incomplete bundle after SettleSec=, a file too large.
 * code says why (CERT_ERROR_MISSING_KEY, _MALFORMED, _TOO_LARGE); the daemon names it.
 */
typedef void (*dropdir_rejected_t)(DropDir *d, const char *name, CertErrorCode code,
                                   const char *message, void *userdata);

/*
 * An entry that is no part of a bundle and is left alone: a hidden name, a
 * directory, a name we do not recognise. Said once per entry, once it has
 * been there SettleSec= (so that a temporary file renamed into place is never
 * mentioned); reason completes "it …" ("is a directory").
 */
typedef void (*dropdir_ignored_t)(DropDir *d, const char *name, const char *reason, void *userdata);

typedef struct DropDirOptions {
        const char *path;          /* created 0700 when missing; refused when group/world-writable */
        const char *state_file;    /* where installed content hashes are remembered; NULL: memory only */
        uint64_t settle_usec;      /* how long an incomplete bundle waits for its missing part */
        uint64_t max_file_size;    /* per file; 0: 1 MiB. Larger files are refused (TooLarge) unread */
        dropdir_bundle_t on_bundle;
        dropdir_rejected_t on_rejected;
        dropdir_ignored_t on_ignored;
        void *userdata;
} DropDirOptions;

/*
 * Starts watching and scans once (from the event loop, so no callback runs
 * inside this call). Returns 0, -EPERM for a group- or world-writable
 * directory or one owned by another user, or -errno.
 */
int dropdir_new(sd_event *event, const DropDirOptions *options, DropDir **ret);
DropDir *dropdir_free(DropDir *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(DropDir *, dropdir_free);

/*
 * Outcome of the bundle last handed out. error_name (a short name such as
 * "KeyMismatch" or "ReloadFailed", never a D-Bus name) NULL: installed (or
 * served already), the files are removed (or remembered by hash where they
 * cannot be: a read-only directory, a Secret volume). Content dropped again
 * after its files were removed is handed out again: the daemon decides.
 * Otherwise the files move to rejected/ beside NAME.error holding
 * "error_name: message\n" (or are remembered by hash where they cannot
 * move). Returns 0, -ESTALE when no bundle is out, or -errno (the outcome
 * is applied as far as possible anyway).
 */
int dropdir_bundle_done(DropDir *d, const char *error_name, const char *message);

/* How many times the inotify queue overflowed (each followed by a full rescan); for tests and status. */
uint64_t dropdir_get_overflows(DropDir *d);
const char *dropdir_get_path(DropDir *d);
