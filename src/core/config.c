/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Config: certd.conf and its certd.conf.d/ *.conf drop-ins, read with
 * libinih into a typed struct, the systemd way:
 *   - later files override earlier ones; within a file, later lines win;
 *   - an empty assignment resets a key to its default (DropDirectory= and
 *     TrustStoreFile= to "none"), and a list to empty;
 *   - a list's first assignment replaces the built-in default, further
 *     assignments append (each name once);
 *   - an unknown section or key, or a bad value, is an error naming file,
 *     line, key and value. Nothing is silently ignored.
 * It deliberately does not check the file system (whether directories
 * exist): the daemon does when it opens them.
 *
 * libinih is fed through our own line reader, which counts lines (Debian's
 * build has no INI_HANDLER_LINENO), checks section headers (inih does not
 * report sections without keys) and strips leading whitespace so that an
 * indented line is a line of its own, not a continuation of the previous
 * value.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <ini.h>

#include "build-config.h"
#include "config.h"
#include "selfsigned.h"
#include "socket-address.h"
#include "strv.h"

#define SECTION "Certificates"

#define KEEP_GENERATIONS_DEFAULT 5u
#define KEEP_GENERATIONS_MIN 2u
#define KEEP_GENERATIONS_MAX 1000u
#define EXPIRY_WARNING_DAYS_DEFAULT 30u
#define EXPIRY_WARNING_DAYS_MAX 3650u
#define RELOAD_TIMEOUT_DEFAULT (30 * USEC_PER_SEC)
#define SETTLE_DEFAULT (5 * USEC_PER_SEC)
#define TIMESPAN_MAX (24ULL * 3600 * USEC_PER_SEC)
#define MAX_INPUT_SIZE_DEFAULT ((uint64_t) 1024 * 1024)
#define MAX_INPUT_SIZE_MIN ((uint64_t) 4 * 1024)
#define MAX_INPUT_SIZE_MAX ((uint64_t) 64 * 1024 * 1024)

static const char *const default_alternative_names[] = { "localhost", "127.0.0.1", "::1", NULL };
static const char *const default_access_names[] = { NULL };
static const char *const default_verify_addresses[] = { NULL };
static const char *const default_units[] = {
        "vertex-console.service", "vertex-grpc.service", "vertex-api.service", NULL,
};
#define DEFAULT_RELOAD_THROUGH "vertex-tls.target"

/* ---- defaults ---- */

static char *default_server_name(void) {
        char name[HOST_NAME_MAX + 1] = {};

        /* A first boot must get a certificate even with an odd host name: fall back to localhost. */
        if (gethostname(name, sizeof(name) - 1) < 0 || selfsigned_check_name(name) < 0)
                return strdup("localhost");
        return strdup(name);
}

static int set_default_list(char ***l, const char *const *defaults) {
        strv_free(*l);
        *l = strv_copy((char *const *) defaults);
        return *l ? 0 : -ENOMEM;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->server_name);
        strv_free(c->alternative_names);
        strv_free(c->access_names);
        free(c->drop_directory);
        free(c->store_directory);
        strv_free(c->units);
        free(c->reload_through);
        strv_free(c->verify_addresses);
        free(c->trust_store_file);
        free(c->metrics_file);
        free(c);
        return NULL;
}

/* ---- value parsers: 0 or -EINVAL/-ERANGE, *ret untouched on failure ---- */

static int parse_boolean(const char *v, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Decimal digits only: no sign, no space, no hex. Returns the number of digits consumed. */
static int parse_digits(const char *v, uint64_t *ret) {
        uint64_t n = 0;
        size_t i = 0;

        for (; v[i] >= '0' && v[i] <= '9'; i++) {
                unsigned d = (unsigned) (v[i] - '0');
                if (n > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                n = n * 10 + d;
        }
        if (i == 0)
                return -EINVAL;
        *ret = n;
        return (int) i;
}

static int parse_unsigned(const char *v, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t n;
        int k = parse_digits(v, &n);
        if (k < 0)
                return k;
        if (v[k] != 0)
                return -EINVAL;
        if (n < min || n > max)
                return -ERANGE;
        *ret = n;
        return 0;
}

/* "30", "30s", "2min", "500ms", "1min 30s", as systemd.time(7); a bare number is seconds. */
static int parse_timespan(const char *v, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "us", 1 }, { "usec", 1 },
                { "ms", USEC_PER_MSEC }, { "msec", USEC_PER_MSEC },
                { "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC }, { "second", USEC_PER_SEC }, { "seconds", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC }, { "minute", 60 * USEC_PER_SEC }, { "minutes", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC }, { "hr", 3600 * USEC_PER_SEC }, { "hour", 3600 * USEC_PER_SEC }, { "hours", 3600 * USEC_PER_SEC },
        };
        uint64_t total = 0;
        const char *p = v;
        bool any = false;

        for (;;) {
                uint64_t n, mult = USEC_PER_SEC;
                int k;

                p += strspn(p, " \t");
                if (*p == 0)
                        break;
                k = parse_digits(p, &n);
                if (k < 0)
                        return k;
                p += k;
                p += strspn(p, " \t");
                size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
                if (len > 0) {
                        size_t i;
                        for (i = 0; i < ELEMENTSOF(units); i++)
                                if (strlen(units[i].suffix) == len && strncmp(p, units[i].suffix, len) == 0)
                                        break;
                        if (i >= ELEMENTSOF(units))
                                return -EINVAL;
                        mult = units[i].usec;
                        p += len;
                }
                if (n > TIMESPAN_MAX / mult || total + n * mult > TIMESPAN_MAX)
                        return -ERANGE;
                total += n * mult;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

/* Bytes, with an optional binary suffix: 1048576, 1024K, 1M, 1MiB. */
static int parse_size(const char *v, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                { "", 1 }, { "B", 1 },
                { "K", 1024 }, { "KiB", 1024 },
                { "M", 1024 * 1024 }, { "MiB", 1024 * 1024 },
                { "G", 1024 * 1024 * 1024 }, { "GiB", 1024 * 1024 * 1024 },
        };
        uint64_t n;
        int k = parse_digits(v, &n);
        if (k < 0)
                return k;
        const char *suffix = v + k + strspn(v + k, " ");
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(suffix, units[i].suffix)) {
                        if (n > UINT64_MAX / units[i].factor)
                                return -ERANGE;
                        *ret = n * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

static bool unit_name_valid_with_suffix(const char *u, const char *suffix) {
        size_t len = strlen(u);

        if (len <= strlen(suffix) || len > 255 || !streq(u + len - strlen(suffix), suffix))
                return false;
        for (const char *p = u; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@", *p))
                        return false;
        return u[0] != '.' && u[0] != '@';
}

static bool unit_name_valid(const char *u) {
        return unit_name_valid_with_suffix(u, ".service");
}

/* What can carry a reload to others: a target (the usual) or a service. */
static bool carrier_name_valid(const char *u) {
        return unit_name_valid_with_suffix(u, ".target") || unit_name_valid_with_suffix(u, ".service");
}

static bool path_valid(const char *p) {
        return p[0] == '/' && strlen(p) < PATH_MAX && !strpbrk(p, "\n\r\t");
}

/* ---- the parser ---- */

typedef struct Parser {
        Config *config;
        const char *file;
        FILE *f;
        char *line_buf;
        size_t line_size;
        unsigned line;
        char *error;           /* first error, "FILE:LINE: …" */
        int error_code;
        size_t key;            /* the index in config_keys[] of the key being assigned */
        bool assigned[32];     /* per key: a list's first assignment replaces its default */
} Parser;

static int parser_error(Parser *p, int code, const char *format, ...) _printf_(3, 4);
static int parser_error(Parser *p, int code, const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;

        if (p->error)
                return p->error_code;  /* the first error is the one worth reading */

        va_start(ap, format);
        int r = vasprintf(&what, format, ap);
        va_end(ap);
        if (r < 0) {
                what = NULL;
                p->error_code = -ENOMEM;
                return -ENOMEM;
        }
        if (asprintf(&p->error, "%s:%u: %s", p->file, p->line, what) < 0) {
                p->error = NULL;
                p->error_code = -ENOMEM;
                return -ENOMEM;
        }
        p->error_code = code;
        return code;
}

/*
 * The keys of [Certificates]: each a parser, the Config field it sets, its
 * default, and what an empty assignment means. A parser gets value NULL to
 * set the default, "" for an empty assignment, and otherwise the value; it
 * returns 0 or a parser_error().
 */
typedef struct ConfigKey ConfigKey;
typedef int (*config_parse_t)(Parser *p, const ConfigKey *k, const char *value, void *field);

typedef enum ConfigEmpty {
        EMPTY_IS_DEFAULT,      /* Key= resets to the default */
        EMPTY_IS_NONE,         /* Key= turns it off: "" (or NULL for TrustStoreFile=) */
} ConfigEmpty;

struct ConfigKey {
        const char *name;
        config_parse_t parse;
        size_t offset;                 /* of the field in Config */
        const char *def;               /* strings: the default (NULL: none, or computed) */
        const char *const *def_list;   /* lists */
        uint64_t def_number;           /* numbers, booleans, the policy */
        ConfigEmpty empty;
        const char *none;              /* EMPTY_IS_NONE: what "off" is stored as */
        uint64_t min, max;             /* numbers */
        bool (*valid)(const char *);   /* strings and list words */
        const char *invalid;           /* "not …": for the error message */
        const char *range;             /* numbers: what is allowed, for the error message */
        const char *below;             /* numbers: the message under the minimum, when it differs */
};

#define FIELD(f) offsetof(Config, f)

static int set_string(char **field, const char *v) {
        char *copy = v ? strdup(v) : NULL;
        if (v && !copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int parse_string(Parser *p, const ConfigKey *k, const char *value, void *field) {
        if (!value)
                return set_string(field, k->def);
        if (isempty(value))
                return set_string(field, k->empty == EMPTY_IS_NONE ? k->none : k->def);
        if (!k->valid(value))
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->invalid);
        return set_string(field, value);
}

static int parse_server_name(Parser *p, const ConfigKey *k, const char *value, void *field) {
        if (isempty(value)) {
                _cleanup_free_ char *d = default_server_name();
                if (!d)
                        return -ENOMEM;
                return set_string(field, d);
        }
        return parse_string(p, k, value, field);
}

/* Splits a list value; each word checked by k->valid. Empty value: the list becomes empty. */
static int parse_list(Parser *p, const ConfigKey *k, const char *value, void *field) {
        _cleanup_strv_free_ char **words = NULL;
        char ***list = field;
        int r;

        if (!value)
                return set_default_list(list, k->def_list);

        bool *assigned = &p->assigned[p->key];

        r = strv_split_words(value, &words);
        if (r < 0)
                return r;
        STRV_FOREACH(w, words)
                if (!k->valid(*w))
                        return parser_error(p, -EINVAL, "%s=%s: '%s' is not %s", k->name, value, *w, k->invalid);

        if (!*assigned || strv_length(words) == 0) {
                /* The first assignment replaces the built-in default; an empty one resets. */
                strv_free(*list);
                *list = calloc(1, sizeof(char *));
                if (!*list)
                        return -ENOMEM;
        }
        *assigned = true;
        STRV_FOREACH(w, words)
                if (!strv_contains(*list, *w)) {
                        r = strv_extend(list, *w);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int parse_bool_field(Parser *p, const ConfigKey *k, const char *value, void *field) {
        if (isempty(value)) {
                *(bool *) field = k->def_number;
                return 0;
        }
        if (parse_boolean(value, field) < 0)
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->invalid);
        return 0;
}

static int parse_number_field(Parser *p, const ConfigKey *k, const char *value, uint64_t *ret,
                              int (*parse)(const char *, uint64_t *)) {
        uint64_t n;
        int r;

        if (isempty(value)) {
                *ret = k->def_number;
                return 0;
        }
        r = parse(value, &n);
        if (r >= 0 && n < k->min && k->below)
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->below);
        if (r == -ERANGE || (r >= 0 && (n < k->min || n > k->max)))
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->range);
        if (r < 0)
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->invalid);
        *ret = n;
        return 0;
}

static int parse_digits_only(const char *v, uint64_t *ret) {
        return parse_unsigned(v, 0, UINT64_MAX, ret);
}

static int parse_unsigned_field(Parser *p, const ConfigKey *k, const char *value, void *field) {
        uint64_t n = 0;
        int r = parse_number_field(p, k, value, &n, parse_digits_only);
        if (r >= 0)
                *(unsigned *) field = (unsigned) n;
        return r;
}

static int parse_timespan_field(Parser *p, const ConfigKey *k, const char *value, void *field) {
        return parse_number_field(p, k, value, field, parse_timespan);
}

static int parse_size_field(Parser *p, const ConfigKey *k, const char *value, void *field) {
        return parse_number_field(p, k, value, field, parse_size);
}

static int parse_policy(Parser *p, const ConfigKey *k, const char *value, void *field) {
        int r;

        if (isempty(value)) {
                *(ValidatePolicy *) field = (ValidatePolicy) k->def_number;
                return 0;
        }
        r = validate_policy_from_string(value);
        if (r < 0)
                return parser_error(p, -EINVAL, "%s=%s: %s", k->name, value, k->invalid);
        *(ValidatePolicy *) field = (ValidatePolicy) r;
        return 0;
}

/* The same name however written: IP addresses by value ("::1" = "0:0::1"), DNS names without case. */
static bool names_equal(const char *a, const char *b) {
        unsigned char x[16], y[16];

        if (inet_pton(AF_INET, a, x) == 1)
                return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
        if (inet_pton(AF_INET6, a, x) == 1)
                return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
        return strcasecmp(a, b) == 0;
}

static const char *names_find(char *const *l, const char *name) {
        STRV_FOREACH(n, l)
                if (names_equal(*n, name))
                        return *n;
        return NULL;
}

/*
 * AccessNames=: every name is required of every certificate, so a name given
 * twice is a mistake worth saying (two drop-ins disagreeing), not merged.
 */
static int parse_access_names(Parser *p, const ConfigKey *k, const char *value, void *field) {
        _cleanup_strv_free_ char **words = NULL;
        char ***list = field;
        int r;

        if (!value || isempty(value))
                return set_default_list(list, k->def_list);

        r = strv_split_words(value, &words);
        if (r < 0)
                return r;
        STRV_FOREACH(w, words) {
                const char *other;

                if ((*w)[0] == '[' || strchr(*w, '/'))
                        return parser_error(p, -EINVAL, "%s=%s: '%s' is not %s; write IPv6 addresses without "
                                            "brackets, and no port, path or URL", k->name, value, *w, k->invalid);
                if (!k->valid(*w))
                        return parser_error(p, -EINVAL, "%s=%s: '%s' is not %s", k->name, value, *w, k->invalid);
                other = names_find(*list, *w);
                if (!other)
                        for (char **v = words; v < w && !other; v++)
                                if (names_equal(*v, *w))
                                        other = *v;
                if (other)
                        return parser_error(p, -EINVAL, "%s=%s: '%s' is listed twice%s%s%s", k->name, value, *w,
                                            streq(other, *w) ? "" : " (as '", streq(other, *w) ? "" : other,
                                            streq(other, *w) ? "" : "')");
        }
        STRV_FOREACH(w, words) {
                r = strv_extend(list, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * One VerifyAddresses= word: UNIT=ADDRESS, a service and a numeric listen
 * address with its port (as in its server's configuration, not a host
 * name: the check must not wait for a resolver). NULL when fine, else why not.
 */
static const char *verify_address_problem(const char *word) {
        _cleanup_free_ char *unit = NULL;
        const char *eq = strchr(word, '='), *address;
        SocketAddress a;

        if (!eq)
                return "not UNIT=ADDRESS (e.g. nginx.service=127.0.0.1:443)";
        unit = strndup(word, (size_t) (eq - word));
        if (!unit)
                return "out of memory";
        if (!unit_name_valid(unit))
                return "not UNIT=ADDRESS: UNIT is not a service unit name (NAME.service)";
        address = eq + 1;
        if (!strchr(address, ':'))
                return "not UNIT=ADDRESS: ADDRESS needs a host and a port (127.0.0.1:443, [::1]:443)";
        if (socket_address_parse(address, "127.0.0.1", &a) < 0)
                return "not UNIT=ADDRESS: ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535";
        if (socket_address_port(&a) == 0)
                return "not UNIT=ADDRESS: port 0 is no listener's port";
        return NULL;
}

/* VerifyAddresses=: a list like Units=, each word checked with a reason of its own. */
static int parse_verify_addresses(Parser *p, const ConfigKey *k, const char *value, void *field) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (value && !isempty(value)) {
                r = strv_split_words(value, &words);
                if (r < 0)
                        return r;
                STRV_FOREACH(w, words) {
                        const char *problem = verify_address_problem(*w);
                        if (problem)
                                return parser_error(p, -EINVAL, "%s=%s: '%s' is %s", k->name, value, *w, problem);
                }
        }
        return parse_list(p, k, value, field);
}

int config_verify_addresses_of(char *const *list, const char *unit, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        size_t n = strlen(unit);

        if (!l)
                return -ENOMEM;
        STRV_FOREACH(w, list)
                if (strncmp(*w, unit, n) == 0 && (*w)[n] == '=' && !strv_contains(l, *w + n + 1) &&
                    strv_extend(&l, *w + n + 1) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static bool verify_address_valid(const char *w) {
        return !verify_address_problem(w);
}

static bool san_name_valid(const char *n) {
        return selfsigned_check_name(n) >= 0;
}

static bool reload_carrier_valid(const char *u) {
        return carrier_name_valid(u);
}

static const ConfigKey config_keys[] = {
        { "ServerName", parse_server_name, FIELD(server_name), .valid = san_name_valid,
          .invalid = "neither a DNS name nor an IP address" },
        { "AlternativeNames", parse_list, FIELD(alternative_names), .def_list = default_alternative_names,
          .valid = san_name_valid, .invalid = "a DNS name or an IP address" },
        /* Further names clients use (a load balancer's address): required of every certificate. */
        { "AccessNames", parse_access_names, FIELD(access_names), .def_list = default_access_names,
          .valid = san_name_valid, .invalid = "a DNS name or an IP address" },
        { "Units", parse_list, FIELD(units), .def_list = default_units,
          .valid = unit_name_valid, .invalid = "a service unit name (NAME.service)" },
        /* Empty: no carrier, each unit is reloaded by a job of its own. */
        { "ReloadThrough", parse_string, FIELD(reload_through), .def = DEFAULT_RELOAD_THROUGH,
          .empty = EMPTY_IS_NONE, .none = "", .valid = reload_carrier_valid,
          .invalid = "not a target or service unit name (NAME.target)" },
        { "DropDirectory", parse_string, FIELD(drop_directory), .def = STATE_DIR "/drop",
          .empty = EMPTY_IS_NONE, .none = "", .valid = path_valid, .invalid = "not an absolute path" },
        { "StoreDirectory", parse_string, FIELD(store_directory), .def = STATE_DIR,
          .valid = path_valid, .invalid = "not an absolute path" },
        { "MetricsFile", parse_string, FIELD(metrics_file), .def = "",
          .empty = EMPTY_IS_NONE, .none = "", .valid = path_valid, .invalid = "not an absolute path" },
        { "TrustStoreFile", parse_string, FIELD(trust_store_file), .def = NULL,
          .empty = EMPTY_IS_NONE, .none = NULL, .valid = path_valid, .invalid = "not an absolute path" },
        { "VerifyServing", parse_bool_field, FIELD(verify_serving), .def_number = true,
          .invalid = "not a boolean (yes/no, true/false, on/off, 1/0)" },
        /* Where to check a unit that has no socket unit to tell its listen addresses. */
        { "VerifyAddresses", parse_verify_addresses, FIELD(verify_addresses), .def_list = default_verify_addresses,
          .valid = verify_address_valid, .invalid = "UNIT=ADDRESS" },
        { "ReloadTimeoutSec", parse_timespan_field, FIELD(reload_timeout_usec), .def_number = RELOAD_TIMEOUT_DEFAULT,
          .min = 1, .max = TIMESPAN_MAX, .invalid = "not a time span (e.g. 30, 30s, 2min, 500ms)",
          .range = "longer than 24 hours", .below = "must be longer than 0" },
        { "SettleSec", parse_timespan_field, FIELD(settle_usec), .def_number = SETTLE_DEFAULT,
          .min = 0, .max = TIMESPAN_MAX, .invalid = "not a time span (e.g. 30, 30s, 2min, 500ms)",
          .range = "longer than 24 hours" },
        { "KeepGenerations", parse_unsigned_field, FIELD(keep_generations), .def_number = KEEP_GENERATIONS_DEFAULT,
          .min = KEEP_GENERATIONS_MIN, .max = KEEP_GENERATIONS_MAX, .invalid = "not a number",
          .range = "must be between 2 and 1000 (one to serve, one to roll back to)" },
        { "ExpiryWarningDays", parse_unsigned_field, FIELD(expiry_warning_days),
          .def_number = EXPIRY_WARNING_DAYS_DEFAULT, .min = 0, .max = EXPIRY_WARNING_DAYS_MAX,
          .invalid = "not a number of days", .range = "must be between 0 and 3650" },
        { "Policy", parse_policy, FIELD(policy), .def_number = VALIDATE_POLICY_FIPS,
          .invalid = "unknown policy, expected 'fips' or 'strict'" },
        { "MaxInputSize", parse_size_field, FIELD(max_input_size), .def_number = MAX_INPUT_SIZE_DEFAULT,
          .min = MAX_INPUT_SIZE_MIN, .max = MAX_INPUT_SIZE_MAX, .invalid = "not a size (bytes, or with K, M, G)",
          .range = "must be between 4K and 64M" },
        { "PendingRequestDays", parse_unsigned_field, FIELD(pending_request_days), .def_number = 30,
          .min = 1, .max = 3650, .invalid = "not a number of days", .range = "must be between 1 and 3650" },
        { "MaxPendingRequests", parse_unsigned_field, FIELD(max_pending_requests), .def_number = 8,
          .min = 1, .max = 100, .invalid = "not a number", .range = "must be between 1 and 100" },
};

_Static_assert(ELEMENTSOF(config_keys) <= sizeof(((Parser *) NULL)->assigned), "Parser.assigned too small");

int config_new_default(Config **ret) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));
        int r;

        assert(ret);
        if (!c)
                return -ENOMEM;

        /* Each key's parser with no value sets its default; none of them fails but for memory. */
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                r = config_keys[i].parse(NULL, &config_keys[i], NULL, (char *) c + config_keys[i].offset);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

static int assign(Parser *p, const char *key, const char *value) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(key, config_keys[i].name)) {
                        p->key = i;
                        return config_keys[i].parse(p, &config_keys[i], value, (char *) p->config + config_keys[i].offset);
                }

        return parser_error(p, -EINVAL, "%s=%s: unknown key in [" SECTION "]", key, value);
}

static int handler(void *userdata, const char *section, const char *name, const char *value) {
        Parser *p = userdata;
        int r;

        if (p->error)
                return 0;
        if (!streq(section, SECTION))
                r = parser_error(p, -EINVAL, "%s=%s: assignment outside of section [" SECTION "]", name, value);
        else
                r = assign(p, name, value);
        if (r < 0) {
                if (!p->error)
                        parser_error(p, r, "%s=%s: %s", name, value, errno_name(r));
                return 0;
        }
        return 1;
}

/*
 * inih's line source: one whole line per call, so our count is inih's.
 * Checks what inih would not tell us with a line number of its own.
 * Returning NULL ends the parse, which is what we want after an error.
 */
static char *reader(char *str, int num, void *stream) {
        Parser *p = stream;
        ssize_t n;

        if (p->error)
                return NULL;

        errno = 0;
        n = getline(&p->line_buf, &p->line_size, p->f);
        if (n < 0) {
                if (ferror(p->f))
                        parser_error(p, negative_errno(), "read error: %s", errno_name(negative_errno()));
                return NULL;
        }
        p->line++;

        if (strlen(p->line_buf) != (size_t) n) {
                parser_error(p, -EINVAL, "line contains a NUL byte");
                return NULL;
        }

        char *s = p->line_buf;
        if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;  /* a UTF-8 byte order mark, as some editors write */
        s += strspn(s, " \t");
        size_t len = strlen(s);
        while (len > 0 && strchr(" \t\r\n", s[len - 1]))
                len--;
        s[len] = 0;

        if (len + 2 > (size_t) num) {
                parser_error(p, -EINVAL, "line longer than %d characters; split long lists over several assignments", num - 2);
                return NULL;
        }

        if (s[0] == '[') {
                size_t end = strcspn(s, "]");
                if (s[end] != ']') {
                        parser_error(p, -EINVAL, "'%s': section header without ']'", s);
                        return NULL;
                }
                if (end - 1 != strlen(SECTION) || strncmp(s + 1, SECTION, end - 1) != 0) {
                        parser_error(p, -EINVAL, "[%.*s]: unknown section, expected [" SECTION "]", (int) (end - 1), s + 1);
                        return NULL;
                }
        } else if (len > 0 && !strchr("#;", s[0]) && !strchr(s, '=')) {
                parser_error(p, -EINVAL, "'%s': expected Key=Value", s);
                return NULL;
        }

        memcpy(str, s, len);
        str[len] = '\n';
        str[len + 1] = 0;
        return str;
}

static int format_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int format_error(char **ret_error, const char *format, ...) {
        va_list ap;
        if (!ret_error)
                return 0;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return 0;
}

/* Parses one file into c. Missing files are fine only when missing_ok. */
static int parse_file(Config *c, const char *path, bool missing_ok, Parser *state, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        FILE *f;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT && missing_ok)
                        return 0;
                format_error(ret_error, "%s: cannot open: %s", path, errno_name(r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                format_error(ret_error, "%s: cannot stat: %s", path, errno_name(r));
                return r;
        }
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
                return 0;  /* a drop-in linked to /dev/null is masked, as with systemd */
        if (!S_ISREG(st.st_mode)) {
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
                format_error(ret_error, "%s: cannot read: %s", path,
                             S_ISDIR(st.st_mode) ? errno_name(-EISDIR) : "not a regular file");
                return r;
        }

        f = fdopen(fd, "re");
        if (!f) {
                r = negative_errno();
                format_error(ret_error, "%s: cannot read: %s", path, errno_name(r));
                return r;
        }
        TAKE_FD(fd);

        state->config = c;
        state->file = path;
        state->f = f;
        state->line = 0;

        int k = ini_parse_stream(reader, state, handler, state);
        fclose(state->f);
        state->f = NULL;
        free(state->line_buf);
        state->line_buf = NULL;
        state->line_size = 0;

        if (state->error) {
                if (ret_error)
                        *ret_error = TAKE_PTR(state->error);
                return state->error_code;
        }
        if (k > 0) {
                /* Something inih refused that our reader let through. */
                format_error(ret_error, "%s:%d: syntax error", path, k);
                return -EINVAL;
        }
        if (k < 0) {
                format_error(ret_error, "%s: cannot parse: %s", path, errno_name(-ENOMEM));
                return -ENOMEM;
        }
        return 0;
}

static int dropin_filter(const struct dirent *de) {
        size_t len = strlen(de->d_name);
        return de->d_name[0] != '.' && len > 5 && streq(de->d_name + len - 5, ".conf");
}

/* Byte order, not the locale's: the order of drop-ins must not depend on LANG. */
static int dropin_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dir = NULL;
        Parser state = {};
        struct dirent **list = NULL;
        int n, r;

        assert(path);
        assert(ret);

        if (ret_error)
                *ret_error = NULL;

        r = config_new_default(&c);
        if (r < 0)
                return r;

        r = parse_file(c, path, true, &state, ret_error);
        if (r < 0)
                goto finish;

        if (asprintf(&dir, "%s.d", path) < 0) {
                dir = NULL;
                r = -ENOMEM;
                goto finish;
        }
        n = scandir(dir, &list, dropin_filter, dropin_compare);
        if (n < 0) {
                r = negative_errno();
                if (r == -ENOENT || r == -ENOTDIR)
                        r = 0;
                else
                        format_error(ret_error, "%s: cannot list: %s", dir, errno_name(r));
                goto finish;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                if (r >= 0) {
                        if (asprintf(&file, "%s/%s", dir, list[i]->d_name) < 0) {
                                file = NULL;
                                r = -ENOMEM;
                        } else
                                r = parse_file(c, file, false, &state, ret_error);
                }
                free(list[i]);
        }
        free(list);

finish:
        /* Only known once every file is read: they may come from different ones. */
        if (r >= 0 && !isempty(c->reload_through) && strv_contains(c->units, c->reload_through)) {
                format_error(ret_error, "%s: ReloadThrough=%s is also in Units=: a unit cannot carry its own reload",
                             path, c->reload_through);
                r = -EINVAL;
        }
        if (r >= 0)
                STRV_FOREACH(w, c->verify_addresses) {
                        _cleanup_free_ char *unit = strndup(*w, strcspn(*w, "="));
                        if (!unit)
                                r = -ENOMEM;
                        else if (!strv_contains(c->units, unit)) {
                                format_error(ret_error, "%s: VerifyAddresses=%s: %s is not in Units=: only the "
                                             "units in Units= are reloaded and checked", path, *w, unit);
                                r = -EINVAL;
                        }
                        if (r < 0)
                                break;
                }
        if (r >= 0) {
                const char *same = names_find(c->access_names, c->server_name);
                if (same) {
                        format_error(ret_error, "%s: AccessNames=%s is the ServerName= already: "
                                     "list each name once", path, same);
                        r = -EINVAL;
                }
        }
        free(state.error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static bool strv_equal_ptr(char *const *a, char *const *b) {
        size_t n = strv_length((char **) a);

        if (n != strv_length((char **) b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

#define SWAP(a, b) do { typeof(a) _t = (a); (a) = (b); (b) = _t; } while (0)

int config_keep_start_only(Config *new, Config *old, const char **ret_changed, size_t n_changed) {
        size_t n = 0;

        assert(new);
        assert(old);

        /* What the objects made at start (the store, the drop directory's watch, the unit list) hold on to. */
#define KEEP_STRING(field, key) do {                                            \
                if (!streq_ptr(new->field, old->field) && n < n_changed)         \
                        ret_changed[n++] = key;                                  \
                SWAP(new->field, old->field);                                    \
        } while (0)
#define KEEP_VALUE(field, key) do {                                             \
                if (new->field != old->field && n < n_changed)                   \
                        ret_changed[n++] = key;                                  \
                new->field = old->field;                                         \
        } while (0)

        KEEP_STRING(store_directory, "StoreDirectory=");
        KEEP_STRING(drop_directory, "DropDirectory=");
        KEEP_STRING(reload_through, "ReloadThrough=");
        if (!strv_equal_ptr(new->units, old->units) && n < n_changed)
                ret_changed[n++] = "Units=";
        SWAP(new->units, old->units);
        KEEP_VALUE(keep_generations, "KeepGenerations=");
        KEEP_VALUE(settle_usec, "SettleSec=");
        KEEP_VALUE(max_input_size, "MaxInputSize=");
#undef KEEP_STRING
#undef KEEP_VALUE
        return (int) n;
}

bool config_names_equal(const Config *a, const Config *b) {
        return streq_ptr(a->server_name, b->server_name) &&
                strv_equal_ptr(a->access_names, b->access_names) &&
                strv_equal_ptr(a->alternative_names, b->alternative_names);
}
