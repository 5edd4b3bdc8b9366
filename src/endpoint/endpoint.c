/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * vertex-endpoint: the reference consumer of vertex-certd's store. Serves
 * HTTPS from a store directory on sockets systemd passes in (or --listen),
 * and reloads its certificate on request without closing the listener or
 * any established connection.
 *
 * Reload protocol (systemd 252 has no Type=notify-reload): the service
 * listens on a control socket (endpoint-control.h: in its runtime directory,
 * else an abstract one); `ExecReload=+vertex-endpoint-reload --name NAME`
 * connects, sends "reload\n" and exits 0 on "ok FINGERPRINT\n", 1 on
 * "error: MESSAGE\n", so systemd's reload job fails exactly when the
 * endpoint kept its old certificate. Around the reload the service sends
 * RELOADING=1 … READY=1 and a STATUS= naming the fingerprint it serves.
 * SIGHUP reloads too (the result is only logged).
 *
 * Deliberately not: a general web server, a certificate validator (the
 * agent validated the generation before committing it), or a watcher of the
 * store (the agent tells us when to reload, after its commit is complete).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "build-config.h"
#include "endpoint-control.h"
#include "endpoint-server.h"
#include "endpoint-tls.h"
#include "log-stderr.h"
#include "macro.h"
#include "socket-address.h"

#define DEFAULT_DIRECTORY "/var/lib/vertex-certd/current"
#define CONTROL_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct Context {
        sd_event *event;
        Server *server;
        ServingContext *sc;

        const char *name;
        const char *directory;
        const char *fail_reload_if_exists;  /* test-only */
        const char *break_serving_if_exists;  /* test-only */

        char *control_path;
        int control_fd;
        sd_event_source *control_io;
} Context;

static void notify_status(Context *c, const char *prefix) {
        (void) sd_notifyf(false, "STATUS=%s%s from %s", prefix, c->sc->fingerprint,
                          c->sc->origin ?: c->directory);
}

/*
 * Test-only: a consumer that fails to load its certificate and serves anyway, as a broken consumer
 * might: the pair read is replaced by a context without any certificate, so every handshake fails
 * (the server aborts it with an alert), while the reload reports success.
 */
static void maybe_break_serving(Context *c, ServingContext *sc) {
        SSL_CTX *broken;

        if (!c->break_serving_if_exists || access(c->break_serving_if_exists, F_OK) < 0)
                return;
        broken = SSL_CTX_new(TLS_server_method());
        if (!broken)
                return;
        SSL_CTX_free(sc->ctx);
        sc->ctx = broken;
        log_warning("Test switch '%s' exists: serving %s without its certificate, every handshake fails",
                    c->break_serving_if_exists, sc->fingerprint);
}

/* Returns 0 when the new pair serves, or -errno with *ret_error saying why the old one still does. */
static int context_reload(Context *c, char **ret_error) {
        _cleanup_(serving_context_unrefp) ServingContext *sc = NULL;
        int r;

        struct timespec ts;

        /* MONOTONIC_USEC= is what Type=notify-reload (systemd >= 253) wants; older ones ignore it. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading certificate from %s",
                          (unsigned long long) ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000, c->directory);

        /* Test-only: lets system tests make a reload fail for real. */
        if (c->fail_reload_if_exists && access(c->fail_reload_if_exists, F_OK) == 0) {
                r = -EPERM;
                if (asprintf(ret_error, "Reload refused: test switch '%s' exists", c->fail_reload_if_exists) < 0)
                        *ret_error = NULL;
        } else
                r = serving_context_load(c->directory, &sc, ret_error);

        if (r < 0) {
                log_error("Failed to reload, still serving %s: %s", c->sc->fingerprint,
                          *ret_error ?: errno_name(r));
                (void) sd_notify(false, "READY=1");
                notify_status(c, "Reload failed, serving ");
                return r;
        }

        maybe_break_serving(c, sc);
        if (streq(sc->fingerprint, c->sc->fingerprint))
                log_info("Reloaded, certificate unchanged: %s", sc->fingerprint);
        else
                log_info("Reloaded: serving %s from %s (was %s)", sc->fingerprint,
                         sc->origin ?: c->directory, c->sc->fingerprint);

        server_set_context(c->server, sc);
        serving_context_unref(c->sc);
        c->sc = TAKE_PTR(sc);

        (void) sd_notify(false, "READY=1");
        notify_status(c, "Serving ");
        return 0;
}

typedef struct ControlConnection {
        Context *context;
        int fd;
        sd_event_source *io, *timer;
        char buf[64];
        size_t len;
} ControlConnection;

static void control_connection_free(ControlConnection *cc) {
        sd_event_source_disable_unref(cc->io);
        sd_event_source_disable_unref(cc->timer);
        safe_close(cc->fd);
        free(cc);
}

static void control_reply(ControlConnection *cc, const char *reply) {
        /* A fresh unix socket buffer holds a reply this small: one send, then close. */
        (void) send(cc->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
        control_connection_free(cc);
}

static int control_connection_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ControlConnection *cc = userdata;
        Context *c = cc->context;
        char reply[ENDPOINT_CONTROL_REPLY_MAX];
        char *eol;
        ssize_t n;

        n = recv(fd, cc->buf + cc->len, sizeof(cc->buf) - 1 - cc->len, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                control_connection_free(cc);
                return 0;
        }
        cc->len += n;
        cc->buf[cc->len] = '\0';

        eol = strchr(cc->buf, '\n');
        if (!eol) {
                if (n == 0 || cc->len >= sizeof(cc->buf) - 1)
                        control_reply(cc, "error: expected a command line\n");
                return 0;
        }
        *eol = '\0';

        if (streq(cc->buf, "reload")) {
                _cleanup_free_ char *error = NULL;
                int r;

                r = context_reload(c, &error);
                if (r < 0)
                        snprintf(reply, sizeof(reply), "error: %s\n", error ?: errno_name(r));
                else
                        snprintf(reply, sizeof(reply), "ok %s\n", c->sc->fingerprint);
        } else if (streq(cc->buf, "status"))
                snprintf(reply, sizeof(reply), "ok %s\n", c->sc->fingerprint);
        else
                snprintf(reply, sizeof(reply), "error: unknown command\n");

        control_reply(cc, reply);
        return 0;
}

static int control_connection_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        control_connection_free(userdata);
        return 0;
}

static int control_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Context *c = userdata;
        ControlConnection *cc;
        struct ucred ucred;
        socklen_t len = sizeof(ucred);
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;

        /* Only our own user (ExecReload= runs as the service's user) and root may ask. */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) < 0 ||
            (ucred.uid != 0 && ucred.uid != geteuid())) {
                (void) send(cfd, "error: permission denied\n", 25, MSG_NOSIGNAL | MSG_DONTWAIT);
                safe_close(cfd);
                return 0;
        }

        cc = calloc(1, sizeof(ControlConnection));
        if (!cc) {
                safe_close(cfd);
                return 0;
        }
        cc->context = c;
        cc->fd = cfd;
        if (sd_event_add_io(c->event, &cc->io, cfd, EPOLLIN, control_connection_on_io, cc) < 0 ||
            sd_event_add_time_relative(c->event, &cc->timer, CLOCK_MONOTONIC, CONTROL_TIMEOUT_USEC, 0,
                                       control_connection_on_timeout, cc) < 0)
                control_connection_free(cc);
        return 0;
}

static int control_listen(Context *c) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa;
        socklen_t sa_len;
        mode_t old_umask;
        int r;

        r = endpoint_control_sockaddr(c->control_path, &sa, &sa_len);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();

        /* A stale socket from a previous run of this unit. */
        if (c->control_path[0] != '@')
                (void) unlink(c->control_path);

        old_umask = umask(0077);
        r = bind(fd, (struct sockaddr *) &sa, sa_len);
        umask(old_umask);
        if (r < 0)
                return negative_errno();

        if (listen(fd, 16) < 0)
                return negative_errno();

        r = sd_event_add_io(c->event, &c->control_io, fd, EPOLLIN, control_on_io, c);
        if (r < 0)
                return r;

        c->control_fd = TAKE_FD(fd);
        return 0;
}

/* "ADDR:PORT", "[V6]:PORT", "PORT" (all addresses, dual-stack). */
static int listen_address(const char *address, int *ret_fd, char **ret_bound) {
        _cleanup_close_ int fd = -EBADF;
        SocketAddress a;
        int one = 1, zero = 0, r;

        r = socket_address_parse(address, "::", &a);
        if (r < 0)
                return r;

        fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a.sa.sa_family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, &a.sa, a.len) < 0)
                return negative_errno();
        if (listen(fd, SOMAXCONN) < 0)
                return negative_errno();

        /* Port 0 asks the kernel for one: report which. */
        a.len = sizeof(a.storage);
        if (getsockname(fd, &a.sa, &a.len) < 0)
                return negative_errno();
        r = socket_address_format(&a, ret_bound);
        if (r < 0)
                return r;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_free_ char *error = NULL;

        (void) context_reload(userdata, &error);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Context *c = userdata;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        log_info("Received SIG%s, stopping.", sigabbrev_np(si->ssi_signo) ?: "?");
        return sd_event_exit(c->event, 0);
}

static void help(void) {
        printf("vertex-endpoint --name NAME [OPTIONS]\n"
               "\n"
               "Reference TLS endpoint serving the certificate of a vertex-certd store.\n\n"
               "  -n --name NAME              Endpoint name, shown in GET / and naming the control socket\n"
               "  -d --directory DIR          Store directory with fullchain.pem and key.pem\n"
               "                              (default " DEFAULT_DIRECTORY ")\n"
               "  -l --listen ADDR:PORT       Listen here too (besides sockets passed by systemd)\n"
               "  -c --control PATH           Control socket, \"@NAME\" for an abstract one (default\n"
               "                              $RUNTIME_DIRECTORY/NAME.sock, else @vertex-endpoint/NAME)\n"
               "     --fail-reload-if-exists PATH\n"
               "                              TEST ONLY: reloads fail while PATH exists (also\n"
               "                              $VERTEX_ENDPOINT_FAIL_RELOAD_IF_EXISTS)\n"
               "     --break-serving-if-exists PATH\n"
               "                              TEST ONLY: while PATH exists, what is loaded is served\n"
               "                              without its certificate, so handshakes fail (also\n"
               "                              $VERTEX_ENDPOINT_BREAK_SERVING_IF_EXISTS)\n"
               "  -h --help                   Show this help\n"
               "     --version                Show the version\n");
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), -EINVAL for bad arguments. */
static int parse_argv(int argc, char *argv[], Context *c, char **listen_addresses, size_t *n_listen) {
        enum {
                ARG_FAIL_RELOAD = 0x100,
                ARG_VERSION,
                ARG_BREAK_SERVING,
        };
        static const struct option options[] = {
                { "name",                  required_argument, NULL, 'n'             },
                { "directory",             required_argument, NULL, 'd'             },
                { "listen",                required_argument, NULL, 'l'             },
                { "control",               required_argument, NULL, 'c'             },
                { "fail-reload-if-exists", required_argument, NULL, ARG_FAIL_RELOAD },
                { "break-serving-if-exists", required_argument, NULL, ARG_BREAK_SERVING },
                { "help",                  no_argument,       NULL, 'h'             },
                { "version",               no_argument,       NULL, ARG_VERSION     },
                {}
        };
        const char *control = NULL;
        int opt;

        while ((opt = getopt_long(argc, argv, "n:d:l:c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'n':
                        c->name = optarg;
                        break;
                case 'd':
                        c->directory = optarg;
                        break;
                case 'l':
                        listen_addresses[(*n_listen)++] = optarg;
                        break;
                case 'c':
                        control = optarg;
                        break;
                case ARG_FAIL_RELOAD:
                        c->fail_reload_if_exists = optarg;
                        break;
                case ARG_BREAK_SERVING:
                        c->break_serving_if_exists = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vertex-endpoint %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }

        if (optind < argc || !endpoint_name_is_valid(c->name)) {
                log_error("%s", optind < argc ? "Unexpected arguments." : "--name NAME ([A-Za-z0-9._-]) is required.");
                return -EINVAL;
        }
        if (isempty(c->fail_reload_if_exists))
                c->fail_reload_if_exists = NULL;
        if (isempty(c->break_serving_if_exists))
                c->break_serving_if_exists = NULL;

        if (control)
                c->control_path = strdup(control);
        else if (endpoint_control_path(c->name, &c->control_path) < 0)
                c->control_path = NULL;
        return c->control_path ? 1 : -ENOMEM;
}

/* The sockets systemd passed, then those of --listen. Returns 0 or -errno (logged). */
static int add_listeners(Context *c, char *const *listen_addresses, size_t n_listen) {
        int n_fds, r;

        n_fds = sd_listen_fds(true);
        if (n_fds < 0)
                return log_error_errno(n_fds, "Failed to read the sockets passed by systemd: %m");
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n_fds; fd++) {
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_warning("File descriptor %d passed by systemd is not a listening stream socket, ignoring.", fd);
                        continue;
                }
                r = server_add_listener(c->server, fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen on passed socket %d: %m", fd);
        }

        for (size_t i = 0; i < n_listen; i++) {
                _cleanup_free_ char *bound = NULL;
                int fd;

                r = listen_address(listen_addresses[i], &fd, &bound);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen on '%s': %m", listen_addresses[i]);
                r = server_add_listener(c->server, fd);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                log_info("Listening on %s", bound);
        }

        if (server_n_listeners(c->server) == 0) {
                log_error("No socket to serve on: start me by socket activation or pass --listen.");
                return -ENOENT;
        }
        return 0;
}

/* SIGTERM and SIGINT stop, SIGHUP reloads, all through the loop. Returns 0 or -errno (logged). */
static int watch_signals(Context *c) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m");
        if (sd_event_add_signal(c->event, NULL, SIGTERM, on_terminate, c) < 0 ||
            sd_event_add_signal(c->event, NULL, SIGINT, on_terminate, c) < 0 ||
            sd_event_add_signal(c->event, NULL, SIGHUP, on_sighup, c) < 0) {
                log_error("Failed to watch signals.");
                return -EIO;
        }
        /* Broken connections show up as EPIPE on write, not as a signal. */
        (void) signal(SIGPIPE, SIG_IGN);
        return 0;
}

static void context_done(Context *c) {
        server_free(c->server);
        serving_context_unref(c->sc);
        sd_event_source_disable_unref(c->control_io);
        if (c->control_fd >= 0) {
                safe_close(c->control_fd);
                if (c->control_path[0] != '@')
                        (void) unlink(c->control_path);
        }
        sd_event_unref(c->event);
        free(c->control_path);
}

/* Each connection is an fd: take what the hard limit allows. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int run(int argc, char *argv[], Context *c) {
        _cleanup_free_ char **listen_addresses = NULL;
        _cleanup_free_ char *error = NULL;
        size_t n_listen = 0;
        int r;

        listen_addresses = calloc(argc, sizeof(char *));
        if (!listen_addresses)
                return -ENOMEM;

        r = parse_argv(argc, argv, c, listen_addresses, &n_listen);
        if (r <= 0)
                return r;

        raise_fd_limit();

        r = sd_event_default(&c->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        r = serving_context_load(c->directory, &c->sc, &error);
        if (r < 0 && error)
                return log_error_errno(r, "Failed to load the certificate: %s", error);
        if (r < 0)
                return log_error_errno(r, "Failed to load the certificate: %m");
        maybe_break_serving(c, c->sc);

        r = server_new(c->event, c->name, c->sc, &c->server);
        if (r < 0)
                return r;

        r = add_listeners(c, listen_addresses, n_listen);
        if (r < 0)
                return r;

        r = control_listen(c);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on control socket '%s': %m", c->control_path);

        r = watch_signals(c);
        if (r < 0)
                return r;

        log_info("Endpoint '%s' serving %s from %s", c->name, c->sc->fingerprint, c->sc->origin ?: c->directory);
        (void) sd_notify(false, "READY=1");
        notify_status(c, "Serving ");

        r = sd_event_loop(c->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 1;
}

int main(int argc, char *argv[]) {
        Context c = {
                .directory = DEFAULT_DIRECTORY,
                .control_fd = -EBADF,
                .fail_reload_if_exists = getenv("VERTEX_ENDPOINT_FAIL_RELOAD_IF_EXISTS"),
                .break_serving_if_exists = getenv("VERTEX_ENDPOINT_BREAK_SERVING_IF_EXISTS"),
        };
        int r;

        r = run(argc, argv, &c);
        context_done(&c);
        return r >= 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
