/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certd: the daemon that owns the appliance's TLS certificate.
 * main() only parses arguments and wires the objects together on one
 * sd-event loop; every decision lives in the objects (pipeline, bus-api,
 * polkit, expiry, dropdir). The pipeline and the drop directory report
 * through the hooks wired here (docs/design.md, "Objects and hooks"), and
 * they are stopped here before the Context is freed. Exit codes: 0 after SIGTERM/SIGINT, 1 on a
 * runtime failure, 2 for bad arguments, 6 for a bad configuration (LSB
 * "not configured").
 */

#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "announce.h"
#include "build-config.h"
#include "bus-api.h"
#include "context.h"
#include "expiry.h"
#include "journal.h"
#include "names.h"
#include "metrics.h"
#include "pipeline.h"
#include "polkit.h"
#include "signing-requests.h"
#include "strv.h"

#define EXIT_USAGE 2
#define EXIT_NOTCONFIGURED 6

static const char *arg_config = CONFIG_FILE;

static void help(void) {
        printf("vertex-certd [OPTIONS...]\n\n"
               "Owns the appliance's TLS certificate and serves org.vertex.Certificates on the system bus.\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "  -c --config=PATH     Configuration file (default: %s)\n",
               CONFIG_FILE);
}

/* Returns 1 to go on, 0 to exit successfully (help, version), -EINVAL for bad arguments. */
static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h'         },
                { "version", no_argument,       NULL, ARG_VERSION },
                { "config",  required_argument, NULL, 'c'         },
                {}
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vertex-certd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "vertex-certd takes no positional arguments.\n");
                return -EINVAL;
        }
        return 1;
}

/* The name is taken only once something is served, so the first caller never sees an empty daemon. */
static int take_bus_name(Context *c) {
        int r;

        if (c->bus_name_acquired)
                return 0;
        r = bus_api_request_name(c);
        if (r < 0)
                return r;
        c->bus_name_acquired = true;

        announce_status(c);
        (void) sd_notify(false, "READY=1");
        log_info("Ready, serving generation %" PRIu64 ".", c->generation);
        return 0;
}

static void on_first_boot_done(Context *c, const PipelineResult *result, void *userdata) {
        int r;

        if (result->r == -ECANCELED)
                return;
        if (result->r < 0)
                log_error("Could not create the self-signed default certificate: %s", result->message ?: "");
        r = take_bus_name(c);
        if (r < 0)
                (void) sd_event_exit(c->event, EXIT_FAILURE);
}

static void on_start_reconciled(Context *c, const PipelineResult *result, void *userdata) {
        if (result->r == -ECANCELED)
                return;
        /* The message says which generation is current now: the one found, or the one put back. */
        if (result->r < 0)
                log_error("The endpoints failed the check at start: %s", result->message ?: "reload failed");
}

/*
 * A previous instance may have died between committing a generation and
 * reloading the consumers (crash, SIGKILL, power loss): `current` is then
 * newer than what they serve. Reload and verify once at start, so what is
 * served converges on `current` and Endpoints is known, not guessed; and if
 * `current` was never seen served and the endpoints refuse it, the generation
 * last seen served comes back, as after a failed install (PIPELINE_RESUME).
 */
static int reconcile_endpoints(Context *c) {
        PipelineRequest request = {
                .action = PIPELINE_RESUME,
                .source = "start",
                .caller = LOG_CALLER_NONE,
                .queue = true,
        };

        if (strv_length(c->config->units) == 0)
                return 0;
        /* State says so from the moment the name is taken, not only once the job reaches the loop. */
        c->reloading = true;
        int r = pipeline_submit(c, &request, on_start_reconciled, NULL);
        if (r < 0)
                c->reloading = false;
        return r;
}

static void on_drop_done(Context *c, const PipelineResult *result, void *userdata) {
        _cleanup_free_ char *name = userdata;
        int r;

        /* Shutting down mid-way: leave the files for the next start. */
        if (result->r == -ECANCELED || !c->dropdir)
                return;
        if (result->unchanged)
                log_info("Bundle '%s' in the drop directory: already serving generation %" PRIu64 ", removing its files.",
                         name ?: "?", result->generation);
        r = dropdir_bundle_done(c->dropdir, result->r >= 0 ? NULL : (result->short_error ?: "Failed"),
                                result->r >= 0 ? NULL : result->message);
        if (r < 0)
                log_warning_errno(r, "Failed to clean up the drop directory, ignoring: %m");
}

static void on_drop_bundle(DropDir *d, const DropBundle *bundle, void *userdata) {
        Context *c = userdata;
        int r;

        log_info("Found bundle '%s' in the drop directory.", bundle->name);
        PipelineRequest request = {
                .action = PIPELINE_INSTALL,
                .source = "drop-directory",
                .origin = bundle->name,
                .certificate = bundle->certificate,
                .certificate_size = bundle->certificate_size,
                .key = bundle->key,
                .key_size = bundle->key_size,
                .authority = bundle->authority,
                .authority_size = bundle->authority_size,
                .caller = LOG_CALLER_NONE,
                .queue = true,
                /* Content a generation already serves is not installed again; that of an older one is. */
                .unless_serving = true,
        };
        char *name = strdup(bundle->name);
        r = pipeline_submit(c, &request, on_drop_done, name);
        if (r < 0) {
                free(name);
                log_error_errno(r, "Failed to queue dropped bundle '%s': %m", bundle->name);
                (void) dropdir_bundle_done(d, "Failed", "The daemon could not queue this bundle.");
        }
}

static void on_drop_ignored(DropDir *d, const char *name, const char *reason, void *userdata) {
        log_notice("Ignoring '%s' in the drop directory: it %s.", name, reason);
}

static void on_drop_rejected(DropDir *d, const char *name, CertErrorCode code, const char *message, void *userdata) {
        Context *c = userdata;

        (void) context_set_refusal(c, cert_error_name(code), message);
        announce_drop_rejected(c, name, code, message);
}

/* ------------------------------------------------ the pipeline's hooks */

static void on_pipeline_state(Context *c, void *userdata) {
        announce_state(c);
}

static void on_served_changed(Context *c, const PipelineEvent *event, void *userdata) {
        /* A new generation (or the old one back) has its own expiry; a failed reload changed none. */
        if (event->kind != PIPELINE_EVENT_RELOAD_FAILED)
                (void) expiry_update(c);
        announce_served_changed(c, event);
        /* A rollback may bring back a certificate for other names; an install clears a mismatch. */
        (void) names_check(c, false);
}

static void on_endpoints_reloaded(Context *c, const PipelineEvent *event, void *userdata) {
        announce_endpoints_reloaded(c, event);
}

static void on_refused(Context *c, const PipelineEvent *event, void *userdata) {
        announce_refused(c, event);
}

static void on_request_consumed(Context *c, const char *id, void *userdata) {
        signing_requests_consumed(c, id);
}

static const PipelineHooks pipeline_hooks = {
        .state_changed = on_pipeline_state,
        .served_changed = on_served_changed,
        .endpoints_reloaded = on_endpoints_reloaded,
        .refused = on_refused,
        .request_consumed = on_request_consumed,
};

/*
 * systemctl reload: the configuration read again, the bus name kept. A bad
 * file keeps the running configuration (and says why); keys only read at
 * start wait for a restart. A change of names is acted on at once.
 */
static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;
        const char *restart_only[8];
        Context *c = userdata;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading the configuration.");
        r = config_load(arg_config, &config, &error);
        if (r < 0) {
                log_error_errno(r, "Bad configuration, keeping the running one: %s", error ?: "%m");
                (void) sd_notify(false, "READY=1");
                announce_status(c);
                return 0;
        }

        int n = config_keep_start_only(config, c->config, restart_only, ELEMENTSOF(restart_only));
        for (int i = 0; i < n; i++)
                log_warning("%s changed: it takes effect when vertex-certd restarts.", restart_only[i]);

        bool names_changed = !config_names_equal(config, c->config);
        Config *old = c->config;
        c->config = TAKE_PTR(config);
        config = old;  /* freed on return: nothing running holds its strings (config_keep_start_only()) */
        log_info("Configuration reloaded%s.", names_changed ? ", with new names" : "");
        if (names_changed)
                announce_names_changed(c);

        (void) expiry_update(c);
        (void) names_check(c, true);
        (void) sd_notify(false, "READY=1");
        announce_status(c);
        return 0;
}

/* Everything that refers to the bus, the store or the loop stops before the Context goes. */
static Context *daemon_free(Context *c) {
        if (!c)
                return NULL;
        pipeline_free(c);
        bus_api_validate_calls_free(c);
        polkit_queries_free(c);
        expiry_disarm(c);
        metrics_stop(c);
        signing_requests_stop(c);
        return context_free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Context *, daemon_free);

static int start_drop_directory(Context *c) {
        _cleanup_free_ char *state_file = NULL;
        int r;

        if (isempty(c->config->drop_directory)) {
                log_info("No drop directory configured.");
                return 0;
        }
        if (asprintf(&state_file, "%s/drop-seen", c->config->store_directory) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");

        DropDirOptions options = {
                .path = c->config->drop_directory,
                .state_file = state_file,
                .settle_usec = c->config->settle_usec,
                .max_file_size = c->config->max_input_size,
                .on_bundle = on_drop_bundle,
                .on_rejected = on_drop_rejected,
                .on_ignored = on_drop_ignored,
                .userdata = c,
        };
        r = dropdir_new(c->event, &options, &c->dropdir);
        if (r < 0)
                /* The bus still works without it; an operator sees why in the log. */
                return log_error_errno(r, "Failed to watch drop directory '%s', continuing without it: %m",
                                       c->config->drop_directory);
        return 0;
}

/* The system bus with our object on it; the name is taken later (take_bus_name()). Returns 0 or -errno (logged). */
static int connect_bus(Context *c) {
        int r;

        r = sd_bus_open_system(&c->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Without the bus nobody can reach us: exit and let the unit's Restart= bring us back. */
        r = sd_bus_set_exit_on_disconnect(c->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to configure the bus connection: %m");
        r = sd_bus_attach_event(c->bus, c->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = bus_api_add_object(c);
        if (r < 0)
                return log_error_errno(r, "Failed to register the bus object: %m");
        return 0;
}

/* Before any reload, every configured unit is of unknown state. Returns 0 or -ENOMEM. */
static int set_endpoints_unknown(Context *c) {
        size_t n_units = strv_length(c->config->units);

        if (n_units == 0)
                return 0;

        _cleanup_free_ EndpointStatus *unknown = calloc(n_units, sizeof(EndpointStatus));
        if (!unknown)
                return -ENOMEM;
        for (size_t i = 0; i < n_units; i++)
                unknown[i] = (EndpointStatus) { .unit = c->config->units[i], .address = (char *) "",
                                                .state = (char *) "unknown", .fingerprint = (char *) "" };
        return context_set_endpoints(c, unknown, n_units);
}

static int run(int argc, char *argv[]) {
        _cleanup_(daemon_freep) Context *c = NULL;
        _cleanup_free_ char *config_error = NULL;
        sigset_t mask;
        int r;

        /* glibc raises its mmap threshold to the largest block freed so far (up to 32 MiB) and its
         * trim threshold to twice that, so after one large bus message (a 1 MiB bundle) buffers of
         * that size come from the heap and stay resident for good: in bench/footprint ten Installs
         * of 0.9-1.5 MiB left 1.8 MiB behind, under 50 KiB with this. Pinning glibc's default of 128 KiB
         * keeps large buffers in their own mappings, returned on free(). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);

        log_parse_environment();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        r = context_new(&c);
        if (r >= 0)
                r = pipeline_new(c, &pipeline_hooks);
        if (r < 0)
                return log_error_errno(r, "Out of memory."), EXIT_FAILURE;

        r = config_load(arg_config, &c->config, &config_error);
        if (r < 0) {
                log_error_errno(r, "Bad configuration: %s", config_error ?: "%m");
                return EXIT_NOTCONFIGURED;
        }

        r = sd_event_default(&c->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m"), EXIT_FAILURE;

        /* Signals are handled by the loop; they must not interrupt anything else. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m"), EXIT_FAILURE;
        r = sd_event_add_signal(c->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(c->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(c->event, NULL, SIGHUP, on_reload_signal, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m"), EXIT_FAILURE;

        /* WATCHDOG=1 at half the unit's WatchdogSec=, only when it asks for it. */
        r = sd_event_set_watchdog(c->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

        r = store_open(c->config->store_directory, c->config->keep_generations, &c->store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store '%s': %m", c->config->store_directory), EXIT_FAILURE;

        /* Before the bus: PendingRequests is right from the first call. */
        (void) signing_requests_start(c);

        r = connect_bus(c);
        if (r < 0)
                return EXIT_FAILURE;

        r = set_endpoints_unknown(c);
        if (r < 0)
                return log_error_errno(r, "Out of memory."), EXIT_FAILURE;

        r = context_load_current(c, NULL);
        /* Before the bus name: whoever sees the daemon ready finds the file current. */
        (void) metrics_start(c);
        if (r == -ENOENT) {
                log_info("The store is empty; creating the self-signed default for '%s'.", c->config->server_name);
                PipelineRequest request = {
                        .action = PIPELINE_SELF_SIGNED,
                        .source = "self-signed",
                        .origin = "first-boot",
                        .caller = LOG_CALLER_NONE,
                };
                r = pipeline_submit(c, &request, on_first_boot_done, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to start creating the default certificate: %m"), EXIT_FAILURE;
        } else if (r < 0)
                return log_error_errno(r, "Failed to read the current generation: %m"), EXIT_FAILURE;
        else {
                log_info("Serving generation %" PRIu64 " (%s).", c->generation, c->info ? c->info->subject : "?");
                r = reconcile_endpoints(c);
                if (r < 0)
                        log_warning_errno(r, "Failed to queue the reload of the endpoints at start, ignoring: %m");
                /* ServerName= or AccessNames= may have changed while the daemon was stopped. */
                (void) names_check(c, true);
                r = take_bus_name(c);
                if (r < 0)
                        return EXIT_FAILURE;
        }

        (void) expiry_update(c);
        (void) start_drop_directory(c);

        r = sd_event_loop(c->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), EXIT_FAILURE;
        log_info("Exiting.");
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv);
}
