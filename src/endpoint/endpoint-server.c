/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Server: accepts TLS connections on its listeners and answers HTTP/1.1
 * requests on them, keep-alive and pipelined, every socket nonblocking on one
 * sd-event loop. Each connection holds a reference to the ServingContext it
 * was accepted with and reports that context's fingerprint for as long as it
 * lives; server_set_context() only affects connections accepted later.
 *
 * Deliberately a reference endpoint, not a web server: GET/HEAD of two fixed
 * paths, no request bodies beyond discarding a Content-Length, no chunked
 * encoding, no TLS renegotiation.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "endpoint-server.h"

#define CONNECTIONS_MAX 4096
#define REQUEST_MAX 8192
#define IDLE_TIMEOUT_USEC (60 * USEC_PER_SEC)
#define ACCEPT_BURST 64

typedef struct Connection Connection;

struct Connection {
        Server *server;
        Connection *prev, *next;

        int fd;
        SSL *ssl;
        ServingContext *sc;
        sd_event_source *io;
        sd_event_source *idle;

        bool handshake_done;
        bool close_after_write;

        char in[REQUEST_MAX];
        size_t in_len;
        uint64_t discard;  /* request body bytes still to skip */

        char *out;
        size_t out_len, out_off;
};

typedef struct Listener {
        Server *server;
        int fd;
        sd_event_source *io;
} Listener;

struct Server {
        sd_event *event;
        char *name;
        ServingContext *sc;

        Listener *listeners;
        size_t n_listeners;

        Connection *connections;
        size_t n_connections;
};

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;

        if (c->server) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->server->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                c->server->n_connections--;
        }

        c->io = sd_event_source_disable_unref(c->io);
        c->idle = sd_event_source_disable_unref(c->idle);
        SSL_free(c->ssl);
        safe_close(c->fd);
        serving_context_unref(c->sc);
        free(c->out);
        free(c);
        ERR_clear_error();
        return NULL;
}

static void connection_close(Connection *c) {
        /* A close_notify if it fits into the socket buffer; never wait for the peer's. */
        if (c->ssl && c->handshake_done)
                (void) SSL_shutdown(c->ssl);
        connection_free(c);
}

static int connection_touch(Connection *c) {
        int r;

        r = sd_event_source_set_time_relative(c->idle, IDLE_TIMEOUT_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

static int append(Connection *c, const char *data, size_t size) {
        char *n;

        n = realloc(c->out, c->out_len + size);
        if (!n)
                return -ENOMEM;
        memcpy(n + c->out_len, data, size);
        c->out = n;
        c->out_len += size;
        return 0;
}

static int respond(Connection *c, int status, const char *reason, const char *content_type,
                   const char *extra_headers, const char *body, bool head) {
        _cleanup_free_ char *header = NULL;
        size_t body_len = strlen(body);
        int n, r;

        n = asprintf(&header,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, reason, content_type, body_len, extra_headers ?: "",
                     c->close_after_write ? "close" : "keep-alive");
        if (n < 0)
                return -ENOMEM;

        r = append(c, header, n);
        if (r < 0)
                return r;
        if (!head)
                r = append(c, body, body_len);
        return r;
}

/* Header value of `name` in the header block, or NULL. Case-insensitive name, leading blanks skipped. */
static const char *find_header(const char *headers, const char *name, size_t *ret_len) {
        size_t l = strlen(name);

        for (const char *p = headers; p && *p; ) {
                const char *eol = strstr(p, "\r\n");

                if (!eol)
                        break;
                if ((size_t) (eol - p) > l && strncasecmp(p, name, l) == 0 && p[l] == ':') {
                        const char *v = p + l + 1;

                        while (*v == ' ' || *v == '\t')
                                v++;
                        *ret_len = eol - v;
                        while (*ret_len > 0 && (v[*ret_len - 1] == ' ' || v[*ret_len - 1] == '\t'))
                                (*ret_len)--;
                        return v;
                }
                p = eol + 2;
        }
        return NULL;
}

static bool header_has_token(const char *v, size_t len, const char *token) {
        size_t l = strlen(token);

        /* Connection: is a comma-separated token list. */
        for (size_t i = 0; i + l <= len; i++)
                if (strncasecmp(v + i, token, l) == 0 &&
                    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
                    (i + l == len || v[i + l] == ',' || v[i + l] == ' '))
                        return true;
        return false;
}

/* Handles one complete request of length `len` (header block including the blank line). */
static int connection_handle_request(Connection *c, char *request, size_t len) {
        char *line_end, *method, *target, *version, *headers, *sp1, *sp2;
        const char *v;
        size_t vlen;
        bool http10, head;

        request[len - 2] = '\0';  /* keeps the last header's CRLF, drops the blank line's */
        line_end = strstr(request, "\r\n");
        if (!line_end) {
                c->close_after_write = true;
                return respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
        }
        *line_end = '\0';
        headers = line_end + 2;

        method = request;
        sp1 = strchr(method, ' ');
        sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
                c->close_after_write = true;
                return respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
        }
        *sp1 = *sp2 = '\0';
        target = sp1 + 1;
        version = sp2 + 1;

        if (streq(version, "HTTP/1.1"))
                http10 = false;
        else if (streq(version, "HTTP/1.0"))
                http10 = true;
        else {
                c->close_after_write = true;
                return respond(c, 505, "HTTP Version Not Supported", "text/plain", NULL, "HTTP/1.1 only\n", false);
        }

        v = find_header(headers, "Connection", &vlen);
        if (http10)
                c->close_after_write = !v || !header_has_token(v, vlen, "keep-alive");
        else
                c->close_after_write = v && header_has_token(v, vlen, "close");

        if (find_header(headers, "Transfer-Encoding", &vlen)) {
                c->close_after_write = true;
                return respond(c, 501, "Not Implemented", "text/plain", NULL, "no request bodies\n", false);
        }

        v = find_header(headers, "Content-Length", &vlen);
        if (v) {
                char buf[32], *end;
                unsigned long long n;

                if (vlen == 0 || vlen >= sizeof(buf)) {
                        c->close_after_write = true;
                        return respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
                }
                memcpy(buf, v, vlen);
                buf[vlen] = '\0';
                errno = 0;
                n = strtoull(buf, &end, 10);
                if (errno != 0 || *end != '\0' || buf[0] == '-') {
                        c->close_after_write = true;
                        return respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
                }
                c->discard = n;
        }

        head = streq(method, "HEAD");
        if (!head && !streq(method, "GET"))
                return respond(c, 405, "Method Not Allowed", "text/plain", "Allow: GET, HEAD\r\n",
                               "method not allowed\n", false);

        /* Query strings do not select anything here. */
        target[strcspn(target, "?")] = '\0';

        if (streq(target, "/")) {
                _cleanup_free_ char *body = NULL;

                /* name is restricted to [A-Za-z0-9._-] and the fingerprint to hex and colons: no escaping needed. */
                if (asprintf(&body, "{\"endpoint\":\"%s\",\"fingerprint\":\"%s\"}\n",
                             c->server->name, c->sc->fingerprint) < 0)
                        return -ENOMEM;
                return respond(c, 200, "OK", "application/json", NULL, body, head);
        }

        if (streq(target, "/healthz"))
                return respond(c, 200, "OK", "text/plain", NULL, "ok\n", head);

        return respond(c, 404, "Not Found", "text/plain", NULL, "not found\n", head);
}

/*
 * Takes the next complete request out of the input buffer. Returns 1 when one
 * was handled (a response is queued), 0 when more input is needed, -errno.
 */
static int connection_process_input(Connection *c) {
        char *end;
        size_t len;
        int r;

        if (c->discard > 0) {
                size_t n = c->discard < c->in_len ? (size_t) c->discard : c->in_len;

                memmove(c->in, c->in + n, c->in_len - n);
                c->in_len -= n;
                c->discard -= n;
                if (c->discard > 0)
                        return 0;
        }

        end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) {
                if (c->in_len >= sizeof(c->in)) {
                        c->close_after_write = true;
                        r = respond(c, 431, "Request Header Fields Too Large", "text/plain", NULL,
                                    "request too large\n", false);
                        c->in_len = 0;
                        return r < 0 ? r : 1;
                }
                if (memchr(c->in, '\0', c->in_len)) {
                        c->close_after_write = true;
                        r = respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
                        c->in_len = 0;
                        return r < 0 ? r : 1;
                }
                return 0;
        }

        len = end - c->in + 4;
        {
                char request[REQUEST_MAX + 1];

                memcpy(request, c->in, len);
                request[len] = '\0';
                memmove(c->in, c->in + len, c->in_len - len);
                c->in_len -= len;

                if (memchr(request, '\0', len)) {
                        c->close_after_write = true;
                        r = respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", false);
                } else
                        r = connection_handle_request(c, request, len);
        }
        if (r < 0)
                return r;

        (void) connection_touch(c);
        return 1;
}

/* Maps an SSL_ERROR_WANT_* to the io events to wait for. Returns 0 to wait, -errno to close. */
static int connection_want(Connection *c, int ret) {
        switch (SSL_get_error(c->ssl, ret)) {
        case SSL_ERROR_WANT_READ:
                return sd_event_source_set_io_events(c->io, EPOLLIN);
        case SSL_ERROR_WANT_WRITE:
                return sd_event_source_set_io_events(c->io, EPOLLOUT);
        case SSL_ERROR_ZERO_RETURN:
                return -ECONNRESET;  /* the peer's close_notify */
        default:
                return -EPROTO;
        }
}

/* Drives the connection as far as it can go without blocking. Returns 0 or -errno (close it). */
static int connection_run(Connection *c) {
        int r, n;

        if (!c->handshake_done) {
                n = SSL_accept(c->ssl);
                if (n != 1)
                        return connection_want(c, n);
                c->handshake_done = true;
                (void) connection_touch(c);
        }

        for (;;) {
                if (c->out_off < c->out_len) {
                        n = SSL_write(c->ssl, c->out + c->out_off, (int) (c->out_len - c->out_off));
                        if (n <= 0)
                                return connection_want(c, n);
                        c->out_off += n;
                        if (c->out_off < c->out_len)
                                continue;

                        c->out_off = c->out_len = 0;
                        if (c->close_after_write)
                                return -ECONNRESET;
                        continue;
                }

                r = connection_process_input(c);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;

                n = SSL_read(c->ssl, c->in + c->in_len, (int) (sizeof(c->in) - c->in_len));
                if (n <= 0)
                        return connection_want(c, n);
                c->in_len += n;
        }
}

static int connection_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;

        if (connection_run(c) < 0)
                connection_close(c);
        return 0;
}

static int connection_on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        connection_close(userdata);
        return 0;
}

static int connection_new(Server *s, int fd) {
        Connection *c;
        int r;

        c = calloc(1, sizeof(Connection));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;
        c->sc = serving_context_ref(s->sc);

        c->ssl = SSL_new(c->sc->ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
                r = -ENOMEM;
                goto fail;
        }

        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, connection_on_io, c);
        if (r < 0)
                goto fail;
        /* Handshake and idle timeout alike: a silent peer does not hold a slot forever. */
        r = sd_event_add_time_relative(s->event, &c->idle, CLOCK_MONOTONIC, IDLE_TIMEOUT_USEC, 0,
                                       connection_on_idle, c);
        if (r < 0)
                goto fail;

        c->server = s;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;
        return 0;

fail:
        connection_free(c);
        return r;
}

static int listener_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;

        for (unsigned i = 0; i < ACCEPT_BURST; i++) {
                int cfd;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        /* EAGAIN: drained. EMFILE and friends: the next wake-up tries again. */
                        break;
                }

                if (l->server->n_connections >= CONNECTIONS_MAX) {
                        safe_close(cfd);
                        continue;
                }

                (void) connection_new(l->server, cfd);
        }
        return 0;
}

int server_new(sd_event *event, const char *name, ServingContext *sc, Server **ret) {
        Server *s;

        assert(event);
        assert(name);
        assert(sc);
        assert(ret);

        s = calloc(1, sizeof(Server));
        if (!s)
                return -ENOMEM;
        s->name = strdup(name);
        if (!s->name) {
                free(s);
                return -ENOMEM;
        }
        s->event = sd_event_ref(event);
        s->sc = serving_context_ref(sc);

        *ret = s;
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;

        while (s->connections)
                connection_close(s->connections);

        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].io);
                safe_close(s->listeners[i].fd);
        }
        free(s->listeners);

        serving_context_unref(s->sc);
        sd_event_unref(s->event);
        free(s->name);
        free(s);
        return NULL;
}

int server_add_listener(Server *s, int fd) {
        Listener *n;
        int flags, r;

        assert(s);
        assert(fd >= 0);

        /* Sockets from systemd may be blocking; the accept loop must not be. */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();

        n = reallocarray(s->listeners, s->n_listeners + 1, sizeof(Listener));
        if (!n)
                return -ENOMEM;
        s->listeners = n;

        /* The listener array may move: the event sources point at the server, re-point them all. */
        n[s->n_listeners] = (Listener) { .server = s, .fd = fd };
        r = sd_event_add_io(s->event, &n[s->n_listeners].io, fd, EPOLLIN, listener_on_io, NULL);
        if (r < 0)
                return r;
        s->n_listeners++;

        for (size_t i = 0; i < s->n_listeners; i++)
                (void) sd_event_source_set_userdata(s->listeners[i].io, &s->listeners[i]);
        return 0;
}

void server_set_context(Server *s, ServingContext *sc) {
        assert(s);
        assert(sc);

        serving_context_unref(s->sc);
        s->sc = serving_context_ref(sc);
}

size_t server_n_connections(const Server *s) {
        return s->n_connections;
}

size_t server_n_listeners(const Server *s) {
        return s->n_listeners;
}
