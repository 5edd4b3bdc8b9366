/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Validation of a certificate bundle (the validation table in docs/design.md). Pure: no I/O
 * besides reading the trust store it is pointed at.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "cert-error.h"
#include "pem.h"

typedef enum ValidatePolicy {
        VALIDATE_POLICY_FIPS,    /* default: RSA >= 2048, EC P-256/384/521, no MD5/SHA-1 */
        VALIDATE_POLICY_STRICT,  /* RSA >= 3072, EC P-256/384/521, no MD5/SHA-1 */
        _VALIDATE_POLICY_MAX,
} ValidatePolicy;

const char *validate_policy_to_string(ValidatePolicy p);   /* "fips", "strict" */
int validate_policy_from_string(const char *s);              /* or -EINVAL */

typedef struct ValidateOptions {
        const char *server_name;        /* DNS name or IP literal the leaf must cover; NULL: not checked */
        char *const *access_names;      /* further names clients use, each required too; NULL: none */
        const char *server_name_origin; /* where server_name came from, for messages; NULL: "ServerName=" */
        const char *access_names_origin;/* likewise for access_names; NULL: "AccessNames=" */
        ValidatePolicy policy;
        uint64_t now_usec;              /* 0: the current time */
        const char *trust_store_file;   /* used when the authority is empty; NULL: OpenSSL's default paths (system store) */
        const char *trust_store_dir;    /* likewise, a hashed directory; NULL: default */
        bool allow_self_signed_leaf;    /* our own generated default: a self-signed leaf is its own anchor */
        PemLimits limits;
} ValidateOptions;

/*
 * Checks the bundle and orders its chain in place (drops nothing silently: an
 * unrelated extra certificate is an error: UntrustedChain, naming it; a missing
 * link is ChainIncomplete). Returns 0 when valid; -EBADMSG
 * with *problem set when refused; -ENOMEM or other -errno on internal failure.
 */
int cert_bundle_validate(CertBundle *b, const ValidateOptions *options, CertProblem *problem);

/* pem_read_bundle() + cert_bundle_validate(). Same return convention; *ret set only on success. */
int cert_bundle_load(const void *certificate, size_t certificate_size,
                     const void *key, size_t key_size,
                     const void *authority, size_t authority_size,
                     const ValidateOptions *options,
                     CertBundle **ret,
                     CertProblem *problem);

/*
 * The name check of cert_bundle_validate() alone: does leaf cover the server
 * name and every access name? Returns 0, or -EBADMSG with *problem set to
 * NameMismatch naming each missing name and where it is required.
 */
int cert_check_names(X509 *leaf, const ValidateOptions *options, CertProblem *problem);

/* Does the certificate cover name (DNS with RFC 6125 wildcards, or IP literal)? SANs only, CN when there are none. */
bool cert_matches_name(X509 *cert, const char *name);
