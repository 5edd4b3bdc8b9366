/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Probe: one TLS client handshake with one listen address, reporting the
 * fingerprint of the leaf certificate the server presented. Everything is
 * nonblocking on the caller's sd-event loop: connect, handshake and the
 * overall timeout are event sources.
 *
 * Deliberately does not verify the certificate chain or the name: the caller
 * compares the fingerprint with the one it just installed, which is a
 * stronger statement than "some trusted certificate". It does not retry
 * either; retrying with back-off is the caller's policy (reload.c).
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

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certinfo.h"
#include "macro.h"
#include "probe.h"
#include "socket-address.h"

struct Probe {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer;
        SSL_CTX *ctx;
        SSL *ssl;
        int fd;
        bool connected;

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
        if (p->ssl) {
                /* Best effort close_notify; a nonblocking write that does not fit is fine to drop. */
                if (p->connected)
                        (void) SSL_shutdown(p->ssl);
                SSL_free(p->ssl);
                p->ssl = NULL;
        }
        p->fd = safe_close(p->fd);
        p->connected = false;
}

/* Calls done at most once; the callback may free the probe, so nothing touches p afterwards. */
static void probe_finish(Probe *p, int r, const char *fingerprint) {
        probe_done_t done = p->done;

        p->done = NULL;
        p->timer = sd_event_source_disable_unref(p->timer);
        probe_close(p);
        ERR_clear_error();

        if (done)
                done(p, r, fingerprint, p->userdata);
}

Probe *probe_free(Probe *p) {
        if (!p)
                return NULL;

        p->done = NULL;
        p->timer = sd_event_source_disable_unref(p->timer);
        probe_close(p);
        SSL_CTX_free(p->ctx);
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

static int probe_set_events(Probe *p, uint32_t events) {
        return sd_event_source_set_io_events(p->io, events);
}

static void probe_handshake(Probe *p) {
        char fingerprint[CERT_FINGERPRINT_MAX];
        int r, e;

        r = SSL_connect(p->ssl);
        if (r == 1) {
                X509 *leaf = SSL_get0_peer_certificate(p->ssl);

                p->connected = true;
                if (!leaf)
                        return probe_finish(p, -EPROTO, NULL);
                if (cert_fingerprint(leaf, fingerprint) < 0)
                        return probe_finish(p, -EIO, NULL);
                return probe_finish(p, 0, fingerprint);
        }

        e = SSL_get_error(p->ssl, r);
        switch (e) {
        case SSL_ERROR_WANT_READ:
                r = probe_set_events(p, EPOLLIN);
                break;
        case SSL_ERROR_WANT_WRITE:
                r = probe_set_events(p, EPOLLOUT);
                break;
        case SSL_ERROR_SYSCALL:
                /* A reset or EOF during the handshake: the listener is there, TLS is not working. */
                r = errno == ECONNRESET || errno == EPIPE ? -ECONNRESET : -EPROTO;
                break;
        default:
                r = -EPROTO;
        }
        if (r < 0)
                probe_finish(p, r, NULL);
}

static int probe_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Probe *p = userdata;

        if (!p->ssl) {
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
                        probe_finish(p, -error, NULL);
                        return 0;
                }

                p->ssl = SSL_new(p->ctx);
                if (!p->ssl || SSL_set_fd(p->ssl, p->fd) != 1) {
                        probe_finish(p, -ENOMEM, NULL);
                        return 0;
                }
                if (p->server_name && SSL_set_tlsext_host_name(p->ssl, p->server_name) != 1) {
                        probe_finish(p, -EINVAL, NULL);
                        return 0;
                }
        }

        probe_handshake(p);
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
        probe_finish(userdata, -ETIMEDOUT, NULL);
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

        p->ctx = SSL_CTX_new(TLS_client_method());
        if (!p->ctx) {
                r = -ENOMEM;
                goto fail;
        }
        /* We want the leaf whatever it is: compare fingerprints, do not verify. */
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
        (void) SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);

        r = sd_event_add_time_relative(event, &p->timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                       probe_on_timeout, p);
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
        ERR_clear_error();
        return r;
}
