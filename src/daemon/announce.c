/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Saying what happened, in one place: the D-Bus signals and
 * PropertiesChanged, STATUS= and the structured journal lines. It decides
 * nothing and changes no state; the pipeline and the expiry timers have done
 * that before anything here runs. main.c wires the pipeline's hooks to the
 * announce_*() functions below (docs/design.md, "Objects and hooks").
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "announce.h"
#include "bus-names.h"
#include "metrics.h"
#include "strv.h"
#include "time-util.h"

/* ---------------------------------------------------------------- bus */

int announce_properties_changed(Context *c, const char *first, ...) {
        const char *names[32];
        size_t n = 0;
        va_list ap;

        if (!c->bus)
                return 0;

        va_start(ap, first);
        for (const char *p = first; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = p;
        va_end(ap);
        names[n] = NULL;

        return sd_bus_emit_properties_changed_strv(c->bus, BUS_PATH, BUS_INTERFACE, (char **) names);
}

/* Everything describing the served certificate and its state. */
static int emit_all_changed(Context *c) {
        return announce_properties_changed(c,
                        "Generation", "Source", "Subject", "Issuer", "SerialNumber",
                        "SubjectAlternativeNames", "NotBefore", "NotAfter", "Fingerprint", "KeyType",
                        "ChainLength", "InstalledAt", "State", "Endpoints", "LastError", NULL);
}

int announce_append_endpoints(sd_bus_message *m, Context *c) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ssss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_endpoints; i++) {
                const EndpointStatus *e = &c->endpoints[i];
                r = sd_bus_message_append(m, "(ssss)", e->unit ?: "", e->address ?: "", e->state ?: "",
                                          e->fingerprint ?: "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int emit_installed(Context *c, uint64_t generation, const char *fingerprint, const char *source) {
        if (!c->bus)
                return 0;
        return sd_bus_emit_signal(c->bus, BUS_PATH, BUS_INTERFACE, "Installed", "tss",
                                  generation, fingerprint ?: "", source ?: "");
}

static int emit_rejected(Context *c, const char *source, const char *name, const char *error_name, const char *message) {
        if (!c->bus)
                return 0;
        return sd_bus_emit_signal(c->bus, BUS_PATH, BUS_INTERFACE, "Rejected", "ssss",
                                  source ?: "", name ?: "", error_name ?: "", message ?: "");
}

static int emit_endpoints_reloaded(Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!c->bus)
                return 0;
        r = sd_bus_message_new_signal(c->bus, &m, BUS_PATH, BUS_INTERFACE, "EndpointsReloaded");
        if (r < 0)
                return r;
        r = announce_append_endpoints(m, c);
        if (r < 0)
                return r;
        return sd_bus_send(c->bus, m, NULL);
}

static int emit_expiry_warning(Context *c, uint64_t not_after_usec, unsigned days) {
        if (!c->bus)
                return 0;
        return sd_bus_emit_signal(c->bus, BUS_PATH, BUS_INTERFACE, "ExpiryWarning", "tu",
                                  not_after_usec, (uint32_t) days);
}

/* ------------------------------------------------------------- status */

void announce_state(Context *c) {
        if (context_state_changed(c, context_state(c))) {
                (void) announce_properties_changed(c, "State", NULL);
                (void) metrics_write(c);
        }
        announce_status(c);
}

const char *source_describe(const char *source) {
        if (streq_ptr(source, "bus") || streq_ptr(source, "drop-directory"))
                return "uploaded";
        if (streq_ptr(source, "rollback"))
                return "rolled back";
        if (isempty(source))
                return "unknown source";
        return source;
}

void announce_status(Context *c) {
        char status[1024];

        if (!c->info) {
                (void) snprintf(status, sizeof(status), "No certificate installed%s%s",
                                isempty(c->last_error) ? "" : ": ", c->last_error ?: "");
        } else {
                const char *state = context_state(c);
                const char *verb = streq(state, "reloading") ? "Reloading endpoints for" :
                                   streq(state, "degraded") ? "Degraded, serving" :
                                   streq(state, "name-mismatch") ? "NAME MISMATCH, serving" :
                                   streq(state, "expired") ? "EXPIRED, serving" : "Serving";
                uint64_t now = now_usec(CLOCK_REALTIME) / USEC_PER_SEC * USEC_PER_SEC;
                time_t t = (time_t) (c->info->not_after_usec / USEC_PER_SEC);
                struct tm tm;
                char date[32] = "?";
                char when[48];

                if (gmtime_r(&t, &tm))
                        (void) strftime(date, sizeof(date), "%Y-%m-%d", &tm);
                if (c->info->not_after_usec > now)
                        (void) snprintf(when, sizeof(when), "expires %s (in %u days)", date,
                                        days_left(c->info->not_after_usec, now));
                else
                        (void) snprintf(when, sizeof(when), "expired %s (%" PRIu64 " days ago)", date,
                                        (uint64_t) ((now - c->info->not_after_usec) / USEC_PER_DAY));

                if (!isempty(c->info->common_name))
                        (void) snprintf(status, sizeof(status), "%s CN=%s (%s, generation %" PRIu64 "), %s",
                                        verb, c->info->common_name, source_describe(c->source),
                                        c->generation, when);
                else
                        (void) snprintf(status, sizeof(status), "%s %s (%s, generation %" PRIu64 "), %s",
                                        verb, c->info->subject ?: "?", source_describe(c->source),
                                        c->generation, when);
                if (c->name_mismatch) {
                        /* systemctl status is where an operator looks first: the names, not only the state. */
                        size_t used = strlen(status);
                        (void) snprintf(status + used, sizeof(status) - used, "; %s", c->name_mismatch);
                }
        }

        (void) sd_notifyf(false, "STATUS=%s", status);
}

/* ------------------------------------------------------- the pipeline */

static const char *subject_of(Context *c) {
        return c->info && c->info->subject ? c->info->subject : "?";
}

void announce_served_changed(Context *c, const PipelineEvent *e) {
        (void) emit_all_changed(c);
        (void) metrics_write(c);

        switch (e->kind) {
        case PIPELINE_EVENT_INSTALLED:
                (void) emit_installed(c, c->generation, e->fingerprint, c->source);
                log_event(LOG_NOTICE, VERTEX_MESSAGE_INSTALLED, e->fingerprint, c->generation, c->source,
                          e->caller, NULL, "Installed certificate %s as generation %" PRIu64 " from %s (%s).",
                          subject_of(c), c->generation, c->source, c->info ? c->info->fingerprint : "?");
                break;
        case PIPELINE_EVENT_ROLLED_BACK:
                (void) emit_installed(c, c->generation, e->fingerprint, c->source);
                log_event(LOG_NOTICE, VERTEX_MESSAGE_ROLLED_BACK, e->fingerprint, c->generation, c->source,
                          e->caller, NULL, "Rolled back from generation %" PRIu64 " to generation %" PRIu64 " (%s).",
                          e->previous_generation, c->generation, subject_of(c));
                break;
        case PIPELINE_EVENT_RELOAD_FAILED:
                log_event(LOG_ERR, VERTEX_MESSAGE_RELOAD_FAILED, c->info ? c->info->fingerprint : NULL,
                          c->generation, e->source, e->caller, "ReloadFailed", "%s", e->message);
                break;
        case PIPELINE_EVENT_REVERTED:
                log_event(LOG_ERR, VERTEX_MESSAGE_ROLLED_BACK, e->fingerprint, e->previous_generation, e->source,
                          e->caller, "ReloadFailed", "Reload of generation %" PRIu64 " failed: %s",
                          e->new_generation, e->message);
                break;
        default:
                break;
        }
}

void announce_endpoints_reloaded(Context *c, const PipelineEvent *e) {
        if (e->kind != PIPELINE_EVENT_RELOADED) {
                /* The served certificate changed too: announce_served_changed() said so already. */
                (void) emit_endpoints_reloaded(c);
                return;
        }

        (void) announce_properties_changed(c, "Endpoints", "LastError", NULL);
        (void) emit_endpoints_reloaded(c);
        log_event(LOG_INFO, NULL, c->info ? c->info->fingerprint : NULL, c->generation, NULL,
                  e->caller, NULL, "Reloaded %zu endpoint(s), all serving generation %" PRIu64 ".",
                  c->n_endpoints, c->generation);
}

void announce_refused(Context *c, const PipelineEvent *e) {
        (void) metrics_write(c);
        if (e->kind == PIPELINE_EVENT_FAILED) {
                (void) announce_properties_changed(c, "LastError", NULL);
                log_event(LOG_ERR, NULL, NULL, 0, e->source, e->caller, "Failed",
                          "Certificate change from %s failed: %s", e->source, e->message);
                return;
        }

        const char *name = pipeline_error_name(PIPELINE_ERROR_REFUSED, e->code);

        (void) emit_rejected(c, e->source, e->origin, name, e->message);
        (void) announce_properties_changed(c, "LastError", NULL);
        log_event(LOG_WARNING, VERTEX_MESSAGE_REJECTED, NULL, 0, e->source, e->caller, name,
                  "Refused certificate from %s%s%s%s: %s: %s", e->source,
                  isempty(e->origin) ? "" : " ('", e->origin ?: "", isempty(e->origin) ? "" : "')",
                  name, e->message);
}

void announce_drop_rejected(Context *c, const char *name, CertErrorCode code, const char *message) {
        const char *error_name = cert_error_name(code) ?: "Malformed";

        (void) emit_rejected(c, "drop-directory", name, error_name, message);
        (void) metrics_write(c);
        (void) announce_properties_changed(c, "LastError", NULL);
        log_event(LOG_WARNING, VERTEX_MESSAGE_REJECTED, NULL, 0, "drop-directory", LOG_CALLER_NONE, error_name,
                  "Refused '%s' in the drop directory: %s: %s", name ?: "?", error_name, message ?: "");
}

/* ---------------------------------------------------------------- names */

void announce_name_mismatch(Context *c) {
        (void) announce_properties_changed(c, "LastError", NULL);
        announce_state(c);
        if (c->name_mismatch)
                log_event(LOG_WARNING, VERTEX_MESSAGE_NAME_MISMATCH, c->info ? c->info->fingerprint : NULL,
                          c->generation, c->source, LOG_CALLER_NONE, "NameMismatch", "Name mismatch: %s; "
                          "install a certificate that covers every name in ServerName= and AccessNames=.",
                          c->name_mismatch);
        else
                log_info("The served certificate (generation %" PRIu64 ") covers every name clients use again.",
                         c->generation);
}

void announce_names_changed(Context *c) {
        (void) announce_properties_changed(c, "ServerName", "RequiredNames", NULL);
}

/* --------------------------------------------------------------- expiry */

void announce_expiring(Context *c, unsigned days) {
        (void) emit_expiry_warning(c, c->info->not_after_usec, days);
        log_event(LOG_WARNING, VERTEX_MESSAGE_EXPIRING, c->info->fingerprint, c->generation, c->source,
                  LOG_CALLER_NONE, NULL, "Certificate %s (generation %" PRIu64 ") expires in %u day(s).",
                  subject_of(c), c->generation, days);
}

void announce_expired(Context *c) {
        log_event(LOG_CRIT, VERTEX_MESSAGE_EXPIRED, c->info->fingerprint, c->generation, c->source,
                  LOG_CALLER_NONE, NULL, "Certificate %s (generation %" PRIu64 ") has expired; clients will refuse it.",
                  subject_of(c), c->generation);
}
