/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one pipeline: read -> validate -> stage -> commit -> reload + verify ->
 * settle, for every source of a change. Jobs run one at a time; each step
 * after submission happens from the event loop, so callers are never
 * re-entered from pipeline_submit(). On a failed reload the previous
 * generation is committed and reloaded again before the failure is reported.
 *
 * It does not parse bus messages or drop-directory files (its callers do),
 * and it does not decide who may change the certificate (polkit.c does).
 */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>

#include "bundle-child.h"
#include "pipeline.h"
#include "selfsigned.h"
#include "store-served.h"
#include "strv.h"

typedef struct PipelineJob PipelineJob;

struct Pipeline {
        Context *context;
        PipelineHooks hooks;
        /* One change at a time: jobs[0] runs, the rest (drop directory, expiry) wait. */
        PipelineJob *jobs;
        sd_event_source *job_defer;
};

struct PipelineJob {
        PipelineJob *next;
        Context *context;

        PipelineAction action;
        char *source;
        char *origin;
        char *certificate;
        size_t certificate_size;
        char *key;                     /* erased on free */
        size_t key_size;
        char *authority;
        size_t authority_size;
        LogCaller caller;
        bool pkcs12;                   /* certificate: a PKCS#12 file; key: its password */
        int files[3];                  /* passed files, read in the worker; -EBADF when none (files_n == 0) */
        size_t files_n;
        bool unless_serving;

        pipeline_done_t done;
        void *userdata;

        uint64_t previous_id;          /* current generation when the job started, 0 if none */
        char previous_fingerprint[CERT_FINGERPRINT_MAX];
        uint64_t new_id;               /* generation this job made current */
        char new_fingerprint[CERT_FINGERPRINT_MAX];
        bool reverting;                /* the reload failed; the previous generation is back and reloading */
        bool revert_commit_failed;     /* …or could not be put back at all */
        char *reload_message;          /* why the first reload failed */
        char request_id[PENDING_ID_MAX]; /* the signing request whose key this bundle took; "" when none */

        BundleWorker *worker;          /* reading and validating, or generating, in a child */
        ReloadRequest *reload;
        int reload_result;
        sd_event_source *reload_defer; /* continues after reload_done, outside reload.c's callback */
};

static PipelineJob *job_free(PipelineJob *j) {
        if (!j)
                return NULL;
        bundle_worker_free(j->worker);
        reload_request_free(j->reload);
        sd_event_source_disable_unref(j->reload_defer);
        free(j->source);
        free(j->origin);
        free(j->certificate);
        for (size_t i = 0; i < j->files_n; i++)
                safe_close(j->files[i]);
        erase_and_free(j->key, j->key_size);
        free(j->authority);
        free(j->reload_message);
        free(j);
        return NULL;
}

static int copy_bytes(const void *p, size_t n, char **ret) {
        /* Always NUL-terminated, so that a string view of the copy is safe too. */
        char *copy = malloc(n + 1);
        if (!copy)
                return -ENOMEM;
        if (n > 0)
                memcpy(copy, p, n);
        copy[n] = 0;
        *ret = copy;
        return 0;
}

bool pipeline_busy(Context *c) {
        return c->pipeline && c->pipeline->jobs;
}

const char *pipeline_error_name(PipelineError error, CertErrorCode code) {
        switch (error) {
        case PIPELINE_ERROR_NONE:
                return NULL;
        case PIPELINE_ERROR_REFUSED:
                return cert_error_name(code) ?: "Malformed";
        case PIPELINE_ERROR_RELOAD_FAILED:
                return "ReloadFailed";
        case PIPELINE_ERROR_NO_PREVIOUS_GENERATION:
                return "NoPreviousGeneration";
        case PIPELINE_ERROR_FAILED:
        default:
                return "Failed";
        }
}

/* The hooks main.c wired; each may be missing. */
static void report_state(Context *c) {
        const PipelineHooks *h = &c->pipeline->hooks;
        if (h->state_changed)
                h->state_changed(c, h->userdata);
}

static void report_served(Context *c, const PipelineEvent *event) {
        const PipelineHooks *h = &c->pipeline->hooks;
        if (h->served_changed)
                h->served_changed(c, event, h->userdata);
}

static void report_endpoints(Context *c, const PipelineEvent *event) {
        const PipelineHooks *h = &c->pipeline->hooks;
        if (h->endpoints_reloaded)
                h->endpoints_reloaded(c, event, h->userdata);
}

static void report_refused(Context *c, const PipelineEvent *event) {
        const PipelineHooks *h = &c->pipeline->hooks;
        if (h->refused)
                h->refused(c, event, h->userdata);
}

static PipelineEvent job_event(PipelineJob *j, PipelineEventKind kind) {
        return (PipelineEvent) {
                .kind = kind,
                .source = j->source,
                .origin = j->origin ?: "",
                .caller = j->caller,
                .fingerprint = j->new_fingerprint,
                .previous_generation = j->previous_id,
                .new_generation = j->new_id,
        };
}

void pipeline_validate_options(Context *c, ValidateOptions *ret) {
        *ret = (ValidateOptions) {
                .server_name = isempty(c->config->server_name) ? NULL : c->config->server_name,
                .access_names = c->config->access_names,
                .policy = c->config->policy,
                .trust_store_file = isempty(c->config->trust_store_file) ? NULL : c->config->trust_store_file,
                .limits.max_size = (size_t) c->config->max_input_size,
        };
}

static void job_arm_next(Context *c);

/* Ends the running job: reports to its owner, frees it, and starts the next one. */
static void job_finish(PipelineJob *j, const PipelineResult *result) {
        Context *c = j->context;
        Pipeline *p = c->pipeline;

        assert(p->jobs == j);
        p->jobs = j->next;
        c->reloading = false;
        report_state(c);

        if (j->done)
                j->done(c, result, j->userdata);
        job_free(j);
        job_arm_next(c);

        /* The queue is empty: the daemon goes idle until the next change. Hand the pages that
         * validating, staging and reloading freed back to the kernel: 30-60 KiB less after 1,000
         * installs in bench/footprint, for ~0.5 ms, spent after the caller has its answer. */
        if (!p->jobs)
                (void) malloc_trim(0);
}

static int job_fail(PipelineJob *j, int r, PipelineError error, CertErrorCode code, const char *message) {
        PipelineResult result = {
                .r = r < 0 ? r : -EIO,
                .error = error,
                .code = code,
                .short_error = pipeline_error_name(error, code),
                .message = message,
        };
        job_finish(j, &result);
        return 0;
}

/* An internal failure (disk full, out of memory): nothing changed on disk that matters. */
static int job_fail_internal(PipelineJob *j, int r, const char *what) {
        Context *c = j->context;
        char message[512];

        errno = r < 0 ? -r : EIO;
        (void) snprintf(message, sizeof(message), "%s: %m", what);
        (void) context_set_refusal(c, "Failed", message);

        PipelineEvent event = job_event(j, PIPELINE_EVENT_FAILED);
        event.message = message;
        report_refused(c, &event);
        return job_fail(j, r, PIPELINE_ERROR_FAILED, CERT_OK, message);
}

static int job_refuse(PipelineJob *j, const CertProblem *problem) {
        Context *c = j->context;

        (void) context_set_refusal(c, pipeline_error_name(PIPELINE_ERROR_REFUSED, problem->code), problem->message);

        PipelineEvent event = job_event(j, PIPELINE_EVENT_REFUSED);
        event.code = problem->code;
        event.message = problem->message;
        report_refused(c, &event);
        return job_fail(j, -EBADMSG, PIPELINE_ERROR_REFUSED, problem->code, problem->message);
}

static void on_reload_done(ReloadRequest *req, int r, const char *error_message,
                           const EndpointStatus *endpoints, size_t n_endpoints, void *userdata);

static int job_start_reload(PipelineJob *j, const char *fingerprint) {
        Context *c = j->context;

        c->reloading = true;
        report_state(c);
        j->reload_result = 0;
        ReloadParameters p = {
                .units = c->config->units,
                .through = c->config->reload_through,
                .verify_addresses = c->config->verify_addresses,
                .fingerprint = fingerprint,
                .server_name = c->config->server_name,
                .timeout_usec = c->config->reload_timeout_usec,
                .verify_serving = c->config->verify_serving,
        };
        return reload_request_start(c->bus, c->event, &p, on_reload_done, j, &j->reload);
}

/* Every endpoint serves the current generation: remember it, for a start after an interrupted change. */
static void note_served(Context *c) {
        int r = store_served_write(store_directory(c->store), c->generation);
        if (r < 0)
                log_warning_errno(r, "Failed to record generation %" PRIu64 " as served, ignoring: %m", c->generation);
}

static void job_settle_success(PipelineJob *j) {
        Context *c = j->context;
        int r;

        if (j->action == PIPELINE_RELOAD || j->action == PIPELINE_RESUME) {
                c->degraded = false;
                (void) context_set_last_error(c, "");
                note_served(c);
                PipelineEvent event = job_event(j, PIPELINE_EVENT_RELOADED);
                report_endpoints(c, &event);

                PipelineResult result = { .generation = c->generation,
                                          .fingerprint = c->info ? c->info->fingerprint : "" };
                job_finish(j, &result);
                return;
        }

        r = store_prune(c->store);
        if (r < 0)
                log_warning_errno(r, "Failed to prune old generations, ignoring: %m");

        r = context_load_current(c, j->action == PIPELINE_ROLLBACK ? "rollback" : NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to read back generation %" PRIu64 ", ignoring: %m", j->new_id);

        c->degraded = false;
        (void) context_set_last_error(c, "");
        note_served(c);

        /* Only now, serving, is a signing request answered; a refusal or a revert leaves it pending. */
        if (j->request_id[0] && c->pipeline->hooks.request_consumed)
                c->pipeline->hooks.request_consumed(c, j->request_id, c->pipeline->hooks.userdata);

        PipelineEvent event = job_event(j, j->action == PIPELINE_ROLLBACK ? PIPELINE_EVENT_ROLLED_BACK
                                                                         : PIPELINE_EVENT_INSTALLED);
        report_served(c, &event);
        report_endpoints(c, &event);

        PipelineResult result = { .generation = c->generation, .fingerprint = j->new_fingerprint };
        job_finish(j, &result);
}

/* The reload (or the reload after reverting) is over; decide what the job's outcome is. */
static void job_after_reload(PipelineJob *j) {
        Context *c = j->context;
        int r;

        if (j->reload_result >= 0 && !j->reverting) {
                job_settle_success(j);
                return;
        }

        if (j->action == PIPELINE_RELOAD || (!j->reverting && j->previous_id == 0)) {
                /* (PIPELINE_RESUME without a generation last seen served has previous_id 0 too.) */
                /* Nothing to go back to: keep what is there, and say that it is not right. */
                char message[700];
                (void) snprintf(message, sizeof(message), "%s", j->reload_message ?: "reload failed");
                c->degraded = true;
                if (j->action != PIPELINE_RELOAD)
                        (void) context_load_current(c, NULL);
                (void) context_set_last_error(c, message);
                PipelineEvent event = job_event(j, PIPELINE_EVENT_RELOAD_FAILED);
                event.message = message;
                report_served(c, &event);
                report_endpoints(c, &event);
                (void) job_fail(j, -EIO, PIPELINE_ERROR_RELOAD_FAILED, CERT_OK, message);
                return;
        }

        if (!j->reverting) {
                /* The new generation does not serve: put the previous one back and reload again. */
                log_warning("%s; going back to generation %" PRIu64 ".", j->reload_message, j->previous_id);
                r = store_commit(c->store, j->previous_id);
                if (r >= 0) {
                        j->reverting = true;
                        r = job_start_reload(j, j->previous_fingerprint);
                        if (r >= 0)
                                return;
                }
                log_error_errno(r, "Failed to go back to generation %" PRIu64 ": %m", j->previous_id);
                j->reload_result = r;
                j->reverting = true;
                j->revert_commit_failed = true;
        }

        /* Reverted (or tried to): say exactly which generation is current now. */
        char message[800];
        c->degraded = j->reload_result < 0;
        (void) context_load_current(c, NULL);
        if (!c->degraded && !j->revert_commit_failed)
                note_served(c);
        if (j->revert_commit_failed)
                (void) snprintf(message, sizeof(message),
                                "%s; putting generation %" PRIu64 " back failed, generation %" PRIu64 " is still current",
                                j->reload_message ?: "reload failed", j->previous_id, c->generation);
        else
                (void) snprintf(message, sizeof(message), "%s; generation %" PRIu64 " was put back%s",
                                j->reload_message ?: "reload failed", j->previous_id,
                                c->degraded ? ", but reloading it failed too" : " and is serving");
        (void) context_set_last_error(c, message);
        PipelineEvent event = job_event(j, PIPELINE_EVENT_REVERTED);
        event.fingerprint = j->previous_fingerprint;
        event.message = message;
        report_served(c, &event);
        report_endpoints(c, &event);
        (void) job_fail(j, -EIO, PIPELINE_ERROR_RELOAD_FAILED, CERT_OK, message);
}

static int on_reload_defer(sd_event_source *s, void *userdata) {
        PipelineJob *j = userdata;

        j->reload = reload_request_free(j->reload);
        /* Settling announces the outcome; State must already say the reload is over. */
        j->context->reloading = false;
        job_after_reload(j);
        return 0;
}

static void on_reload_done(ReloadRequest *req, int r, const char *error_message,
                           const EndpointStatus *endpoints, size_t n_endpoints, void *userdata) {
        PipelineJob *j = userdata;
        Context *c = j->context;

        j->reload_result = r;
        if (r < 0 && !j->reverting) {
                free(j->reload_message);
                j->reload_message = strdup(!isempty(error_message) ? error_message : "Reloading the endpoints failed");
        }
        if (context_set_endpoints(c, endpoints, n_endpoints) < 0)
                log_warning("Out of memory while recording endpoint states, ignoring.");

        /* Continue from the event loop: reload.c is still on the stack and owns req. */
        if (!j->reload_defer) {
                if (sd_event_add_defer(c->event, &j->reload_defer, on_reload_defer, j) < 0) {
                        log_error("Failed to schedule the end of a reload; continuing directly.");
                        job_after_reload(j);
                        return;
                }
        } else
                (void) sd_event_source_set_enabled(j->reload_defer, SD_EVENT_ONESHOT);
}

/* commit, then the reload. */
static int job_commit(PipelineJob *j, uint64_t id) {
        Context *c = j->context;
        int r;

        j->new_id = id;
        r = store_commit(c->store, id);
        if (r < 0)
                return job_fail_internal(j, r, "Failed to make the new generation current");

        r = job_start_reload(j, j->new_fingerprint);
        if (r < 0) {
                j->reload_result = r;
                free(j->reload_message);
                j->reload_message = strdup("Failed to start reloading the endpoints");
                job_after_reload(j);
        }
        return 0;
}

/* The worker's bundle, as the store writes it, and its description: stage, commit, reload. */
static void on_bundle_ready(BundleWorker *w, BundleResult *result, void *userdata) {
        PipelineJob *j = userdata;
        Context *c = j->context;
        uint64_t id;
        int r;

        j->worker = bundle_worker_free(j->worker);

        if (result->r == -EBADMSG)
                (void) job_refuse(j, &result->problem);
        else if (result->r == -EPROTO && j->action == PIPELINE_INSTALL)
                /* The child died on the input (or garbled its answer): whatever it was, it is refused. */
                (void) job_refuse(j, &(CertProblem) { CERT_ERROR_MALFORMED,
                                                      "the bundle could not be read: the process checking it "
                                                      "ended without an answer" });
        else if (result->r < 0)
                (void) job_fail_internal(j, result->r, j->action == PIPELINE_SELF_SIGNED ?
                                         "Failed to generate a self-signed certificate" :
                                         "Failed to read the certificate");
        else if (j->unless_serving && j->previous_id > 0 && !c->degraded &&
                 store_generation_has_files(c->store, j->previous_id, &result->files) > 0) {
                /* Exactly what is served already: nothing to write or reload. */
                PipelineResult done = { .generation = j->previous_id, .fingerprint = j->previous_fingerprint,
                                        .unchanged = true };
                job_finish(j, &done);
        } else {
                r = store_stage_files(c->store, &result->files, result->info,
                                      j->action == PIPELINE_SELF_SIGNED ? "self-signed" : j->source, &id);
                if (r < 0)
                        (void) job_fail_internal(j, r, "Failed to write a new generation");
                else {
                        (void) snprintf(j->new_fingerprint, sizeof(j->new_fingerprint), "%s",
                                        result->info->fingerprint);
                        memcpy(j->request_id, result->request_id, PENDING_ID_MAX);
                        if (j->request_id[0])
                                log_info("The certificate is for the key of signing request %s.", j->request_id);
                        (void) job_commit(j, id);
                }
        }

        store_files_done(&result->files);
        cert_info_free(result->info);
}

/* Reads the generation served now, for reverting to it. */
static void job_note_previous(PipelineJob *j) {
        Context *c = j->context;
        uint64_t id;

        j->previous_id = 0;
        j->previous_fingerprint[0] = 0;
        if (store_current(c->store, &id) >= 0) {
                _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
                j->previous_id = id;
                if (store_get(c->store, id, &g) >= 0 && g->info)
                        (void) snprintf(j->previous_fingerprint, sizeof(j->previous_fingerprint), "%s",
                                        g->info->fingerprint);
        }
}

/*
 * The start: `current` is checked as an install would check it. If it is not
 * the generation last seen served, the instance before stopped between
 * committing it and seeing it served (crash, SIGKILL, power loss): when the
 * endpoints do not serve it, that generation is put back. Otherwise, like
 * ReloadEndpoints: a failure leaves `current` and says so (degraded).
 */
static int job_resume(PipelineJob *j) {
        Context *c = j->context;
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        uint64_t served = 0;
        int r;

        j->new_id = j->previous_id;
        (void) snprintf(j->new_fingerprint, sizeof(j->new_fingerprint), "%s", j->previous_fingerprint);

        r = store_served_read(store_directory(c->store), &served);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to read which generation was last served, ignoring: %m");
        if (r >= 0 && served != j->new_id && store_get(c->store, served, &g) >= 0 && g->info) {
                log_notice("Generation %" PRIu64 " became current but was never seen served (the daemon stopped "
                           "in between): checking it, and going back to generation %" PRIu64 " if the endpoints "
                           "do not serve it.", j->new_id, served);
                j->previous_id = served;
                (void) snprintf(j->previous_fingerprint, sizeof(j->previous_fingerprint), "%s", g->info->fingerprint);
        } else
                j->previous_id = 0;   /* nothing to go back to */

        r = job_start_reload(j, j->new_fingerprint);
        if (r < 0)
                return job_fail_internal(j, r, "Failed to start reloading the endpoints");
        return 0;
}

/* read -> validate (in a worker) -> stage -> commit, then the reload. */
static int job_run(PipelineJob *j) {
        Context *c = j->context;
        uint64_t id;
        int r;

        job_note_previous(j);

        switch (j->action) {

        case PIPELINE_INSTALL: {
                ValidateOptions options;
                pipeline_validate_options(c, &options);
                /* In a child: what validation runs and caches stays out of the idle daemon (bundle-child.h). */
                r = bundle_worker_load(c->event, j->certificate, j->certificate_size, j->key ?: "", j->key_size,
                                       j->authority ?: "", j->authority_size, j->files_n > 0 ? j->files : NULL,
                                       &options, store_directory(c->store), j->pkcs12, on_bundle_ready, j,
                                       &j->worker);
                /* The child has its copy; ours is no longer needed, the key least of all. */
                erase_and_free(j->key, j->key_size);
                j->key = NULL;
                j->key_size = 0;
                for (size_t i = 0; i < j->files_n; i++)
                        j->files[i] = safe_close(j->files[i]);
                j->files_n = 0;
                if (r < 0)
                        return job_fail_internal(j, r, "Failed to read the certificate");
                return 0;
        }

        case PIPELINE_SELF_SIGNED: {
                /* Every name clients use, then the local ones; the validation of our own requires the former. */
                _cleanup_strv_free_ char **names = strv_copy(c->config->access_names);
                if (!names || strv_extend_strv(&names, c->config->alternative_names) < 0)
                        return job_fail_internal(j, -ENOMEM, "Failed to generate a self-signed certificate");
                r = bundle_worker_selfsigned(c->event, c->config->server_name, names,
                                             SELFSIGNED_LIFETIME_DAYS_DEFAULT, on_bundle_ready, j, &j->worker);
                if (r < 0)
                        return job_fail_internal(j, r, "Failed to generate a self-signed certificate");
                return 0;
        }

        case PIPELINE_ROLLBACK: {
                _cleanup_(store_generation_freep) StoreGeneration *g = NULL;

                if (j->previous_id == 0 || store_previous(c->store, &id) < 0)
                        return job_fail(j, -ENOENT, PIPELINE_ERROR_NO_PREVIOUS_GENERATION, CERT_OK,
                                        "There is no previous generation to go back to.");
                r = store_get(c->store, id, &g);
                if (r < 0)
                        return job_fail_internal(j, r, "Failed to read the previous generation");
                (void) snprintf(j->new_fingerprint, sizeof(j->new_fingerprint), "%s",
                                g->info ? g->info->fingerprint : "");
                return job_commit(j, id);
        }

        case PIPELINE_RESUME:
                if (j->previous_id == 0)
                        return job_fail(j, -ENOENT, PIPELINE_ERROR_NO_PREVIOUS_GENERATION, CERT_OK,
                                        "No certificate is installed yet.");
                return job_resume(j);

        case PIPELINE_RELOAD:
                if (j->previous_id == 0)
                        return job_fail(j, -ENOENT, PIPELINE_ERROR_NO_PREVIOUS_GENERATION, CERT_OK,
                                        "No certificate is installed yet.");
                (void) snprintf(j->new_fingerprint, sizeof(j->new_fingerprint), "%s", j->previous_fingerprint);
                j->new_id = j->previous_id;
                r = job_start_reload(j, j->new_fingerprint);
                if (r < 0)
                        return job_fail_internal(j, r, "Failed to start reloading the endpoints");
                return 0;
        }
        return 0;
}

static int on_job_defer(sd_event_source *s, void *userdata) {
        Pipeline *p = userdata;

        if (p->jobs)
                (void) job_run(p->jobs);
        return 0;
}

static void job_arm_next(Context *c) {
        Pipeline *p = c->pipeline;
        int r;

        if (!p->jobs)
                return;
        if (!p->job_defer) {
                r = sd_event_add_defer(c->event, &p->job_defer, on_job_defer, p);
                if (r < 0) {
                        log_error_errno(r, "Failed to schedule a certificate change: %m");
                        return;
                }
        }
        (void) sd_event_source_set_enabled(p->job_defer, SD_EVENT_ONESHOT);
}

int pipeline_new(Context *c, const PipelineHooks *hooks) {
        Pipeline *p = calloc(1, sizeof(Pipeline));
        if (!p)
                return -ENOMEM;
        p->context = c;
        if (hooks)
                p->hooks = *hooks;
        c->pipeline = p;
        return 0;
}

int pipeline_submit(Context *c, const PipelineRequest *request, pipeline_done_t done, void *userdata) {
        Pipeline *p = c->pipeline;
        PipelineJob *j;

        if (p->jobs && !request->queue)
                return -EBUSY;

        j = calloc(1, sizeof(PipelineJob));
        if (!j)
                return -ENOMEM;
        *j = (PipelineJob) {
                .context = c,
                .action = request->action,
                .caller = request->caller,
                .pkcs12 = request->pkcs12,
                .unless_serving = request->unless_serving,
                .done = done,
                .userdata = userdata,
                .source = strdup(request->source ?: ""),
                .origin = strdup(request->origin ?: ""),
                .certificate_size = request->certificate_size,
                .key_size = request->key_size,
                .authority_size = request->authority_size,
                .files = { -EBADF, -EBADF, -EBADF },
        };
        /* Our own copies of passed descriptors: the caller's message may go before the job runs. */
        for (size_t i = 0; i < request->files_n && i < ELEMENTSOF(j->files); i++) {
                j->files[i] = fcntl(request->files[i], F_DUPFD_CLOEXEC, 3);
                j->files_n++;
                if (j->files[i] < 0) {
                        int r = negative_errno();
                        job_free(j);
                        return r;
                }
        }
        if (!j->source || !j->origin ||
            copy_bytes(request->certificate, request->certificate_size, &j->certificate) < 0 ||
            copy_bytes(request->key, request->key_size, &j->key) < 0 ||
            copy_bytes(request->authority, request->authority_size, &j->authority) < 0) {
                job_free(j);
                return -ENOMEM;
        }

        PipelineJob **tail = &p->jobs;
        while (*tail)
                tail = &(*tail)->next;
        *tail = j;

        if (p->jobs == j)
                job_arm_next(c);
        return 0;
}

void pipeline_free(Context *c) {
        Pipeline *p = c->pipeline;

        if (!p)
                return;
        while (p->jobs) {
                PipelineJob *j = p->jobs;
                PipelineResult result = { .r = -ECANCELED, .error = PIPELINE_ERROR_FAILED, .short_error = "Failed",
                                          .message = "The daemon is shutting down." };

                p->jobs = j->next;
                if (j->done)
                        j->done(c, &result, j->userdata);
                job_free(j);
        }
        sd_event_source_disable_unref(p->job_defer);
        free(p);
        c->pipeline = NULL;
}
