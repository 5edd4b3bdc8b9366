/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * /etc/vertex-certd/certd.conf plus certd.conf.d/ *.conf, section [Certificates].
 * Every key has a default that works with the shipped units.
 */

#include <stdbool.h>
#include <stdint.h>

#include "validate.h"

typedef struct Config {
        char *server_name;            /* ServerName=, default: the host name */
        char **alternative_names;     /* AlternativeNames=, default: localhost 127.0.0.1 ::1 (self-signed only) */
        char **access_names;          /* AccessNames=, default none: further names every certificate must cover */
        char *drop_directory;         /* DropDirectory=, default STATE_DIR/drop; "" disables */
        char *store_directory;        /* StoreDirectory=, default STATE_DIR */
        char **units;                 /* Units=, default vertex-console.service vertex-grpc.service vertex-api.service */
        char *reload_through;         /* ReloadThrough=, default vertex-tls.target; "" reloads each unit itself */
        bool verify_serving;          /* VerifyServing=, default yes */
        char **verify_addresses;      /* VerifyAddresses=, "UNIT=ADDRESS" each, default none: listeners of units without a socket */
        uint64_t reload_timeout_usec; /* ReloadTimeoutSec=, default 30 s */
        unsigned keep_generations;    /* KeepGenerations=, default 5, at least 2 */
        unsigned expiry_warning_days; /* ExpiryWarningDays=, default 30 */
        ValidatePolicy policy;        /* Policy=fips|strict, default fips */
        uint64_t settle_usec;         /* SettleSec=, default 5 s: wait for the rest of an incomplete dropped bundle */
        uint64_t max_input_size;      /* MaxInputSize=, bytes, default 1 MiB */
        char *trust_store_file;       /* TrustStoreFile=, default none: the system store */
        char *metrics_file;           /* MetricsFile=, default "": off; a node_exporter textfile */
        unsigned pending_request_days; /* PendingRequestDays=, default 30: a signing request's key is kept so long */
        unsigned max_pending_requests; /* MaxPendingRequests=, default 8 */
} Config;

/* Returns a Config with every default, or -ENOMEM. */
int config_new_default(Config **ret);

/*
 * Loads path (missing: defaults) and then path.d/ *.conf in lexical order,
 * later files overriding earlier ones. Returns 0, or -EINVAL with *ret_error
 * set to "FILE:LINE: Key=: what is wrong" (or -errno with a message).
 */
int config_load(const char *path, Config **ret, char **ret_error);

/*
 * On a reload (SIGHUP): the keys the daemon only reads at start (StoreDirectory=,
 * DropDirectory=, Units=, ReloadThrough=, KeepGenerations=, SettleSec=,
 * MaxInputSize=) keep old's values in new; the rest take effect. Stores up to
 * n_changed "Key=" names of those that differed in ret_changed and returns
 * their count, so that the log can say they wait for a restart.
 */
int config_keep_start_only(Config *new, Config *old, const char **ret_changed, size_t n_changed);

/*
 * The addresses that list (VerifyAddresses=, "UNIT=ADDRESS" words) names for
 * unit, in order, as a new string vector (empty when none). Returns 0 or -ENOMEM.
 */
int config_verify_addresses_of(char *const *list, const char *unit, char ***ret);

/* Are ServerName=, AccessNames= and AlternativeNames= the same in both? */
bool config_names_equal(const Config *a, const Config *b);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
