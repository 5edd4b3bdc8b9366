/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Making a CertBundle in a forked child: reading and validating what a
 * caller hands in, or generating the self-signed default.
 *
 * Why: both run OpenSSL code the idle daemon never needs again (chain
 * building and checking, key generation and signing), and OpenSSL keeps
 * what it fetched for them for the life of the process: under the real unit
 * 0.3-0.5 MiB of the idle RSS after the first install or the first boot. A
 * child also keeps the parsing of untrusted input out of the daemon's
 * address space. The child hands back the finished bundle as PEM (the chain
 * in its validated order), which the daemon reads again with pem.c, code it
 * runs at every start anyway; it does not validate it a second time.
 */

#include "bundle.h"
#include "cert-error.h"
#include "pem.h"
#include "selfsigned.h"
#include "validate.h"

/* cert_bundle_load() in a child. Same arguments and return convention. */
int cert_bundle_load_in_child(const void *certificate, size_t certificate_size,
                              const void *key, size_t key_size,
                              const void *authority, size_t authority_size,
                              const ValidateOptions *options,
                              CertBundle **ret,
                              CertProblem *problem);

/* selfsigned_generate() in a child. Same arguments and return convention. */
int selfsigned_generate_in_child(const char *server_name, char *const *alternative_names,
                                 unsigned lifetime_days, CertBundle **ret);
