/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl's signing-request verbs: request (CreateSigningRequest),
 * requests (the PendingRequests property), cancel-request. The CSR goes to
 * stdout (or --output), everything said about it to stderr, so that
 * `vertex-certctl request > r.csr` leaves exactly the request in the file.
 * The key never comes here: the daemon keeps it.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "certctl-bus.h"
#include "certctl-output.h"
#include "certctl.h"
#include "strv.h"

static int append_options(sd_bus_message *m, const CertctlArgs *a) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && a->key_type)
                r = sd_bus_message_append(m, "{sv}", "KeyType", "s", a->key_type);
        if (r >= 0 && a->subject)
                r = sd_bus_message_append(m, "{sv}", "Subject", "s", a->subject);
        if (r >= 0 && a->alt_names) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "AlternativeNames");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, a->alt_names);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int write_output(const char *path, const char *csr) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        int r;

        if (fd < 0) {
                fprintf(stderr, "Failed to create '%s': %m\n", path);
                return CERTCTL_EXIT_USAGE;
        }
        r = write_all(fd, csr, strlen(csr));
        if (r < 0) {
                fprintf(stderr, "Failed to write '%s': %s\n", path, errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        return CERTCTL_EXIT_OK;
}

int verb_request(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *id, *csr;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;

        /* Built by hand: call_method() takes fixed types, the options are a variable dictionary. */
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, "CreateSigningRequest");
        if (r >= 0)
                r = append_options(m, a);
        if (r < 0) {
                fprintf(stderr, "Failed to build the CreateSigningRequest call: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        r = call_message(a, bus, m, MUTATING_CALL_TIMEOUT_USEC, &reply);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = sd_bus_message_read(reply, "ss", &id, &csr);
        if (r < 0)
                return bus_parse_error(r);

        if (a->output) {
                r = write_output(a->output, csr);
                if (r != CERTCTL_EXIT_OK)
                        return r;
        }
        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_string(&j, "id", id);
                json_field_string(&j, "csr", csr);
                json_close_object(&j);
        } else if (!a->output)
                fputs(csr, stdout);
        fflush(stdout);
        fprintf(stderr, "Signing request %s created%s%s. Have it signed, then install the certificate with\n"
                "  vertex-certctl install --cert SIGNED.pem --ca CA.pem\n"
                "(no --key: the key stays on this machine).\n",
                id, a->output ? ", written to " : "", a->output ?: "");
        return CERTCTL_EXIT_OK;
}

typedef struct Pending {
        const char *id, *subject, *key_type;
        uint64_t created, expires;
} Pending;

static int read_pending(sd_bus_message *m, Pending **ret, size_t *ret_n) {
        _cleanup_free_ Pending *list = NULL;
        size_t n = 0;
        Pending p;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ssstt)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssstt)", &p.id, &p.subject, &p.key_type, &p.created, &p.expires)) > 0) {
                Pending *l = reallocarray(list, n + 1, sizeof(Pending));
                if (!l)
                        return -ENOMEM;
                list = l;
                list[n++] = p;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

static void print_pending(const Pending *list, size_t n) {
        enum { N_COLS = 5, CELL = 96 };
        uint64_t now = now_usec(CLOCK_REALTIME);
        _cleanup_free_ const char **cells = calloc((n + 1) * N_COLS, sizeof(char *));
        _cleanup_free_ char *text = calloc(n * 2 + 1, CELL);
        const char *header[N_COLS] = { "ID", "KEY TYPE", "CREATED", "EXPIRES", "SUBJECT" };

        if (!cells || !text) {
                fprintf(stderr, "Out of memory.\n");
                return;
        }
        memcpy(cells, header, sizeof(header));
        for (size_t i = 0; i < n; i++) {
                char *created = text + 2 * i * CELL, *expires = created + CELL;
                char ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_RELATIVE_MAX];
                const char **row = cells + (i + 1) * N_COLS;

                snprintf(created, CELL, "%s", format_timestamp(ts, list[i].created));
                snprintf(expires, CELL, "%s (%s)", format_timestamp(ts, list[i].expires),
                         format_relative(rel, list[i].expires, now));
                row[0] = list[i].id;
                row[1] = list[i].key_type;
                row[2] = created;
                row[3] = expires;
                row[4] = list[i].subject;
        }
        print_table(cells, n + 1, N_COLS);
        printf("\n%zu pending signing request%s.\n", n, n == 1 ? "" : "s");
}

int verb_requests(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ Pending *list = NULL;
        size_t n = 0;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "PendingRequests", &error, &reply, "a(ssstt)");
        if (r < 0) {
                fprintf(stderr, "Failed to read PendingRequests: %s\n", error.message ?: errno_name(r));
                return CERTCTL_EXIT_REFUSED;
        }
        r = read_pending(reply, &list, &n);
        if (r < 0)
                return bus_parse_error(r);

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_key(&j, "requests");
                json_array_begin(&j);
                for (size_t i = 0; i < n; i++) {
                        json_object_begin(&j);
                        json_field_string(&j, "id", list[i].id);
                        json_field_string(&j, "subject", list[i].subject);
                        json_field_string(&j, "key_type", list[i].key_type);
                        json_field_time(&j, "created", list[i].created);
                        json_field_time(&j, "expires", list[i].expires);
                        json_object_end(&j);
                }
                json_array_end(&j);
                json_close_object(&j);
        } else if (n == 0)
                printf("No pending signing requests.\n");
        else
                print_pending(list, n);
        fflush(stdout);
        return CERTCTL_EXIT_OK;
}

int verb_cancel_request(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = call_method(a, bus, "CancelSigningRequest", MUTATING_CALL_TIMEOUT_USEC, NULL, "s", a->positional[0]);
        if (r != CERTCTL_EXIT_OK)
                return r;
        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_string(&j, "cancelled", a->positional[0]);
                json_close_object(&j);
        } else
                printf("Cancelled signing request %s; its key was removed.\n", a->positional[0]);
        fflush(stdout);
        return CERTCTL_EXIT_OK;
}
