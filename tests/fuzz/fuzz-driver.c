/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plain main() for the fuzz targets: runs LLVMFuzzerTestOneInput() once
 * on every file of the directories (or on the files) given, so that every
 * corpus file is a unit test of every build, with gcc and without libFuzzer.
 * It does not mutate, minimise or measure coverage: that is libFuzzer's job.
 *
 * Speaks TAP: one "ok N - FILE" per input. A crash or a broken invariant
 * aborts the process, which meson reports with the last file started.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"

static unsigned n_tests;

static int run_file(const char *path) {
        struct stat st;
        uint8_t *data;
        size_t done = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = -errno;
                printf("not ok %u - %s: %s\n", ++n_tests, path, strerror(-r));
                if (fd >= 0)
                        close(fd);
                return r;
        }
        /* An exact-size copy: ASan then sees a read past the input as an overflow, as under libFuzzer. */
        data = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        if (!data) {
                close(fd);
                return -ENOMEM;
        }
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, data + done, (size_t) st.st_size - done);
                if (n <= 0)
                        break;
                done += (size_t) n;
        }
        close(fd);

        /* Announced first, so that a crash's log names the input. */
        printf("# running %s (%zu bytes)\n", path, done);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput(data, done);
        free(data);
        printf("ok %u - %s\n", ++n_tests, path);
        fflush(stdout);
        return 0;
}

static int filter(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static int run_path(const char *path) {
        struct dirent **list = NULL;
        struct stat st;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                r = -errno;
                printf("not ok %u - %s: %s\n", ++n_tests, path, strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path);

        /* Sorted, so that runs are comparable. */
        n = scandir(path, &list, filter, alphasort);
        if (n < 0) {
                r = -errno;
                printf("not ok %u - %s: %s\n", ++n_tests, path, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                char *file;
                if (asprintf(&file, "%s/%s", path, list[i]->d_name) < 0)
                        r = -ENOMEM;
                else {
                        int k = run_file(file);
                        if (k < 0)
                                r = k;
                        free(file);
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int main(int argc, char *argv[]) {
        int r = 0;

        if (argc < 2) {
                fprintf(stderr, "Usage: %s DIRECTORY|FILE...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i]) < 0)
                        r = -1;
        if (n_tests == 0) {
                /* An empty corpus is a packaging mistake, not a pass. */
                printf("not ok 1 - no inputs found\n1..1\n");
                return EXIT_FAILURE;
        }
        printf("1..%u\n", n_tests);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
