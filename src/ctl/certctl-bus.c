/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl verbs that talk to vertex-certd: org.vertex.Certificates on
 * the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured by sd-bus). Each verb is
 * one method call or one GetAll, printed for people or as JSON.
 *
 * Deliberately does not decide anything itself: authorization is the
 * daemon's (we only set the allow-interactive-authorization flag unless
 * --no-ask-password), and so is validation (`validate` without --offline
 * asks the daemon, which checks against its own configured ServerName=).
 * For privileged calls from a terminal it runs pkttyagent (certctl-agent.c),
 * as systemctl does, so that polkit has someone to ask.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "certctl-agent.h"
#include "certctl-bus.h"
#include "certctl-output.h"
#include "certctl.h"
#include "strv.h"
#include "time-util.h"

static const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* org.vertex.Certificates.Error.KeyMismatch → KeyMismatch; other names stay whole. */
const char *bus_error_short_name(const char *name) {
        const char *s = name ? startswith(name, BUS_ERROR_PREFIX) : NULL;
        return s && *s ? s : name;
}

int report_bus_error(const CertctlArgs *a, const sd_bus_error *error, int r) {
        const char *name = error && error->name ? error->name : "org.freedesktop.DBus.Error.Failed";
        const char *message = error && error->message ? error->message : errno_name(r < 0 ? r : -EIO);

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_string(&j, "error", name);
                json_field_string(&j, "message", message);
                json_close_object(&j);
                fprintf(stderr, "%s: %s\n", name, message);
        } else
                fprintf(stderr, "%s: %s\n", bus_error_short_name(name), message);
        return CERTCTL_EXIT_REFUSED;
}

int bus_connect(const CertctlArgs *a, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        /* Like systemctl: let polkit ask for a password unless told not to. */
        r = sd_bus_set_allow_interactive_authorization(bus, a->ask_password);
        if (r < 0) {
                fprintf(stderr, "Failed to set interactive authorization: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        *ret = TAKE_PTR(bus);
        return CERTCTL_EXIT_OK;
}

int call_message_error(const CertctlArgs *a, sd_bus *bus, sd_bus_message *m, uint64_t timeout,
                              sd_bus_message **ret_reply, sd_bus_error *error) {
        int r;

        /* Only privileged calls can make polkit ask; they are the ones with the long timeout. */
        pid_t agent = timeout == MUTATING_CALL_TIMEOUT_USEC ? polkit_agent_open(a->ask_password) : 0;
        r = sd_bus_call(bus, m, timeout, error, ret_reply);
        polkit_agent_close(agent);
        if (r < 0) {
                if (!sd_bus_error_is_set(error))
                        (void) sd_bus_error_set_errno(error, r);
                return CERTCTL_EXIT_REFUSED;
        }
        return CERTCTL_EXIT_OK;
}

int call_message(const CertctlArgs *a, sd_bus *bus, sd_bus_message *m, uint64_t timeout,
                 sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = call_message_error(a, bus, m, timeout, ret_reply, &error);
        if (r == CERTCTL_EXIT_REFUSED)
                return report_bus_error(a, &error, -EIO);
        return r;
}

static int call_methodv(const CertctlArgs *a, sd_bus *bus, const char *member, uint64_t timeout,
                        sd_bus_message **ret_reply, sd_bus_error *error, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, member);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(m, types, ap);
        if (r < 0) {
                fprintf(stderr, "Failed to build the %s call: %s\n", member, errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        return call_message_error(a, bus, m, timeout, ret_reply, error);
}

int call_method_error(const CertctlArgs *a, sd_bus *bus, const char *member, uint64_t timeout,
                             sd_bus_message **ret_reply, sd_bus_error *error, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_methodv(a, bus, member, timeout, ret_reply, error, types, ap);
        va_end(ap);
        return r;
}

int call_method(const CertctlArgs *a, sd_bus *bus, const char *member, uint64_t timeout,
                sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_methodv(a, bus, member, timeout, ret_reply, &error, types, ap);
        va_end(ap);
        if (r == CERTCTL_EXIT_REFUSED)
                return report_bus_error(a, &error, -EIO);
        return r;
}

int bus_parse_error(int r) {
        fprintf(stderr, "Failed to parse the daemon's reply: %s\n", errno_name(r));
        return CERTCTL_EXIT_USAGE;
}

/* ------------------------------------------------------------ generic values */

/* Writes the next complete value of m as JSON. Returns > 0, 0 at the end of a container, or -errno. */
static int json_bus_value(Json *j, sd_bus_message *m);

static int json_bus_struct_as_endpoint(Json *j, sd_bus_message *m) {
        const char *unit, *address, *state, *fingerprint;
        int r;

        r = sd_bus_message_read(m, "(ssss)", &unit, &address, &state, &fingerprint);
        if (r <= 0)
                return r;
        json_object_begin(j);
        json_field_string(j, "unit", unit);
        json_field_string(j, "address", address);
        json_field_string(j, "state", state);
        json_field_string(j, "fingerprint", fingerprint);
        json_object_end(j);
        return 1;
}

static int json_bus_dict(Json *j, sd_bus_message *m, const char *contents) {
        char entry[256];
        size_t n = strlen(contents);
        int r;

        /* "{sv}" → "sv": what sd-bus wants for the dict entry itself. */
        if (n < 4 || n - 2 >= sizeof(entry))
                return -EINVAL;
        memcpy(entry, contents + 1, n - 2);
        entry[n - 2] = 0;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
        if (r < 0)
                return r;
        json_object_begin(j);
        for (;;) {
                const char *key, *value_contents = NULL;
                char type;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
                if (r < 0)
                        return r;
                json_key(j, key);

                r = sd_bus_message_peek_type(m, &type, &value_contents);
                if (r < 0)
                        return r;
                if (type == SD_BUS_TYPE_VARIANT && streq_ptr(value_contents, "a(ssss)")) {
                        /* Endpoints: objects read better than positional arrays. */
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, value_contents);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssss)");
                        if (r < 0)
                                return r;
                        json_array_begin(j);
                        while ((r = json_bus_struct_as_endpoint(j, m)) > 0)
                                ;
                        if (r < 0)
                                return r;
                        json_array_end(j);
                        r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else
                        r = json_bus_value(j, m);
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        json_object_end(j);
        return sd_bus_message_exit_container(m);
}

static int json_bus_value(Json *j, sd_bus_message *m) {
        const char *contents = NULL;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_ARRAY:
                if (contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN && contents[1] == SD_BUS_TYPE_STRING)
                        return json_bus_dict(j, m, contents) < 0 ? -EBADMSG : 1;
                __attribute__((fallthrough));
        case SD_BUS_TYPE_STRUCT:
        case SD_BUS_TYPE_VARIANT:
        case SD_BUS_TYPE_DICT_ENTRY:
                r = sd_bus_message_enter_container(m, type, contents);
                if (r < 0)
                        return r;
                if (type != SD_BUS_TYPE_VARIANT)
                        json_array_begin(j);
                while ((r = json_bus_value(j, m)) > 0)
                        if (type == SD_BUS_TYPE_VARIANT)
                                break;
                if (r < 0)
                        return r;
                if (type != SD_BUS_TYPE_VARIANT)
                        json_array_end(j);
                r = sd_bus_message_exit_container(m);
                return r < 0 ? r : 1;
        default: {
                union {
                        uint8_t y;
                        int b;
                        int16_t n;
                        uint16_t q;
                        int32_t i;
                        uint32_t u;
                        int64_t x;
                        uint64_t t;
                        double d;
                        const char *s;
                        int h;
                } v;

                r = sd_bus_message_read_basic(m, type, &v);
                if (r < 0)
                        return r;
                switch (type) {
                case SD_BUS_TYPE_BYTE:    json_uint(j, v.y); break;
                case SD_BUS_TYPE_BOOLEAN: json_bool(j, v.b); break;
                case SD_BUS_TYPE_INT16:   json_int(j, v.n); break;
                case SD_BUS_TYPE_UINT16:  json_uint(j, v.q); break;
                case SD_BUS_TYPE_INT32:   json_int(j, v.i); break;
                case SD_BUS_TYPE_UINT32:  json_uint(j, v.u); break;
                case SD_BUS_TYPE_INT64:   json_int(j, v.x); break;
                case SD_BUS_TYPE_UINT64:  json_uint(j, v.t); break;
                case SD_BUS_TYPE_DOUBLE:  json_double(j, v.d); break;
                case SD_BUS_TYPE_UNIX_FD: json_int(j, v.h); break;
                default:                  json_string(j, v.s); break;  /* s, o, g */
                }
                return 1;
        }
        }
}

/* The a{sv} at the reply's read position as one JSON document on stdout. */
static int print_dict_json(sd_bus_message *reply) {
        Json j;
        int r;

        json_init(&j, stdout);
        r = json_bus_dict(&j, reply, "{sv}");
        json_finish(&j);
        return r < 0 ? bus_parse_error(r) : CERTCTL_EXIT_OK;
}

/* ------------------------------------------------------------------ status */

typedef struct Endpoint {
        const char *unit, *address, *state, *fingerprint;
} Endpoint;

typedef struct Status {
        uint64_t generation, not_before, not_after, installed_at;
        uint32_t chain_length;
        const char *source, *subject, *issuer, *serial, *fingerprint, *key_type;
        const char *server_name, *drop_directory, *state, *last_error;
        char **alt_names;
        char **required_names;
        Endpoint *endpoints;
        size_t n_endpoints;
} Status;

static void status_done(Status *s) {
        strv_free(s->alt_names);
        strv_free(s->required_names);
        free(s->endpoints);
}

static int read_endpoints(sd_bus_message *m, Status *s) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssss)");
        if (r < 0)
                return r;
        for (;;) {
                Endpoint e;

                r = sd_bus_message_read(m, "(ssss)", &e.unit, &e.address, &e.state, &e.fingerprint);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                Endpoint *n = reallocarray(s->endpoints, s->n_endpoints + 1, sizeof(Endpoint));
                if (!n)
                        return -ENOMEM;
                s->endpoints = n;
                s->endpoints[s->n_endpoints++] = e;
        }
        return sd_bus_message_exit_container(m);
}

/*
 * Walks the a{sv} at the read position: f gets each key with the variant's
 * signature and must read or skip the variant ("v"). Stops at f's first error.
 */
typedef int (*bus_dict_entry_t)(sd_bus_message *m, const char *key, const char *contents, void *userdata);

static int bus_dict_foreach(sd_bus_message *m, bus_dict_entry_t f, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                r = f(m, key, contents, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static int status_read_entry(sd_bus_message *m, const char *name, const char *contents, void *userdata) {
        static const struct {
                const char *name;
                const char *signature;
                size_t offset;
        } fields[] = {
                { "Generation",              "t",       offsetof(Status, generation)     },
                { "NotBefore",               "t",       offsetof(Status, not_before)     },
                { "NotAfter",                "t",       offsetof(Status, not_after)      },
                { "InstalledAt",             "t",       offsetof(Status, installed_at)   },
                { "ChainLength",             "u",       offsetof(Status, chain_length)   },
                { "Source",                  "s",       offsetof(Status, source)         },
                { "Subject",                 "s",       offsetof(Status, subject)        },
                { "Issuer",                  "s",       offsetof(Status, issuer)         },
                { "SerialNumber",            "s",       offsetof(Status, serial)         },
                { "Fingerprint",             "s",       offsetof(Status, fingerprint)    },
                { "KeyType",                 "s",       offsetof(Status, key_type)       },
                { "ServerName",              "s",       offsetof(Status, server_name)    },
                { "DropDirectory",           "s",       offsetof(Status, drop_directory) },
                { "State",                   "s",       offsetof(Status, state)          },
                { "LastError",               "s",       offsetof(Status, last_error)     },
                { "SubjectAlternativeNames", "as",      offsetof(Status, alt_names)      },
                { "RequiredNames",           "as",      offsetof(Status, required_names) },
                { "Endpoints",               "a(ssss)", offsetof(Status, endpoints)      },
        };
        Status *s = userdata;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (!streq(fields[i].name, name) || !streq(fields[i].signature, contents))
                        continue;
                void *p = (uint8_t *) s + fields[i].offset;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
                if (r < 0)
                        return r;
                if (streq(contents, "as")) {
                        char ***l = p;
                        *l = strv_free(*l);
                        r = sd_bus_message_read_strv(m, l);
                } else if (streq(contents, "a(ssss)")) {
                        free(s->endpoints);
                        s->endpoints = NULL;
                        s->n_endpoints = 0;
                        r = read_endpoints(m, s);
                } else
                        r = sd_bus_message_read_basic(m, contents[0], p);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }
        return sd_bus_message_skip(m, "v");
}

/* Reads the properties we know; others (and known ones of an unexpected type) are skipped. */
static int status_read(sd_bus_message *m, Status *s) {
        return bus_dict_foreach(m, status_read_entry, s);
}

static void status_print(const Status *s) {
        uint64_t now = now_usec(CLOCK_REALTIME);

        kv("Server name", "%s", s->server_name ?: "n/a");
        /* Every name a certificate must cover, when there is more than ServerName=. */
        if (strv_length(s->required_names) > 1) {
                _cleanup_free_ char *names = strv_join(s->required_names, ", ");
                kv("Required names", "%s", names ?: "?");
        }
        kv("Subject", "%s", s->subject ?: "n/a");
        kv("Issuer", "%s", s->issuer ?: "n/a");
        if (s->serial && *s->serial)
                kv("Serial", "%s", s->serial);
        if (strv_length(s->alt_names) == 0)
                kv("SANs", "none");
        else
                STRV_FOREACH(n, s->alt_names) {
                        if (n == s->alt_names)
                                kv("SANs", "%s", *n);
                        else
                                kv_more("%s", *n);
                }
        kv("Fingerprint", "%s", s->fingerprint ?: "n/a");
        kv("Key type", "%s", s->key_type ?: "n/a");
        if (s->chain_length > 0)
                kv("Chain length", "%" PRIu32, s->chain_length);
        kv_time("Valid from", s->not_before, now);
        kv_time("Valid until", s->not_after, now);
        kv("Source", "%s", s->source ?: "n/a");
        kv("Generation", "%" PRIu64, s->generation);
        kv_time("Installed", s->installed_at, now);
        kv("State", "%s", s->state ?: "n/a");
        if (s->drop_directory && *s->drop_directory)
                kv("Drop directory", "%s", s->drop_directory);
        if (s->n_endpoints == 0)
                kv("Endpoints", "none");
        for (size_t i = 0; i < s->n_endpoints; i++) {
                const Endpoint *e = s->endpoints + i;
                char served[160] = "";

                /* The fingerprint matters only when it is not the one we serve. */
                if (!isempty(e->fingerprint) && !streq_ptr(e->fingerprint, s->fingerprint))
                        snprintf(served, sizeof(served), ", serves %s", e->fingerprint);
                if (i == 0)
                        kv("Endpoints", "%s (%s): %s%s", e->unit, e->address, e->state, served);
                else
                        kv_more("%s (%s): %s%s", e->unit, e->address, e->state, served);
        }
        if (!isempty(s->last_error))
                kv("Last error", "%s", s->last_error);
        fflush(stdout);
}

static int get_all_properties(const CertctlArgs *a, sd_bus *bus, sd_bus_message **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, ret, "s", BUS_INTERFACE);
        if (r < 0)
                return report_bus_error(a, &error, r);
        return CERTCTL_EXIT_OK;
}

int verb_status(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(status_done) Status s = {};
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = get_all_properties(a, bus, &reply);
        if (r != CERTCTL_EXIT_OK)
                return r;

        if (a->json)
                return print_dict_json(reply);

        r = status_read(reply, &s);
        if (r < 0)
                return bus_parse_error(r);
        status_print(&s);
        return CERTCTL_EXIT_OK;
}

/* ------------------------------------------------ generation + fingerprint */

/* For Install, InstallFiles, Rollback, RegenerateSelfSigned: all answer (t generation, s fingerprint). */
int print_generation_reply(const CertctlArgs *a, sd_bus_message *reply, const char *what) {
        const char *fingerprint;
        uint64_t generation;
        int r;

        r = sd_bus_message_read(reply, "ts", &generation, &fingerprint);
        if (r < 0)
                return bus_parse_error(r);

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_uint(&j, "generation", generation);
                json_field_string(&j, "fingerprint", fingerprint);
                json_close_object(&j);
        } else {
                printf("%s generation %" PRIu64 ".\n", what, generation);
                kv("Generation", "%" PRIu64, generation);
                kv("Fingerprint", "%s", fingerprint);
                fflush(stdout);
        }
        return CERTCTL_EXIT_OK;
}

static int simple_generation_verb(const CertctlArgs *a, const char *member, const char *what) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = call_method(a, bus, member, MUTATING_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != CERTCTL_EXIT_OK)
                return r;
        return print_generation_reply(a, reply, what);
}

int verb_rollback(const CertctlArgs *a) {
        return simple_generation_verb(a, "Rollback", "Rolled back to");
}

int verb_regenerate(const CertctlArgs *a) {
        return simple_generation_verb(a, "RegenerateSelfSigned", "Generated self-signed certificate as");
}

int verb_reload(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = call_method(a, bus, "ReloadEndpoints", MUTATING_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != CERTCTL_EXIT_OK)
                return r;
        if (a->json)
                printf("{}\n");
        return CERTCTL_EXIT_OK;
}

/* ------------------------------------------------------------- generations */

typedef struct Generation {
        uint64_t id, not_after, installed_at;
        const char *fingerprint, *source, *subject;
} Generation;

static int read_generations(sd_bus_message *m, Generation **ret, size_t *ret_n) {
        _cleanup_free_ Generation *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(tssstt)");
        if (r < 0)
                return r;
        for (;;) {
                Generation g;

                r = sd_bus_message_read(m, "(tssstt)", &g.id, &g.fingerprint, &g.source, &g.subject,
                                        &g.not_after, &g.installed_at);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                Generation *l = reallocarray(list, n + 1, sizeof(Generation));
                if (!l)
                        return -ENOMEM;
                list = l;
                list[n++] = g;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

/* Column widths over all rows; the last column is not padded. */
void print_table(const char *const *cells, size_t n_rows, size_t n_cols) {
        size_t width[16] = {};

        for (size_t r = 0; r < n_rows; r++)
                for (size_t c = 0; c < n_cols && c < ELEMENTSOF(width); c++) {
                        size_t l = strlen(cells[r * n_cols + c]);
                        if (l > width[c])
                                width[c] = l;
                }
        for (size_t r = 0; r < n_rows; r++) {
                for (size_t c = 0; c < n_cols; c++) {
                        if (c + 1 < n_cols)
                                printf("%-*s  ", (int) width[c], cells[r * n_cols + c]);
                        else
                                printf("%s\n", cells[r * n_cols + c]);
                }
        }
}

int verb_generations(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ Generation *list = NULL;
        uint64_t current = 0, now = now_usec(CLOCK_REALTIME);
        size_t n = 0;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = call_method(a, bus, "ListGenerations", 0, &reply, NULL);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = read_generations(reply, &list, &n);
        if (r < 0)
                return bus_parse_error(r);

        /* Which one is served; a failure here only loses the marker. */
        if (sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Generation",
                                        &error, 't', &current) < 0)
                current = 0;

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_uint(&j, "current", current);
                json_key(&j, "generations");
                json_array_begin(&j);
                for (size_t i = 0; i < n; i++) {
                        json_object_begin(&j);
                        json_field_uint(&j, "generation", list[i].id);
                        json_field_bool(&j, "current", list[i].id == current);
                        json_field_string(&j, "fingerprint", list[i].fingerprint);
                        json_field_string(&j, "source", list[i].source);
                        json_field_string(&j, "subject", list[i].subject);
                        json_field_time(&j, "not_after", list[i].not_after);
                        json_field_time(&j, "installed_at", list[i].installed_at);
                        json_object_end(&j);
                }
                json_array_end(&j);
                json_close_object(&j);
                return CERTCTL_EXIT_OK;
        }

        if (n == 0) {
                printf("No generations.\n");
                return CERTCTL_EXIT_OK;
        }

        enum { N_COLS = 7 };
        size_t n_rows = n + 1;
        _cleanup_free_ const char **cells = calloc(n_rows * N_COLS, sizeof(char *));
        _cleanup_free_ char *text = NULL;
        /* One block for every formatted cell of every row: id, installed, expires. */
        enum { CELL = 96 };
        text = calloc(n * 3, CELL);
        if (!cells || !text) {
                fprintf(stderr, "Out of memory.\n");
                return CERTCTL_EXIT_USAGE;
        }

        const char *header[N_COLS] = { "GEN", "SOURCE", "INSTALLED", "EXPIRES", "", "SUBJECT", "FINGERPRINT" };
        memcpy(cells, header, sizeof(header));
        for (size_t i = 0; i < n; i++) {
                char *id = text + (i * 3) * CELL, *inst = id + CELL, *exp = inst + CELL;
                char ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_RELATIVE_MAX];
                const char **row = cells + (i + 1) * N_COLS;

                snprintf(id, CELL, "%s%" PRIu64, list[i].id == current ? "*" : " ", list[i].id);
                snprintf(inst, CELL, "%s", format_timestamp(ts, list[i].installed_at));
                snprintf(exp, CELL, "%s (%s)", format_timestamp(ts, list[i].not_after),
                         format_relative(rel, list[i].not_after, now));
                row[0] = id;
                row[1] = list[i].source;
                row[2] = inst;
                row[3] = exp;
                row[4] = "";
                row[5] = list[i].subject;
                row[6] = list[i].fingerprint;
        }
        /* Column 4 is a spacer so that the expiry's "(in N days)" stands apart. */
        print_table(cells, n_rows, N_COLS);
        printf("\n%zu generation%s; * marks the one being served.\n", n, n == 1 ? "" : "s");
        fflush(stdout);
        return CERTCTL_EXIT_OK;
}

/* ---------------------------------------------------------------- validate */

/* The report's verdict: "Valid" (b) when present, else a non-empty "Error"/"ErrorName". */
typedef struct Verdict {
        int valid;               /* -1: the report did not say */
        const char *error, *message;
} Verdict;

static int report_scan_entry(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        Verdict *v = userdata;

        if (strcasecmp(key, "Valid") == 0 && streq(contents, "b")) {
                int b, r;

                r = sd_bus_message_read(m, "v", "b", &b);
                if (r >= 0)
                        v->valid = b;
                return r;
        }
        if ((strcasecmp(key, "Error") == 0 || strcasecmp(key, "ErrorName") == 0) && streq(contents, "s"))
                return sd_bus_message_read(m, "v", "s", &v->error);
        if (strcasecmp(key, "Message") == 0 && streq(contents, "s"))
                return sd_bus_message_read(m, "v", "s", &v->message);
        return sd_bus_message_skip(m, "v");
}

static int report_scan(sd_bus_message *m, Verdict *v) {
        return bus_dict_foreach(m, report_scan_entry, v);
}

/* The daemon's report keys ("not-after", …) as people read them, in the order we print them. */
static const char *const report_labels[][2] = {
        { "valid",             "Valid"        },
        { "error",             "Error"        },
        { "message",           "Message"      },
        { "subject",           "Subject"      },
        { "issuer",            "Issuer"       },
        { "alternative-names", "SANs"         },
        { "not-before",        "Valid from"   },
        { "not-after",         "Valid until"  },
        { "fingerprint",       "Fingerprint"  },
        { "key-type",          "Key type"     },
        { "chain-length",      "Chain length" },
};

/* Index into report_labels, or -1 for a key we do not know (shown as it is, after the known ones). */
static int report_label_index(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(report_labels); i++)
                if (strcasecmp(report_labels[i][0], key) == 0)
                        return (int) i;
        return -1;
}

static bool key_is_timestamp(const char *key) {
        size_t n = strlen(key);
        return strncasecmp(key, "not", 3) == 0 || (n > 2 && strcasecmp(key + n - 2, "at") == 0);
}

typedef struct ReportPrint {
        int which;
        uint64_t now;
} ReportPrint;

static int report_print_entry(sd_bus_message *m, const char *raw_key, const char *contents, void *userdata) {
        const ReportPrint *rp = userdata;
        int index = report_label_index(raw_key), r;
        const char *key = index >= 0 ? report_labels[index][1] : raw_key;

        if (index != rp->which)
                r = sd_bus_message_skip(m, "v");
        else if (streq(contents, "s")) {
                const char *s;
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r >= 0 && !isempty(s))
                        kv(key, "%s", s);
        } else if (streq(contents, "b")) {
                int b;
                r = sd_bus_message_read(m, "v", "b", &b);
                if (r >= 0)
                        kv(key, "%s", b ? "yes" : "no");
        } else if (streq(contents, "t")) {
                uint64_t t;
                r = sd_bus_message_read(m, "v", "t", &t);
                if (r >= 0) {
                        if (key_is_timestamp(raw_key))
                                kv_time(key, t, rp->now);
                        else
                                kv(key, "%" PRIu64, t);
                }
        } else if (streq(contents, "u")) {
                uint32_t u;
                r = sd_bus_message_read(m, "v", "u", &u);
                if (r >= 0)
                        kv(key, "%" PRIu32, u);
        } else if (streq(contents, "as")) {
                _cleanup_strv_free_ char **l = NULL;
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        STRV_FOREACH(s, l) {
                                if (s == l)
                                        kv(key, "%s", *s);
                                else
                                        kv_more("%s", *s);
                        }
        } else
                r = sd_bus_message_skip(m, "v");
        return r;
}

/*
 * The entries of the report whose label index is `which` (-1: the unknown
 * ones) as aligned lines; times in local time, arrays one element a line.
 */
static int report_print_entries(sd_bus_message *m, int which) {
        ReportPrint rp = { .which = which, .now = now_usec(CLOCK_REALTIME) };

        return bus_dict_foreach(m, report_print_entry, &rp);
}

/* The whole report, known entries first in a fixed order, like validate --offline prints them. */
static int report_print(sd_bus_message *m) {
        int r;

        for (int i = 0; i <= (int) ELEMENTSOF(report_labels); i++) {
                r = sd_bus_message_rewind(m, true);
                if (r < 0)
                        return r;
                r = report_print_entries(m, i < (int) ELEMENTSOF(report_labels) ? i : -1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int verb_validate_bus(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Input in[3] = {};
        Verdict v = { .valid = -1 };
        int r;

        if (!a->cert) {
                fprintf(stderr, "validate needs --cert FILE (see --help).\n");
                return CERTCTL_EXIT_USAGE;
        }
        if (a->server_name || a->policy_set || a->trust_store || a->config) {
                fprintf(stderr, "--server-name, --policy and --trust-store apply to validate --offline only: "
                        "the daemon checks against its configured ServerName= and Policy=.\n");
                return CERTCTL_EXIT_USAGE;
        }

        r = certctl_read_bundle_files(a, in);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = bus_connect(a, &bus);
        if (r == CERTCTL_EXIT_OK) {
                r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Validate");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sss", in[0].data ?: "", in[1].data ?: "", in[2].data ?: "");
                /* The message holds copies now; our buffers can go. */
                for (size_t i = 0; i < 3; i++)
                        input_done(&in[i]);
                if (r < 0) {
                        /* D-Bus strings are UTF-8 without NULs: binary input cannot travel as a string. */
                        fprintf(stderr, "Failed to pass the files to the daemon: %s "
                                "(DER or PKCS#12? convert to PEM; --offline names the problem).\n", errno_name(r));
                        return CERTCTL_EXIT_USAGE;
                }
                r = sd_bus_call(bus, m, 0, &error, &reply);
                if (r < 0)
                        return report_bus_error(a, &error, r);
                r = CERTCTL_EXIT_OK;
        }
        for (size_t i = 0; i < 3; i++)
                input_done(&in[i]);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = report_scan(reply, &v);
        if (r < 0)
                return bus_parse_error(r);
        bool valid = v.valid >= 0 ? v.valid : isempty(v.error);

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return bus_parse_error(r);
        if (a->json) {
                r = print_dict_json(reply);
                if (r != CERTCTL_EXIT_OK)
                        return r;
        } else {
                r = report_print(reply);
                if (r < 0)
                        return bus_parse_error(r);
                fflush(stdout);
        }

        if (!valid) {
                const char *name = v.error ?: "Invalid";
                fprintf(stderr, "%s: %s\n", a->json ? name : bus_error_short_name(name), v.message ?: "");
                return CERTCTL_EXIT_REFUSED;
        }
        return CERTCTL_EXIT_OK;
}
