/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * vertex-endpoint-reload: the ExecReload= of the endpoint units. Asks the
 * running vertex-endpoint to reload over its control socket
 * (endpoint-control.h) and mirrors the answer in its exit status, so
 * systemd's reload job fails exactly when the endpoint kept its old
 * certificate:
 *
 *   vertex-endpoint-reload --name NAME [--control PATH]
 *
 * Exit 0 and "ok FINGERPRINT" on stdout when the new pair serves, 1 and the
 * endpoint's error on stderr when not.
 *
 * Why a program of its own, run with "+" (no sandbox): systemd 252 builds the
 * unit's whole sandbox (user and mount namespaces, the dynamic user, seccomp)
 * again for every ExecReload= process, which cost 70-110 ms per reload in the
 * system container, more than everything else in a rotation together. So
 * this runs unconfined and is kept small enough to trust there: libc only,
 * one connect, one line sent, one bounded line read. The endpoint's runtime
 * directory belongs to its dynamic user, so a compromised endpoint could put
 * another socket at the path: the listener must be the unit's main process
 * ($MAINPID, set by systemd) before a byte is sent.
 */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build-config.h"
#include "endpoint-control.h"
#include "log-stderr.h"
#include "macro.h"

#define ANSWER_TIMEOUT_MSEC (60 * 1000)

/* The unit's main process, from $MAINPID; 0 when not run by systemd, -1 when garbled. */
static pid_t main_pid(void) {
        const char *e = getenv("MAINPID");
        char *end;
        long v;

        if (isempty(e))
                return 0;
        errno = 0;
        v = strtol(e, &end, 10);
        if (errno != 0 || *end != '\0' || v <= 0 || (pid_t) v != v)
                return -1;
        return (pid_t) v;
}

static int connect_control(const char *path, pid_t expected_pid) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa;
        struct ucred ucred;
        socklen_t sa_len, len = sizeof(ucred);

        if (endpoint_control_sockaddr(path, &sa, &sa_len) < 0) {
                log_error("Control socket path '%s' is too long.", path);
                return -ENAMETOOLONG;
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sa_len) < 0) {
                int r = -errno;
                log_error("Failed to connect to the endpoint's control socket '%s': %m", path);
                return r;
        }

        if (expected_pid > 0) {
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) < 0) {
                        int r = -errno;
                        log_error("Failed to read who listens on '%s': %m", path);
                        return r;
                }
                if (ucred.pid != expected_pid) {
                        log_error("Refusing to ask '%s': it is served by PID %d, not by the unit's main process %d.",
                                  path, (int) ucred.pid, (int) expected_pid);
                        return -EPERM;
                }
        }

        return TAKE_FD(fd);
}

/* Reads the endpoint's one-line answer into reply (NUL-terminated, without the newline). */
static int read_answer(int fd, char *reply, size_t size) {
        size_t len = 0;

        /* A one-shot client: a bounded poll is its whole event loop. */
        while (len < size - 1) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;
                int r;

                r = poll(&pfd, 1, ANSWER_TIMEOUT_MSEC);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        log_error("No answer from the endpoint: %s", r == 0 ? "timed out" : errno_name(-errno));
                        return r == 0 ? -ETIMEDOUT : -errno;
                }
                n = recv(fd, reply + len, size - 1 - len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int k = -errno;
                        log_error("Failed to read the endpoint's answer: %m");
                        return k;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (memchr(reply, '\n', len))
                        break;
        }
        reply[len] = '\0';
        reply[strcspn(reply, "\n")] = '\0';
        return 0;
}

static void help(void) {
        printf("vertex-endpoint-reload --name NAME [--control PATH]\n\n"
               "Asks the running vertex-endpoint NAME to reload its certificate (the units' ExecReload=).\n"
               "Exit 0 when it serves the new pair, 1 when it kept the old one.\n\n"
               "  -n --name NAME       Endpoint name\n"
               "  -c --control PATH    Control socket, \"@NAME\" for an abstract one (default\n"
               "                       $RUNTIME_DIRECTORY/NAME.sock, else @vertex-endpoint/NAME)\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "name",    required_argument, NULL, 'n' },
                { "control", required_argument, NULL, 'c' },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                {}
        };
        _cleanup_free_ char *default_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name = NULL, *control = NULL;
        char reply[ENDPOINT_CONTROL_REPLY_MAX];
        pid_t expected_pid;
        int opt;

        while ((opt = getopt_long(argc, argv, "n:c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'n':
                        name = optarg;
                        break;
                case 'c':
                        control = optarg;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'V':
                        printf("vertex-endpoint-reload %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc || !endpoint_name_is_valid(name)) {
                log_error("%s", optind < argc ? "Unexpected arguments." : "--name NAME ([A-Za-z0-9._-]) is required.");
                return EXIT_FAILURE;
        }

        expected_pid = main_pid();
        if (expected_pid < 0) {
                log_error("$MAINPID is not a process ID: '%s'", getenv("MAINPID"));
                return EXIT_FAILURE;
        }

        if (!control) {
                if (endpoint_control_path(name, &default_path) < 0)
                        return EXIT_FAILURE;
                control = default_path;
        }

        fd = connect_control(control, expected_pid);
        if (fd < 0)
                return EXIT_FAILURE;

        if (send(fd, "reload\n", 7, MSG_NOSIGNAL) != 7) {
                log_error("Failed to send the reload request: %m");
                return EXIT_FAILURE;
        }
        if (read_answer(fd, reply, sizeof(reply)) < 0)
                return EXIT_FAILURE;

        if (strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ')) {
                printf("%s\n", reply);
                return EXIT_SUCCESS;
        }

        log_error("%s", reply[0] == '\0' ? "error: the endpoint closed the connection without an answer" : reply);
        return EXIT_FAILURE;
}
