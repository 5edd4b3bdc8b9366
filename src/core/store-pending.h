/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The store's pending area: the keys of signing requests whose signed
 * certificate has not come back yet.
 *   STORE/pending/ID/{key.pem,request.csr,meta}     (directory 0700, files 0600)
 * A request is written into a temporary directory, fsynced, and renamed into
 * place, so a crash leaves either a complete request or a `.tmp-` directory
 * that pending_clean() removes at the next start. The key never leaves this area but to be
 * installed as the key of a generation.
 */

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openssl-util.h"

#define PENDING_ID_MAX 33   /* 32 hex digits and the NUL */

typedef struct PendingRequest {
        char id[PENDING_ID_MAX];
        char *subject;
        char *key_type;
        uint64_t created_usec;
        uint64_t expires_usec;
} PendingRequest;

void pending_request_done(PendingRequest *p);
void pending_request_array_free(PendingRequest *array, size_t n);

/* A fresh random id (32 hex digits). Returns 0 or -EIO. */
int pending_new_id(char ret[static PENDING_ID_MAX]);

/* Is id of the form pending_new_id() makes (nothing else is ever a path)? */
bool pending_id_valid(const char *id);

/* Writes request p (its id, subject, key type and times) with its key and CSR, crash-safely. Returns 0 or -errno. */
int pending_write(const char *store_dir, const PendingRequest *p, EVP_PKEY *key, const char *csr_pem);

/* Removes what a crash left of a request being written. Only while no request is being made. Returns 0 or -errno. */
int pending_clean(const char *store_dir);

/*
 * The complete requests, oldest first. A missing
 * pending area is an empty list. Returns 0 or -errno.
 */
int pending_list(const char *store_dir, PendingRequest **ret, size_t *ret_n);

/* Removes one request, key first. Returns 0, -ENOENT when there is none, or -errno. */
int pending_remove(const char *store_dir, const char *id);

/* Removes every request expired at now_usec. Returns how many were removed, or -errno. */
int pending_prune(const char *store_dir, uint64_t now_usec);

/*
 * The pending key whose public half is cert's public key. Returns 1 with the
 * key and the request's id, 0 when none matches, or -errno.
 */
int pending_find_key(const char *store_dir, X509 *cert, EVP_PKEY **ret_key, char ret_id[static PENDING_ID_MAX]);
