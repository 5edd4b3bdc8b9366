/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A CertBundle made in a forked worker (worker.h; see bundle-child.h for
 * why).
 *
 * The child writes one header (its result, the CertProblem, three sizes)
 * and then the bundle's fullchain, key and authority as PEM on its pipe;
 * the parent reads them all (the child blocks while the pipe is full), reaps
 * it, and reads the PEM into a bundle.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle-child.h"
#include "io-util.h"
#include "macro.h"
#include "worker.h"

typedef struct ChildHeader {
        int32_t r;
        CertProblem problem;
        uint64_t size[3];       /* fullchain, key, authority; only when r == 0 */
} ChildHeader;

static const CertBundlePart child_parts[3] = { CERT_BUNDLE_FULLCHAIN, CERT_BUNDLE_KEY, CERT_BUNDLE_CA };

typedef int (*produce_t)(const void *userdata, CertBundle **ret, CertProblem *problem);

static _noreturn_ void child_run(int fd, produce_t produce, const void *userdata) {
        ChildHeader header = {};
        CertBundle *b = NULL;
        char *pem[3] = {};
        size_t size[3] = {};

        header.r = produce(userdata, &b, &header.problem);
        for (size_t i = 0; header.r >= 0 && i < 3; i++) {
                header.r = cert_bundle_part_pem(b, child_parts[i], &pem[i], &size[i]);
                header.size[i] = size[i];
        }
        if (write_all(fd, &header, sizeof(header)) >= 0 && header.r >= 0)
                for (size_t i = 0; i < 3; i++)
                        if (write_all(fd, pem[i], size[i]) < 0)
                                break;

        /* Freed although _exit() follows: valgrind and ASan follow the child too. */
        for (size_t i = 0; i < 3; i++)
                if (pem[i])
                        erase_and_free(pem[i], size[i]);
        cert_bundle_free(b);
        _exit(EXIT_SUCCESS);
}

/* Reads what the child wrote into a bundle; returns its result. */
static int parent_read(int fd, const PemLimits *limits, CertBundle **ret, CertProblem *problem) {
        ChildHeader header;
        char *pem[3] = {};
        int r;

        r = read_exactly(fd, &header, sizeof(header));
        if (r < 0)
                return r == -EPIPE ? -EPROTO : r;   /* died before it could say */
        if (header.r < 0) {
                if (header.r == -EBADMSG && problem) {
                        header.problem.message[sizeof(header.problem.message) - 1] = 0;
                        *problem = header.problem;
                }
                return header.r;
        }

        for (size_t i = 0; i < 3; i++) {
                if (header.size[i] > SIZE_MAX - 1 || !(pem[i] = malloc(header.size[i] + 1))) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = read_exactly(fd, pem[i], header.size[i]);
                if (r < 0) {
                        r = r == -EPIPE ? -EPROTO : r;
                        goto finish;
                }
                pem[i][header.size[i]] = 0;
        }

        /* Our own PEM of a bundle the child accepted: a failure here is ours, not the caller's. */
        CertProblem ignored;
        r = pem_read_bundle(pem[0], header.size[0], pem[1], header.size[1], pem[2], header.size[2], limits, ret,
                            &ignored);
        if (r == -EBADMSG)
                r = -EPROTO;

finish:
        for (size_t i = 0; i < 3; i++)
                if (pem[i])
                        erase_and_free(pem[i], header.size[i]);
        return r;
}

static int run_in_child(produce_t produce, const void *userdata, const PemLimits *limits,
                        CertBundle **ret, CertProblem *problem) {
        int fd, r;
        pid_t pid;

        pid = worker_fork(-1, &fd);
        if (pid < 0)
                return pid;
        if (pid == 0)
                child_run(fd, produce, userdata);

        r = parent_read(fd, limits, ret, problem);
        /* An error above may leave the child blocked on the full pipe: closing it ends that. */
        safe_close(fd);
        worker_reap(pid, false);
        return r;
}

/* ------------------------------------------------------------------ load */

typedef struct LoadArgs {
        const void *certificate, *key, *authority;
        size_t certificate_size, key_size, authority_size;
        const ValidateOptions *options;
} LoadArgs;

static int produce_loaded(const void *userdata, CertBundle **ret, CertProblem *problem) {
        const LoadArgs *a = userdata;

        return cert_bundle_load(a->certificate, a->certificate_size, a->key, a->key_size, a->authority,
                                a->authority_size, a->options, ret, problem);
}

int cert_bundle_load_in_child(const void *certificate, size_t certificate_size,
                              const void *key, size_t key_size,
                              const void *authority, size_t authority_size,
                              const ValidateOptions *options,
                              CertBundle **ret,
                              CertProblem *problem) {
        LoadArgs a = {
                .certificate = certificate, .certificate_size = certificate_size,
                .key = key, .key_size = key_size,
                .authority = authority, .authority_size = authority_size,
                .options = options,
        };

        return run_in_child(produce_loaded, &a, options ? &options->limits : NULL, ret, problem);
}

/* ------------------------------------------------------------ self-signed */

typedef struct SelfSignedArgs {
        const char *server_name;
        char *const *alternative_names;
        unsigned lifetime_days;
} SelfSignedArgs;

static int produce_selfsigned(const void *userdata, CertBundle **ret, CertProblem *problem) {
        const SelfSignedArgs *a = userdata;

        return selfsigned_generate(a->server_name, a->alternative_names, a->lifetime_days, ret);
}

int selfsigned_generate_in_child(const char *server_name, char *const *alternative_names,
                                 unsigned lifetime_days, CertBundle **ret) {
        SelfSignedArgs a = { server_name, alternative_names, lifetime_days };

        return run_in_child(produce_selfsigned, &a, NULL, ret, NULL);
}
