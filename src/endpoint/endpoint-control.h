/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The endpoint's control socket, shared by vertex-endpoint (which listens on
 * it) and vertex-endpoint-reload (its ExecReload= client). Plain libc: the
 * client runs as root without a sandbox and links nothing else.
 *
 * Protocol: the client sends "reload\n"; the endpoint answers one line,
 * "ok FINGERPRINT\n" when the new pair serves, "error: MESSAGE\n" when it
 * kept the old one, and closes.
 */

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#define ENDPOINT_CONTROL_REPLY_MAX 1024

/* 1-64 of [A-Za-z0-9._-], not starting with a dot: it names files and sockets. */
bool endpoint_name_is_valid(const char *name);

/*
 * $RUNTIME_DIRECTORY/NAME.sock (its first entry when several): a file the
 * unit's user alone can reach. Without a runtime directory, the abstract
 * socket "@vertex-endpoint/NAME". Returns 0 or -ENOMEM.
 */
int endpoint_control_path(const char *name, char **ret);

/* A file system path, or "@NAME" for the abstract namespace. Returns 0 or -ENAMETOOLONG. */
int endpoint_control_sockaddr(const char *path, struct sockaddr_un *ret_sa, socklen_t *ret_len);
