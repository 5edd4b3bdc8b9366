/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "worker.h"

/* Closes every descriptor from 3 up except a and b (either may be -1). */
static int int_cmp(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;
        return x < y ? -1 : x > y;
}

/* Closes every descriptor from 3 up but those in keep[] (n at most WORKER_KEEP_MAX + 1; -1 entries ignored). */
static void close_all_but(int *keep, size_t n) {
        unsigned from = 3;

        qsort(keep, n, sizeof(int), int_cmp);
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < (int) from)
                        continue;
                if ((unsigned) keep[i] > from)
                        (void) close_range(from, (unsigned) keep[i] - 1, 0);
                from = (unsigned) keep[i] + 1;
        }
        (void) close_range(from, ~0U, 0);
}

pid_t worker_fork_keeping(const int *keep, size_t n_keep, int *ret_fd) {
        int fds[2];
        pid_t pid;

        if (n_keep > WORKER_KEEP_MAX)
                return -E2BIG;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();

        pid = fork();
        if (pid < 0) {
                int r = negative_errno();

                safe_close(fds[0]);
                safe_close(fds[1]);
                return r;
        }
        if (pid == 0) {
                int kept[WORKER_KEEP_MAX + 1];

                safe_close(fds[0]);
                for (size_t i = 0; i < n_keep; i++)
                        kept[i] = keep[i];
                kept[n_keep] = fds[1];
                close_all_but(kept, n_keep + 1);
                (void) signal(SIGPIPE, SIG_IGN);
                *ret_fd = fds[1];
                return 0;
        }

        safe_close(fds[1]);
        *ret_fd = fds[0];
        return pid;
}

pid_t worker_fork(int keep, int *ret_fd) {
        return worker_fork_keeping(&keep, 1, ret_fd);
}

void worker_reap(pid_t pid, bool kill_it) {
        if (pid <= 0)
                return;
        if (kill_it)
                (void) kill(pid, SIGKILL);
        /* It has answered (or was killed): it is gone or about to be; this does not wait long. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
