/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Probe: one TLS client handshake with one listen address, reporting the
 * fingerprint of the leaf certificate the server presented. Nonblocking on
 * the caller's sd-event loop: the connect here, the handshake in a forked
 * child (probe-handshake.c, for the daemon's memory), whose answer arrives
 * on a pipe; the overall timeout kills it.
 *
 * Deliberately does not verify the certificate chain or the name: the caller
 * compares the fingerprint with the one it just installed, which is a
 * stronger statement than "some trusted certificate". It does not retry
 * either; retrying with back-off is the caller's policy (reload-verify.c).
 */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "certinfo.h"
#include "macro.h"
#include "probe-handshake.h"
#include "probe.h"
#include "socket-address.h"
#include "worker.h"

struct Probe {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer;
        uint64_t deadline;     /* CLOCK_MONOTONIC */
        int fd;                /* while connecting */
        pid_t child;           /* while the handshake runs */
        int result_fd;         /* its answer */

        /* Candidate addresses, tried in order when one cannot even be reached locally. */
        SocketAddress addrs[2];
        size_t n_addrs, current_addr;

        char *server_name;
        probe_done_t done;
        void *userdata;
};

static int probe_connect_next(Probe *p);

/* Errors that mean "this address family or address does not exist here", worth trying the next candidate. */
static bool errno_is_local_unreachable(int e) {
        return e == EADDRNOTAVAIL || e == ENETUNREACH || e == EAFNOSUPPORT;
}

static void probe_close(Probe *p) {
        p->io = sd_event_source_disable_unref(p->io);
        p->fd = safe_close(p->fd);
        p->result_fd = safe_close(p->result_fd);
        /* Still running: cancelled or timed out. */
        worker_reap(p->child, true);
        p->child = 0;
}

/* Calls done at most once; the callback may free the probe, so nothing touches p afterwards. */
static void probe_finish(Probe *p, int r, const char *fingerprint, const char *reason) {
        probe_done_t done = p->done;

        p->done = NULL;
        p->timer = sd_event_source_disable_unref(p->timer);
        probe_close(p);

        if (done)
                done(p, r, fingerprint, reason, p->userdata);
}

Probe *probe_free(Probe *p) {
        if (!p)
                return NULL;

        p->done = NULL;
        p->timer = sd_event_source_disable_unref(p->timer);
        probe_close(p);
        sd_event_unref(p->event);
        free(p->server_name);
        free(p);
        return NULL;
}

/* Turns "[v6]:port", "v4:port", "port" or "/unix/path" into candidate socket addresses. */
static int probe_parse_address(Probe *p, const char *address) {
        SocketAddress *a = &p->addrs[0];
        int r;

        if (isempty(address))
                return -EINVAL;

        if (address[0] == '/') {
                size_t l = strlen(address);

                if (l >= sizeof(a->un.sun_path))
                        return -EINVAL;
                a->un.sun_family = AF_UNIX;
                memcpy(a->un.sun_path, address, l + 1);
                a->len = offsetof(struct sockaddr_un, sun_path) + l + 1;
                p->n_addrs = 1;
                return 0;
        }

        r = socket_address_parse(address, "127.0.0.1", a);
        if (r < 0)
                return r;
        if (socket_address_port(a) == 0)
                return -EINVAL;
        p->n_addrs = 1;

        /*
         * A wildcard listener is reachable on loopback. systemd shows a plain
         * "ListenStream=8443" as "[::]:8443", which is dual-stack on most hosts
         * but IPv4 only where IPv6 is disabled: try ::1 first, then 127.0.0.1.
         */
        if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr)) {
                a->in6.sin6_addr = in6addr_loopback;
                p->addrs[1].in.sin_family = AF_INET;
                p->addrs[1].in.sin_port = a->in6.sin6_port;
                p->addrs[1].in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                p->addrs[1].len = sizeof(struct sockaddr_in);
                p->n_addrs = 2;
        } else if (a->sa.sa_family == AF_INET && a->in.sin_addr.s_addr == htonl(INADDR_ANY))
                a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

        return 0;
}

static int probe_on_result(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Probe *p = userdata;
        char fingerprint[CERT_FINGERPRINT_MAX], reason[PROBE_REASON_MAX];
        int r;

        r = probe_handshake_read(p->result_fd, fingerprint, reason);
        if (r == -EAGAIN)
                return 0;
        /* It has answered (or died): it exits at once, reaping does not wait. */
        worker_reap(p->child, false);
        p->child = 0;
        probe_finish(p, r, (r >= 0 || r == -EPROTO) && fingerprint[0] ? fingerprint : NULL,
                     r == -EPROTO ? reason : NULL);
        return 0;
}

/* Connected: hand the socket to a child for the handshake, wait for its answer. */
static int probe_start_handshake(Probe *p) {
        uint64_t now;
        int r;

        r = sd_event_now(p->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (now >= p->deadline)
                return -ETIMEDOUT;

        r = probe_handshake_fork(p->fd, p->server_name, p->deadline - now, &p->child, &p->result_fd);
        if (r < 0)
                return r;
        /* The child has its own copy of the socket. */
        p->io = sd_event_source_disable_unref(p->io);
        p->fd = safe_close(p->fd);
        return sd_event_add_io(p->event, &p->io, p->result_fd, EPOLLIN, probe_on_result, p);
}

static int probe_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Probe *p = userdata;
        int error = 0;
        socklen_t len = sizeof(error);

        /* Connect finished (or failed): SO_ERROR says which. */
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        if (error != 0) {
                if (errno_is_local_unreachable(error) && p->current_addr + 1 < p->n_addrs) {
                        probe_close(p);
                        p->current_addr++;
                        error = -probe_connect_next(p);
                        if (error == 0)
                                return 0;
                }
                probe_finish(p, -error, NULL, NULL);
                return 0;
        }

        error = probe_start_handshake(p);
        if (error < 0)
                probe_finish(p, error, NULL, NULL);
        return 0;
}

static int probe_connect_next(Probe *p) {
        int r;

        p->fd = socket(p->addrs[p->current_addr].sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0)
                return negative_errno();

        if (connect(p->fd, &p->addrs[p->current_addr].sa, p->addrs[p->current_addr].len) < 0 &&
            errno != EINPROGRESS) {
                r = negative_errno();
                p->fd = safe_close(p->fd);
                if (errno_is_local_unreachable(-r) && p->current_addr + 1 < p->n_addrs) {
                        p->current_addr++;
                        return probe_connect_next(p);
                }
                return r;
        }

        /* Connected or in progress: EPOLLOUT fires either way, SO_ERROR tells. */
        return sd_event_add_io(p->event, &p->io, p->fd, EPOLLOUT, probe_on_io, p);
}

static int probe_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        probe_finish(userdata, -ETIMEDOUT, NULL, NULL);
        return 0;
}

int probe_start(sd_event *event, const char *address, const char *server_name,
                uint64_t timeout_usec, probe_done_t done, void *userdata, Probe **ret) {
        Probe *p;
        int r;

        assert(event);
        assert(done);
        assert(ret);

        p = calloc(1, sizeof(Probe));
        if (!p)
                return -ENOMEM;
        p->fd = -EBADF;
        p->result_fd = -EBADF;
        p->event = sd_event_ref(event);
        p->done = done;
        p->userdata = userdata;

        r = probe_parse_address(p, address);
        if (r < 0)
                goto fail;

        if (server_name) {
                p->server_name = strdup(server_name);
                if (!p->server_name) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = sd_event_now(event, CLOCK_MONOTONIC, &p->deadline);
        if (r < 0)
                goto fail;
        p->deadline += timeout_usec;
        r = sd_event_add_time(event, &p->timer, CLOCK_MONOTONIC, p->deadline, 0, probe_on_timeout, p);
        if (r < 0)
                goto fail;

        r = probe_connect_next(p);
        if (r < 0)
                goto fail;

        *ret = p;
        return 0;

fail:
        p->done = NULL;
        probe_free(p);
        return r;
}
