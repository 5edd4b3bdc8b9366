/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * After an install that got no answer (org.freedesktop.DBus.Error.NoReply:
 * the daemon was killed or crashed mid-call): wait on the bus until the
 * daemon is back and done reloading, then tell from Fingerprint whether the
 * upload is what it serves. Shared by install with PEM files and --pkcs12.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <systemd/sd-bus.h>

#include "certctl-bus.h"
#include "certctl-noreply.h"
#include "certctl-output.h"
#include "certctl.h"
#include "time-util.h"

/* How long install waits for a daemon that stopped mid-call to be back (systemd restarts it after 2 s). */
#define DAEMON_BACK_TIMEOUT_USEC (90 * USEC_PER_SEC)

/*
 * Not SD_BUS_ERROR_TIMEOUT: a call that outlived its timeout went to a daemon
 * that may still be working on it (polkit still asking, a long ReloadTimeoutSec=);
 * that error is reported as it is, and 'status' shows the outcome later.
 */
bool bus_error_is_no_answer(const sd_bus_error *error) {
        return sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED);
}

/* A string property, asking for the daemon to be started if it is not running (bus activation). */
static int get_string(sd_bus *bus, const char *property, char **ret, sd_bus_error *error) {
        return sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, property, error, ret);
}

/* Wakes sd_bus_wait() when the daemon's name changes owner and when its properties change. */
static int watch_daemon(sd_bus *bus) {
        int r;

        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameOwnerChanged", NULL, NULL);
        if (r < 0)
                return r;
        return sd_bus_match_signal(bus, NULL, NULL, BUS_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                   NULL, NULL);
}

int install_after_no_answer(const CertctlArgs *a, const sd_bus_error *call_error, int fingerprint_r,
                            const char *uploaded) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *state = NULL, *fingerprint = NULL, *last_error = NULL;
        uint64_t generation = 0, deadline;
        int r = fingerprint_r;

        fprintf(stderr, "%s: %s\n", bus_error_short_name(call_error->name), call_error->message ?: "no reply");
        if (r < 0) {
                fprintf(stderr, "The daemon did not answer, and what was uploaded cannot be read back (%s) "
                        "to tell whether it was installed: see 'vertex-certctl status'.\n", errno_name(r));
                return CERTCTL_EXIT_REFUSED;
        }
        fprintf(stderr, "The daemon stopped before it answered; waiting for it to be back to tell whether "
                "the upload (%s) is served.\n", uploaded);

        /* A connection of our own: the old one may have gone with the daemon's reply. */
        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = watch_daemon(bus);
        if (r < 0) {
                fprintf(stderr, "Failed to watch the daemon: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        deadline = now_usec(CLOCK_MONOTONIC) + DAEMON_BACK_TIMEOUT_USEC;
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                uint64_t now;

                /* Signals seen so far are spent: whatever they said, State is read afresh below. */
                while (sd_bus_process(bus, NULL) > 0)
                        ;
                state = mfree(state);
                r = get_string(bus, "State", &state, &error);
                /* Back, and past the reload a restart does first: what it serves now is settled. */
                if (r >= 0 && !streq(state, "reloading"))
                        break;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        fprintf(stderr, "The daemon is not back after %" PRIu64 " s; once it is, "
                                "'vertex-certctl status' shows whether Fingerprint is %s.\n",
                                DAEMON_BACK_TIMEOUT_USEC / USEC_PER_SEC, uploaded);
                        return CERTCTL_EXIT_REFUSED;
                }
                /* Until its name gets an owner or its State changes; a signal that came while State
                 * was read is queued already, and ends the wait at once. */
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0) {
                        fprintf(stderr, "Failed to wait for the daemon: %s\n", errno_name(r));
                        return CERTCTL_EXIT_USAGE;
                }
        }

        r = get_string(bus, "Fingerprint", &fingerprint, NULL);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Generation", NULL, 't',
                                                &generation);
        if (r >= 0)
                r = get_string(bus, "LastError", &last_error, NULL);
        if (r < 0) {
                fprintf(stderr, "Failed to read what the daemon serves: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }

        bool current = strcasecmp(fingerprint, uploaded) == 0;
        bool served = current && !streq(state, "degraded");

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_string(&j, "error", call_error->name);
                json_field_string(&j, "message", call_error->message ?: "");
                json_field_bool(&j, "served", served);
                json_field_bool(&j, "current", current);
                json_field_uint(&j, "generation", generation);
                json_field_string(&j, "fingerprint", fingerprint);
                json_field_string(&j, "uploaded", uploaded);
                json_field_string(&j, "state", state);
                json_close_object(&j);
        }

        if (served) {
                if (!a->json) {
                        printf("Installed generation %" PRIu64 " (the daemon restarted before it could answer).\n",
                               generation);
                        kv("Generation", "%" PRIu64, generation);
                        kv("Fingerprint", "%s", fingerprint);
                        fflush(stdout);
                }
                return CERTCTL_EXIT_OK;
        }
        if (current)
                fprintf(stderr, "The upload is the current generation %" PRIu64 ", but not every endpoint serves it "
                        "(State: %s): %s\n", generation, state, isempty(last_error) ? "see 'vertex-certctl status'" : last_error);
        else
                fprintf(stderr, "The upload was not installed: generation %" PRIu64 " (%s) is served. "
                        "Install it again.\n", generation, fingerprint);
        return CERTCTL_EXIT_REFUSED;
}
