/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Keeping the served certificate true to the names clients use. The
 * certificate is read back from the store (the CertInfo has the names as
 * strings only; the matching, wildcards included, is validate.c's on the
 * X509). A self-signed default is ours to replace; anything uploaded is the
 * operator's, so a mismatch is only reported: State, LastError, STATUS= and
 * a journal entry (announce_name_mismatch()).
 */

#include <inttypes.h>
#include <stdio.h>

#include "announce.h"
#include "names.h"
#include "pipeline.h"
#include "strv.h"

int names_required(Context *c, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        if (!isempty(c->config->server_name)) {
                r = strv_extend(&l, c->config->server_name);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(n, c->config->access_names) {
                r = strv_extend(&l, *n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static void set_mismatch(Context *c, const char *text) {
        _cleanup_free_ char *last_error = NULL;

        if (streq_ptr(c->name_mismatch, text))
                return;  /* said already: once per change, not once per reload */
        if (asprintf(&last_error, "NameMismatch: %s", text) < 0)
                return (void) log_error_errno(-ENOMEM, "Out of memory.");
        free(c->name_mismatch);
        c->name_mismatch = strdup(text);
        (void) context_set_last_error(c, last_error);
        announce_name_mismatch(c);
}

static void clear_mismatch(Context *c) {
        _cleanup_free_ char *last_error = NULL;

        if (!c->name_mismatch)
                return;
        /* LastError is ours only while it still says the mismatch; a later refusal stays. */
        if (asprintf(&last_error, "NameMismatch: %s", c->name_mismatch) >= 0 && streq_ptr(c->last_error, last_error))
                (void) context_set_last_error(c, "");
        c->name_mismatch = mfree(c->name_mismatch);
        announce_name_mismatch(c);
}

static void on_regenerated(Context *c, const PipelineResult *result, void *userdata) {
        c->names_regenerating = false;
        if (result->r == -ECANCELED)
                return;
        if (result->r < 0) {
                log_error("Could not regenerate the self-signed default for the new names: %s",
                          result->message ?: "");
                /* The old default keeps serving; say which names it lacks. */
                (void) names_check(c, false);
        }
}

static int regenerate(Context *c) {
        PipelineRequest request = {
                .action = PIPELINE_SELF_SIGNED,
                .source = "self-signed",
                .origin = "names-changed",
                .caller = LOG_CALLER_NONE,
                .queue = true,
        };
        int r;

        if (c->names_regenerating)
                return 0;
        log_info("The self-signed default (generation %" PRIu64 ") does not fit ServerName=%s and AccessNames=; "
                 "regenerating it.", c->generation, c->config->server_name);
        r = pipeline_submit(c, &request, on_regenerated, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to queue the regeneration of the self-signed default: %m");
        c->names_regenerating = true;
        return 0;
}

int names_check(Context *c, bool may_regenerate) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        ValidateOptions options;
        CertProblem problem;
        char text[sizeof(problem.message) + 128];
        int r;

        if (c->generation == 0 || !c->info)
                return 0;  /* nothing served yet: the first-boot default is made for the names */

        r = store_load(c->store, c->generation, &b);
        if (r < 0)
                return log_warning_errno(r, "Failed to read generation %" PRIu64 " to compare it with the names "
                                         "clients use: %m", c->generation);

        pipeline_validate_options(c, &options);
        r = cert_check_names(b->leaf, &options, &problem);
        if (r < 0 && r != -EBADMSG)
                return log_warning_errno(r, "Failed to compare the certificate with the names clients use: %m");

        /* Ours follows the names, its subject included: ServerName= is its CN. */
        bool ours = streq_ptr(c->stored_source, "self-signed");
        bool fits = r >= 0 && (!ours || streq_ptr(c->info->common_name, c->config->server_name));
        if (fits) {
                clear_mismatch(c);
                return 0;
        }
        if (ours && may_regenerate)
                return regenerate(c);
        if (r >= 0)
                return 0;  /* our default covers every name, only its CN is old: not a mismatch */

        (void) snprintf(text, sizeof(text), "the served %s certificate (generation %" PRIu64 ") does not cover every "
                        "name clients use: %s", source_describe(c->source), c->generation, problem.message);
        set_mismatch(c, text);
        return 0;
}
