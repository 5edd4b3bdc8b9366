/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What several test programs need, in one place: the path of a built
 * program, running one and capturing what it says, and becoming nobody in a
 * child before exec.
 */

#include <grp.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#define NOBODY 65534

/* build/src/NAME (g_free it); meson's test environment sets VERTEX_BUILD_DIR. */
static inline char *built_program(const char *name) {
        const char *build = g_getenv("VERTEX_BUILD_DIR");

        g_assert_nonnull(build);
        return g_build_filename(build, "src", name, NULL);
}

/* In a child, before exec: an unprivileged caller. Async-signal-safe. Returns 0, or -1 with errno set. */
static inline int drop_to_nobody(void) {
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
                return -1;
        return 0;
}

/* drop_to_nobody() as a GSpawnChildSetupFunc. */
static inline void spawn_as_nobody(gpointer userdata) {
        if (drop_to_nobody() < 0)
                _exit(127);
}

/* A finished program: its exit status (-1 when killed) and both streams. */
typedef struct Run {
        int status;
        char *out, *err;
} Run;

static inline void run_clear(Run *r) {
        g_free(r->out);
        g_free(r->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Run, run_clear);

/* Runs argv (NULL-terminated) with envp and an optional child setup, and waits for it. */
static inline Run run_program(char **argv, char **envp, GSpawnChildSetupFunc child_setup) {
        g_autoptr(GError) error = NULL;
        int wait_status = 0;
        Run r = {};

        g_assert_true(g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, child_setup, NULL,
                                   &r.out, &r.err, &wait_status, &error));
        g_assert_no_error(error);
        r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
        return r;
}
