/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The HTTPS side of vertex-endpoint: listening sockets, TLS connections and
 * the two resources it answers (GET / and GET /healthz), all on one sd-event
 * loop.
 */

#include <stddef.h>

#include <systemd/sd-event.h>

#include "endpoint-tls.h"

typedef struct Server Server;

/* name is the endpoint's name shown in GET /; [A-Za-z0-9._-] only. Returns 0 or -errno. */
int server_new(sd_event *event, const char *name, ServingContext *sc, Server **ret);
/* Closes every connection at once and the listeners. */
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* Takes ownership of fd (a listening stream socket) on success. Returns 0 or -errno. */
int server_add_listener(Server *s, int fd);

/* New handshakes use sc from now on; established connections keep theirs. */
void server_set_context(Server *s, ServingContext *sc);

size_t server_n_connections(const Server *s);
size_t server_n_listeners(const Server *s);
