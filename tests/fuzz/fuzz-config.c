/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the configuration parser (config.c), certd.conf and its
 * drop-ins. config_load() takes a path, so the input is written into a
 * private temporary directory made once per process (and removed at exit):
 * the first part (FUZZ_SEPARATOR-separated) becomes certd.conf, every
 * further part certd.conf.d/NN.conf, so overriding and list appending
 * across files are fuzzed too.
 *
 * Checks config.h's contract beyond "no crash": a loaded Config has every
 * field within its documented range, and a refusal names the file.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz-util.h"
#include "strv.h"

#define MAX_PARTS 8

static char *directory;     /* the private temporary directory */
static char *config_path;   /* DIR/certd.conf */
static char *dropin_dir;    /* DIR/certd.conf.d */

static void remove_dropins(void) {
        char path[4096];

        for (unsigned i = 1; i < MAX_PARTS; i++) {
                snprintf(path, sizeof(path), "%s/%02u.conf", dropin_dir, i);
                (void) unlink(path);
        }
        (void) rmdir(dropin_dir);
}

static void cleanup(void) {
        remove_dropins();
        (void) unlink(config_path);
        (void) rmdir(directory);
        free(dropin_dir);
        free(config_path);
        free(directory);
}

static void setup_once(void) {
        const char *tmp = getenv("TMPDIR");
        char *d;

        if (directory)
                return;
        if (asprintf(&d, "%s/vertex-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(d)) {
                perror("fuzz-config: cannot make a temporary directory");
                abort();
        }
        directory = d;
        if (asprintf(&config_path, "%s/certd.conf", directory) < 0 ||
            asprintf(&dropin_dir, "%s/certd.conf.d", directory) < 0)
                abort();
        atexit(cleanup);
}

static void write_file(const char *path, const FuzzPart *part) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t done = 0;

        fuzz_assert(fd >= 0);
        while (done < part->size) {
                ssize_t n = write(fd, part->data + done, part->size - done);
                fuzz_assert(n > 0);
                done += (size_t) n;
        }
        close(fd);
}

static void check_config(const Config *c) {
        fuzz_assert(c->server_name && c->drop_directory && c->store_directory);
        fuzz_assert(c->alternative_names && c->units);
        fuzz_assert(c->keep_generations >= 2 && c->keep_generations <= 1000);
        fuzz_assert(c->expiry_warning_days <= 3650);
        fuzz_assert((unsigned) c->policy < _VALIDATE_POLICY_MAX);
        fuzz_assert(c->reload_timeout_usec > 0 && c->reload_timeout_usec <= UINT64_C(24) * 3600 * 1000000);
        fuzz_assert(c->settle_usec <= UINT64_C(24) * 3600 * 1000000);
        fuzz_assert(c->max_input_size >= 4096 && c->max_input_size <= UINT64_C(64) * 1024 * 1024);
        fuzz_assert(c->store_directory[0] == '/');
        fuzz_assert(c->drop_directory[0] == '/' || c->drop_directory[0] == 0);
        fuzz_assert(!c->trust_store_file || c->trust_store_file[0] == '/');
        fuzz_assert(c->metrics_file && (c->metrics_file[0] == '/' || c->metrics_file[0] == 0));
        /* ReloadThrough=: empty (a job per unit) or one NAME.target / NAME.service, no space in it. */
        fuzz_assert(c->reload_through && !strpbrk(c->reload_through, " \t\n/"));
        fuzz_assert(!c->reload_through[0] || !strv_contains(c->units, c->reload_through));
        if (c->reload_through[0]) {
                size_t len = strlen(c->reload_through);
                fuzz_assert(len > 7 && (strcmp(c->reload_through + len - 7, ".target") == 0 ||
                                        (len > 8 && strcmp(c->reload_through + len - 8, ".service") == 0)));
        }
        for (char **u = c->units; *u; u++) {
                size_t len = strlen(*u);
                fuzz_assert(len > 8 && strcmp(*u + len - 8, ".service") == 0);
                for (char **v = u + 1; *v; v++)
                        fuzz_assert(strcmp(*u, *v) != 0);  /* each name once */
        }
        for (char **n = c->alternative_names; *n; n++)
                fuzz_assert(**n != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzPart parts[MAX_PARTS];
        Config *c = NULL;
        char *error = NULL;
        size_t n;
        int r;

        setup_once();
        n = fuzz_split(data, size, parts, MAX_PARTS);

        remove_dropins();
        write_file(config_path, &parts[0]);
        if (n > 1) {
                fuzz_assert(mkdir(dropin_dir, 0700) == 0);
                for (size_t i = 1; i < n; i++) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%02zu.conf", dropin_dir, i);
                        write_file(path, &parts[i]);
                }
        }

        r = config_load(config_path, &c, &error);
        if (r >= 0) {
                fuzz_assert(r == 0 && c && !error);
                check_config(c);
                config_free(c);
                return 0;
        }

        fuzz_assert(!c);
        fuzz_assert(r == -EINVAL || r == -ENOMEM || r == -ERANGE);
        if (r == -EINVAL)
                fuzz_assert(error);
        /* "FILE:LINE: Key=: what is wrong": the file is one of ours. */
        if (error)
                fuzz_assert(strncmp(error, directory, strlen(directory)) == 0);
        free(error);
        return 0;
}
