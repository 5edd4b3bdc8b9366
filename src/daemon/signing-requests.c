/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pending signing requests (signing-requests.h). The worker protocol is one
 * header and the CSR text on a pipe; the parent reads it from the event
 * loop. The header carries no key: the worker wrote the key to disk itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "io-util.h"
#include "journal.h"
#include "signing-requests.h"
#include "store-pending.h"
#include "time-util.h"
#include "worker.h"

#define CSR_MAX ((size_t) 64 * 1024)

typedef struct RequestHeader {
        int32_t r;
        uint64_t csr_size;
} RequestHeader;

struct RequestWorker {
        pid_t pid;
        int fd;
        sd_event_source *io;
        char *buf;
        size_t size;
        PendingRequest request;        /* what the parent decided: id, subject, type, times */
        signing_request_done_t done;
        void *userdata;
};

static RequestWorker *request_worker_free(RequestWorker *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        safe_close(w->fd);
        if (w->pid > 0)
                worker_reap(w->pid, true);
        free(w->buf);
        pending_request_done(&w->request);
        free(w);
        return NULL;
}

static void emit_pending_changed(Context *c) {
        if (c->bus && c->bus_name_acquired)
                (void) sd_bus_emit_properties_changed(c->bus, BUS_PATH, BUS_INTERFACE, "PendingRequests", NULL);
}

static void arm_timer(Context *c);

/* Reads the list again from disk; the pending area is the truth, the Context a copy for the bus. */
static void reload_list(Context *c) {
        PendingRequest *list = NULL;
        size_t n = 0;
        int r;

        r = pending_list(store_directory(c->store), &list, &n);
        if (r < 0) {
                log_warning_errno(r, "Failed to list the pending signing requests, keeping the last list: %m");
                return;
        }
        pending_request_array_free(c->pending, c->n_pending);
        c->pending = list;
        c->n_pending = n;
        arm_timer(c);
}

static int prune_expired(Context *c) {
        int r = pending_prune(store_directory(c->store), now_usec(CLOCK_REALTIME));
        if (r < 0)
                return log_warning_errno(r, "Failed to remove expired signing requests: %m");
        if (r > 0)
                log_info("Removed %d expired signing request(s) and their keys (PendingRequestDays=%u).",
                         r, c->config->pending_request_days);
        return r;
}

static int on_expiry(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;

        if (prune_expired(c) > 0) {
                reload_list(c);
                emit_pending_changed(c);
        } else
                arm_timer(c);
        return 0;
}

/* One CLOCK_REALTIME timer at the earliest expiry, like expiry.c's: a clock change moves it with the wall clock. */
static void arm_timer(Context *c) {
        uint64_t next = UINT64_MAX;
        int r;

        for (size_t i = 0; i < c->n_pending; i++)
                if (c->pending[i].expires_usec < next)
                        next = c->pending[i].expires_usec;
        if (next == UINT64_MAX) {
                c->pending_timer = sd_event_source_disable_unref(c->pending_timer);
                return;
        }
        if (c->pending_timer) {
                r = sd_event_source_set_time(c->pending_timer, next);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->pending_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(c->event, &c->pending_timer, CLOCK_REALTIME, next, USEC_PER_SEC,
                                      on_expiry, c);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the expiry of signing requests, they expire at the next start: %m");
}

int signing_requests_start(Context *c) {
        int r;

        r = pending_clean(store_directory(c->store));
        if (r < 0)
                log_warning_errno(r, "Failed to remove unfinished signing requests, ignoring: %m");
        (void) prune_expired(c);
        reload_list(c);
        return 0;
}

void signing_requests_stop(Context *c) {
        c->request_worker = request_worker_free(c->request_worker);
        c->pending_timer = sd_event_source_disable_unref(c->pending_timer);
}

/* ------------------------------------------------------------------ child */

typedef struct ChildArgs {
        const char *store_dir;
        CsrKeyType type;
        char *const *alt_names;
        const PendingRequest *request;
} ChildArgs;

static _noreturn_ void child_run(int fd, const ChildArgs *a) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *csr = NULL;
        RequestHeader h = {};

        h.r = csr_generate(a->type, a->request->subject, a->alt_names, &key, &csr);
        if (h.r >= 0)
                h.r = pending_write(a->store_dir, a->request, key, csr);
        if (h.r >= 0)
                h.csr_size = strlen(csr);
        if (write_all(fd, &h, sizeof(h)) >= 0 && h.r >= 0)
                (void) write_all(fd, csr, h.csr_size);
        _exit(EXIT_SUCCESS);
}

/* ----------------------------------------------------------------- parent */

static void finish(Context *c, RequestWorker *w, int r) {
        RequestHeader h;
        const char *csr = NULL;

        if (r >= 0 && w->size < sizeof(h))
                r = -EPROTO;   /* died before it could say */
        if (r >= 0) {
                memcpy(&h, w->buf, sizeof(h));
                r = h.r;
                if (r >= 0 && (h.csr_size > CSR_MAX || sizeof(h) + h.csr_size != w->size))
                        r = -EPROTO;
                if (r >= 0) {
                        w->buf[w->size] = 0;
                        csr = w->buf + sizeof(h);
                }
        }
        if (r >= 0)
                log_info("Created signing request %s for '%s' (%s); its key stays in the store.",
                         w->request.id, w->request.subject, w->request.key_type);
        else if (r != -EINVAL)
                log_error_errno(r, "Failed to create a signing request: %m");

        c->request_worker = NULL;
        if (r >= 0) {
                reload_list(c);
                emit_pending_changed(c);
        }
        w->done(c, r, &w->request, csr, w->userdata);
        request_worker_free(w);
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Context *c = userdata;
        RequestWorker *w = c->request_worker;

        for (;;) {
                if (w->size >= sizeof(RequestHeader) + CSR_MAX) {
                        finish(c, w, -EPROTO);
                        return 0;
                }
                ssize_t n = read(w->fd, w->buf + w->size, sizeof(RequestHeader) + CSR_MAX - w->size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0) {
                        finish(c, w, -errno);
                        return 0;
                }
                if (n == 0)
                        break;
                w->size += (size_t) n;
        }
        /* The end of the pipe: the worker has written everything and is leaving; reaping it does not wait. */
        worker_reap(w->pid, false);
        w->pid = 0;
        finish(c, w, 0);
        return 0;
}

int signing_requests_create(Context *c, CsrKeyType type, const char *subject, char *const *alt_names,
                            signing_request_done_t done, void *userdata) {
        RequestWorker *w;
        int fd, r;
        pid_t pid;

        if (c->request_worker)
                return -EBUSY;
        /* Expired ones do not count against the limit. */
        if (prune_expired(c) > 0) {
                reload_list(c);
                emit_pending_changed(c);
        }
        if (c->n_pending >= c->config->max_pending_requests)
                return -ENOSPC;

        w = calloc(1, sizeof(RequestWorker));
        if (!w)
                return -ENOMEM;
        *w = (RequestWorker) { .fd = -EBADF, .done = done, .userdata = userdata };
        w->buf = malloc(sizeof(RequestHeader) + CSR_MAX + 1);
        w->request.subject = strdup(subject);
        w->request.key_type = strdup(csr_key_type_to_string(type));
        if (!w->buf || !w->request.subject || !w->request.key_type) {
                request_worker_free(w);
                return -ENOMEM;
        }
        r = pending_new_id(w->request.id);
        if (r < 0) {
                request_worker_free(w);
                return r;
        }
        w->request.created_usec = now_usec(CLOCK_REALTIME);
        w->request.expires_usec = w->request.created_usec + (uint64_t) c->config->pending_request_days * USEC_PER_DAY;

        ChildArgs a = { store_directory(c->store), type, alt_names, &w->request };
        pid = worker_fork(-1, &fd);
        if (pid < 0) {
                request_worker_free(w);
                return pid;
        }
        if (pid == 0)
                child_run(fd, &a);

        w->pid = pid;
        w->fd = fd;
        if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                request_worker_free(w);
                return r;
        }
        r = sd_event_add_io(c->event, &w->io, w->fd, EPOLLIN, on_pipe, c);
        if (r < 0) {
                request_worker_free(w);
                return r;
        }
        c->request_worker = w;
        return 0;
}

int signing_requests_cancel(Context *c, const char *id) {
        int r;

        r = pending_remove(store_directory(c->store), id);
        if (r < 0)
                return r;
        log_info("Cancelled signing request %s; its key was removed.", id);
        reload_list(c);
        emit_pending_changed(c);
        return 0;
}

void signing_requests_consumed(Context *c, const char *id) {
        int r;

        r = pending_remove(store_directory(c->store), id);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to remove signing request %s after installing its certificate: %m", id);
        else
                log_info("Signing request %s was answered: its certificate is installed.", id);
        reload_list(c);
        emit_pending_changed(c);
}
