/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-rotate-load: the load half of bench/rotate-under-load.sh. Runs inside
 * the system container, one thread, nonblocking sockets on one epoll:
 *
 *   --clients N     connections that each do, over and over: connect, full
 *                   TLS handshake (no session resumption), GET / with
 *                   "Connection: close", read the answer, close; the port
 *                   changes on every round (8443, 8444, 8445, …);
 *   --keepalive M   long-lived connections that exchange GET / requests
 *                   every --interval-ms on the same TLS session.
 *
 * It counts failures and checks every certificate against what the driver
 * (the shell script, on stdin) says may be served. Commands, one a line,
 * each answered with one line on stdout:
 *
 *   allow FP...     a rotation starts: FP... may be served from now on
 *                   (the one being replaced and the new one)      -> "ok"
 *   done FP T       the rotation completed at CLOCK_REALTIME T (ns): from
 *                   T on only FP may be served                     -> "ok"
 *   stats           the counters                                   -> "stats k=v …"
 *   quit            close everything, print the counters, exit     -> "stats k=v …"
 *
 * What counts as a wrong certificate (see bench/README.md):
 *   - a handshake's leaf fingerprint must be in the union of the allowed sets
 *     in force between the moment its connect() started and the moment the
 *     handshake completed; and a handshake whose connect() started at or
 *     after the T of a "done FP T" must have presented FP. The second rule is
 *     also applied after the fact to handshakes that completed before the
 *     "done" line was read (a ring of recent handshakes), so that the pipe's
 *     latency does not hide a late endpoint;
 *   - every answer's body names the fingerprint of the context that
 *     answered: it must equal the leaf of the connection's own handshake
 *     (an established connection keeps its certificate across a reload).
 *
 * Deliberately not: a certificate validator (fingerprints are compared, which
 * is stricter), nor an HTTP client beyond Content-Length bodies.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define FP_MAX 128
#define FPS_MAX 4096
#define EPOCHS_MAX 8192
#define RING_SIZE 16384
#define IN_MAX 8192
#define PORTS_MAX 8
#define EPOCH_SET_MAX 2

/* ------------------------------------------------------------------ clocks */

static uint64_t now_ns(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t mono_ms(void) {
        return now_ns(CLOCK_MONOTONIC) / 1000000ULL;
}

/* ------------------------------------------------------------ fingerprints */

/* Fingerprints are interned: an index is cheaper to keep per handshake than a string. */
static char *fps[FPS_MAX];
static int n_fps;

static void normalize_fp(char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'F')
                        *s = (char) (*s - 'A' + 'a');
}

static int fp_intern(const char *fp) {
        char buf[FP_MAX];

        snprintf(buf, sizeof(buf), "%s", fp);
        normalize_fp(buf);
        for (int i = 0; i < n_fps; i++)
                if (strcmp(fps[i], buf) == 0)
                        return i;
        if (n_fps >= FPS_MAX)
                return -1;
        fps[n_fps] = strdup(buf);
        if (!fps[n_fps])
                return -1;
        return n_fps++;
}

static const char *fp_name(int i) {
        return i >= 0 && i < n_fps ? fps[i] : "(none)";
}

/* --------------------------------------------------------- allowed epochs */

/* Each allow/done line opens an epoch: the set of fingerprints that may be served in it. */
typedef struct Epoch {
        int set[EPOCH_SET_MAX];
        int n;
} Epoch;

static Epoch epochs[EPOCHS_MAX];
static int cur_epoch;            /* index of the epoch in force; epochs[0] allows anything until the first line */

static bool epoch_range_allows(int from, int to, int fp) {
        for (int e = from; e <= to; e++) {
                if (epochs[e].n == 0)
                        return true;
                for (int i = 0; i < epochs[e].n; i++)
                        if (epochs[e].set[i] == fp)
                                return true;
        }
        return false;
}

/* Recent handshakes, for the after-the-fact "done" rule. */
typedef struct Record {
        uint64_t start_rt;   /* CLOCK_REALTIME ns of connect() */
        int fp;
        int port;
        bool wrong;          /* already counted */
} Record;

static Record ring[RING_SIZE];
static uint64_t ring_n;

/* -------------------------------------------------------------- counters */

static struct {
        uint64_t hs_ok, hs_failed;
        uint64_t req_ok, req_failed;
        uint64_t ka_req_ok, ka_dropped, ka_connect_failed;
        uint64_t wrong_handshake, wrong_after_done, wrong_answer;
        uint64_t fail_refused, fail_reset, fail_eof, fail_timeout, fail_tls, fail_http, fail_other;
} st;

static int verbose_budget = 30;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
        va_list ap;

        if (verbose_budget <= 0)
                return;
        verbose_budget--;
        va_start(ap, fmt);
        fprintf(stderr, "bench-rotate-load: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* ------------------------------------------------------------ connections */

typedef enum Kind { KIND_HANDSHAKE, KIND_KEEPALIVE } Kind;

typedef enum State {
        ST_IDLE,         /* waiting to (re)connect or for the next keep-alive request */
        ST_CONNECTING,
        ST_HANDSHAKE,
        ST_WRITING,
        ST_READING,
} State;

typedef enum Failure { F_REFUSED, F_RESET, F_EOF, F_TIMEOUT, F_TLS, F_HTTP, F_OTHER } Failure;

typedef struct Conn {
        int id;
        Kind kind;
        State state;
        int fd;
        SSL *ssl;
        int port_index;
        unsigned round;

        uint64_t start_rt;       /* CLOCK_REALTIME at connect() */
        int start_epoch;
        int fp;                  /* the handshake's leaf, -1 before */
        bool established;        /* keep-alive: handshake done, counted */

        uint64_t deadline_ms;    /* current operation's */
        uint64_t wake_ms;        /* ST_IDLE: when to go on */

        char out[512];
        size_t out_len, out_off;
        char in[IN_MAX];
        size_t in_len;
        uint32_t events;         /* registered with epoll */
} Conn;

static int epfd = -1;
static SSL_CTX *ctx;
static int ports[PORTS_MAX];
static int n_ports;
static const char *server_name = "appliance.vertex.test";
static unsigned timeout_ms = 5000;
static unsigned interval_ms = 10;
static unsigned reconnect_ms = 20;
static Conn *conns;
static int n_conns;

static void count_failure(Failure f) {
        switch (f) {
        case F_REFUSED: st.fail_refused++; break;
        case F_RESET:   st.fail_reset++; break;
        case F_EOF:     st.fail_eof++; break;
        case F_TIMEOUT: st.fail_timeout++; break;
        case F_TLS:     st.fail_tls++; break;
        case F_HTTP:    st.fail_http++; break;
        default:        st.fail_other++; break;
        }
}

static const char *failure_name(Failure f) {
        static const char *const names[] = { "refused", "reset", "eof", "timeout", "tls", "http", "other" };
        return names[f];
}

static void conn_watch(Conn *c, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = c };

        if (c->fd < 0 || c->events == events)
                return;
        if (epoll_ctl(epfd, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0) {
                perror("epoll_ctl");
                exit(EXIT_FAILURE);
        }
        c->events = events;
}

static void conn_reset(Conn *c, uint64_t wake_after_ms) {
        if (c->ssl) {
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        if (c->fd >= 0) {
                /* Closing removes it from the epoll set. */
                close(c->fd);
                c->fd = -1;
        }
        c->events = 0;
        c->state = ST_IDLE;
        c->fp = -1;
        c->established = false;
        c->in_len = 0;
        c->out_len = c->out_off = 0;
        c->wake_ms = mono_ms() + wake_after_ms;
}

static Failure classify_errno(int e) {
        switch (e) {
        case ECONNREFUSED: return F_REFUSED;
        case ECONNRESET: case EPIPE: return F_RESET;
        case ETIMEDOUT: return F_TIMEOUT;
        default: return F_OTHER;
        }
}

/* The connection failed. Where it was decides what is counted. */
static void conn_fail(Conn *c, Failure f, const char *what) {
        const char *port_s = "";
        char buf[16];

        snprintf(buf, sizeof(buf), "%d", ports[c->port_index]);
        port_s = buf;
        count_failure(f);

        if (c->kind == KIND_KEEPALIVE) {
                if (c->established) {
                        st.ka_dropped++;
                        note("keep-alive connection %d to port %s dropped (%s, %s)", c->id, port_s, failure_name(f), what);
                } else {
                        st.ka_connect_failed++;
                        st.hs_failed++;
                        note("keep-alive connection %d to port %s failed its handshake (%s, %s)", c->id, port_s,
                             failure_name(f), what);
                }
        } else if (c->fp < 0) {
                st.hs_failed++;
                note("handshake %d to port %s failed (%s, %s)", c->id, port_s, failure_name(f), what);
        } else {
                st.req_failed++;
                note("request on new connection %d to port %s failed after the handshake (%s, %s)", c->id, port_s,
                     failure_name(f), what);
        }
        conn_reset(c, reconnect_ms);
}

static void conn_start(Conn *c) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        int one = 1;

        c->port_index = (int) ((unsigned) c->id + c->round++) % n_ports;
        if (c->kind == KIND_KEEPALIVE)
                c->port_index = c->id % n_ports;
        sa.sin_port = htons((uint16_t) ports[c->port_index]);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
                perror("socket");
                exit(EXIT_FAILURE);
        }
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->start_rt = now_ns(CLOCK_REALTIME);
        c->start_epoch = cur_epoch;
        c->fp = -1;
        c->deadline_ms = mono_ms() + timeout_ms;
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                conn_fail(c, classify_errno(errno), "connect");
                return;
        }
        c->state = ST_CONNECTING;
        conn_watch(c, EPOLLOUT);
}

/* SHA-256 of the leaf, "aa:bb:…", interned. */
static int peer_fingerprint(SSL *ssl) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char hex[FP_MAX];
        X509 *x = SSL_get1_peer_certificate(ssl);
        size_t off = 0;

        if (!x)
                return -1;
        if (X509_digest(x, EVP_sha256(), md, &n) != 1) {
                X509_free(x);
                return -1;
        }
        X509_free(x);
        for (unsigned i = 0; i < n && off + 4 < sizeof(hex); i++)
                off += (size_t) snprintf(hex + off, sizeof(hex) - off, "%s%02x", i ? ":" : "", md[i]);
        return fp_intern(hex);
}

static void conn_queue_request(Conn *c) {
        int n = snprintf(c->out, sizeof(c->out), "GET / HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n", server_name,
                         c->kind == KIND_KEEPALIVE ? "keep-alive" : "close");
        c->out_len = (size_t) n;
        c->out_off = 0;
        c->in_len = 0;
        c->state = ST_WRITING;
        c->deadline_ms = mono_ms() + timeout_ms;
}

/* The handshake is complete: judge the certificate, then send the request. */
static void conn_handshake_done(Conn *c) {
        c->fp = peer_fingerprint(c->ssl);
        if (c->fp < 0) {
                conn_fail(c, F_TLS, "no peer certificate");
                return;
        }
        if (c->kind == KIND_HANDSHAKE)
                st.hs_ok++;
        else
                c->established = true;

        Record *r = &ring[ring_n++ % RING_SIZE];
        *r = (Record) { .start_rt = c->start_rt, .fp = c->fp, .port = ports[c->port_index] };
        if (!epoch_range_allows(c->start_epoch, cur_epoch, c->fp)) {
                st.wrong_handshake++;
                r->wrong = true;
                note("port %d served %s, which was not allowed (epochs %d..%d)", ports[c->port_index],
                     fp_name(c->fp), c->start_epoch, cur_epoch);
        }
        conn_queue_request(c);
}

/* A full response in c->in? Returns 1 and its parts, 0 when more is needed, -1 when it is garbage. */
static int parse_response(Conn *c, int *ret_status, int *ret_fp, bool *ret_close, size_t *ret_total) {
        char *end, *p;
        size_t head_len, body_len = 0;
        int status;

        c->in[c->in_len < IN_MAX ? c->in_len : IN_MAX - 1] = 0;
        end = strstr(c->in, "\r\n\r\n");
        if (!end)
                return c->in_len >= IN_MAX - 1 ? -1 : 0;
        head_len = (size_t) (end - c->in) + 4;
        if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
                return -1;
        p = strcasestr(c->in, "\r\nContent-Length:");
        if (p && p < end)
                body_len = strtoul(p + 17, NULL, 10);
        if (head_len + body_len >= IN_MAX)
                return -1;
        if (c->in_len < head_len + body_len)
                return 0;

        *ret_close = false;
        p = strcasestr(c->in, "\r\nConnection:");
        if (p && p < end) {
                char *eol = strstr(p + 2, "\r\n");
                char save = *eol;
                *eol = 0;
                *ret_close = strcasestr(p + 13, "close") != NULL;
                *eol = save;
        }

        *ret_fp = -1;
        char save = c->in[head_len + body_len];
        c->in[head_len + body_len] = 0;
        p = strstr(c->in + head_len, "\"fingerprint\":\"");
        if (p) {
                char fp[FP_MAX];
                size_t k = 0;
                for (p += 15; *p && *p != '"' && k + 1 < sizeof(fp); p++)
                        fp[k++] = *p;
                fp[k] = 0;
                *ret_fp = fp_intern(fp);
        }
        c->in[head_len + body_len] = save;
        *ret_status = status;
        *ret_total = head_len + body_len;
        return 1;
}

static void conn_response(Conn *c, int status, int body_fp, bool server_closes) {
        if (status != 200) {
                conn_fail(c, F_HTTP, "status not 200");
                return;
        }
        if (body_fp != c->fp) {
                st.wrong_answer++;
                note("port %d answered for %s on a connection that was handshaked with %s", ports[c->port_index],
                     fp_name(body_fp), fp_name(c->fp));
        }
        if (c->kind == KIND_HANDSHAKE) {
                st.req_ok++;
                conn_reset(c, 0);
                return;
        }
        st.ka_req_ok++;
        if (server_closes) {
                conn_fail(c, F_EOF, "the server announced Connection: close");
                return;
        }
        c->state = ST_IDLE;
        c->in_len = 0;
        c->wake_ms = mono_ms() + interval_ms;
        conn_watch(c, EPOLLIN);  /* an unexpected close while idle is noticed */
}

/* Maps SSL_get_error() to the events to wait for; fails the connection otherwise. */
static bool conn_ssl_want(Conn *c, int ret, const char *what) {
        int e = SSL_get_error(c->ssl, ret);
        unsigned long err;

        switch (e) {
        case SSL_ERROR_WANT_READ:
                conn_watch(c, EPOLLIN);
                return true;
        case SSL_ERROR_WANT_WRITE:
                conn_watch(c, EPOLLOUT);
                return true;
        case SSL_ERROR_ZERO_RETURN:
                conn_fail(c, F_EOF, what);
                return false;
        case SSL_ERROR_SYSCALL:
                err = ERR_get_error();
                ERR_clear_error();
                if (err == 0 && errno != 0 && errno != EAGAIN)
                        conn_fail(c, classify_errno(errno), what);
                else
                        conn_fail(c, err ? F_TLS : F_EOF, what);
                return false;
        default:
                err = ERR_peek_last_error();
                /* An unexpected EOF is how a killed server looks to OpenSSL 3. */
                if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                        ERR_clear_error();
                        conn_fail(c, F_EOF, what);
                } else {
                        char buf[256];
                        ERR_error_string_n(err, buf, sizeof(buf));
                        ERR_clear_error();
                        note("%s: %s", what, buf);
                        conn_fail(c, F_TLS, what);
                }
                return false;
        }
}

/* Drives one connection as far as it goes without blocking. */
static void conn_run(Conn *c) {
        for (;;) {
                switch (c->state) {
                case ST_IDLE:
                        if (c->fd >= 0) {
                                /* Keep-alive between requests: data or EOF now is the server closing. */
                                char b;
                                int r = SSL_peek(c->ssl, &b, 1);
                                if (r > 0) {
                                        conn_fail(c, F_HTTP, "unsolicited data");
                                        return;
                                }
                                (void) conn_ssl_want(c, r, "idle keep-alive connection");
                        }
                        return;

                case ST_CONNECTING: {
                        int err = 0;
                        socklen_t len = sizeof(err);
                        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                err = errno;
                        if (err != 0) {
                                conn_fail(c, classify_errno(err), "connect");
                                return;
                        }
                        c->ssl = SSL_new(ctx);
                        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
                            SSL_set_tlsext_host_name(c->ssl, server_name) != 1) {
                                fprintf(stderr, "bench-rotate-load: SSL_new failed\n");
                                exit(EXIT_FAILURE);
                        }
                        SSL_set_connect_state(c->ssl);
                        c->state = ST_HANDSHAKE;
                        break;
                }

                case ST_HANDSHAKE: {
                        int r;
                        ERR_clear_error();
                        errno = 0;
                        r = SSL_do_handshake(c->ssl);
                        if (r == 1) {
                                conn_handshake_done(c);
                                if (c->state != ST_WRITING)
                                        return;
                                break;
                        }
                        (void) conn_ssl_want(c, r, "handshake");
                        return;
                }

                case ST_WRITING: {
                        int r;
                        ERR_clear_error();
                        errno = 0;
                        r = SSL_write(c->ssl, c->out + c->out_off, (int) (c->out_len - c->out_off));
                        if (r > 0) {
                                c->out_off += (size_t) r;
                                if (c->out_off == c->out_len)
                                        c->state = ST_READING;
                                break;
                        }
                        (void) conn_ssl_want(c, r, "write");
                        return;
                }

                case ST_READING: {
                        int r, status, body_fp;
                        bool closes;
                        size_t total;
                        ERR_clear_error();
                        errno = 0;
                        r = SSL_read(c->ssl, c->in + c->in_len, (int) (IN_MAX - 1 - c->in_len));
                        if (r <= 0) {
                                (void) conn_ssl_want(c, r, "read");
                                return;
                        }
                        c->in_len += (size_t) r;
                        r = parse_response(c, &status, &body_fp, &closes, &total);
                        if (r < 0) {
                                conn_fail(c, F_HTTP, "unparseable response");
                                return;
                        }
                        if (r == 0)
                                break;
                        conn_response(c, status, body_fp, closes);
                        return;
                }
                }
        }
}

/* Timeouts, keep-alive pacing, reconnects. Returns the ms until the next thing is due. */
static int conns_tick(void) {
        uint64_t now = mono_ms(), next = now + 100;

        for (int i = 0; i < n_conns; i++) {
                Conn *c = &conns[i];
                if (c->state == ST_IDLE) {
                        if (c->wake_ms <= now) {
                                if (c->fd < 0)
                                        conn_start(c);
                                else {
                                        conn_queue_request(c);
                                        conn_run(c);
                                }
                        } else if (c->wake_ms < next)
                                next = c->wake_ms;
                        continue;
                }
                if (c->deadline_ms <= now)
                        conn_fail(c, F_TIMEOUT, c->state == ST_CONNECTING ? "connect" :
                                                c->state == ST_HANDSHAKE ? "handshake" : "request");
                else if (c->deadline_ms < next)
                        next = c->deadline_ms;
        }
        now = mono_ms();
        return next > now ? (int) (next - now) : 0;
}

/* ---------------------------------------------------------------- control */

static void print_stats(void) {
        uint64_t ka_established = 0;

        for (int i = 0; i < n_conns; i++)
                if (conns[i].kind == KIND_KEEPALIVE && conns[i].established)
                        ka_established++;
        printf("stats hs_ok=%" PRIu64 " hs_failed=%" PRIu64 " req_ok=%" PRIu64 " req_failed=%" PRIu64
               " ka_req_ok=%" PRIu64 " ka_dropped=%" PRIu64 " ka_connect_failed=%" PRIu64
               " ka_established=%" PRIu64 " wrong_handshake=%" PRIu64 " wrong_after_done=%" PRIu64
               " wrong_answer=%" PRIu64 " fail_refused=%" PRIu64 " fail_reset=%" PRIu64 " fail_eof=%" PRIu64
               " fail_timeout=%" PRIu64 " fail_tls=%" PRIu64 " fail_http=%" PRIu64 " fail_other=%" PRIu64
               " fingerprints=%d\n",
               st.hs_ok, st.hs_failed, st.req_ok, st.req_failed, st.ka_req_ok, st.ka_dropped,
               st.ka_connect_failed, ka_established, st.wrong_handshake, st.wrong_after_done, st.wrong_answer,
               st.fail_refused, st.fail_reset, st.fail_eof, st.fail_timeout, st.fail_tls, st.fail_http,
               st.fail_other, n_fps);
        fflush(stdout);
}

static int new_epoch(char **words, int n) {
        if (cur_epoch + 1 >= EPOCHS_MAX)
                return -ENOSPC;
        Epoch *e = &epochs[++cur_epoch];
        e->n = 0;
        for (int i = 0; i < n && e->n < EPOCH_SET_MAX; i++) {
                int fp = fp_intern(words[i]);
                if (fp < 0)
                        return -ENOMEM;
                e->set[e->n++] = fp;
        }
        return 0;
}

/* Returns 1 to quit. */
static int handle_line(char *line) {
        char *words[8];
        int n = 0;

        for (char *s = strtok(line, " \t\r\n"); s && n < 8; s = strtok(NULL, " \t\r\n"))
                words[n++] = s;
        if (n == 0)
                return 0;

        if (strcmp(words[0], "allow") == 0 && n >= 2) {
                if (new_epoch(words + 1, n - 1) < 0) {
                        printf("error too many epochs\n");
                        fflush(stdout);
                        return 0;
                }
        } else if (strcmp(words[0], "done") == 0 && n == 3) {
                uint64_t t = strtoull(words[2], NULL, 10);
                if (new_epoch(words + 1, 1) < 0) {
                        printf("error too many epochs\n");
                        fflush(stdout);
                        return 0;
                }
                int fp = epochs[cur_epoch].set[0];
                /* Handshakes that started after the rotation completed and ended before we heard of it. */
                uint64_t first = ring_n > RING_SIZE ? ring_n - RING_SIZE : 0;
                for (uint64_t k = first; k < ring_n; k++) {
                        Record *r = &ring[k % RING_SIZE];
                        if (r->start_rt >= t && r->fp != fp && !r->wrong) {
                                r->wrong = true;
                                st.wrong_after_done++;
                                note("port %d served %s to a handshake started %.3f ms after the rotation to %s completed",
                                     r->port, fp_name(r->fp), (double) (r->start_rt - t) / 1e6, fp_name(fp));
                        }
                }
        } else if (strcmp(words[0], "stats") == 0) {
                print_stats();
                return 0;
        } else if (strcmp(words[0], "quit") == 0) {
                return 1;
        } else {
                printf("error unknown command '%s'\n", words[0]);
                fflush(stdout);
                return 0;
        }
        printf("ok\n");
        fflush(stdout);
        return 0;
}

static char ctl_buf[4096];
static size_t ctl_len;

/* Returns 1 on quit or end of input. */
static int read_control(void) {
        ssize_t n = read(STDIN_FILENO, ctl_buf + ctl_len, sizeof(ctl_buf) - 1 - ctl_len);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : 1;
        if (n == 0)
                return 1;
        ctl_len += (size_t) n;
        for (;;) {
                char *nl = memchr(ctl_buf, '\n', ctl_len);
                if (!nl)
                        break;
                *nl = 0;
                if (handle_line(ctl_buf))
                        return 1;
                size_t used = (size_t) (nl - ctl_buf) + 1;
                memmove(ctl_buf, ctl_buf + used, ctl_len - used);
                ctl_len -= used;
        }
        if (ctl_len >= sizeof(ctl_buf) - 1)
                ctl_len = 0;  /* a line that long is garbage */
        return 0;
}

/* ------------------------------------------------------------------ main */

static int parse_ports(const char *s) {
        char *copy = strdup(s), *save = NULL;

        if (!copy)
                return -ENOMEM;
        n_ports = 0;
        for (char *p = strtok_r(copy, ",", &save); p && n_ports < PORTS_MAX; p = strtok_r(NULL, ",", &save))
                ports[n_ports++] = atoi(p);
        free(copy);
        return n_ports > 0 ? 0 : -EINVAL;
}

static void help(void) {
        printf("bench-rotate-load [OPTIONS]   (commands on stdin, see the source)\n"
               "  --clients N          connections doing handshake + GET / + close in a loop (50)\n"
               "  --keepalive N        long-lived keep-alive connections (20)\n"
               "  --ports LIST         comma-separated ports on 127.0.0.1 (8443,8444,8445)\n"
               "  --server-name NAME   SNI and Host (appliance.vertex.test)\n"
               "  --interval-ms N      pause between requests on a keep-alive connection (10)\n"
               "  --timeout-ms N       per connect, handshake or request (5000)\n"
               "  --max-seconds N      exit by itself after N seconds (900)\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h' },
                { "clients",     required_argument, NULL, 'c' },
                { "keepalive",   required_argument, NULL, 'k' },
                { "ports",       required_argument, NULL, 'p' },
                { "server-name", required_argument, NULL, 's' },
                { "interval-ms", required_argument, NULL, 'i' },
                { "timeout-ms",  required_argument, NULL, 't' },
                { "max-seconds", required_argument, NULL, 'm' },
                {}
        };
        int n_clients = 50, n_keepalive = 20, opt;
        unsigned max_seconds = 900;
        uint64_t end_ms;

        if (parse_ports("8443,8444,8445") < 0)
                return EXIT_FAILURE;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h': help(); return EXIT_SUCCESS;
                case 'c': n_clients = atoi(optarg); break;
                case 'k': n_keepalive = atoi(optarg); break;
                case 'p':
                        if (parse_ports(optarg) < 0) {
                                fprintf(stderr, "Bad --ports '%s'\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 's': server_name = optarg; break;
                case 'i': interval_ms = (unsigned) atoi(optarg); break;
                case 't': timeout_ms = (unsigned) atoi(optarg); break;
                case 'm': max_seconds = (unsigned) atoi(optarg); break;
                default: return EXIT_FAILURE;
                }
        if (n_clients < 0 || n_keepalive < 0 || n_clients + n_keepalive == 0) {
                fprintf(stderr, "Nothing to do.\n");
                return EXIT_FAILURE;
        }

        signal(SIGPIPE, SIG_IGN);
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return EXIT_FAILURE;
        /* Every handshake a full one: the server must present its certificate each time. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
                return EXIT_FAILURE;
        (void) fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) < 0) {
                perror("epoll_ctl(stdin)");
                return EXIT_FAILURE;
        }

        n_conns = n_clients + n_keepalive;
        conns = calloc((size_t) n_conns, sizeof(Conn));
        if (!conns)
                return EXIT_FAILURE;
        for (int i = 0; i < n_conns; i++) {
                conns[i] = (Conn) { .id = i, .fd = -1, .fp = -1,
                                    .kind = i < n_clients ? KIND_HANDSHAKE : KIND_KEEPALIVE };
                /* Spread the first connects a little. */
                conns[i].wake_ms = mono_ms() + (uint64_t) (i % 10);
        }

        end_ms = mono_ms() + (uint64_t) max_seconds * 1000;
        for (;;) {
                struct epoll_event events[128];
                int timeout = conns_tick(), n;

                if (mono_ms() >= end_ms) {
                        fprintf(stderr, "bench-rotate-load: --max-seconds reached, exiting.\n");
                        break;
                }
                n = epoll_wait(epfd, events, 128, timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("epoll_wait");
                        return EXIT_FAILURE;
                }
                bool quit = false;
                for (int i = 0; i < n; i++) {
                        Conn *c = events[i].data.ptr;
                        if (!c) {
                                if (read_control())
                                        quit = true;
                                continue;
                        }
                        if (c->fd >= 0)
                                conn_run(c);
                }
                if (quit)
                        break;
        }

        print_stats();
        for (int i = 0; i < n_conns; i++)
                conn_reset(&conns[i], 0);
        SSL_CTX_free(ctx);
        return EXIT_SUCCESS;
}
