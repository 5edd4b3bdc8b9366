/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the PEM reader and the validation, the path every untrusted
 * install takes (bus strings, dropped files). One input is up to four parts
 * separated by FUZZ_SEPARATOR: certificate, key, authority, and a line of
 * option words ("self-signed", "strict", "small"). The server name and the
 * clock are fixed, so that a finding reproduces on any day; the trust store
 * is a directory that does not exist, so an empty authority never depends on
 * the host's CA certificates.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks the
 * contracts of pem.h and validate.h: a refusal is -EBADMSG with a named
 * problem and a message, an accepted bundle has a leaf and a key, covers the
 * server name, fits the certificate list TLS clients accept (the pre-flight
 * handshake) and writes out PEM that reads back to the same certificates.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "tls-preflight.h"
#include "validate.h"

/* 2026-12-01 00:00:00 UTC: the seeds' certificates are valid on that day (gen-seeds.c). */
#define FUZZ_NOW_USEC (UINT64_C(1796083200) * UINT64_C(1000000))
#define FUZZ_SERVER_NAME "fuzz.vertex.test"
#define FUZZ_TRUST_STORE_DIR "/nonexistent/vertex-certd-fuzz-trust-store"

/* Names the leaf is matched against beside the server name: wildcards, IPv4, IPv6, odd forms. */
static const char *const extra_names[] = {
        "www.fuzz.vertex.test", "vertex.test", "192.0.2.10", "::1", "2001:db8::10",
        "FUZZ.VERTEX.TEST.", "*.vertex.test", "xn--80ak6aa92e.test", "",
};

static bool has_word(const FuzzPart *p, const char *word) {
        size_t len = strlen(word);
        const uint8_t *at = p->data, *end = p->data + p->size;

        while (at < end) {
                const uint8_t *hit = memmem(at, (size_t) (end - at), word, len);
                if (!hit)
                        return false;
                bool start_ok = hit == p->data || strchr(" \t\r\n,", hit[-1]);
                bool end_ok = hit + len == end || strchr(" \t\r\n,", hit[len]);
                if (start_ok && end_ok)
                        return true;
                at = hit + 1;
        }
        return false;
}

static void check_refusal(int r, const CertProblem *problem, const char *what) {
        if (r == -ENOMEM)
                return;
        if (r != -EBADMSG) {
                fprintf(stderr, "%s: returned %d (%s), expected 0, -EBADMSG or -ENOMEM\n", what, r, strerror(-r));
                abort();
        }
        if (problem->code <= CERT_OK || problem->code >= _CERT_ERROR_MAX || !cert_error_name(problem->code)) {
                fprintf(stderr, "%s: -EBADMSG without a problem code (code %d)\n", what, (int) problem->code);
                abort();
        }
        if (problem->message[0] == 0 || !memchr(problem->message, 0, sizeof(problem->message))) {
                fprintf(stderr, "%s: -EBADMSG (%s) without a message\n", what, cert_error_name(problem->code));
                abort();
        }
}

static void check_certificates(const FuzzPart *part, const PemLimits *limits) {
        STACK_OF(X509) *certs = NULL;
        CertProblem problem = {};
        int r;

        r = pem_read_certificates(part->data, part->size, limits, &certs, &problem);
        if (r < 0) {
                fuzz_assert(!certs);
                check_refusal(r, &problem, "pem_read_certificates()");
                return;
        }
        fuzz_assert(r == 0 && certs && sk_X509_num(certs) > 0);
        for (int i = 0; i < sk_X509_num(certs); i++) {
                X509 *x = sk_X509_value(certs, i);
                (void) cert_matches_name(x, FUZZ_SERVER_NAME);
                for (size_t j = 0; j < ELEMENTSOF(extra_names); j++)
                        (void) cert_matches_name(x, extra_names[j]);
        }
        sk_X509_pop_free(certs, X509_free);
}

static void check_accepted(const CertBundle *b) {
        fuzz_assert(b->leaf && b->key && b->chain && b->authority);
        fuzz_assert(cert_matches_name(b->leaf, FUZZ_SERVER_NAME));
        /* The pre-flight handshake passed: what is served fits what clients accept. */
        fuzz_assert(tls_certificate_list_size(b->leaf, b->chain, TLS1_3_VERSION) <= TLS_CLIENT_MAX_CERT_LIST);

        for (CertBundlePart part = 0; part < _CERT_BUNDLE_PART_MAX; part++) {
                char *pem = NULL;
                size_t size = 0;

                fuzz_assert(cert_bundle_part_file(part));
                if (cert_bundle_part_pem(b, part, &pem, &size) < 0)
                        continue;  /* ENOMEM */
                fuzz_assert(pem && strlen(pem) == size);

                if (part == CERT_BUNDLE_FULLCHAIN) {
                        /* What the store writes must read back: leaf + every intermediate, in order. */
                        STACK_OF(X509) *again = NULL;
                        CertProblem problem = {};
                        PemLimits unbounded = { .max_size = size + 1, .max_certificates = 1000 };

                        fuzz_assert(pem_read_certificates(pem, size, &unbounded, &again, &problem) == 0);
                        fuzz_assert(sk_X509_num(again) == 1 + sk_X509_num(b->chain));
                        fuzz_assert(X509_cmp(sk_X509_value(again, 0), b->leaf) == 0);
                        for (int i = 0; i < sk_X509_num(b->chain); i++)
                                fuzz_assert(X509_cmp(sk_X509_value(again, i + 1), sk_X509_value(b->chain, i)) == 0);
                        sk_X509_pop_free(again, X509_free);
                }

                if (part == CERT_BUNDLE_KEY) {
                        fuzz_assert(size > 0);
                        erase_and_free(pem, size);
                } else
                        free(pem);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzPart parts[4];
        CertBundle *b = NULL;
        CertProblem problem = {};
        int r;

        fuzz_split(data, size, parts, ELEMENTSOF(parts));

        ValidateOptions options = {
                .server_name = FUZZ_SERVER_NAME,
                .policy = has_word(&parts[3], "strict") ? VALIDATE_POLICY_STRICT : VALIDATE_POLICY_FIPS,
                .now_usec = FUZZ_NOW_USEC,
                .trust_store_dir = FUZZ_TRUST_STORE_DIR,
                .allow_self_signed_leaf = has_word(&parts[3], "self-signed"),
        };
        /* "small": limits low enough that the seeds hit TooLarge (size and count). */
        if (has_word(&parts[3], "small"))
                options.limits = (PemLimits) { .max_size = 2048, .max_certificates = 2 };

        for (size_t i = 0; i < 3; i++)
                check_certificates(&parts[i], &options.limits);

        r = cert_bundle_load(parts[0].data, parts[0].size,
                             parts[1].data, parts[1].size,
                             parts[2].data, parts[2].size,
                             &options, &b, &problem);
        if (getenv("FUZZ_VERBOSE"))
                /* What a seed exercises, for people writing seeds (HACKING.md). */
                fprintf(stderr, "fuzz-pem: %s%s%s\n", r >= 0 ? "accepted" : r == -EBADMSG ? cert_error_name(problem.code) : strerror(-r),
                        r == -EBADMSG ? ": " : "", r == -EBADMSG ? problem.message : "");
        if (r < 0) {
                fuzz_assert(!b);
                check_refusal(r, &problem, "cert_bundle_load()");
                return 0;
        }
        fuzz_assert(r == 0 && b);
        check_accepted(b);
        cert_bundle_free(b);
        return 0;
}
