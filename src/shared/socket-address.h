/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Numeric TCP socket addresses as operators write them: "127.0.0.1:8443",
 * "[::1]:8443" or a bare "8443". Shared by vertex-endpoint's --listen and the
 * probe, which differ only in what a bare port means.
 */

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct SocketAddress {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_un un;
                struct sockaddr_storage storage;
        };
        socklen_t len;
} SocketAddress;

/*
 * "V4:PORT", "[V6]:PORT" or "PORT" (then the host is default_host, e.g. "::"
 * or "127.0.0.1"). The host must be numeric and not empty; an IPv6 host needs
 * brackets, since "::1:8443" is itself an IPv6 address. Port 0 is accepted:
 * callers that cannot use it refuse it. Returns 0 or -EINVAL/-ENOMEM.
 */
int socket_address_parse(const char *address, const char *default_host, SocketAddress *ret);

/* The port in host byte order; 0 for a family without one. */
uint16_t socket_address_port(const SocketAddress *a);

/* "V4:PORT" or "[V6]:PORT" in *ret (to free). Returns 0, -EAFNOSUPPORT or -ENOMEM. */
int socket_address_format(const SocketAddress *a, char **ret);
