/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The pending signing requests the daemon offers (PendingRequests): making
 * one in a forked worker, which generates the key and writes it into the
 * store's pending area itself, so that the key never passes through the
 * daemon; cancelling; expiring after PendingRequestDays=; consuming one once
 * a certificate for its key is serving. The list in the Context mirrors the
 * pending area and holds no key.
 */

#include "context.h"
#include "signing-request.h"


/*
 * Called once from the event loop: r is 0 with the request and its CSR text,
 * -EINVAL for a subject or name the request refused, or -errno.
 */
typedef void (*signing_request_done_t)(Context *c, int r, const PendingRequest *request, const char *csr_pem,
                                       void *userdata);

/* Removes leftovers and expired requests, reads the list, arms the expiry timer. Returns 0 or -errno (logged). */
int signing_requests_start(Context *c);

/* Stops the worker and the timer (shutdown); the requests stay on disk. */
void signing_requests_stop(Context *c);

/*
 * Starts making a request. Returns 0 (done follows), -EBUSY while another is
 * being made, -ENOSPC when MaxPendingRequests= are pending, or -errno.
 */
int signing_requests_create(Context *c, CsrKeyType type, const char *subject, char *const *alt_names,
                            signing_request_done_t done, void *userdata);

/* Removes a request and its key. Returns 0, -ENOENT when there is no such request, or -errno. */
int signing_requests_cancel(Context *c, const char *id);

/* A certificate for request id's key is serving: the request is done (the key lives on in the generation). */
void signing_requests_consumed(Context *c, const char *id);
