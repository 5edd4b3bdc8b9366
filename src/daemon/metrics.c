/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node_exporter textfile (MetricsFile=, certd.conf(5)). Level 4 of
 * docs/design.md: it reads the Context and writes one file; announce.c calls
 * it after every change, and a timer at each moment the day count changes.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "io-util.h"
#include "metrics.h"
#include "time-util.h"

/* A label value: backslash, double quote and newline escaped, as the text format wants. */
static void put_label(FILE *f, const char *name, const char *value) {
        fprintf(f, "%s=\"", name);
        for (const char *p = value ?: ""; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fputc('\\', f);
                if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void put_header(FILE *f, const char *metric, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
}

/* The served certificate; nothing when none is installed yet. */
static void put_certificate(FILE *f, Context *c, uint64_t now) {
        if (!c->info)
                return;

        put_header(f, "vertex_certd_certificate_not_after_seconds", "End of validity of the served certificate.");
        fprintf(f, "vertex_certd_certificate_not_after_seconds %" PRIu64 "\n", c->info->not_after_usec / USEC_PER_SEC);
        put_header(f, "vertex_certd_certificate_not_before_seconds", "Start of validity of the served certificate.");
        fprintf(f, "vertex_certd_certificate_not_before_seconds %" PRIu64 "\n", c->info->not_before_usec / USEC_PER_SEC);
        put_header(f, "vertex_certd_certificate_days_left",
                   "Whole days until the served certificate expires; negative once expired.");
        fprintf(f, "vertex_certd_certificate_days_left %" PRId64 "\n",
                days_left_signed(c->info->not_after_usec, now));
        put_header(f, "vertex_certd_certificate_generation", "Store generation being served.");
        fprintf(f, "vertex_certd_certificate_generation %" PRIu64 "\n", c->generation);
        put_header(f, "vertex_certd_certificate_self_signed", "1 while the self-signed default is served.");
        fprintf(f, "vertex_certd_certificate_self_signed %d\n", streq_ptr(c->stored_source, "self-signed"));
        put_header(f, "vertex_certd_certificate_info", "The served certificate; the value is always 1.");
        fputs("vertex_certd_certificate_info{", f);
        put_label(f, "source", c->source);
        fputc(',', f);
        put_label(f, "subject", c->info->subject);
        fputc(',', f);
        put_label(f, "issuer", c->info->issuer);
        fputc(',', f);
        put_label(f, "fingerprint", c->info->fingerprint);
        fputc(',', f);
        put_label(f, "server_name", c->config->server_name);
        fputs("} 1\n", f);
        put_header(f, "vertex_certd_last_install_timestamp_seconds", "When the served generation was installed.");
        fprintf(f, "vertex_certd_last_install_timestamp_seconds %" PRIu64 "\n", c->installed_usec / USEC_PER_SEC);
}

static void put_refusal(FILE *f, Context *c) {
        put_header(f, "vertex_certd_last_refusal_timestamp_seconds",
                   "When a bundle was last refused or a change failed since the daemon started; 0 for never.");
        fprintf(f, "vertex_certd_last_refusal_timestamp_seconds %" PRIu64 "\n", c->last_refusal_usec / USEC_PER_SEC);
        if (!c->last_refusal_name)
                return;
        put_header(f, "vertex_certd_last_refusal_info", "The error name of the last refusal; the value is always 1.");
        fputs("vertex_certd_last_refusal_info{", f);
        put_label(f, "error", c->last_refusal_name);
        fputs("} 1\n", f);
}

/* The text, in memory: the file is then written in one go. */
static int metrics_format(Context *c, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -errno;
        put_certificate(f, c, now_usec(CLOCK_REALTIME));
        put_refusal(f, c);
        put_header(f, "vertex_certd_state", "1 for the State the daemon is in (serving, reloading, degraded, expiring, expired).");
        fputs("vertex_certd_state{", f);
        put_label(f, "state", context_state(c));
        fputs("} 1\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

static int write_file(Context *c) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0;
        int r;

        r = metrics_format(c, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to format the metrics: %m");

        /* The temporary name does not end in .prom, so the collector never reads a half-written file. */
        if (asprintf(&tmp, "%s.XXXXXX", c->config->metrics_file) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create a temporary file for MetricsFile=%s: %m",
                                       c->config->metrics_file);
        /* Public data, read by the node exporter's own user. */
        r = fchmod(fd, 0644) < 0 ? -errno : write_all(fd, text, size);
        if (r >= 0 && rename(tmp, c->config->metrics_file) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to write MetricsFile=%s: %m", c->config->metrics_file);
        }
        return 0;
}

static int on_days_left_change(sd_event_source *s, uint64_t usec, void *userdata) {
        return metrics_write(userdata);
}

/* Rewrites the file when days_left next changes, so a scrape never reads a
 * stale count. CLOCK_REALTIME: the count is about the wall clock, and sd-event
 * fires a realtime timer at once when the clock jumps past it. */
static int arm_days_left_timer(Context *c) {
        int r;

        if (!c->info) {
                metrics_stop(c);
                return 0;
        }
        uint64_t at = days_left_changes_at(c->info->not_after_usec, now_usec(CLOCK_REALTIME));
        if (c->metrics_timer) {
                r = sd_event_source_set_time(c->metrics_timer, at);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->metrics_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(c->event, &c->metrics_timer, CLOCK_REALTIME, at, USEC_PER_MSEC,
                                      on_days_left_change, c);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the metrics timer: %m");
        return 0;
}

int metrics_write(Context *c) {
        if (isempty(c->config->metrics_file))
                return 0;

        int r = write_file(c);
        /* Armed after a failed write too: the next change tries again. */
        int k = arm_days_left_timer(c);
        return r < 0 ? r : k;
}

int metrics_start(Context *c) {
        return metrics_write(c);
}

void metrics_stop(Context *c) {
        c->metrics_timer = sd_event_source_disable_unref(c->metrics_timer);
}
