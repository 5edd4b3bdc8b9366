/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * certd.conf and its drop-ins: defaults, every key, drop-in order, list
 * semantics, and an exact message (file, line, key, value) for every
 * refusal.
 */

#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "build-config.h"
#include "config.h"
#include "selfsigned.h"
#include "strv.h"

typedef struct Fixture {
        char *dir;
        char *conf;     /* dir/certd.conf */
        char *dropins;  /* dir/certd.conf.d */
} Fixture;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;
        f->dir = g_dir_make_tmp("test-config-XXXXXX", &error);
        g_assert_no_error(error);
        f->conf = g_build_filename(f->dir, "certd.conf", NULL);
        f->dropins = g_build_filename(f->dir, "certd.conf.d", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_assert_cmpint(nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
        g_free(f->conf);
        g_free(f->dropins);
        g_free(f->dir);
}

static void write_file(const char *path, const char *text) {
        GError *error = NULL;
        g_file_set_contents(path, text, -1, &error);
        g_assert_no_error(error);
}

static char *write_dropin(Fixture *f, const char *name, const char *text) {
        g_assert_true(g_mkdir_with_parents(f->dropins, 0755) == 0);
        char *path = g_build_filename(f->dropins, name, NULL);
        write_file(path, text);
        return path;
}

static Config *load_ok(const char *path) {
        Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r = config_load(path, &c, &error);
        if (r < 0)
                g_error("config_load: %d: %s", r, error);
        g_assert_null(error);
        return c;
}

/* Loads and expects a refusal with exactly this message; returns the error code. */
static int load_fails(const char *path, const char *expected) {
        Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r = config_load(path, &c, &error);
        g_assert_cmpint(r, <, 0);
        g_assert_null(c);
        g_assert_cmpstr(error, ==, expected);
        return r;
}

static void assert_strv(char **l, const char *const *expected) {
        g_assert_cmpuint(strv_length(l), ==, g_strv_length((char **) expected));
        for (size_t i = 0; expected[i]; i++)
                g_assert_cmpstr(l[i], ==, expected[i]);
}

/* What ServerName= defaults to here: the host name, or localhost when that is no usable name. */
static const char *expected_host(void) {
        static char host[HOST_NAME_MAX + 1];
        g_assert_cmpint(gethostname(host, sizeof(host) - 1), ==, 0);
        return selfsigned_check_name(host) >= 0 ? host : "localhost";
}

static void assert_defaults(Config *c) {
        g_assert_cmpstr(c->server_name, ==, expected_host());
        assert_strv(c->alternative_names, (const char *[]) { "localhost", "127.0.0.1", "::1", NULL });
        assert_strv(c->access_names, (const char *[]) { NULL });
        g_assert_cmpstr(c->drop_directory, ==, STATE_DIR "/drop");
        g_assert_cmpstr(c->store_directory, ==, STATE_DIR);
        assert_strv(c->units, (const char *[]) { "vertex-console.service", "vertex-grpc.service", "vertex-api.service", NULL });
        g_assert_cmpstr(c->reload_through, ==, "vertex-tls.target");
        g_assert_true(c->verify_serving);
        assert_strv(c->verify_addresses, (const char *[]) { NULL });
        g_assert_cmpuint(c->reload_timeout_usec, ==, 30 * USEC_PER_SEC);
        g_assert_cmpuint(c->keep_generations, ==, 5);
        g_assert_cmpuint(c->expiry_warning_days, ==, 30);
        g_assert_cmpint(c->policy, ==, VALIDATE_POLICY_FIPS);
        g_assert_cmpuint(c->settle_usec, ==, 5 * USEC_PER_SEC);
        g_assert_cmpuint(c->max_input_size, ==, 1024 * 1024);
        g_assert_null(c->trust_store_file);
        g_assert_cmpstr(c->metrics_file, ==, "");   /* off */
        g_assert_cmpuint(c->pending_request_days, ==, 30);
        g_assert_cmpuint(c->max_pending_requests, ==, 8);
}

static void test_defaults(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *d = NULL;
        g_assert_cmpint(config_new_default(&d), ==, 0);
        assert_defaults(d);

        /* No file, no drop-ins: the defaults. */
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        assert_defaults(c);

        /* A file of comments only, like the shipped one, changes nothing. */
        write_file(f->conf, "# [Certificates]\n#ServerName=\n[Certificates]\n#KeepGenerations=5\n; other comment\n\n");
        _cleanup_(config_freep) Config *e = load_ok(f->conf);
        assert_defaults(e);
}

static void test_shipped(Fixture *f, gconstpointer data) {
        /* The example shipped in the repository parses to the defaults: it only has comments. */
        const char *src = g_getenv("VERTEX_SOURCE_DIR");
        if (!src) {
                g_test_skip("VERTEX_SOURCE_DIR not set");
                return;
        }
        g_autofree char *shipped = g_build_filename(src, "certd.conf", NULL);
        if (!g_file_test(shipped, G_FILE_TEST_EXISTS)) {
                g_test_skip("no certd.conf in the source tree");
                return;
        }
        _cleanup_(config_freep) Config *c = load_ok(shipped);
        assert_defaults(c);

        /* And uncommenting every "#Key=default" line gives the same defaults (the host name aside). */
        g_autofree char *text = NULL;
        g_assert_true(g_file_get_contents(shipped, &text, NULL, NULL));
        GString *out = g_string_new(NULL);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        unsigned uncommented = 0;
        for (char **l = lines; *l; l++) {
                /* The host name and the state directory differ between machines and build prefixes. */
                if ((*l)[0] == '#' && g_ascii_isupper((*l)[1]) && strchr(*l, '=') &&
                    !g_str_has_prefix(*l, "#ServerName=") && !strstr(*l, "Directory=")) {
                        g_string_append_printf(out, "%s\n", *l + 1);
                        uncommented++;
                } else
                        g_string_append_printf(out, "%s\n", *l);
        }
        g_assert_cmpuint(uncommented, ==, 16);
        g_assert_nonnull(strstr(text, "\n#ServerName=\n"));
        g_assert_nonnull(strstr(text, "\n#StoreDirectory=/var/lib/vertex-certd\n"));
        g_assert_nonnull(strstr(text, "\n#DropDirectory=/var/lib/vertex-certd/drop\n"));
        g_autofree char *copy = g_string_free(out, FALSE);
        write_file(f->conf, copy);
        _cleanup_(config_freep) Config *d = load_ok(f->conf);
        assert_defaults(d);
}

static void test_every_key(Fixture *f, gconstpointer data) {
        write_file(f->conf,
                   "[Certificates]\n"
                   "ServerName=console.example.com\n"
                   "AlternativeNames=www.example.com, 192.0.2.1 2001:db8::1\n"
                   "DropDirectory=/srv/drop\n"
                   "StoreDirectory=/srv/store\n"
                   "Units=a.service b@x.service\n"
                   "ReloadThrough=consumers@x.service\n"
                   "VerifyServing=no\n"
                   "VerifyAddresses=a.service=127.0.0.1:443 b@x.service=[::1]:8443\n"
                   "ReloadTimeoutSec=2min\n"
                   "KeepGenerations=9\n"
                   "ExpiryWarningDays=14\n"
                   "Policy=strict\n"
                   "SettleSec=500ms\n"
                   "MaxInputSize=2M\n"
                   "TrustStoreFile=/etc/ssl/certs/ca-certificates.crt\n"
                   "MetricsFile=/var/lib/prometheus/node-exporter/vertex-certd.prom\n"
                   "PendingRequestDays=7\n"
                   "MaxPendingRequests=3\n");
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        g_assert_cmpstr(c->server_name, ==, "console.example.com");
        assert_strv(c->alternative_names, (const char *[]) { "www.example.com", "192.0.2.1", "2001:db8::1", NULL });
        g_assert_cmpstr(c->drop_directory, ==, "/srv/drop");
        g_assert_cmpstr(c->store_directory, ==, "/srv/store");
        assert_strv(c->units, (const char *[]) { "a.service", "b@x.service", NULL });
        g_assert_cmpstr(c->reload_through, ==, "consumers@x.service");
        g_assert_false(c->verify_serving);
        assert_strv(c->verify_addresses, (const char *[]) { "a.service=127.0.0.1:443", "b@x.service=[::1]:8443", NULL });
        g_assert_cmpuint(c->reload_timeout_usec, ==, 120 * USEC_PER_SEC);
        g_assert_cmpuint(c->keep_generations, ==, 9);
        g_assert_cmpuint(c->expiry_warning_days, ==, 14);
        g_assert_cmpint(c->policy, ==, VALIDATE_POLICY_STRICT);
        g_assert_cmpuint(c->settle_usec, ==, 500 * USEC_PER_MSEC);
        g_assert_cmpuint(c->max_input_size, ==, 2 * 1024 * 1024);
        g_assert_cmpstr(c->metrics_file, ==, "/var/lib/prometheus/node-exporter/vertex-certd.prom");
        g_assert_cmpstr(c->trust_store_file, ==, "/etc/ssl/certs/ca-certificates.crt");
        g_assert_cmpuint(c->pending_request_days, ==, 7);
        g_assert_cmpuint(c->max_pending_requests, ==, 3);
}

static void test_values(Fixture *f, gconstpointer data) {
        const struct {
                const char *line;
                size_t offset;     /* into Config */
                uint64_t expected;
                int width;         /* 1: bool, 4: unsigned, 8: uint64_t */
        } cases[] = {
                { "VerifyServing=yes", offsetof(Config, verify_serving), 1, 1 },
                { "VerifyServing=TRUE", offsetof(Config, verify_serving), 1, 1 },
                { "VerifyServing=on", offsetof(Config, verify_serving), 1, 1 },
                { "VerifyServing=1", offsetof(Config, verify_serving), 1, 1 },
                { "VerifyServing=false", offsetof(Config, verify_serving), 0, 1 },
                { "VerifyServing=off", offsetof(Config, verify_serving), 0, 1 },
                { "VerifyServing=0", offsetof(Config, verify_serving), 0, 1 },
                { "ReloadTimeoutSec=30", offsetof(Config, reload_timeout_usec), 30 * USEC_PER_SEC, 8 },
                { "ReloadTimeoutSec=45s", offsetof(Config, reload_timeout_usec), 45 * USEC_PER_SEC, 8 },
                { "ReloadTimeoutSec=1min 30s", offsetof(Config, reload_timeout_usec), 90 * USEC_PER_SEC, 8 },
                { "ReloadTimeoutSec=1h", offsetof(Config, reload_timeout_usec), 3600 * USEC_PER_SEC, 8 },
                { "ReloadTimeoutSec=250ms", offsetof(Config, reload_timeout_usec), 250 * USEC_PER_MSEC, 8 },
                { "SettleSec=0", offsetof(Config, settle_usec), 0, 8 },
                { "SettleSec=10sec", offsetof(Config, settle_usec), 10 * USEC_PER_SEC, 8 },
                { "KeepGenerations=2", offsetof(Config, keep_generations), 2, 4 },
                { "ExpiryWarningDays=0", offsetof(Config, expiry_warning_days), 0, 4 },
                { "MaxInputSize=65536", offsetof(Config, max_input_size), 65536, 8 },
                { "MaxInputSize=512K", offsetof(Config, max_input_size), 512 * 1024, 8 },
                { "MaxInputSize=4KiB", offsetof(Config, max_input_size), 4096, 8 },
                { "MaxInputSize=64M", offsetof(Config, max_input_size), 64 * 1024 * 1024, 8 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = g_strdup_printf("[Certificates]\n%s\n", cases[i].line);
                g_test_message("%s", cases[i].line);
                write_file(f->conf, text);
                _cleanup_(config_freep) Config *c = load_ok(f->conf);
                const char *p = (const char *) c + cases[i].offset;
                uint64_t v = cases[i].width == 1 ? *(const bool *) p :
                             cases[i].width == 4 ? *(const unsigned *) p : *(const uint64_t *) p;
                g_assert_cmpuint(v, ==, cases[i].expected);
        }
}

static void test_bad_values(Fixture *f, gconstpointer data) {
        const struct {
                const char *line;
                const char *what;
        } cases[] = {
                { "ServerName=bad name", "neither a DNS name nor an IP address" },
                { "ServerName=*.example.com", "neither a DNS name nor an IP address" },
                { "AlternativeNames=ok.example.com a..b", "'a..b' is not a DNS name or an IP address" },
                { "AccessNames=console.example.com a..b", "'a..b' is not a DNS name or an IP address" },
                { "AccessNames=*.example.com", "'*.example.com' is not a DNS name or an IP address" },
                { "AccessNames=[2001:db8::10]", "'[2001:db8::10]' is not a DNS name or an IP address; write IPv6 "
                  "addresses without brackets, and no port, path or URL" },
                { "AccessNames=https://console.example.com", "'https://console.example.com' is not a DNS name or "
                  "an IP address; write IPv6 addresses without brackets, and no port, path or URL" },
                { "AccessNames=192.0.2.10:8443", "'192.0.2.10:8443' is not a DNS name or an IP address" },
                { "AccessNames=192.0.2.300", "'192.0.2.300' is not a DNS name or an IP address" },
                { "AccessNames=192.0.2.10 lb.example.com 192.0.2.10", "'192.0.2.10' is listed twice" },
                { "AccessNames=2001:db8::10 2001:DB8:0:0::10", "'2001:DB8:0:0::10' is listed twice (as '2001:db8::10')" },
                { "AccessNames=Console.Example.com console.example.COM",
                  "'console.example.COM' is listed twice (as 'Console.Example.com')" },
                { "DropDirectory=relative/drop", "not an absolute path" },
                { "StoreDirectory=store", "not an absolute path" },
                { "TrustStoreFile=ca.pem", "not an absolute path" },
                { "MetricsFile=vertex-certd.prom", "not an absolute path" },
                { "Units=vertex-console", "'vertex-console' is not a service unit name (NAME.service)" },
                { "Units=a.service b/c.service", "'b/c.service' is not a service unit name (NAME.service)" },
                { "Units=vertex.socket", "'vertex.socket' is not a service unit name (NAME.service)" },
                { "ReloadThrough=vertex-tls", "not a target or service unit name (NAME.target)" },
                { "ReloadThrough=vertex.socket", "not a target or service unit name (NAME.target)" },
                { "ReloadThrough=a.target b.target", "not a target or service unit name (NAME.target)" },
                { "VerifyServing=maybe", "not a boolean (yes/no, true/false, on/off, 1/0)" },
                { "VerifyAddresses=nginx.service", "'nginx.service' is not UNIT=ADDRESS (e.g. nginx.service=127.0.0.1:443)" },
                { "VerifyAddresses=127.0.0.1:443", "'127.0.0.1:443' is not UNIT=ADDRESS (e.g. nginx.service=127.0.0.1:443)" },
                { "VerifyAddresses=nginx=127.0.0.1:443",
                  "'nginx=127.0.0.1:443' is not UNIT=ADDRESS: UNIT is not a service unit name (NAME.service)" },
                { "VerifyAddresses=nginx.socket=127.0.0.1:443",
                  "'nginx.socket=127.0.0.1:443' is not UNIT=ADDRESS: UNIT is not a service unit name (NAME.service)" },
                { "VerifyAddresses==127.0.0.1:443",
                  "'=127.0.0.1:443' is not UNIT=ADDRESS: UNIT is not a service unit name (NAME.service)" },
                { "VerifyAddresses=nginx.service=443",
                  "'nginx.service=443' is not UNIT=ADDRESS: ADDRESS needs a host and a port (127.0.0.1:443, [::1]:443)" },
                { "VerifyAddresses=nginx.service=",
                  "'nginx.service=' is not UNIT=ADDRESS: ADDRESS needs a host and a port (127.0.0.1:443, [::1]:443)" },
                { "VerifyAddresses=nginx.service=localhost:443", "'nginx.service=localhost:443' is not UNIT=ADDRESS: "
                  "ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535" },
                { "VerifyAddresses=nginx.service=::1:443", "'nginx.service=::1:443' is not UNIT=ADDRESS: "
                  "ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535" },
                { "VerifyAddresses=nginx.service=[127.0.0.1]:443", "'nginx.service=[127.0.0.1]:443' is not UNIT=ADDRESS: "
                  "ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535" },
                { "VerifyAddresses=nginx.service=127.0.0.1:65536", "'nginx.service=127.0.0.1:65536' is not UNIT=ADDRESS: "
                  "ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535" },
                { "VerifyAddresses=nginx.service=127.0.0.1:https", "'nginx.service=127.0.0.1:https' is not UNIT=ADDRESS: "
                  "ADDRESS is not a numeric IPv4 HOST:PORT or [IPv6]:PORT, port 1 to 65535" },
                { "VerifyAddresses=nginx.service=127.0.0.1:0",
                  "'nginx.service=127.0.0.1:0' is not UNIT=ADDRESS: port 0 is no listener's port" },
                { "VerifyAddresses=vertex-console.service=127.0.0.1:8443 haproxy.service",
                  "'haproxy.service' is not UNIT=ADDRESS (e.g. nginx.service=127.0.0.1:443)" },
                { "ReloadTimeoutSec=soon", "not a time span (e.g. 30, 30s, 2min, 500ms)" },
                { "ReloadTimeoutSec=5 fortnights", "not a time span (e.g. 30, 30s, 2min, 500ms)" },
                { "ReloadTimeoutSec=-5", "not a time span (e.g. 30, 30s, 2min, 500ms)" },
                { "ReloadTimeoutSec=0", "must be longer than 0" },
                { "ReloadTimeoutSec=25h", "longer than 24 hours" },
                { "SettleSec=1.5s", "not a time span (e.g. 30, 30s, 2min, 500ms)" },
                { "KeepGenerations=1", "must be between 2 and 1000 (one to serve, one to roll back to)" },
                { "KeepGenerations=0", "must be between 2 and 1000 (one to serve, one to roll back to)" },
                { "KeepGenerations=five", "not a number" },
                { "KeepGenerations=5x", "not a number" },
                { "KeepGenerations=-3", "not a number" },
                { "KeepGenerations=99999999999999999999999", "must be between 2 and 1000 (one to serve, one to roll back to)" },
                { "ExpiryWarningDays=3651", "must be between 0 and 3650" },
                { "ExpiryWarningDays=0x10", "not a number of days" },
                { "Policy=lax", "unknown policy, expected 'fips' or 'strict'" },
                { "MaxInputSize=1K", "must be between 4K and 64M" },
                { "MaxInputSize=1G", "must be between 4K and 64M" },
                { "MaxInputSize=12X", "not a size (bytes, or with K, M, G)" },
                { "MaxInputSize=big", "not a size (bytes, or with K, M, G)" },
                { "PendingRequestDays=0", "must be between 1 and 3650" },
                { "PendingRequestDays=soon", "not a number of days" },
                { "MaxPendingRequests=0", "must be between 1 and 100" },
                { "MaxPendingRequests=101", "must be between 1 and 100" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = g_strdup_printf("[Certificates]\n# line 2\nKeepGenerations=3\n%s\n", cases[i].line);
                g_autofree char *expected = g_strdup_printf("%s:4: %s: %s", f->conf, cases[i].line, cases[i].what);
                g_test_message("%s", cases[i].line);
                write_file(f->conf, text);
                g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);
        }
}

static void test_carrier_in_units(Fixture *f, gconstpointer data) {
        g_autofree char *expected = g_strdup_printf("%s: ReloadThrough=b.service is also in Units=: "
                                                    "a unit cannot carry its own reload", f->conf);

        /* Each line is fine alone; together they are not, even from different files. */
        write_file(f->conf, "[Certificates]\nUnits=a.service b.service\n");
        g_free(write_dropin(f, "50-carrier.conf", "[Certificates]\nReloadThrough=b.service\n"));
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);
}

static void test_verify_addresses(Fixture *f, gconstpointer data) {
        /* Units= may come after, from another file: the check is on the whole configuration. */
        write_file(f->conf, "[Certificates]\nVerifyAddresses=nginx.service=127.0.0.1:8443\n"
                            "VerifyAddresses=nginx.service=[::1]:8443, haproxy.service=127.0.0.1:8445\n"
                            "VerifyAddresses=nginx.service=127.0.0.1:8443\n");
        g_autofree char *dropin = write_dropin(f, "50-units.conf", "[Certificates]\nUnits=nginx.service haproxy.service\n");
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        assert_strv(c->verify_addresses, (const char *[]) { "nginx.service=127.0.0.1:8443", "nginx.service=[::1]:8443",
                                                            "haproxy.service=127.0.0.1:8445", NULL });
        _cleanup_strv_free_ char **nginx = NULL, **haproxy = NULL, **none = NULL;
        g_assert_cmpint(config_verify_addresses_of(c->verify_addresses, "nginx.service", &nginx), ==, 0);
        assert_strv(nginx, (const char *[]) { "127.0.0.1:8443", "[::1]:8443", NULL });
        g_assert_cmpint(config_verify_addresses_of(c->verify_addresses, "haproxy.service", &haproxy), ==, 0);
        assert_strv(haproxy, (const char *[]) { "127.0.0.1:8445", NULL });
        /* A prefix of another unit's name is not that unit. */
        g_assert_cmpint(config_verify_addresses_of(c->verify_addresses, "nginx.servic", &none), ==, 0);
        assert_strv(none, (const char *[]) { NULL });

        /* An empty assignment empties the list. */
        write_file(dropin, "[Certificates]\nUnits=nginx.service haproxy.service\nVerifyAddresses=\n");
        _cleanup_(config_freep) Config *d = load_ok(f->conf);
        assert_strv(d->verify_addresses, (const char *[]) { NULL });

        /* A unit that is not reloaded is never checked: a mistake worth saying. */
        write_file(dropin, "[Certificates]\nUnits=nginx.service\n");
        g_autofree char *expected = g_strdup_printf("%s: VerifyAddresses=haproxy.service=127.0.0.1:8445: haproxy.service "
                                                    "is not in Units=: only the units in Units= are reloaded and checked",
                                                    f->conf);
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);
}

static void test_access_names(Fixture *f, gconstpointer data) {
        /* A list over several assignments and files, in order, IPv4 and IPv6 as written. */
        write_file(f->conf, "[Certificates]\nServerName=console.example.com\nAccessNames=192.0.2.10\n");
        g_free(write_dropin(f, "50-lb.conf", "[Certificates]\nAccessNames=2001:db8::10, lb.example.com\n"
                                             "AccessNames=::ffff:198.51.100.7\n"));
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        assert_strv(c->access_names, (const char *[]) { "192.0.2.10", "2001:db8::10", "lb.example.com",
                                                        "::ffff:198.51.100.7", NULL });

        /* Twice across files is refused where the second one is, not merged. */
        g_autofree char *dropin = write_dropin(f, "60-again.conf", "[Certificates]\n\nAccessNames=192.0.2.10\n");
        g_autofree char *expected = g_strdup_printf("%s:3: AccessNames=192.0.2.10: '192.0.2.10' is listed twice", dropin);
        load_fails(f->conf, expected);

        /* An empty assignment resets the list: then the name may come again. */
        write_file(dropin, "[Certificates]\nAccessNames=\nAccessNames=192.0.2.10\n");
        _cleanup_(config_freep) Config *d = load_ok(f->conf);
        assert_strv(d->access_names, (const char *[]) { "192.0.2.10", NULL });

        /* The primary name is not listed again, however written. */
        write_file(dropin, "[Certificates]\nServerName=2001:db8::10\n");
        g_autofree char *expected2 = g_strdup_printf("%s: AccessNames=2001:db8::10 is the ServerName= already: "
                                                     "list each name once", f->conf);
        load_fails(f->conf, expected2);
}

static void test_unknown_key(Fixture *f, gconstpointer data) {
        g_autofree char *expected = g_strdup_printf("%s:3: ServerNmae=x.example.com: unknown key in [Certificates]", f->conf);
        write_file(f->conf, "[Certificates]\nServerName=a.example.com\nServerNmae=x.example.com\n");
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);

        /* Keys are case-sensitive, as in systemd. */
        g_autofree char *expected2 = g_strdup_printf("%s:2: servername=x: unknown key in [Certificates]", f->conf);
        write_file(f->conf, "[Certificates]\nservername=x\n");
        load_fails(f->conf, expected2);
}

static void test_unknown_section(Fixture *f, gconstpointer data) {
        /* Reported even without a key in it. */
        g_autofree char *expected = g_strdup_printf("%s:4: [Certificate]: unknown section, expected [Certificates]", f->conf);
        write_file(f->conf, "[Certificates]\nServerName=a.example.com\n\n[Certificate]\n");
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);

        g_autofree char *expected2 = g_strdup_printf("%s:1: ServerName=a.example.com: assignment outside of section [Certificates]", f->conf);
        write_file(f->conf, "ServerName=a.example.com\n[Certificates]\n");
        load_fails(f->conf, expected2);

        g_autofree char *expected3 = g_strdup_printf("%s:2: '[Certificates': section header without ']'", f->conf);
        write_file(f->conf, "# x\n[Certificates\n");
        load_fails(f->conf, expected3);
}

static void test_syntax(Fixture *f, gconstpointer data) {
        g_autofree char *expected = g_strdup_printf("%s:3: 'KeepGenerations 3': expected Key=Value", f->conf);
        write_file(f->conf, "[Certificates]\n\nKeepGenerations 3\n");
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);

        /* The first error is the one reported, not a later one. */
        g_autofree char *expected2 = g_strdup_printf("%s:2: KeepGenerations=1: must be between 2 and 1000 (one to serve, one to roll back to)", f->conf);
        write_file(f->conf, "[Certificates]\nKeepGenerations=1\nPolicy=lax\nbroken\n");
        load_fails(f->conf, expected2);

        /* inih's line buffer is fixed: an overlong line is refused, not cut in two. */
        GString *s = g_string_new("[Certificates]\nAlternativeNames=");
        for (unsigned i = 0; i < 20; i++)
                g_string_append_printf(s, "host%02u.example.com ", i);
        g_string_append(s, "\n");
        g_autofree char *text = g_string_free(s, FALSE);
        g_autofree char *expected3 = g_strdup_printf("%s:2: line longer than 198 characters; split long lists over several assignments", f->conf);
        write_file(f->conf, text);
        load_fails(f->conf, expected3);
}

static void test_comments_whitespace(Fixture *f, gconstpointer data) {
        write_file(f->conf,
                   "\xEF\xBB\xBF# a comment after a byte order mark\r\n"
                   "; another\r\n"
                   "\r\n"
                   "   [Certificates]   \r\n"
                   "  ServerName   =   spaced.example.com   \r\n"
                   "\tKeepGenerations=3 ; trailing comment\r\n"
                   "    # indented comment\r\n"
                   "        ExpiryWarningDays = 7\r\n"
                   "AlternativeNames = a.example.com,b.example.com ,  c.example.com\r\n");
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        g_assert_cmpstr(c->server_name, ==, "spaced.example.com");
        g_assert_cmpuint(c->keep_generations, ==, 3);
        g_assert_cmpuint(c->expiry_warning_days, ==, 7);
        assert_strv(c->alternative_names, (const char *[]) { "a.example.com", "b.example.com", "c.example.com", NULL });
}

static void test_dropins(Fixture *f, gconstpointer data) {
        write_file(f->conf, "[Certificates]\nKeepGenerations=3\nAlternativeNames=main.example.com\nPolicy=strict\n");
        g_free(write_dropin(f, "20-late.conf", "[Certificates]\nKeepGenerations=7\nAlternativeNames=late.example.com\n"));
        g_free(write_dropin(f, "10-early.conf", "[Certificates]\nKeepGenerations=4\nAlternativeNames=early.example.com main.example.com\nExpiryWarningDays=9\n"));
        /* Not drop-ins: wrong suffix, hidden. */
        g_free(write_dropin(f, "30-backup.conf.bak", "[Certificates]\nKeepGenerations=99\n"));
        g_free(write_dropin(f, ".40-hidden.conf", "[Certificates]\nKeepGenerations=98\n"));
        g_free(write_dropin(f, "README", "not a config file"));

        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        g_assert_cmpuint(c->keep_generations, ==, 7);          /* 20 after 10 after the main file */
        g_assert_cmpuint(c->expiry_warning_days, ==, 9);
        g_assert_cmpint(c->policy, ==, VALIDATE_POLICY_STRICT); /* untouched by drop-ins */
        /* The first assignment replaced the default, later ones appended, each name once. */
        assert_strv(c->alternative_names, (const char *[]) { "main.example.com", "early.example.com", "late.example.com", NULL });

        /* Drop-ins apply without a main file too. */
        g_assert_cmpint(unlink(f->conf), ==, 0);
        _cleanup_(config_freep) Config *d = load_ok(f->conf);
        g_assert_cmpuint(d->keep_generations, ==, 7);
        assert_strv(d->alternative_names, (const char *[]) { "early.example.com", "main.example.com", "late.example.com", NULL });

        /* A drop-in linked to /dev/null is masked. */
        g_autofree char *masked = g_build_filename(f->dropins, "20-late.conf", NULL);
        g_assert_cmpint(unlink(masked), ==, 0);
        g_assert_cmpint(symlink("/dev/null", masked), ==, 0);
        _cleanup_(config_freep) Config *e = load_ok(f->conf);
        g_assert_cmpuint(e->keep_generations, ==, 4);
}

static void test_dropin_error(Fixture *f, gconstpointer data) {
        write_file(f->conf, "[Certificates]\nKeepGenerations=3\n");
        g_free(write_dropin(f, "10-good.conf", "[Certificates]\nPolicy=strict\n"));
        g_autofree char *bad = write_dropin(f, "50-bad.conf", "# comment\n[Certificates]\n\nVerifyServing=perhaps\n");
        g_autofree char *expected = g_strdup_printf("%s:4: VerifyServing=perhaps: not a boolean (yes/no, true/false, on/off, 1/0)", bad);
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EINVAL);
}

static void test_empty_resets(Fixture *f, gconstpointer data) {

        write_file(f->conf,
                   "[Certificates]\n"
                   "ServerName=x.example.com\n"
                   "AlternativeNames=a.example.com\n"
                   "Units=a.service\n"
                   "ReloadThrough=other.target\n"
                   "TrustStoreFile=/etc/ca.pem\n"
                   "KeepGenerations=9\n"
                   "Policy=strict\n");
        g_free(write_dropin(f, "50-reset.conf",
                            "[Certificates]\n"
                            "ServerName=\n"
                            "AlternativeNames=\n"
                            "AlternativeNames=b.example.com\n"
                            "Units=\n"
                            "ReloadThrough=\n"
                            "TrustStoreFile=\n"
                            "DropDirectory=\n"
                            "KeepGenerations=\n"
                            "Policy=\n"));
        _cleanup_(config_freep) Config *c = load_ok(f->conf);
        g_assert_cmpstr(c->server_name, ==, expected_host());
        assert_strv(c->alternative_names, (const char *[]) { "b.example.com", NULL });
        assert_strv(c->units, (const char *[]) { NULL });
        g_assert_nonnull(c->units);
        g_assert_cmpstr(c->reload_through, ==, "");   /* empty: one reload job per unit */
        g_assert_null(c->trust_store_file);
        g_assert_cmpstr(c->drop_directory, ==, "");   /* empty: the drop directory is off */
        g_assert_cmpuint(c->keep_generations, ==, 5);
        g_assert_cmpint(c->policy, ==, VALIDATE_POLICY_FIPS);
}

static void test_unreadable(Fixture *f, gconstpointer data) {
        /* The path is a directory. */
        g_assert_cmpint(g_mkdir(f->conf, 0755), ==, 0);
        g_autofree char *expected = g_strdup_printf("%s: cannot read: Is a directory", f->conf);
        g_assert_cmpint(load_fails(f->conf, expected), ==, -EISDIR);
        g_assert_cmpint(g_rmdir(f->conf), ==, 0);

        /* A drop-in that is a directory. */
        g_autofree char *sub = g_build_filename(f->dropins, "10-dir.conf", NULL);
        g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
        g_autofree char *expected2 = g_strdup_printf("%s: cannot read: Is a directory", sub);
        load_fails(f->conf, expected2);
        g_assert_cmpint(g_rmdir(sub), ==, 0);

        /* A dangling drop-in symlink. */
        g_autofree char *dangling = g_build_filename(f->dropins, "20-gone.conf", NULL);
        g_assert_cmpint(symlink("/nonexistent/x.conf", dangling), ==, 0);
        g_autofree char *expected3 = g_strdup_printf("%s: cannot open: No such file or directory", dangling);
        g_assert_cmpint(load_fails(f->conf, expected3), ==, -ENOENT);

        /* Permission denied only bites when not root. */
        if (geteuid() != 0) {
                g_assert_cmpint(unlink(dangling), ==, 0);
                write_file(f->conf, "[Certificates]\n");
                g_assert_cmpint(chmod(f->conf, 0), ==, 0);
                g_autofree char *expected4 = g_strdup_printf("%s: cannot open: Permission denied", f->conf);
                g_assert_cmpint(load_fails(f->conf, expected4), ==, -EACCES);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/config/defaults", test_defaults);
        ADD("/config/shipped-example", test_shipped);
        ADD("/config/every-key", test_every_key);
        ADD("/config/values", test_values);
        ADD("/config/bad-values", test_bad_values);
        ADD("/config/carrier-in-units", test_carrier_in_units);
        ADD("/config/verify-addresses", test_verify_addresses);
        ADD("/config/access-names", test_access_names);
        ADD("/config/unknown-key", test_unknown_key);
        ADD("/config/unknown-section", test_unknown_section);
        ADD("/config/syntax", test_syntax);
        ADD("/config/comments-whitespace", test_comments_whitespace);
        ADD("/config/dropins", test_dropins);
        ADD("/config/dropin-error", test_dropin_error);
        ADD("/config/empty-resets", test_empty_resets);
        ADD("/config/unreadable", test_unreadable);
        return g_test_run();
}
