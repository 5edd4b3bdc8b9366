/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A bundle made in a forked worker (worker.h; see bundle-child.h for why).
 *
 * The child writes one header (its result, the CertProblem, the sizes), the
 * five PEM texts the store writes and the flattened CertInfo on its pipe,
 * then exits. The parent collects the bytes from an sd-event I/O source,
 * watches the child's exit through a pidfd, and reaps it without waiting.
 * It does not validate anything itself and never parses the PEM again.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle-child.h"
#include "io-util.h"
#include "passed-file.h"
#include "pem.h"
#include "pkcs12.h"
#include "selfsigned.h"
#include "store-pending.h"
#include "worker.h"

/*
 * How long a worker may take. A bundle within MaxInputSize= is checked in
 * milliseconds; one that takes longer (a huge RSA key signing the pre-flight
 * handshakes, a trust store that never reads) would hold the pipeline, and
 * every change behind it, or a Validate slot, for good.
 */
#define BUNDLE_WORKER_TIMEOUT_USEC (60 * USEC_PER_SEC)

/* What a worker may send at the most: five PEM texts of a bundle within MaxInputSize=, and its CertInfo. */
#define BUNDLE_WORKER_MAX ((size_t) 64 * 1024 * 1024)

typedef struct ChildHeader {
        int32_t r;
        CertProblem problem;
        uint64_t size[_CERT_BUNDLE_PART_MAX];   /* only when r == 0 */
        uint64_t info_size;
        char request_id[PENDING_ID_MAX];        /* the signing request whose key was used; "" when none */
} ChildHeader;

struct BundleWorker {
        pid_t pid;
        int fd;                         /* the pipe's read end, nonblocking */
        int pidfd;
        sd_event_source *io, *exit_io;
        sd_event_source *deadline;
        uint64_t timeout_usec;
        bool timed_out;                 /* killed at the deadline */
        bool refuse_when_late;          /* a bundle handed in: too slow to check is a refusal, TooLarge */
        char *buf;                      /* what the child wrote so far; holds the key: erased */
        size_t size, allocated;
        bool eof, exited;
        bundle_worker_done_t done;
        void *userdata;
};

typedef int (*produce_t)(const void *userdata, CertBundle **ret, CertProblem *problem, char *request_id);

/* ------------------------------------------------------------------ child */

/*
 * The answer: the header, then (accepted, when the store's files are wanted) the five PEM texts, then the
 * flattened CertInfo (accepted; or refused with a leaf, when only a report is wanted).
 */
static int child_write(int fd, const CertBundle *b, bool report_only, ChildHeader *header) {
        StoreFiles files = {};
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        _cleanup_free_ char *flat = NULL;
        size_t flat_size = 0;
        int r;

        if (header->r >= 0 || (report_only && header->r == -EBADMSG && b && b->leaf)) {
                r = cert_info_from_bundle(b, &info);
                if (r >= 0)
                        r = cert_info_serialize(info, &flat, &flat_size);
                if (r >= 0 && header->r >= 0 && !report_only)
                        r = store_files_from_bundle(b, &files);
                if (r < 0)
                        header->r = r;
        }
        if (header->r >= 0 || header->r == -EBADMSG) {
                for (CertBundlePart p = 0; p < _CERT_BUNDLE_PART_MAX; p++)
                        header->size[p] = files.size[p];
                header->info_size = flat_size;
        }

        r = write_all(fd, header, sizeof(*header));
        for (CertBundlePart p = 0; r >= 0 && p < _CERT_BUNDLE_PART_MAX; p++)
                r = write_all(fd, files.pem[p] ?: "", files.size[p]);
        if (r >= 0)
                r = write_all(fd, flat ?: "", flat_size);
        store_files_done(&files);
        return r;
}

static _noreturn_ void child_run(int fd, produce_t produce, const void *userdata, bool report_only) {
        ChildHeader header = {};
        CertBundle *b = NULL;

        header.r = produce(userdata, &b, &header.problem, header.request_id);
        (void) child_write(fd, b, report_only, &header);

        /* Freed although _exit() follows: valgrind and ASan follow the child too. */
        cert_bundle_free(b);
        _exit(EXIT_SUCCESS);
}

/* ----------------------------------------------------------------- parent */

BundleWorker *bundle_worker_free(BundleWorker *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->exit_io);
        sd_event_source_disable_unref(w->deadline);
        safe_close(w->fd);
        safe_close(w->pidfd);
        /* Still running (the daemon stops, or the job was dropped): killed, so reaping is immediate. */
        if (!w->exited)
                worker_reap(w->pid, true);
        if (w->buf)
                erase_and_free(w->buf, w->allocated);
        free(w);
        return NULL;
}

/* Takes one part of size bytes from *p into a NUL-terminated copy. */
static int take_part(const char **p, uint64_t size, char **ret) {
        char *copy = malloc((size_t) size + 1);

        if (!copy)
                return -ENOMEM;
        memcpy(copy, *p, (size_t) size);
        copy[size] = 0;
        *p += size;
        *ret = copy;
        return 0;
}

/* Turns what the child wrote into a result. Returns the child's answer, or -EPROTO for a garbled one. */
static int parse_reply(BundleWorker *w, BundleResult *result) {
        ChildHeader header;
        uint64_t total = sizeof(header);
        const char *p;
        int r;

        if (w->size < sizeof(header))
                return -EPROTO;   /* died before it could say */
        memcpy(&header, w->buf, sizeof(header));
        header.request_id[PENDING_ID_MAX - 1] = 0;
        memcpy(result->request_id, header.request_id, PENDING_ID_MAX);
        if (header.r < 0 && header.r != -EBADMSG)
                return header.r > -4096 ? header.r : -EPROTO;
        if (header.r == -EBADMSG) {
                header.problem.message[sizeof(header.problem.message) - 1] = 0;
                if ((unsigned) header.problem.code >= _CERT_ERROR_MAX || header.problem.code == CERT_OK)
                        return -EPROTO;
                result->problem = header.problem;
        }

        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                if (header.size[part] > BUNDLE_WORKER_MAX)
                        return -EPROTO;
                total += header.size[part];
        }
        if (header.info_size > BUNDLE_WORKER_MAX || total + header.info_size != w->size)
                return -EPROTO;

        p = w->buf + sizeof(header);
        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                r = take_part(&p, header.size[part], &result->files.pem[part]);
                if (r < 0)
                        return r;
                result->files.size[part] = (size_t) header.size[part];
        }
        if (header.info_size > 0 || header.r >= 0) {
                r = cert_info_deserialize(p, (size_t) header.info_size, &result->info);
                if (r < 0)
                        return r == -EBADMSG ? -EPROTO : r;
        }
        return header.r;
}

/* Both the pipe's end and the child's exit were seen: answer. The worker may be freed by done(). */
static void maybe_finish(BundleWorker *w) {
        BundleResult result = {};

        if (!w->eof || !w->exited)
                return;
        w->deadline = sd_event_source_disable_unref(w->deadline);

        if (w->timed_out) {
                result.r = w->refuse_when_late ? -EBADMSG : -ETIMEDOUT;
                bool seconds = w->timeout_usec >= USEC_PER_SEC;
                (void) cert_problem_set(&result.problem, CERT_ERROR_TOO_LARGE,
                                        "checking the bundle took longer than %" PRIu64 " %s, so it was stopped: "
                                        "it is too costly to check (a very large key?)",
                                        w->timeout_usec / (seconds ? USEC_PER_SEC : USEC_PER_MSEC),
                                        seconds ? "s" : "ms");
                w->done(w, &result, w->userdata);
                return;
        }

        result.r = parse_reply(w, &result);
        if (result.r < 0)
                store_files_done(&result.files);
        if (result.r < 0 && result.r != -EBADMSG)
                result.info = cert_info_free(result.info);
        w->done(w, &result, w->userdata);
}

static int grow_buffer(BundleWorker *w) {
        size_t k = w->allocated ? w->allocated * 2 : 64 * 1024;
        char *nb;

        if (w->allocated >= BUNDLE_WORKER_MAX)
                return -EPROTO;
        nb = malloc(k);
        if (!nb)
                return -ENOMEM;
        if (w->buf) {
                memcpy(nb, w->buf, w->size);
                erase_and_free(w->buf, w->allocated);
        }
        w->buf = nb;
        w->allocated = k;
        return 0;
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BundleWorker *w = userdata;
        bool complete = false;

        for (;;) {
                if (w->size == w->allocated && grow_buffer(w) < 0)
                        break;   /* too much, or no memory: the reply counts as garbled */
                ssize_t n = read(w->fd, w->buf + w->size, w->allocated - w->size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n == 0)
                        complete = true;
                if (n <= 0)
                        break;
                w->size += (size_t) n;
        }

        if (!complete) {
                /* A child still writing would never exit on its own: stop it, and take nothing from it. */
                w->size = 0;
                (void) kill(w->pid, SIGKILL);
        }
        w->eof = true;
        w->io = sd_event_source_disable_unref(w->io);
        w->fd = safe_close(w->fd);
        if (w->pidfd < 0) {
                /* No pidfd: the child has exited (closing its end) or was killed, so this does not wait. */
                worker_reap(w->pid, false);
                w->exited = true;
        }
        maybe_finish(w);
        return 0;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BundleWorker *w = userdata;
        pid_t pid;

        pid = waitpid(w->pid, NULL, WNOHANG);
        if (pid == 0)
                return 0;   /* woken early: not gone yet */
        if (pid < 0 && errno == EINTR)
                return 0;

        w->exited = true;
        w->exit_io = sd_event_source_disable_unref(w->exit_io);
        w->pidfd = safe_close(w->pidfd);
        maybe_finish(w);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        BundleWorker *w = userdata;

        /* Its pipe's end and its exit follow, and maybe_finish() answers. */
        w->timed_out = true;
        w->deadline = sd_event_source_disable_unref(w->deadline);
        (void) kill(w->pid, SIGKILL);
        return 0;
}

int bundle_worker_set_timeout(BundleWorker *w, uint64_t usec) {
        if (w->exited)
                return 0;
        w->timeout_usec = usec;
        w->deadline = sd_event_source_disable_unref(w->deadline);
        return sd_event_add_time_relative(sd_event_source_get_event(w->io ?: w->exit_io), &w->deadline,
                                          CLOCK_MONOTONIC, usec, 0, on_deadline, w);
}

/* keep: the descriptors the child reads (passed files), n_keep of them. */
static int worker_start(sd_event *event, produce_t produce, const void *args, bool report_only,
                        const int *keep, size_t n_keep,
                        bundle_worker_done_t done, void *userdata, BundleWorker **ret) {
        _cleanup_(bundle_worker_freep) BundleWorker *w = NULL;
        int fd, r;
        pid_t pid;

        /* Forked before anything is allocated for it, so that the child has nothing of ours to free. */
        pid = worker_fork_keeping(keep, n_keep, &fd);
        if (pid < 0)
                return pid;
        if (pid == 0)
                child_run(fd, produce, args, report_only);

        w = calloc(1, sizeof(BundleWorker));
        if (!w) {
                safe_close(fd);
                worker_reap(pid, true);
                return -ENOMEM;
        }
        *w = (BundleWorker) { .pid = pid, .fd = fd, .pidfd = -EBADF, .done = done, .userdata = userdata };

        if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0)
                return negative_errno();
        r = sd_event_add_io(event, &w->io, w->fd, EPOLLIN, on_pipe, w);
        if (r < 0)
                return r;

        /* Without pidfds (valgrind does not know them), the end of the pipe is the end of the child. */
        w->pidfd = pidfd_open(w->pid, 0);
        if (w->pidfd < 0 && errno != ENOSYS && errno != EPERM)
                return negative_errno();
        if (w->pidfd >= 0) {
                r = sd_event_add_io(event, &w->exit_io, w->pidfd, EPOLLIN, on_child_exit, w);
                if (r < 0)
                        return r;
        }
        r = bundle_worker_set_timeout(w, BUNDLE_WORKER_TIMEOUT_USEC);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}

/* ------------------------------------------------------------------ load */

typedef struct LoadArgs {
        const void *certificate, *key, *authority;
        size_t certificate_size, key_size, authority_size;
        const ValidateOptions *options;
        const char *pending_directory;
        bool pkcs12;
        const int *files;       /* NULL, or the descriptors of certificate, key and authority (pkcs12: the file) */
} LoadArgs;

static const char *const file_part_names[3] = { "certificate", "key", "authority" };

/*
 * The passed files read here, in the child (passed-file.h), into a copy of a
 * whose buffers are theirs: the daemon never reads them. Returns 0, or
 * -EBADMSG with problem set, or -ENOMEM.
 */
static int read_passed_files(const LoadArgs *a, LoadArgs *ret, char *buf[static 3], size_t size[static 3],
                             CertProblem *problem) {
        int r;

        *ret = *a;
        for (size_t i = 0; i < (a->pkcs12 ? 1u : 3u); i++) {
                r = passed_file_read(a->files[i], a->pkcs12 ? "PKCS#12 file" : file_part_names[i], i > 0,
                                     a->options->limits.max_size, &buf[i], &size[i], problem);
                if (r < 0)
                        return r;
        }
        if (a->pkcs12) {
                if (size[0] == 0)
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED, "The PKCS#12 file is empty.");
                ret->certificate = buf[0];
                ret->certificate_size = size[0];
                return 0;   /* the password stays where it is, in key */
        }
        ret->certificate = buf[0], ret->certificate_size = size[0];
        ret->key = buf[1], ret->key_size = size[1];
        ret->authority = buf[2], ret->authority_size = size[2];
        return 0;
}

/* A PKCS#12 file with its password (in the key's place), validated like any bundle. */
static int produce_pkcs12(const LoadArgs *a, CertBundle **ret, CertProblem *problem) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        int r;

        r = pkcs12_read_bundle(a->certificate, a->certificate_size, a->key, &b, problem);
        if (r < 0)
                return r;
        r = cert_bundle_validate(b, a->options, problem);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

/*
 * pem_read_bundle() + cert_bundle_validate(). Without a key, the key of a
 * pending signing request whose public key is the certificate's: the request
 * is named in request_id, and consumed by the daemon only once the
 * certificate serves. *ret is set whenever the bundle was read, refused or not.
 */
static int read_and_validate(const LoadArgs *a, CertBundle **ret, CertProblem *problem, char *request_id) {
        CertBundle *b;
        int r;

        r = pem_read_bundle(a->certificate, a->certificate_size, a->key, a->key_size, a->authority,
                            a->authority_size, &a->options->limits, ret, problem);
        if (r < 0)
                return r;
        b = *ret;
        if (b->leaf && !b->key && a->pending_directory) {
                r = pending_find_key(a->pending_directory, b->leaf, &b->key, request_id);
                if (r < 0)
                        return r;
                if (r == 0)
                        return cert_problem_set(problem, CERT_ERROR_MISSING_KEY,
                                                "no private key given, and no pending signing request has "
                                                "this certificate's public key");
        }
        return cert_bundle_validate(b, a->options, problem);
}

static int produce_from(const LoadArgs *a, CertBundle **ret, CertProblem *problem, char *request_id);

static int produce_loaded(const void *userdata, CertBundle **ret, CertProblem *problem, char *request_id) {
        const LoadArgs *a = userdata;
        char *buf[3] = {};
        size_t size[3] = {};
        LoadArgs read;
        int r;

        if (!a->files)
                return produce_from(a, ret, problem, request_id);

        r = read_passed_files(a, &read, buf, size, problem);
        if (r >= 0)
                r = produce_from(&read, ret, problem, request_id);
        /* Parsed by now; freed although _exit() follows, for valgrind and ASan, the key erased. */
        for (size_t i = 0; i < 3; i++)
                if (buf[i])
                        erase_and_free(buf[i], size[i]);
        return r;
}

static int produce_from(const LoadArgs *a, CertBundle **ret, CertProblem *problem, char *request_id) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        int r;

        if (a->pkcs12)
                return produce_pkcs12(a, ret, problem);
        r = read_and_validate(a, &b, problem, request_id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int bundle_worker_load(sd_event *event,
                       const void *certificate, size_t certificate_size,
                       const void *key, size_t key_size,
                       const void *authority, size_t authority_size,
                       const int *files,
                       const ValidateOptions *options,
                       const char *pending_directory, bool pkcs12,
                       bundle_worker_done_t done, void *userdata,
                       BundleWorker **ret) {
        LoadArgs a = {
                .files = files,
                .pending_directory = pending_directory,
                .pkcs12 = pkcs12,
                .certificate = certificate, .certificate_size = certificate_size,
                .key = key, .key_size = key_size,
                .authority = authority, .authority_size = authority_size,
                .options = options,
        };

        /* The child gets its copy of a at fork(); it may go out of scope here afterwards. */
        int r = worker_start(event, produce_loaded, &a, false, files, files ? (pkcs12 ? 1 : 3) : 0,
                             done, userdata, ret);
        if (r >= 0)
                (*ret)->refuse_when_late = true;
        return r;
}

/* The same checks, the parsed bundle handed back even when refused, for its CertInfo. */
static int produce_validated(const void *userdata, CertBundle **ret, CertProblem *problem, char *request_id) {
        return read_and_validate(userdata, ret, problem, request_id);
}

int bundle_worker_validate(sd_event *event,
                           const void *certificate, size_t certificate_size,
                           const void *key, size_t key_size,
                           const void *authority, size_t authority_size,
                           const ValidateOptions *options,
                           const char *pending_directory,
                           bundle_worker_done_t done, void *userdata,
                           BundleWorker **ret) {
        LoadArgs a = {
                .pending_directory = pending_directory,
                .certificate = certificate, .certificate_size = certificate_size,
                .key = key, .key_size = key_size,
                .authority = authority, .authority_size = authority_size,
                .options = options,
        };

        int r = worker_start(event, produce_validated, &a, true, NULL, 0, done, userdata, ret);
        if (r >= 0)
                (*ret)->refuse_when_late = true;
        return r;
}

/* ------------------------------------------------------------ self-signed */

typedef struct SelfSignedArgs {
        const char *server_name;
        char *const *alternative_names;
        unsigned lifetime_days;
} SelfSignedArgs;

static int produce_selfsigned(const void *userdata, CertBundle **ret, CertProblem *problem, char *request_id) {
        const SelfSignedArgs *a = userdata;

        return selfsigned_generate(a->server_name, a->alternative_names, a->lifetime_days, ret);
}

int bundle_worker_selfsigned(sd_event *event, const char *server_name, char *const *alternative_names,
                             unsigned lifetime_days, bundle_worker_done_t done, void *userdata,
                             BundleWorker **ret) {
        SelfSignedArgs a = { server_name, alternative_names, lifetime_days };

        return worker_start(event, produce_selfsigned, &a, false, NULL, 0, done, userdata, ret);
}
