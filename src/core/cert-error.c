/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names and construction of certificate refusals. Knows nothing of D-Bus:
 * the bus layer prefixes the names with its error namespace.
 */

#include <stdarg.h>
#include <stdio.h>

#include "cert-error.h"

static const char *const cert_error_names[_CERT_ERROR_MAX] = {
        [CERT_OK]                           = "OK",
        [CERT_ERROR_MALFORMED]              = "Malformed",
        [CERT_ERROR_TOO_LARGE]              = "TooLarge",
        [CERT_ERROR_MISSING_KEY]            = "MissingKey",
        [CERT_ERROR_ENCRYPTED_KEY]          = "EncryptedKey",
        [CERT_ERROR_KEY_MISMATCH]           = "KeyMismatch",
        [CERT_ERROR_CHAIN_INCOMPLETE]       = "ChainIncomplete",
        [CERT_ERROR_UNTRUSTED_CHAIN]        = "UntrustedChain",
        [CERT_ERROR_EXPIRED]                = "Expired",
        [CERT_ERROR_NOT_YET_VALID]          = "NotYetValid",
        [CERT_ERROR_NAME_MISMATCH]          = "NameMismatch",
        [CERT_ERROR_NOT_SERVER_CERTIFICATE] = "NotServerCertificate",
        [CERT_ERROR_WEAK_KEY]               = "WeakKey",
        [CERT_ERROR_WEAK_SIGNATURE]         = "WeakSignature",
};

const char *cert_error_name(CertErrorCode code) {
        if ((unsigned) code >= _CERT_ERROR_MAX)
                return NULL;
        return cert_error_names[code];
}

int cert_error_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(cert_error_names); i++)
                if (streq(cert_error_names[i], name))
                        return (int) i;
        return -EINVAL;
}

int cert_problem_set(CertProblem *problem, CertErrorCode code, const char *format, ...) {
        if (problem) {
                va_list ap;

                problem->code = code;
                va_start(ap, format);
                (void) vsnprintf(problem->message, sizeof(problem->message), format, ap);
                va_end(ap);
        }
        return -EBADMSG;
}
