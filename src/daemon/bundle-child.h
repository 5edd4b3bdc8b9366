/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Making a bundle in a forked worker: reading and validating what a caller
 * hands in, or generating the self-signed default.
 *
 * Why a child: both run OpenSSL code the idle daemon never needs again
 * (chain building and checking, key generation and signing), and OpenSSL
 * keeps what it fetched for them for the life of the process: under the real
 * unit 0.3-0.5 MiB of the idle RSS after the first install or the first boot.
 * A child also keeps the parsing of untrusted input out of the daemon: every
 * bundle handed in (Install, InstallFiles, Validate, the drop directory) is
 * read here, never in the daemon.
 *
 * The child hands back exactly what the store writes (StoreFiles: the PEM
 * texts, the chain in its validated order) and the CertInfo describing the
 * leaf, so the daemon neither parses nor describes the bundle again. Its pipe
 * and its exit are watched from the event loop, like the probe's: nothing
 * here blocks the daemon.
 */

#include <systemd/sd-event.h>

#include "cert-error.h"
#include "certinfo.h"
#include "store.h"
#include "store-pending.h"
#include "validate.h"

typedef struct BundleWorker BundleWorker;

typedef struct BundleResult {
        int r;                  /* 0; -EBADMSG with problem set (refused); -errno */
        CertProblem problem;
        StoreFiles files;       /* r == 0 (not from bundle_worker_validate()): owned by the receiver (store_files_done()) */
        CertInfo *info;         /* r == 0, or a refusal of bundle_worker_validate() with a leaf: owned by the receiver */
        char request_id[PENDING_ID_MAX];  /* the pending signing request whose key the bundle took; "" when none */
} BundleResult;

/*
 * Called once from the event loop when the worker has answered and exited.
 * The worker may be freed from within the call. result's contents belong to
 * the callee.
 */
typedef void (*bundle_worker_done_t)(BundleWorker *w, BundleResult *result, void *userdata);

/*
 * cert_bundle_load() in a child; the inputs are copied into it by fork().
 * With files (NULL: none), the inputs are instead the passed files of
 * certificate, key and authority (with pkcs12, files[0] only, the password in
 * key), read in the child with options' MaxInputSize= (passed-file.h): a
 * descriptor that is no readable regular file is refused there, Malformed or
 * TooLarge, and one that blocks its reader is stopped at the deadline.
 * With an empty key and pending_directory set, the key is that of the
 * pending signing request matching the certificate (store-pending.h), or the
 * bundle is refused with MissingKey. With pkcs12, certificate is a PKCS#12
 * file and key its password (pkcs12.h). Returns 0 or -errno.
 */
int bundle_worker_load(sd_event *event,
                       const void *certificate, size_t certificate_size,
                       const void *key, size_t key_size,
                       const void *authority, size_t authority_size,
                       const int *files,
                       const ValidateOptions *options,
                       const char *pending_directory, bool pkcs12,
                       bundle_worker_done_t done, void *userdata,
                       BundleWorker **ret);

/*
 * The checks of Validate in a child: cert_bundle_load() without the store's
 * files; the CertInfo of the leaf comes back whenever one was read, refused
 * or not. Without a key and with pending_directory set, the key of the
 * matching pending signing request, named in the result's request_id.
 * Returns 0 or -errno.
 */
int bundle_worker_validate(sd_event *event,
                           const void *certificate, size_t certificate_size,
                           const void *key, size_t key_size,
                           const void *authority, size_t authority_size,
                           const ValidateOptions *options,
                           const char *pending_directory,
                           bundle_worker_done_t done, void *userdata,
                           BundleWorker **ret);

/* selfsigned_generate() in a child. Returns 0 or -errno. */
int bundle_worker_selfsigned(sd_event *event, const char *server_name, char *const *alternative_names,
                             unsigned lifetime_days, bundle_worker_done_t done, void *userdata,
                             BundleWorker **ret);

/*
 * Every worker is killed when it runs longer than 60 s: a bundle handed in is
 * then refused (TooLarge, "checking the bundle took longer than …"), a
 * self-signed generation fails with -ETIMEDOUT. This sets another limit,
 * counted from now. Returns 0 or -errno.
 */
int bundle_worker_set_timeout(BundleWorker *w, uint64_t usec);

/* Stops watching; a child still running is killed and reaped. */
BundleWorker *bundle_worker_free(BundleWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(BundleWorker *, bundle_worker_free);
