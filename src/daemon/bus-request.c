/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CreateSigningRequest, CancelSigningRequest, PendingRequests: options are
 * parsed and checked here, each refusal naming its option, before polkit is
 * asked and before any key is made (signing-requests.c makes it, in a worker).
 * No key passes through here: the reply carries the id and the CSR only.
 */

#include <arpa/inet.h>
#include <stdio.h>

#include "bus-names.h"
#include "bus-request.h"
#include "journal.h"
#include "polkit.h"
#include "signing-requests.h"
#include "strv.h"

typedef struct RequestOptions {
        CsrKeyType type;
        char *subject;
        char **alt_names;
} RequestOptions;

static void request_options_done(RequestOptions *o) {
        free(o->subject);
        strv_free(o->alt_names);
}

static int invalid(sd_bus_error *error, const char *option, const char *why) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s: %s", option, why);
}

static int read_string_option(sd_bus_message *m, const char *option, char **ret, sd_bus_error *error) {
        const char *v;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "s");
        if (r == -ENXIO || r == -EINVAL)
                return invalid(error, option, "expected a string (s)");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &v);
        if (r < 0)
                return r;
        *ret = strdup(v);
        if (!*ret)
                return -ENOMEM;
        return sd_bus_message_exit_container(m);
}

static int parse_option(sd_bus_message *m, const char *option, RequestOptions *o, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (streq(option, "KeyType")) {
                r = read_string_option(m, option, &s, error);
                if (r < 0)
                        return r;
                r = csr_key_type_from_string(s);
                if (r < 0)
                        return invalid(error, option,
                                       "unknown key type, expected EC P-256, EC P-384, RSA 2048, RSA 3072 or RSA 4096");
                o->type = r;
                return 0;
        }
        if (streq(option, "Subject")) {
                r = read_string_option(m, option, &o->subject, error);
                if (r < 0)
                        return r;
                if (csr_check_subject(o->subject) < 0)
                        return invalid(error, option, "not a distinguished name (e.g. CN=host.example.com,O=Example)");
                return 0;
        }
        if (streq(option, "AlternativeNames")) {
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r == -ENXIO || r == -EINVAL)
                        return invalid(error, option, "expected an array of strings (as)");
                if (r < 0)
                        return r;
                strv_free(o->alt_names);
                o->alt_names = NULL;
                r = sd_bus_message_read_strv(m, &o->alt_names);
                if (r < 0)
                        return r;
                STRV_FOREACH(i, o->alt_names)
                        if (csr_check_alt_name(*i) < 0) {
                                char why[300];
                                (void) snprintf(why, sizeof(why), "'%.200s' is not DNS:name or IP:address", *i);
                                return invalid(error, option, why);
                        }
                return sd_bus_message_exit_container(m);
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "%s: unknown option (known: KeyType, Subject, AlternativeNames)", option);
}

/* The configuration's names as SAN entries: ServerName= first, then AlternativeNames=. */
static int default_alt_names(Context *c, char ***ret) {
        _cleanup_(strv_freep) char **names = NULL;
        unsigned char buf[16];
        int r = 0;

        if (!isempty(c->config->server_name))
                r = strv_extend(&names, c->config->server_name);
        STRV_FOREACH(i, c->config->alternative_names)
                if (r >= 0 && !strv_contains(names, *i))
                        r = strv_extend(&names, *i);
        if (r < 0)
                return r;
        STRV_FOREACH(i, names) {
                bool ip = inet_pton(AF_INET, *i, buf) == 1 || inet_pton(AF_INET6, *i, buf) == 1;
                char *e;
                if (asprintf(&e, "%s:%s", ip ? "IP" : "DNS", *i) < 0)
                        return -ENOMEM;
                free(*i);
                *(char **) i = e;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

static int parse_options(Context *c, sd_bus_message *m, RequestOptions *o, sd_bus_error *error) {
        const char *option;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &option);
                if (r < 0)
                        return r;
                r = parse_option(m, option, o, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (!o->subject) {
                if (isempty(c->config->server_name))
                        return invalid(error, "Subject", "required: no ServerName= is configured to default to");
                if (asprintf(&o->subject, "CN=%s", c->config->server_name) < 0)
                        return -ENOMEM;
        }
        if (!o->alt_names)
                return default_alt_names(c, &o->alt_names);
        return 0;
}

static void request_done(Context *c, int r, const PendingRequest *request, const char *csr_pem, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = userdata;

        if (r >= 0)
                r = sd_bus_reply_method_return(m, "ss", request->id, csr_pem);
        else
                r = sd_bus_reply_method_errnof(m, r, "Failed to create the signing request: %m");
        if (r < 0)
                log_debug_errno(r, "Failed to reply to CreateSigningRequest(), the caller may have gone: %m");
}

int bus_method_create_signing_request(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(request_options_done) RequestOptions o = { .type = CSR_KEY_EC_P256 };
        Context *c = userdata;
        int r;

        r = parse_options(c, m, &o, error);
        if (r < 0)
                return r;

        r = polkit_verify(c, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = signing_requests_create(c, o.type, o.subject, o.alt_names, request_done, m);
        if (r == -EBUSY)
                return sd_bus_error_set(error, BUS_ERROR("Busy"),
                                        "Another signing request is being created; try again when it has finished.");
        if (r == -ENOSPC)
                return sd_bus_error_setf(error, BUS_ERROR("TooManyRequests"),
                                         "%u signing requests are pending (MaxPendingRequests=): cancel one first.",
                                         c->config->max_pending_requests);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to create the signing request: %m");
        sd_bus_message_ref(m);
        return 1;
}

int bus_method_cancel_signing_request(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;

        r = polkit_verify(c, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = signing_requests_cancel(c, id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR("NoSuchRequest"),
                                         "There is no pending signing request '%.64s'.", id);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to cancel the signing request: %m");
        return sd_bus_reply_method_return(m, NULL);
}

int bus_property_get_pending_requests(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssstt)");
        for (size_t i = 0; r >= 0 && i < c->n_pending; i++) {
                const PendingRequest *p = &c->pending[i];
                r = sd_bus_message_append(reply, "(ssstt)", p->id, p->subject, p->key_type,
                                          p->created_usec, p->expires_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}
