/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Test helpers around the built vertex-endpoint: start it the way systemd
 * does (a listening socket as fd 3, LISTEN_FDS/LISTEN_PID), wait until its
 * control socket answers, stop it with SIGTERM; and a blocking TLS/HTTP
 * client to talk to it. Header-only, for test-endpoint and test-probe.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/ssl.h>

#include "certinfo.h"
#include "test-util.h"

typedef struct SpawnedEndpoint {
        pid_t pid;
        int port;
        char *control;
} SpawnedEndpoint;

static inline char *endpoint_binary(void) {
        return built_program("vertex-endpoint");
}

/* A listening socket on loopback, port chosen by the kernel. v6: [::] dual-stack. */
static inline int listen_loopback(bool v6, int *ret_port) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        socklen_t len;
        int fd, zero = 0;

        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        if (v6) {
                g_assert_cmpint(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), ==, 0);
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_addr = in6addr_any;
                len = sizeof(sa.in6);
        } else {
                sa.in.sin_family = AF_INET;
                sa.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof(sa.in);
        }
        g_assert_cmpint(bind(fd, &sa.sa, len), ==, 0);
        g_assert_cmpint(listen(fd, 128), ==, 0);
        len = sizeof(sa);
        g_assert_cmpint(getsockname(fd, &sa.sa, &len), ==, 0);
        *ret_port = ntohs(v6 ? sa.in6.sin6_port : sa.in.sin_port);
        return fd;
}

static inline bool ipv6_loopback_works(void) {
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        bool ok;

        if (fd < 0)
                return false;
        ok = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

/* Sends one control command; returns the reply line (without newline) or NULL when nobody answers. */
static inline char *endpoint_control(const char *control, const char *command) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[1024];
        size_t len = 0;
        ssize_t n;
        int fd;

        socklen_t sa_len = offsetof(struct sockaddr_un, sun_path) + strlen(control);

        g_assert_cmpuint(strlen(control), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, control);
        if (control[0] == '@')
                sa.sun_path[0] = '\0';  /* abstract: the length, not a NUL, ends the name */
        else
                sa_len++;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        if (connect(fd, (struct sockaddr *) &sa, sa_len) < 0) {
                close(fd);
                return NULL;
        }
        g_assert_cmpint(send(fd, command, strlen(command), MSG_NOSIGNAL), ==, (ssize_t) strlen(command));
        while ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
                len += n;
        close(fd);
        buf[len] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return g_strdup(buf);
}

/*
 * Starts vertex-endpoint socket-activated on a fresh loopback port (or on
 * listen_fd when >= 0, which it takes). extra_args: NULL-terminated, may be NULL.
 * Waits until the control socket answers "status".
 */
static inline void endpoint_spawn(SpawnedEndpoint *e, const char *name, const char *directory,
                                  const char *control_dir, bool v6, const char *const *extra_args) {
        g_autofree char *binary = endpoint_binary();
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        int listen_fd;

        listen_fd = listen_loopback(v6, &e->port);
        e->control = g_strdup_printf("%s/%s.sock", control_dir, name);

        g_ptr_array_add(argv, binary);
        g_ptr_array_add(argv, (char *) "--name");
        g_ptr_array_add(argv, (char *) name);
        g_ptr_array_add(argv, (char *) "--directory");
        g_ptr_array_add(argv, (char *) directory);
        g_ptr_array_add(argv, (char *) "--control");
        g_ptr_array_add(argv, e->control);
        for (const char *const *a = extra_args; a && *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);

        e->pid = fork();
        g_assert_cmpint(e->pid, >=, 0);
        if (e->pid == 0) {
                char pid[32];

                /* Dies with the test, so that a failed assertion leaves no endpoint behind. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() == 1)
                        _exit(127);

                /* As systemd passes sockets: fd 3, LISTEN_FDS=1, LISTEN_PID=ourselves. */
                if (listen_fd == 3)
                        (void) fcntl(3, F_SETFD, 0);
                else if (dup2(listen_fd, 3) < 0)
                        _exit(127);
                /* Nothing else of the test's: a held pipe would keep GTestDBus's watcher waiting. */
                (void) close_range(4, ~0U, 0);
                snprintf(pid, sizeof(pid), "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", pid, 1);
                unsetenv("LISTEN_FDNAMES");
                unsetenv("NOTIFY_SOCKET");
                /* stdout is the test's TAP stream: keep the endpoint's output off it. */
                (void) dup2(STDERR_FILENO, STDOUT_FILENO);
                execv(binary, (char **) argv->pdata);
                _exit(127);
        }
        close(listen_fd);

        for (unsigned i = 0; i < 1000; i++) {
                g_autofree char *reply = endpoint_control(e->control, "status\n");
                int status;

                if (reply && g_str_has_prefix(reply, "ok "))
                        return;
                g_assert_cmpint(waitpid(e->pid, &status, WNOHANG), ==, 0);  /* it must not have died */
                g_usleep(10 * 1000);
        }
        g_assert_not_reached();
}

/* SIGTERM, and the endpoint must exit 0 (a clean stop) and remove its control socket. */
static inline void endpoint_stop(SpawnedEndpoint *e) {
        int status;

        if (e->pid <= 0)
                return;
        g_assert_cmpint(kill(e->pid, SIGTERM), ==, 0);
        g_assert_cmpint(waitpid(e->pid, &status, 0), ==, e->pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_false(g_file_test(e->control, G_FILE_TEST_EXISTS));
        e->pid = 0;
        g_clear_pointer(&e->control, g_free);
}

/*
 * Runs `vertex-endpoint-reload --name NAME --control C` as ExecReload= does,
 * with $MAINPID set to main_pid (NULL: unset, as when run by hand); returns
 * the exit status, output in ret_out and ret_err.
 */
static inline int endpoint_reload_as(const SpawnedEndpoint *e, const char *name, const char *main_pid,
                                     char **ret_out, char **ret_err) {
        g_autofree char *binary = built_program("vertex-endpoint-reload");
        const char *argv[] = { binary, "--name", name, "--control", e->control, NULL };
        g_auto(GStrv) envp = g_get_environ();
        g_autoptr(GError) error = NULL;
        int status = 0;

        envp = main_pid ? g_environ_setenv(envp, "MAINPID", main_pid, TRUE) : g_environ_unsetenv(envp, "MAINPID");
        g_assert_true(g_spawn_sync(NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                                   ret_out, ret_err, &status, &error));
        g_assert_no_error(error);
        g_assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* The same with $MAINPID naming the endpoint, as systemd sets it. */
static inline int endpoint_reload(const SpawnedEndpoint *e, const char *name, char **ret_out, char **ret_err) {
        g_autofree char *main_pid = e->pid > 0 ? g_strdup_printf("%d", (int) e->pid) : NULL;

        return endpoint_reload_as(e, name, main_pid, ret_out, ret_err);
}

/* ------------------------------------------------------------------ client */

typedef struct TlsClient {
        int fd;
        SSL_CTX *ctx;
        SSL *ssl;
} TlsClient;

static inline TlsClient *tls_client_connect(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        TlsClient *c = g_new0(TlsClient, 1);

        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(c->fd, >=, 0);
        g_assert_cmpint(connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        c->ctx = SSL_CTX_new(TLS_client_method());
        g_assert_nonnull(c->ctx);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
        c->ssl = SSL_new(c->ctx);
        g_assert_nonnull(c->ssl);
        g_assert_cmpint(SSL_set_fd(c->ssl, c->fd), ==, 1);
        g_assert_cmpint(SSL_connect(c->ssl), ==, 1);
        return c;
}

static inline void tls_client_free(TlsClient *c) {
        if (!c)
                return;
        SSL_free(c->ssl);
        SSL_CTX_free(c->ctx);
        close(c->fd);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsClient, tls_client_free)

static inline char *tls_client_fingerprint(TlsClient *c) {
        char fp[CERT_FINGERPRINT_MAX];
        X509 *leaf = SSL_get0_peer_certificate(c->ssl);

        g_assert_nonnull(leaf);
        g_assert_cmpint(cert_fingerprint(leaf, fp), ==, 0);
        return g_strdup(fp);
}

static inline void tls_client_send(TlsClient *c, const char *data) {
        g_assert_cmpint(SSL_write(c->ssl, data, (int) strlen(data)), ==, (int) strlen(data));
}

/* Reads one response; returns the status code and the body (NUL-terminated) in *ret_body. */
static inline int tls_client_read_response(TlsClient *c, bool head, char **ret_body, char **ret_headers) {
        GString *buf = g_string_new(NULL);
        const char *cl;
        char tmp[4096];
        size_t header_len, body_len = 0;
        int status = 0, n;
        char *end;

        while (!(end = strstr(buf->str, "\r\n\r\n"))) {
                n = SSL_read(c->ssl, tmp, 1);  /* byte-wise: never read into the next response */
                g_assert_cmpint(n, ==, 1);
                g_string_append_len(buf, tmp, n);
        }
        header_len = end - buf->str + 4;
        g_assert_cmpint(sscanf(buf->str, "HTTP/1.1 %d ", &status), ==, 1);
        cl = strcasestr(buf->str, "\r\nContent-Length:");
        g_assert_nonnull(cl);
        body_len = strtoul(cl + 17, NULL, 10);
        if (head)
                body_len = 0;

        while (buf->len < header_len + body_len) {
                n = SSL_read(c->ssl, tmp, (int) MIN(sizeof(tmp), header_len + body_len - buf->len));
                g_assert_cmpint(n, >, 0);
                g_string_append_len(buf, tmp, n);
        }

        if (ret_headers)
                *ret_headers = g_strndup(buf->str, header_len);
        *ret_body = g_strdup(buf->str + header_len);
        g_string_free(buf, TRUE);
        return status;
}

static inline int tls_client_get(TlsClient *c, const char *path, char **ret_body) {
        g_autofree char *req = g_strdup_printf("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);

        tls_client_send(c, req);
        return tls_client_read_response(c, false, ret_body, NULL);
}
