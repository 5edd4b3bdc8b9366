/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Asking polkitd whether a bus caller may change the certificate. Plain
 * sd-bus, no GLib: CheckAuthorization is sent asynchronously, the answer is
 * cached on a query keyed by the request message, and the request is
 * dispatched again so its handler can finish. uid 0 is let through without
 * asking. When polkit cannot be asked the answer is no.
 *
 * It does not know what the methods do; the method -> action map below is
 * the whole policy, and a method missing from it is refused.
 */

#include <stdarg.h>
#include <stdio.h>

#include "journal.h"
#include "polkit.h"

struct PolkitQuery {
        PolkitQuery *next;
        Context *context;
        sd_bus_message *request;
        sd_bus_slot *slot;
        bool answered;
        bool authorized;
        char *error_name;
        char *error_message;
};

static const struct {
        const char *member;
        const char *action;
} method_actions[] = {
        { "Install",              POLKIT_ACTION_MANAGE },
        { "InstallFiles",         POLKIT_ACTION_MANAGE },
        { "InstallPkcs12",        POLKIT_ACTION_MANAGE },
        { "Rollback",             POLKIT_ACTION_MANAGE },
        { "RegenerateSelfSigned", POLKIT_ACTION_MANAGE },
        { "ReloadEndpoints",      POLKIT_ACTION_MANAGE },
        { "CreateSigningRequest", POLKIT_ACTION_MANAGE },
        { "CancelSigningRequest", POLKIT_ACTION_MANAGE },
};

const char *polkit_action_for_method(const char *member) {
        for (size_t i = 0; i < ELEMENTSOF(method_actions); i++)
                if (streq_ptr(member, method_actions[i].member))
                        return method_actions[i].action;
        return NULL;
}

static PolkitQuery *query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->error_name);
        free(q->error_message);
        free(q);
        return NULL;
}

static void query_unlink(PolkitQuery *q) {
        for (PolkitQuery **p = &q->context->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

void polkit_queries_free(Context *c) {
        while (c->polkit_queries) {
                PolkitQuery *q = c->polkit_queries;
                c->polkit_queries = q->next;
                query_free(q);
        }
}

static int query_deny(PolkitQuery *q, const char *name, const char *format, ...) _printf_(3, 4);
static int query_deny(PolkitQuery *q, const char *name, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        q->answered = true;
        q->authorized = false;
        q->error_name = strdup(name);
        q->error_message = strdup(message);
        return (q->error_name && q->error_message) ? 0 : -ENOMEM;
}

static int on_check_authorization(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        /* Our slot's callback is running: drop the slot, the query itself lives on until re-dispatch. */
        q->slot = sd_bus_slot_unref(q->slot);

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("polkit could not be asked (%s: %s); refusing.", e->name, e->message ?: "");
                r = query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                               "Authorization could not be checked (polkit unreachable: %s); refusing.", e->name);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        r = query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                                       "Authorization could not be checked (unexpected answer from polkit).");
                else if (authorized) {
                        q->answered = true;
                        q->authorized = true;
                } else if (challenge && !sd_bus_message_get_allow_interactive_authorization(q->request))
                        r = query_deny(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                       "Interactive authentication required to manage the TLS certificate.");
                else
                        r = query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                                       "Not authorized to manage the TLS certificate.");
        }

        /* Run the method handler again with the same message; it will find the answer above. */
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to resume a call after authorization: %m");
                (void) sd_bus_reply_method_errnof(q->request, r, "Failed to resume after authorization: %m");
                query_unlink(q);
                query_free(q);
        }
        return 1;
}

int polkit_verify(Context *c, sd_bus_message *m, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *member = sd_bus_message_get_member(m);
        const char *action = polkit_action_for_method(member);
        const char *sender;
        uid_t uid;
        int r;

        if (!action)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Method '%s' is not allowed.", member ?: "");

        /* Second dispatch of a message we asked about: hand out the cached answer once. */
        for (PolkitQuery *q = c->polkit_queries; q; q = q->next) {
                if (q->request != m)
                        continue;
                if (!q->answered)
                        return 0;

                query_unlink(q);
                if (q->authorized) {
                        query_free(q);
                        return 1;
                }
                r = sd_bus_error_set(error, q->error_name, q->error_message);
                query_free(q);
                return r;
        }

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0) {
                errno = -r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Could not determine the caller's identity: %m.");
        }
        if (uid == 0)
                return 1;

        sender = sd_bus_message_get_sender(m);
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Callers without a bus name cannot be authorized.");

        PolkitQuery *q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->context = c;
        q->request = sd_bus_message_ref(m);

        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        char cancel_id[64];
        (void) snprintf(cancel_id, sizeof(cancel_id), "vertex-certd-%d-%u", (int) getpid(), ++c->polkit_serial);

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(m), &call,
                                           "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority",
                                           "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
                                          "system-bus-name", 1, "name", "s", sender,
                                          action,
                                          0,
                                          (uint32_t) (interactive ? 1 : 0),
                                          cancel_id);
        if (r >= 0)
                /* An interactive prompt waits for a person; give them time. */
                r = sd_bus_call_async(sd_bus_message_get_bus(m), &q->slot, call, on_check_authorization, q,
                                      interactive ? 300 * USEC_PER_SEC : 0);
        if (r < 0) {
                query_free(q);
                errno = -r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization could not be checked: %m; refusing.");
        }

        q->next = c->polkit_queries;
        c->polkit_queries = q;
        return 0;
}
