/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.vertex.Certificates: method handlers, property getters, signal
 * emitters. A mutating handler is a straight line: parse -> cheap checks ->
 * polkit -> hand the change to the pipeline, whose done callback replies.
 * Properties are read from the Context and never wait for a change.
 *
 * It does not validate certificates itself (validate.c) and does not touch
 * the store (pipeline.c); it maps refusals to error names and nothing more.
 * Private keys pass through here as bytes only: never logged, never
 * returned, erased as soon as they were handed on.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "announce.h"
#include "bundle-child.h"
#include "bus-api.h"
#include "bus-names.h"
#include "bus-request.h"
#include "io-util.h"
#include "names.h"
#include "pipeline.h"
#include "polkit.h"
#include "strv.h"
#include "validate.h"

/* ------------------------------------------------------------ properties */

static int property_get_generation(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "t", c->generation);
}

static int property_get_source(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "s", c->source ?: "");
}

/* The certificate's string fields, "" while nothing is installed. */
static int property_get_info_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *v = "";

        if (c->info) {
                if (streq(property, "Subject"))
                        v = c->info->subject;
                else if (streq(property, "Issuer"))
                        v = c->info->issuer;
                else if (streq(property, "SerialNumber"))
                        v = c->info->serial;
                else if (streq(property, "Fingerprint"))
                        v = c->info->fingerprint;
                else if (streq(property, "KeyType"))
                        v = c->info->key_type;
        }
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_alt_names(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        char *empty[] = { NULL };
        return sd_bus_message_append_strv(reply, c->info && c->info->alt_names ? c->info->alt_names : empty);
}

static int property_get_time(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        uint64_t v = 0;

        if (streq(property, "InstalledAt"))
                v = c->installed_usec;
        else if (c->info && streq(property, "NotBefore"))
                v = c->info->not_before_usec;
        else if (c->info && streq(property, "NotAfter"))
                v = c->info->not_after_usec;
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_chain_length(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "u", c->info ? (uint32_t) c->info->chain_length : 0u);
}

static int property_get_config_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *v = streq(property, "ServerName") ? c->config->server_name : c->config->drop_directory;
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_required_names(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **names = NULL;
        int r = names_required(userdata, &names);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, names);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "s", context_state(c));
}

static int property_get_endpoints(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return announce_append_endpoints(reply, userdata);
}

static int property_get_last_error(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "s", c->last_error ?: "");
}

/* --------------------------------------------------------------- helpers */

static int bus_error_too_large(sd_bus_error *error, const char *what, uint64_t max) {
        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "TooLarge",
                                 "The %s is larger than the limit of %" PRIu64 " bytes (MaxInputSize=).", what, max);
}

static LogCaller caller_of(sd_bus_message *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        LogCaller caller = LOG_CALLER_NONE;
        uid_t uid;
        pid_t pid;

        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds) < 0)
                return caller;
        if (sd_bus_creds_get_euid(creds, &uid) >= 0)
                caller.uid = uid;
        if (sd_bus_creds_get_pid(creds, &pid) >= 0)
                caller.pid = pid;
        return caller;
}

/* The pipeline's answer to a bus call; userdata is the (referenced) call. */
static void reply_done(Context *c, const PipelineResult *result, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = userdata;
        const char *member = sd_bus_message_get_member(m);
        int r;

        if (result->r >= 0) {
                if (streq_ptr(member, "ReloadEndpoints"))
                        r = sd_bus_reply_method_return(m, NULL);
                else
                        r = sd_bus_reply_method_return(m, "ts", result->generation, result->fingerprint ?: "");
        } else if (result->error != PIPELINE_ERROR_FAILED) {
                char name[128];
                (void) snprintf(name, sizeof(name), BUS_ERROR_PREFIX "%s",
                                pipeline_error_name(result->error, result->code));
                r = sd_bus_reply_method_errorf(m, name, "%s", result->message ?: "");
        } else
                r = sd_bus_reply_method_errnof(m, result->r, "%s", result->message ?: "Failed: %m");
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(), the caller may have gone: %m", member ?: "?");
}

/* Hands a bus change to the pipeline; the reply comes from reply_done(). */
static int submit_from_bus(Context *c, sd_bus_message *m, PipelineRequest *request, sd_bus_error *error) {
        int r;

        request->source = request->source ?: "bus";
        request->origin = sd_bus_message_get_sender(m);
        request->caller = caller_of(m);
        request->queue = false;

        r = pipeline_submit(c, request, reply_done, m);
        if (r == -EBUSY)
                return sd_bus_error_set(error, BUS_ERROR("Busy"),
                                        "Another certificate change is in progress; try again when it has finished.");
        if (r < 0)
                return r;
        sd_bus_message_ref(m);
        return 1;
}

/* sd-bus hands out strings pointing into the message body; scrub the key there once it was copied. */
static void erase_string(const char *s) {
        if (s)
                OPENSSL_cleanse((char *) s, strlen(s));
}

/* ---------------------------------------------------------------- methods */

static int method_install(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *certificate, *key, *authority;
        uint64_t max = c->config->max_input_size;
        int r;

        r = sd_bus_message_read(m, "sss", &certificate, &key, &authority);
        if (r < 0)
                return r;

        if (strlen(certificate) > max)
                return bus_error_too_large(error, "certificate", max);
        if (strlen(key) > max)
                return bus_error_too_large(error, "key", max);
        if (strlen(authority) > max)
                return bus_error_too_large(error, "authority", max);

        r = polkit_verify(c, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        PipelineRequest request = {
                .action = PIPELINE_INSTALL,
                .certificate = certificate,
                .certificate_size = strlen(certificate),
                .key = key,
                .key_size = strlen(key),
                .authority = authority,
                .authority_size = strlen(authority),
        };
        r = submit_from_bus(c, m, &request, error);
        erase_string(key);
        return r;
}

/*
 * The files are read in the bundle child, with MaxInputSize=, never here: even a regular file can
 * block its reader for good (a hung NFS or FUSE mount). A descriptor that is no readable regular
 * file is refused there by name (passed-file.h), as every other refusal.
 */
static int method_install_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        int files[3], r;

        r = sd_bus_message_read(m, "hhh", &files[0], &files[1], &files[2]);
        if (r < 0)
                return r;

        r = polkit_verify(c, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        PipelineRequest request = {
                .action = PIPELINE_INSTALL,
                .files = files,
                .files_n = ELEMENTSOF(files),
        };
        return submit_from_bus(c, m, &request, error);
}

static int method_install_pkcs12(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *password;
        int fd, r;

        r = sd_bus_message_read(m, "hs", &fd, &password);
        if (r < 0)
                return r;

        r = polkit_verify(c, m, error);
        if (r < 0) {
                erase_string(password);
                return r;
        }
        if (r == 0)
                return 1;   /* the same message is dispatched again once polkit answered: keep it whole */

        PipelineRequest request = {
                .action = PIPELINE_INSTALL,
                .pkcs12 = true,
                .files = &fd,
                .files_n = 1,
                .key = password,
                .key_size = strlen(password),
        };
        r = submit_from_bus(c, m, &request, error);
        erase_string(password);
        return r;
}

static int append_report_string(sd_bus_message *m, const char *name, const char *value) {
        return sd_bus_message_append(m, "{sv}", name, "s", value ?: "");
}

/*
 * Validate's answer: the verdict, the signing request whose key the bundle would take (request_id,
 * NULL or "" for none), and what the leaf is when one was read (info may be NULL).
 */
static int reply_report(sd_bus_message *m, bool valid, const CertProblem *problem, const char *request_id,
                        const CertInfo *info) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_append(reply, "{sv}", "valid", "b", valid);
        if (r >= 0)
                r = append_report_string(reply, "error", valid ? "" : cert_error_name(problem->code));
        if (r >= 0)
                r = append_report_string(reply, "message", valid ? "" : problem->message);
        if (r >= 0 && !isempty(request_id))
                r = append_report_string(reply, "signing-request", request_id);
        if (r >= 0 && info) {
                r = append_report_string(reply, "subject", info->subject);
                if (r >= 0)
                        r = append_report_string(reply, "issuer", info->issuer);
                if (r >= 0)
                        r = append_report_string(reply, "fingerprint", info->fingerprint);
                if (r >= 0)
                        r = append_report_string(reply, "key-type", info->key_type);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}", "not-after", "t", info->not_after_usec);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}", "not-before", "t", info->not_before_usec);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}", "chain-length", "u", (uint32_t) info->chain_length);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", "alternative-names");
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', "as");
                if (r >= 0) {
                        char *empty[] = { NULL };
                        r = sd_bus_message_append_strv(reply, info->alt_names ?: empty);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/*
 * Validate reads untrusted input, so it runs in a child like Install does (bundle-child.c); the
 * call waits for its answer on the loop, never blocking other callers. At most this many at once.
 */
#define VALIDATE_CALLS_MAX 16

struct ValidateCall {
        ValidateCall *next;
        Context *context;
        sd_bus_message *message;
        BundleWorker *worker;
};

static ValidateCall *validate_call_free(ValidateCall *v) {
        if (!v)
                return NULL;
        Context *c = v->context;
        for (ValidateCall **p = &c->validate_calls; *p; p = &(*p)->next)
                if (*p == v) {
                        *p = v->next;
                        c->n_validate_calls--;
                        break;
                }
        bundle_worker_free(v->worker);
        sd_bus_message_unref(v->message);
        free(v);
        return NULL;
}

static void on_validated(BundleWorker *w, BundleResult *result, void *userdata) {
        ValidateCall *v = userdata;
        CertProblem problem = result->problem;
        int r;

        v->worker = bundle_worker_free(v->worker);

        if (result->r == -EPROTO)
                /* The child died on it (or garbled its answer): whatever it was, it cannot be installed. */
                r = reply_report(v->message, false,
                                 &(CertProblem) { CERT_ERROR_MALFORMED,
                                                  "the bundle could not be read: the process checking it ended "
                                                  "without an answer" }, NULL, NULL);
        else if (result->r < 0 && result->r != -EBADMSG)
                r = sd_bus_reply_method_errnof(v->message, result->r, "Failed to validate: %m");
        else
                r = reply_report(v->message, result->r >= 0, &problem, result->request_id, result->info);
        if (r < 0)
                log_debug_errno(r, "Failed to answer Validate(), the caller may have gone: %m");

        store_files_done(&result->files);
        cert_info_free(result->info);
        validate_call_free(v);
}

void bus_api_validate_calls_free(Context *c) {
        while (c->validate_calls) {
                ValidateCall *v = c->validate_calls;
                (void) sd_bus_reply_method_errnof(v->message, ECANCELED, "The daemon is shutting down.");
                validate_call_free(v);
        }
}

static int method_validate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *certificate, *key, *authority;
        ValidateOptions options;
        ValidateCall *v;
        int r;

        r = sd_bus_message_read(m, "sss", &certificate, &key, &authority);
        if (r < 0)
                return r;

        pipeline_validate_options(c, &options);

        /* Size is the first check, before anything is parsed. */
        if (strlen(certificate) > options.limits.max_size || strlen(key) > options.limits.max_size ||
            strlen(authority) > options.limits.max_size) {
                CertProblem problem = {};
                erase_string(key);
                (void) cert_problem_set(&problem, CERT_ERROR_TOO_LARGE,
                                        "An input is larger than the limit of %zu bytes (MaxInputSize=).",
                                        options.limits.max_size);
                r = reply_report(m, false, &problem, NULL, NULL);
                return r < 0 ? r : 1;
        }

        if (c->n_validate_calls >= VALIDATE_CALLS_MAX) {
                erase_string(key);
                return sd_bus_error_setf(error, BUS_ERROR("Busy"),
                                         "%u validations are running already; try again when one has finished.",
                                         c->n_validate_calls);
        }

        v = calloc(1, sizeof(ValidateCall));
        if (!v) {
                erase_string(key);
                return -ENOMEM;
        }
        *v = (ValidateCall) { .context = c, .message = sd_bus_message_ref(m), .next = c->validate_calls };
        c->validate_calls = v;
        c->n_validate_calls++;

        /* The child gets its copy at fork(); the key in the message is scrubbed right after. Without a
         * key, the child looks for the signing request this certificate answers, as Install would. */
        r = bundle_worker_validate(c->event, certificate, strlen(certificate), key, strlen(key),
                                   authority, strlen(authority), &options, store_directory(c->store),
                                   on_validated, v, &v->worker);
        erase_string(key);
        if (r < 0) {
                validate_call_free(v);
                return sd_bus_error_set_errnof(error, r, "Failed to validate: %m");
        }
        return 1;
}

/* The argument-less changes: authorize, then hand them over like any other. */
static int submit_authorized(Context *c, sd_bus_message *m, PipelineRequest *request, sd_bus_error *error) {
        int r;

        r = polkit_verify(c, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        return submit_from_bus(c, m, request, error);
}

static int method_rollback(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        PipelineRequest request = { .action = PIPELINE_ROLLBACK, .source = "rollback" };

        return submit_authorized(userdata, m, &request, error);
}

static int method_regenerate_self_signed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        PipelineRequest request = { .action = PIPELINE_SELF_SIGNED, .source = "self-signed" };

        return submit_authorized(userdata, m, &request, error);
}

static int method_reload_endpoints(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        PipelineRequest request = { .action = PIPELINE_RELOAD };

        return submit_authorized(userdata, m, &request, error);
}

static int method_list_generations(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Context *c = userdata;
        StoreGeneration *list = NULL;
        size_t n = 0;
        int r;

        r = store_list(c->store, &list, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to list the generations: %m");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tssstt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const StoreGeneration *g = &list[i];
                r = sd_bus_message_append(reply, "(tssstt)", g->id,
                                          g->info ? g->info->fingerprint : "",
                                          g->source ?: "",
                                          g->info && g->info->subject ? g->info->subject : "",
                                          g->info ? g->info->not_after_usec : (uint64_t) 0,
                                          g->installed_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        store_generation_array_free(list, n);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* ----------------------------------------------------------------- vtable */

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable certificates_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Generation", "t", property_get_generation, 0, CHANGES),
        SD_BUS_PROPERTY("Source", "s", property_get_source, 0, CHANGES),
        SD_BUS_PROPERTY("Subject", "s", property_get_info_string, 0, CHANGES),
        SD_BUS_PROPERTY("Issuer", "s", property_get_info_string, 0, CHANGES),
        SD_BUS_PROPERTY("SerialNumber", "s", property_get_info_string, 0, CHANGES),
        SD_BUS_PROPERTY("SubjectAlternativeNames", "as", property_get_alt_names, 0, CHANGES),
        SD_BUS_PROPERTY("NotBefore", "t", property_get_time, 0, CHANGES),
        SD_BUS_PROPERTY("NotAfter", "t", property_get_time, 0, CHANGES),
        SD_BUS_PROPERTY("Fingerprint", "s", property_get_info_string, 0, CHANGES),
        SD_BUS_PROPERTY("KeyType", "s", property_get_info_string, 0, CHANGES),
        SD_BUS_PROPERTY("ChainLength", "u", property_get_chain_length, 0, CHANGES),
        SD_BUS_PROPERTY("InstalledAt", "t", property_get_time, 0, CHANGES),
        SD_BUS_PROPERTY("ServerName", "s", property_get_config_string, 0, CHANGES),
        SD_BUS_PROPERTY("RequiredNames", "as", property_get_required_names, 0, CHANGES),
        SD_BUS_PROPERTY("DropDirectory", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, CHANGES),
        SD_BUS_PROPERTY("Endpoints", "a(ssss)", property_get_endpoints, 0, CHANGES),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, CHANGES),
        SD_BUS_PROPERTY("PendingRequests", "a(ssstt)", bus_property_get_pending_requests, 0, CHANGES),

        /* Authorization is ours (polkit.c), not sd-bus's capability check: hence UNPRIVILEGED. */
        SD_BUS_METHOD_WITH_ARGS("Install",
                                SD_BUS_ARGS("s", certificate, "s", key, "s", authority),
                                SD_BUS_RESULT("t", generation, "s", fingerprint),
                                method_install, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallFiles",
                                SD_BUS_ARGS("h", certificate, "h", key, "h", authority),
                                SD_BUS_RESULT("t", generation, "s", fingerprint),
                                method_install_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallPkcs12",
                                SD_BUS_ARGS("h", file, "s", password),
                                SD_BUS_RESULT("t", generation, "s", fingerprint),
                                method_install_pkcs12, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Validate",
                                SD_BUS_ARGS("s", certificate, "s", key, "s", authority),
                                SD_BUS_RESULT("a{sv}", report),
                                method_validate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Rollback",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("t", generation, "s", fingerprint),
                                method_rollback, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RegenerateSelfSigned",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("t", generation, "s", fingerprint),
                                method_regenerate_self_signed, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReloadEndpoints",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload_endpoints, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListGenerations",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(tssstt)", generations),
                                method_list_generations, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateSigningRequest",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", request_id, "s", csr),
                                bus_method_create_signing_request, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CancelSigningRequest",
                                SD_BUS_ARGS("s", request_id),
                                SD_BUS_NO_RESULT,
                                bus_method_cancel_signing_request, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("Installed",
                                SD_BUS_ARGS("t", generation, "s", fingerprint, "s", source), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Rejected",
                                SD_BUS_ARGS("s", source, "s", name, "s", error, "s", message), 0),
        SD_BUS_SIGNAL_WITH_ARGS("EndpointsReloaded",
                                SD_BUS_ARGS("a(ssss)", endpoints), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ExpiryWarning",
                                SD_BUS_ARGS("t", not_after, "u", days_left), 0),

        SD_BUS_VTABLE_END
};

int bus_api_add_object(Context *c) {
        return sd_bus_add_object_vtable(c->bus, NULL, BUS_PATH, BUS_INTERFACE, certificates_vtable, c);
}

int bus_api_request_name(Context *c) {
        int r;

        r = sd_bus_request_name(c->bus, BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name '%s': %m", BUS_NAME);
        return 0;
}
