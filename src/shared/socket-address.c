/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * SocketAddress: the one parser for "HOST:PORT" strings, so that what
 * vertex-endpoint listens on and what the probe connects to follow the same
 * rules (brackets for IPv6, numeric hosts, ports up to 65535).
 *
 * Deliberately does not resolve host names (that would block, and listen
 * addresses are numeric), handle AF_UNIX paths, or decide what a wildcard
 * address means to a client: those are the callers' business.
 */

#include <arpa/inet.h>
#include <stdbool.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "socket-address.h"

static int split_host_port(const char *address, const char *default_host, char **ret_host, uint16_t *ret_port) {
        _cleanup_free_ char *host = NULL;
        const char *port_str, *colon;
        unsigned long port;
        char *end;

        if (address[0] == '[') {
                const char *close = strchr(address, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                host = strndup(address + 1, close - address - 1);
                port_str = close + 2;
        } else if ((colon = strrchr(address, ':'))) {
                if (strchr(address, ':') != colon)
                        return -EINVAL;
                host = strndup(address, colon - address);
                port_str = colon + 1;
        } else {
                host = strdup(default_host);
                port_str = address;
        }
        if (!host)
                return -ENOMEM;
        if (isempty(host))
                return -EINVAL;

        errno = 0;
        port = strtoul(port_str, &end, 10);
        if (errno != 0 || end == port_str || *end != '\0' || port > 65535)
                return -EINVAL;

        *ret_host = TAKE_PTR(host);
        *ret_port = port;
        return 0;
}

int socket_address_parse(const char *address, const char *default_host, SocketAddress *ret) {
        _cleanup_free_ char *host = NULL;
        SocketAddress a = {};
        uint16_t port;
        int r;

        assert(default_host);
        assert(ret);

        if (isempty(address))
                return -EINVAL;

        r = split_host_port(address, default_host, &host, &port);
        if (r < 0)
                return r;

        /* Brackets are for IPv6 only (RFC 3986): "[127.0.0.1]:8443" is a typo, not an address. */
        bool bracketed = address[0] == '[';
        if (!bracketed && inet_pton(AF_INET, host, &a.in.sin_addr) == 1) {
                a.in.sin_family = AF_INET;
                a.in.sin_port = htons(port);
                a.len = sizeof(a.in);
        } else if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
                a.in6.sin6_family = AF_INET6;
                a.in6.sin6_port = htons(port);
                a.len = sizeof(a.in6);
        } else
                return -EINVAL;

        *ret = a;
        return 0;
}

uint16_t socket_address_port(const SocketAddress *a) {
        assert(a);

        switch (a->sa.sa_family) {
        case AF_INET:
                return ntohs(a->in.sin_port);
        case AF_INET6:
                return ntohs(a->in6.sin6_port);
        default:
                return 0;
        }
}

int socket_address_format(const SocketAddress *a, char **ret) {
        char buf[INET6_ADDRSTRLEN], *s;
        const void *addr;
        int family;

        assert(a);
        assert(ret);

        family = a->sa.sa_family;
        if (family == AF_INET)
                addr = &a->in.sin_addr;
        else if (family == AF_INET6)
                addr = &a->in6.sin6_addr;
        else
                return -EAFNOSUPPORT;

        if (!inet_ntop(family, addr, buf, sizeof(buf)))
                return negative_errno();
        if (asprintf(&s, family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf, socket_address_port(a)) < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}
