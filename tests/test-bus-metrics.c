/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MetricsFile=: the node_exporter textfile the daemon writes, read back and
 * compared with the bus properties after the first boot, an install, a
 * refusal and a restart. (The system tier scrapes the same file through the
 * real prometheus-node-exporter.)
 */

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pki.h"
#include "bus-assert.h"
#include "test-util.h"

static char *metrics_dir;

static void setup_metrics(BusFixture *f, gconstpointer data) {
        g_autofree char *config = NULL;

        metrics_dir = g_dir_make_tmp("vertex-metrics-XXXXXX", NULL);
        g_assert_nonnull(metrics_dir);
        config = g_strdup_printf("MetricsFile=%s/vertex-certd.prom", metrics_dir);
        bus_fixture_setup(f, config);
}

static void teardown_metrics(BusFixture *f, gconstpointer data) {
        bus_fixture_teardown(f);
        g_autoptr(GDir) d = g_dir_open(metrics_dir, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
                g_autofree char *p = g_build_filename(metrics_dir, n, NULL);
                g_unlink(p);
        }
        g_rmdir(metrics_dir);
        g_clear_pointer(&metrics_dir, g_free);
}

/* The value of one sample line ("NAME VALUE" or "NAME{labels} VALUE"), or NULL. */
static char *sample(const char *text, const char *name_and_labels) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        size_t n = strlen(name_and_labels);

        for (char **l = lines; *l; l++)
                if (strncmp(*l, name_and_labels, n) == 0 && (*l)[n] == ' ')
                        return g_strdup(*l + n + 1);
        return NULL;
}

static char *read_metrics(void) {
        g_autofree char *path = g_build_filename(metrics_dir, "vertex-certd.prom", NULL);
        char *text = NULL;
        struct stat st;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0644);
        /* Only the file itself: no temporary file left beside it. The daemon may be writing it again
         * this very moment (after its start it rewrites the file as the endpoints are checked), so a
         * temporary file gets up to 2 s to be renamed over it; one that stays was left behind. */
        guint n = 0;
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                g_autoptr(GDir) d = g_dir_open(metrics_dir, 0, NULL);
                n = 0;
                while (g_dir_read_name(d))
                        n++;
                if (n == 1)
                        break;
                g_usleep(20 * 1000);
        }
        g_assert_cmpuint(n, ==, 1);
        return text;
}

static void assert_sample(const char *text, const char *metric, const char *value) {
        g_autofree char *got = sample(text, metric);
        g_test_message("%s", metric);
        g_assert_cmpstr(got, ==, value);
}

static void assert_sample_u64(const char *text, const char *metric, guint64 value) {
        g_autofree char *want = g_strdup_printf("%" G_GUINT64_FORMAT, value);
        assert_sample(text, metric, want);
}

/* Every certificate metric against the properties the bus shows. */
static void assert_served(BusFixture *f, const char *text, const char *source, int self_signed) {
        guint64 not_after = bus_get_u64(f, "NotAfter");
        g_autofree char *fingerprint = bus_get_string(f, "Fingerprint");
        g_autofree char *subject = bus_get_string(f, "Subject");
        g_autofree char *issuer = bus_get_string(f, "Issuer");
        g_autofree char *info = g_strdup_printf(
                "vertex_certd_certificate_info{source=\"%s\",subject=\"%s\",issuer=\"%s\",fingerprint=\"%s\","
                "server_name=\"%s\"}", source, subject, issuer, fingerprint, SERVER_NAME);

        assert_sample_u64(text, "vertex_certd_certificate_not_after_seconds", not_after / G_USEC_PER_SEC);
        assert_sample_u64(text, "vertex_certd_certificate_not_before_seconds",
                          bus_get_u64(f, "NotBefore") / G_USEC_PER_SEC);
        assert_sample_u64(text, "vertex_certd_certificate_days_left",
                          (not_after - (guint64) g_get_real_time()) / (G_GUINT64_CONSTANT(86400) * G_USEC_PER_SEC));
        assert_sample_u64(text, "vertex_certd_certificate_generation", bus_get_u64(f, "Generation"));
        assert_sample_u64(text, "vertex_certd_certificate_self_signed", self_signed);
        assert_sample_u64(text, "vertex_certd_last_install_timestamp_seconds",
                          bus_get_u64(f, "InstalledAt") / G_USEC_PER_SEC);
        assert_sample(text, info, "1");
        assert_sample(text, "vertex_certd_state{state=\"serving\"}", "1");
        g_assert_nonnull(strstr(text, "# TYPE vertex_certd_certificate_not_after_seconds gauge\n"));
}

static void test_metrics(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autoptr(GError) error = NULL;

        /* First boot: the self-signed default, no refusal yet. */
        g_autofree char *first = read_metrics();
        assert_served(f, first, "self-signed", 1);
        assert_sample(first, "vertex_certd_last_refusal_timestamp_seconds", "0");
        g_assert_null(strstr(first, "vertex_certd_last_refusal_info"));

        /* An upload: rewritten at once. */
        install_ok(f, c, NULL, NULL);
        g_autofree char *installed = read_metrics();
        assert_served(f, installed, "bus", 0);
        assert_sample(installed, "vertex_certd_certificate_generation", "2");

        /* A refusal: its time and name, the served certificate unchanged. */
        gint64 before = g_get_real_time() / G_USEC_PER_SEC;
        g_autoptr(GVariant) reply = install(f, c->leaf_pem, c->key_pem, c->root_pem, &error);
        g_assert_null(reply);
        g_autofree char *refused = read_metrics();
        assert_served(f, refused, "bus", 0);
        assert_sample(refused, "vertex_certd_last_refusal_info{error=\"ChainIncomplete\"}", "1");
        g_autofree char *when = sample(refused, "vertex_certd_last_refusal_timestamp_seconds");
        g_assert_nonnull(when);
        g_assert_cmpint(g_ascii_strtoll(when, NULL, 10), >=, before);
        g_assert_cmpint(g_ascii_strtoll(when, NULL, 10), <=, g_get_real_time() / G_USEC_PER_SEC);

        /* A restart writes it again from the store. */
        g_autofree char *path = g_build_filename(metrics_dir, "vertex-certd.prom", NULL);
        bus_fixture_stop_daemon(f);
        g_assert_cmpint(g_unlink(path), ==, 0);
        bus_fixture_start_daemon(f);
        g_autofree char *restarted = read_metrics();
        assert_served(f, restarted, "bus", 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add("/bus/metrics/textfile", BusFixture, NULL, setup_metrics, test_metrics, teardown_metrics);
        return g_test_run();
}
