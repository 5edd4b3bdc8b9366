/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The polkit authentication agent of vertex-certctl: when a privileged call
 * may make polkit ask for a password, someone must be there to ask. Like
 * systemctl we run pkttyagent on our terminal for the length of the call.
 * It does not decide who may do what (the daemon and polkit do), and it
 * never sees the password itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certctl-agent.h"
#include "macro.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"
/* The agent registers within milliseconds; do not hang the command if it does not. */
#define AGENT_READY_TIMEOUT_MSEC 10000

pid_t polkit_agent_open(int ask_password) {
        _cleanup_close_ int ready_read = -EBADF, ready_write = -EBADF;
        int fds[2];
        pid_t pid;

        if (!ask_password || geteuid() == 0 || !isatty(STDIN_FILENO) || access(PKTTYAGENT, X_OK) < 0)
                return 0;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return 0;
        ready_read = fds[0];
        ready_write = fds[1];

        pid = fork();
        if (pid < 0)
                return 0;
        if (pid == 0) {
                char notify[16];

                /* The agent must not outlive us, and gets the notify end across exec. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (fcntl(ready_write, F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(notify, sizeof(notify), "%d", ready_write);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", notify, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        ready_write = safe_close(ready_write);

        /* pkttyagent closes the notify fd once it is registered (or dies): wait for the hang-up. */
        for (;;) {
                struct pollfd p = { .fd = ready_read, .events = POLLIN };
                char c;

                int r = poll(&p, 1, AGENT_READY_TIMEOUT_MSEC);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                ssize_t k = read(ready_read, &c, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
        }
        return pid;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
