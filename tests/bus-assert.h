/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the test-bus-*.c programs share on top of the bus fixture: the
 * standard fixture, installing, and asserting every property against the
 * files consumers read.
 */

#include <openssl/x509.h>

#include "bus-fixture.h"
#include "pki.h"

#define SERVER_NAME "console.example.com"

#define _cleanup_pki_chain_ __attribute__((cleanup(pki_chain_freep)))

/* bus_fixture_setup() without extra configuration, and its teardown. */
void setup(BusFixture *f, gconstpointer data);
void teardown(BusFixture *f, gconstpointer data);

char *fingerprint_of(X509 *cert);
/* The leaf certificate `current` points at, as consumers would read it. */
X509 *read_current_leaf(BusFixture *f);

GVariant *install(BusFixture *f, const char *cert, const char *key, const char *ca, GError **error);
void install_ok(BusFixture *f, const PkiChain *c, guint64 *ret_generation, char **ret_fingerprint);

/* Every property of the interface against what is on disk under current/. */
void assert_properties(BusFixture *f, guint64 generation, const char *source, const char *state,
                       guint chain_length, const char *fingerprint, const char *last_error_prefix);
/* Each of names was announced in PropertiesChanged since signal index from. */
void assert_changed(BusFixture *f, guint from, const char *const *names);
/* The properties describing the served certificate. */
extern const char *const certificate_properties[];

guint n_generations(BusFixture *f);

/* A chain for SERVER_NAME, changed by tweak (may be NULL) first. */
PkiChain *chain_with(void (*tweak)(PkiChainOptions *o));
/* InstallFiles with these descriptors (closed here). */
GVariant *install_fds(BusFixture *f, int cert, int key, int ca, GError **error);

/* Takes (or releases) a well-known name on the fixture's connection, to stand in for a service. */
void request_name(BusFixture *f, const char *name, bool release);
