/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Why a certificate bundle was refused. One code per row of the validation
 * table in docs/design.md; only the bus layer turns a code into a D-Bus
 * error name (org.vertex.Certificates.Error.<Name>).
 */

#include "openssl-util.h"

typedef enum CertErrorCode {
        CERT_OK = 0,
        CERT_ERROR_MALFORMED,
        CERT_ERROR_TOO_LARGE,
        CERT_ERROR_MISSING_KEY,
        CERT_ERROR_ENCRYPTED_KEY,
        CERT_ERROR_KEY_MISMATCH,
        CERT_ERROR_CHAIN_INCOMPLETE,
        CERT_ERROR_UNTRUSTED_CHAIN,
        CERT_ERROR_EXPIRED,
        CERT_ERROR_NOT_YET_VALID,
        CERT_ERROR_NAME_MISMATCH,
        CERT_ERROR_NOT_SERVER_CERTIFICATE,
        CERT_ERROR_WEAK_KEY,
        CERT_ERROR_WEAK_SIGNATURE,
        _CERT_ERROR_MAX,
} CertErrorCode;

/* A refusal: the code and a message in the operator's terms. */
typedef struct CertProblem {
        CertErrorCode code;
        char message[512];
} CertProblem;

/* "KeyMismatch" etc.; "OK" for CERT_OK; NULL when out of range. */
const char *cert_error_name(CertErrorCode code);

/* Returns the code for a name as cert_error_name() prints it, or -EINVAL. */
int cert_error_from_name(const char *name);

/*
 * Fills *problem (if not NULL) and returns -EBADMSG, so that validators can
 * write `return cert_problem_set(problem, CERT_ERROR_EXPIRED, "…", …);`.
 */
int cert_problem_set(CertProblem *problem, CertErrorCode code, const char *format, ...) _printf_(3, 4);

static inline void cert_problem_clear(CertProblem *problem) {
        if (problem) {
                problem->code = CERT_OK;
                problem->message[0] = 0;
        }
}
