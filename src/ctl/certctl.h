/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vertex-certctl: the parsed command line shared by the verbs. The verbs live
 * in certctl-offline.c (no daemon needed) and certctl-bus.c (talk to
 * vertex-certd over the system bus).
 */

#include <stdbool.h>

#include "validate.h"

/* Exit codes, documented in vertex-certctl(1). */
#define CERTCTL_EXIT_OK       0
#define CERTCTL_EXIT_REFUSED  1   /* invalid bundle, or the daemon answered with an error */
#define CERTCTL_EXIT_USAGE    2   /* bad command line, unreadable file, no bus */

typedef struct CertctlArgs {
        bool json;
        bool ask_password;
        bool offline;
        const char *server_name;   /* the first --server-name: the primary name */
        char **access_names;       /* every further --server-name, each required too; NULL: none */
        const char *cert;
        const char *key;
        const char *ca;
        const char *trust_store;   /* --trust-store FILE: anchors used when --ca is not given */
        const char *config;        /* --config FILE: the daemon's configuration to take the names from */
        ValidatePolicy policy;
        bool policy_set;
        char **positional;         /* arguments after the verb, NULL-terminated */
        const char *key_type;      /* request --key-type */
        const char *subject;       /* request --subject */
        char **alt_names;          /* request --alt-name, repeatable */
        const char *output;        /* request --output FILE */
        const char *pkcs12;        /* install --pkcs12 FILE */
        const char *password_file; /* install --pkcs12: --password-file FILE */
} CertctlArgs;

/* Each verb returns an exit code (CERTCTL_EXIT_*). */
int verb_validate_offline(const CertctlArgs *a);
int verb_inspect(const CertctlArgs *a);

int verb_status(const CertctlArgs *a);
int verb_install(const CertctlArgs *a);
int verb_validate_bus(const CertctlArgs *a);
int verb_rollback(const CertctlArgs *a);
int verb_regenerate(const CertctlArgs *a);
int verb_generations(const CertctlArgs *a);
int verb_reload(const CertctlArgs *a);
int verb_request(const CertctlArgs *a);
int verb_requests(const CertctlArgs *a);
int verb_cancel_request(const CertctlArgs *a);
int verb_install_pkcs12(const CertctlArgs *a);

#include "certctl-util.h"

/*
 * Reads --cert, --key (optional: the key may be inside the --cert file) and
 * --ca (optional) with the PEM reader's default bound, into in[0..2]; a
 * missing optional file stays empty. On failure prints why on stderr.
 * Returns CERTCTL_EXIT_OK or CERTCTL_EXIT_USAGE.
 */
int certctl_read_bundle_files(const CertctlArgs *a, Input in[static 3]);
