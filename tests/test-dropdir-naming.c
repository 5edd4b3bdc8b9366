/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which dropped file names make which bundle: dropdir-naming.c. */

#include <glib.h>

#include "dropdir-naming.h"

static void assert_classify(const char *file, int part, const char *name) {
        char *n = NULL;
        int r = drop_name_classify(file, &n);

        g_assert_cmpint(r, ==, part);
        g_assert_cmpstr(n, ==, name);
        free(n);
}

static void test_classify(void) {
        assert_classify("console.crt", DROP_PART_CERT, "console");
        assert_classify("console.cert", DROP_PART_CERT, "console");
        assert_classify("console.pem", DROP_PART_CERT, "console");
        assert_classify("console.key", DROP_PART_KEY, "console");
        assert_classify("console.ca.crt", DROP_PART_CA, "console");
        assert_classify("console.ca.pem", DROP_PART_CA, "console");
        assert_classify("console-ca.pem", DROP_PART_CA, "console");
        assert_classify("api.example.com.crt", DROP_PART_CERT, "api.example.com");
        assert_classify("tls.crt", DROP_PART_CERT, "tls");

        assert_classify(".console.crt", -EINVAL, NULL);
        assert_classify("..data", -EINVAL, NULL);
        assert_classify("console.crt~", -EINVAL, NULL);
        assert_classify("console.crt.tmp", -EINVAL, NULL);
        assert_classify("console.error", -EINVAL, NULL);
        assert_classify(".crt", -EINVAL, NULL);
        assert_classify("README", -EINVAL, NULL);
        assert_classify("", -EINVAL, NULL);
}

static const DropGroup *find(const DropGroup *g, int n, const char *name) {
        for (int i = 0; i < n; i++)
                if (g_str_equal(g[i].name, name))
                        return &g[i];
        return NULL;
}

static void test_group(void) {
        char *names[] = {
                "console.crt", "grpc.key", "console.key", "console.ca.crt", "grpc.pem",
                "single.pem", ".hidden.key", "notes.txt", "api-ca.pem", "api.cert", "api.key",
        };
        DropGroup *g = NULL;
        const DropGroup *x;
        int n;

        n = drop_names_group(names, G_N_ELEMENTS(names), &g);
        g_assert_cmpint(n, ==, 4);
        /* in order of first appearance */
        g_assert_cmpstr(g[0].name, ==, "console");
        g_assert_cmpstr(g[1].name, ==, "grpc");

        x = find(g, n, "console");
        g_assert_cmpstr(x->files[DROP_PART_CERT], ==, "console.crt");
        g_assert_cmpstr(x->files[DROP_PART_KEY], ==, "console.key");
        g_assert_cmpstr(x->files[DROP_PART_CA], ==, "console.ca.crt");
        x = find(g, n, "grpc");
        g_assert_cmpstr(x->files[DROP_PART_CERT], ==, "grpc.pem");
        g_assert_cmpstr(x->files[DROP_PART_KEY], ==, "grpc.key");
        g_assert_null(x->files[DROP_PART_CA]);
        x = find(g, n, "single");
        g_assert_cmpstr(x->files[DROP_PART_CERT], ==, "single.pem");
        g_assert_null(x->files[DROP_PART_KEY]);
        x = find(g, n, "api");
        g_assert_cmpstr(x->files[DROP_PART_CERT], ==, "api.cert");
        g_assert_cmpstr(x->files[DROP_PART_CA], ==, "api-ca.pem");
        drop_groups_free(g, (size_t) n);
}

static void test_cert_manager(void) {
        char *with_tls[] = { "ca.crt", "tls.key", "tls.crt" };
        char *alone[] = { "ca.crt", "ca.key" };
        DropGroup *g = NULL;
        int n;

        n = drop_names_group(with_tls, G_N_ELEMENTS(with_tls), &g);
        g_assert_cmpint(n, ==, 1);
        g_assert_cmpstr(g[0].name, ==, "tls");
        g_assert_cmpstr(g[0].files[DROP_PART_CERT], ==, "tls.crt");
        g_assert_cmpstr(g[0].files[DROP_PART_KEY], ==, "tls.key");
        g_assert_cmpstr(g[0].files[DROP_PART_CA], ==, "ca.crt");
        drop_groups_free(g, (size_t) n);

        /* Without tls.*, ca.crt + ca.key is an ordinary bundle named "ca" (validation refuses a CA). */
        n = drop_names_group(alone, G_N_ELEMENTS(alone), &g);
        g_assert_cmpint(n, ==, 1);
        g_assert_cmpstr(g[0].name, ==, "ca");
        g_assert_cmpstr(g[0].files[DROP_PART_CERT], ==, "ca.crt");
        g_assert_cmpstr(g[0].files[DROP_PART_KEY], ==, "ca.key");
        drop_groups_free(g, (size_t) n);
}

static void test_two_candidates(void) {
        char *names[] = { "console.pem", "console.key", "console.crt" };
        DropGroup *g = NULL;
        int n;

        /* .crt outranks .pem; the .pem waits for the next round. */
        n = drop_names_group(names, G_N_ELEMENTS(names), &g);
        g_assert_cmpint(n, ==, 1);
        g_assert_cmpstr(g[0].files[DROP_PART_CERT], ==, "console.crt");
        drop_groups_free(g, (size_t) n);

        n = drop_names_group(NULL, 0, &g);
        g_assert_cmpint(n, ==, 0);
        drop_groups_free(g, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/dropdir-naming/classify", test_classify);
        g_test_add_func("/dropdir-naming/group", test_group);
        g_test_add_func("/dropdir-naming/cert-manager", test_cert_manager);
        g_test_add_func("/dropdir-naming/two-candidates", test_two_candidates);
        return g_test_run();
}
