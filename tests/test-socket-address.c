/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket-address: the address forms operators write, and the ones refused. */

#include <arpa/inet.h>
#include <glib.h>

#include "socket-address.h"

static void assert_parses(const char *address, const char *default_host, int family, const char *host, uint16_t port) {
        SocketAddress a = {};
        char buf[INET6_ADDRSTRLEN];

        g_assert_cmpint(socket_address_parse(address, default_host, &a), ==, 0);
        g_assert_cmpint(a.sa.sa_family, ==, family);
        g_assert_cmpuint(socket_address_port(&a), ==, port);
        const void *raw = family == AF_INET ? (const void *) &a.in.sin_addr : (const void *) &a.in6.sin6_addr;
        g_assert_nonnull(inet_ntop(family, raw, buf, sizeof(buf)));
        g_assert_cmpstr(buf, ==, host);
}

static void test_forms(void) {
        assert_parses("127.0.0.1:8443", "::", AF_INET, "127.0.0.1", 8443);
        assert_parses("[::1]:9443", "::", AF_INET6, "::1", 9443);
        assert_parses("[0:0:0:0:0:0:0:1]:1", "::", AF_INET6, "::1", 1);
        /* A bare port takes the caller's default host. */
        assert_parses("8443", "::", AF_INET6, "::", 8443);
        assert_parses("8443", "127.0.0.1", AF_INET, "127.0.0.1", 8443);
        assert_parses("0.0.0.0:0", "::", AF_INET, "0.0.0.0", 0);
}

static void test_refused(void) {
        static const char *const bad[] = {
                "",
                ":8443",               /* empty host */
                "[]:8443",
                "::1:8443",            /* IPv6 without brackets is ambiguous */
                "[::1]8443",
                "[::1",
                "127.0.0.1:",
                "127.0.0.1:65536",
                "127.0.0.1:-1",
                "127.0.0.1:84x3",
                "localhost:8443",      /* numeric hosts only */
                "300.0.0.1:8443",
                "[127.0.0.1]:8443",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                SocketAddress a = {};
                g_test_message("'%s'", bad[i]);
                g_assert_cmpint(socket_address_parse(bad[i], "::", &a), ==, -EINVAL);
        }
}

static void test_format(void) {
        SocketAddress a = {};
        g_autofree char *v4 = NULL, *v6 = NULL;

        g_assert_cmpint(socket_address_parse("192.0.2.7:443", "::", &a), ==, 0);
        g_assert_cmpint(socket_address_format(&a, &v4), ==, 0);
        g_assert_cmpstr(v4, ==, "192.0.2.7:443");
        g_assert_cmpint(socket_address_parse("[2001:db8::1]:8444", "::", &a), ==, 0);
        g_assert_cmpint(socket_address_format(&a, &v6), ==, 0);
        g_assert_cmpstr(v6, ==, "[2001:db8::1]:8444");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/socket-address/forms", test_forms);
        g_test_add_func("/socket-address/refused", test_refused);
        g_test_add_func("/socket-address/format", test_format);
        return g_test_run();
}
