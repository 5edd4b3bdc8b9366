/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation of a certificate bundle: every row of the validation table in
 * docs/design.md, each a CertErrorCode with a message in the operator's terms. It orders the chain
 * in place and otherwise changes nothing. It does no I/O besides loading the
 * trust store it is pointed at (the system store only when no authority was
 * given), and it never logs.
 *
 * The checks run in this order, so that the most useful error wins (the
 * first problem an operator has to fix is the one reported):
 *
 *   1. a leaf is there                              Malformed
 *   2. a private key is there                       MissingKey
 *   3. the key is the leaf's (a CA's key is named)  KeyMismatch
 *   4. the chain: ordered from the leaf up; a
 *      missing link                                 ChainIncomplete
 *      an unrelated extra certificate, a bad
 *      signature, an untrusted root                 UntrustedChain
 *   5. dates of the leaf, then of each chain
 *      certificate up to the anchor                 Expired, NotYetValid
 *   6. the server name                              NameMismatch
 *   7. a server certificate: not a CA, EKU and
 *      keyUsage allow a TLS server                  NotServerCertificate
 *   8. policy: key sizes and curves of every
 *      certificate, then signature digests (the
 *      self-signature of a trust anchor exempt)     WeakKey, WeakSignature
 *   9. the pre-flight handshake (tls-preflight.c):
 *      served as an endpoint serves it, a client
 *      with OpenSSL's default limits completes
 *      TLS 1.3 and TLS 1.2 handshakes, verifying
 *      against the same anchors and the name        TooLarge (certificate list
 *                                                   over 100 KiB), the check a
 *                                                   client's refusal matches,
 *                                                   else NotServerCertificate
 *
 * An unrelated extra certificate is UntrustedChain (not ChainIncomplete: no
 * link is missing, something that does not belong is there); its message
 * names it. Dates are checked by us, not by X509_verify_cert(), so that the
 * message can name the certificate and the date.
 *
 * Cost: the certificates are parsed once (pem.c); one X509_STORE is built
 * from the authority only; X509_verify_cert() does the two signature checks
 * of a leaf + intermediate + root bundle; the key match is a public-key
 * comparison, not a signature.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/x509_vfy.h>

#include "certinfo.h"
#include "tls-preflight.h"
#include "validate.h"

static const char *const policy_names[_VALIDATE_POLICY_MAX] = {
        [VALIDATE_POLICY_FIPS]   = "fips",
        [VALIDATE_POLICY_STRICT] = "strict",
};

const char *validate_policy_to_string(ValidatePolicy p) {
        if ((unsigned) p >= _VALIDATE_POLICY_MAX)
                return NULL;
        return policy_names[p];
}

int validate_policy_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(policy_names); i++)
                if (strcasecmp(policy_names[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(STACK_OF(X509) *, sk_X509_free);

/* ---------------------------------------------------------- naming */

/* The CN of a name, else its one-line form: how operators recognise a certificate. */
static void name_label(const X509_NAME *name, char *buf, size_t size) {
        int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

        if (i >= 0) {
                unsigned char *utf8 = NULL;
                int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
                if (n >= 0) {
                        snprintf(buf, size, "%.*s", n, (const char *) utf8);
                        OPENSSL_free(utf8);
                        return;
                }
        }
        if (!X509_NAME_oneline(name, buf, (int) size))
                snprintf(buf, size, "(unnamed)");
}

static void cert_label(X509 *x, char *buf, size_t size) {
        name_label(X509_get_subject_name(x), buf, size);
}

/* The leaf is named by what it is for: its CN, else its first DNS/IP SAN, else its subject. */
static void leaf_label(X509 *leaf, char *buf, size_t size) {
        if (X509_NAME_get_index_by_NID(X509_get_subject_name(leaf), NID_commonName, -1) < 0) {
                _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names =
                        X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
                for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                        if (g->type == GEN_DNS) {
                                snprintf(buf, size, "%.*s", ASN1_STRING_length(g->d.ia5),
                                         (const char *) ASN1_STRING_get0_data(g->d.ia5));
                                return;
                        }
                        if (g->type == GEN_IPADD) {
                                int len = ASN1_STRING_length(g->d.ip);
                                if ((len == 4 || len == 16) &&
                                    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.ip),
                                              buf, (socklen_t) size))
                                        return;
                        }
                }
        }
        cert_label(leaf, buf, size);
}

static void format_time(const ASN1_TIME *t, char *buf, size_t size) {
        struct tm tm = {};

        if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "(unreadable date)");
}

/* ---------------------------------------------------------- names */

static bool parse_ip(const char *s, unsigned char buf[static 16], size_t *ret_len) {
        char tmp[INET6_ADDRSTRLEN + 2];
        size_t n = strlen(s);

        if (inet_pton(AF_INET, s, buf) == 1) {
                *ret_len = 4;
                return true;
        }
        /* "[::1]" as in URLs. */
        if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
                memcpy(tmp, s + 1, n - 2);
                tmp[n - 2] = 0;
                s = tmp;
        }
        if (inet_pton(AF_INET6, s, buf) == 1) {
                *ret_len = 16;
                return true;
        }
        return false;
}

/* Length without one trailing dot: "example.com." is "example.com". */
static size_t dns_len(const char *s, size_t n) {
        if (n > 0 && s[n - 1] == '.')
                n--;
        return n;
}

/*
 * RFC 6125 section 6.4: case-insensitive; a wildcard only as the entire
 * leftmost label ("*.example.com"), matching exactly one non-empty label,
 * and only with at least two labels after it (never "*.com").
 */
static bool dns_matches(const char *pattern, size_t plen, const char *name, size_t nlen) {
        plen = dns_len(pattern, plen);
        nlen = dns_len(name, nlen);
        if (plen == 0 || nlen == 0 || memchr(pattern, 0, plen))
                return false;

        if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
                const char *suffix = pattern + 1;             /* ".example.com" */
                size_t slen = plen - 1;
                const char *dot = memchr(name, '.', nlen);

                if (!memchr(suffix + 1, '.', slen - 1))
                        return false;
                if (!dot || dot == name)
                        return false;
                if ((size_t) (name + nlen - dot) != slen)
                        return false;
                return strncasecmp(dot, suffix, slen) == 0;
        }

        return plen == nlen && strncasecmp(pattern, name, nlen) == 0;
}

bool cert_matches_name(X509 *cert, const char *name) {
        unsigned char ip[16];
        size_t ip_len = 0;
        bool is_ip, have_sans = false;

        if (!cert || isempty(name))
                return false;

        is_ip = parse_ip(name, ip, &ip_len);

        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

                if (g->type == GEN_DNS) {
                        have_sans = true;
                        if (!is_ip && dns_matches((const char *) ASN1_STRING_get0_data(g->d.ia5),
                                                  (size_t) ASN1_STRING_length(g->d.ia5), name, strlen(name)))
                                return true;
                } else if (g->type == GEN_IPADD) {
                        have_sans = true;
                        if (is_ip && (size_t) ASN1_STRING_length(g->d.ip) == ip_len &&
                            memcmp(ASN1_STRING_get0_data(g->d.ip), ip, ip_len) == 0)
                                return true;
                }
        }
        if (have_sans)
                return false;

        /* No DNS or IP SANs: the CN is all there is (legacy certificates). */
        const X509_NAME *subject = X509_get_subject_name(cert);
        for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
                unsigned char *utf8 = NULL;
                int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
                bool match = false;

                if (n < 0)
                        continue;
                if (is_ip) {
                        unsigned char cn_ip[16];
                        size_t cn_len = 0;
                        char *s = strndup((const char *) utf8, (size_t) n);
                        match = s && parse_ip(s, cn_ip, &cn_len) && cn_len == ip_len && memcmp(cn_ip, ip, ip_len) == 0;
                        free(s);
                } else
                        match = dns_matches((const char *) utf8, (size_t) n, name, strlen(name));
                OPENSSL_free(utf8);
                if (match)
                        return true;
        }
        return false;
}

/* "'a', 'b', 'c'": what the certificate is for, for NameMismatch messages. */
static void names_of(X509 *cert, char *buf, size_t size) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        size_t used = 0;
        unsigned n = 0, shown = 0;

        buf[0] = 0;
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                char one[INET6_ADDRSTRLEN + 256];

                if (g->type == GEN_DNS)
                        snprintf(one, sizeof(one), "%.*s", ASN1_STRING_length(g->d.ia5),
                                 (const char *) ASN1_STRING_get0_data(g->d.ia5));
                else if (g->type == GEN_IPADD) {
                        int len = ASN1_STRING_length(g->d.ip);
                        if ((len != 4 && len != 16) ||
                            !inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.ip), one, sizeof(one)))
                                continue;
                } else
                        continue;

                n++;
                if (shown < 4 && used + strlen(one) + 5 < size) {
                        used += (size_t) snprintf(buf + used, size - used, "%s'%s'", shown > 0 ? ", " : "", one);
                        shown++;
                }
        }
        if (n > shown && used + 24 < size)
                snprintf(buf + used, size - used, " (and %u more)", n - shown);
        if (n == 0) {
                char cn[256];
                if (X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1) >= 0) {
                        cert_label(cert, cn, sizeof(cn));
                        snprintf(buf, size, "'%s'", cn);
                } else
                        snprintf(buf, size, "no name at all (neither SAN nor CN)");
        }
}

/* ---------------------------------------------------------- checks */

static bool is_ca(X509 *x) {
        return X509_get_extension_flags(x) & EXFLAG_CA;
}

/* Names and key identifiers only: a self-signed leaf without keyCertSign counts too. */
static bool self_signed(X509 *x) {
        return X509_self_signed(x, 0) == 1;
}

static int check_key(CertBundle *b, CertProblem *problem) {
        char leaf[256], have[32], want[32];
        EVP_PKEY *pub = X509_get0_pubkey(b->leaf);

        if (pub && EVP_PKEY_eq(pub, b->key) == 1)
                return 0;

        leaf_label(b->leaf, leaf, sizeof(leaf));

        /* The classic mistake: the CA's key (or another certificate's) instead of the server's. */
        STACK_OF(X509) *stacks[] = { b->chain, b->authority };
        for (size_t s = 0; s < ELEMENTSOF(stacks); s++)
                for (int i = 0; i < sk_X509_num(stacks[s]); i++) {
                        X509 *x = sk_X509_value(stacks[s], i);
                        EVP_PKEY *k = X509_get0_pubkey(x);
                        char other[256];

                        if (!k || EVP_PKEY_eq(k, b->key) != 1)
                                continue;
                        cert_label(x, other, sizeof(other));
                        return cert_problem_set(problem, CERT_ERROR_KEY_MISMATCH,
                                                "the private key belongs to %s'%s', not to the certificate for '%s'; "
                                                "give the server's own key",
                                                is_ca(x) ? "the CA " : "", other, leaf);
                }

        if (key_describe(b->key, have, sizeof(have)) < 0)
                snprintf(have, sizeof(have), "of an unknown type");
        if (!pub || key_describe(pub, want, sizeof(want)) < 0)
                snprintf(want, sizeof(want), "of an unknown type");

        if (!streq(have, want))
                return cert_problem_set(problem, CERT_ERROR_KEY_MISMATCH,
                                        "private key is %s but the certificate's key is %s", have, want);
        return cert_problem_set(problem, CERT_ERROR_KEY_MISMATCH,
                                "private key does not belong to the certificate for '%s' "
                                "(both are %s, but different keys)", leaf, have);
}

static int build_store(CertBundle *b, const ValidateOptions *o, bool leaf_is_anchor, X509_STORE **ret) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();

        if (!store)
                return -ENOMEM;

        if (leaf_is_anchor) {
                if (X509_STORE_add_cert(store, b->leaf) != 1)
                        return -ENOMEM;
        } else if (sk_X509_num(b->authority) > 0) {
                for (int i = 0; i < sk_X509_num(b->authority); i++)
                        if (X509_STORE_add_cert(store, sk_X509_value(b->authority, i)) != 1)
                                return -ENOMEM;
                /* An operator may pin an intermediate as the authority. */
                if (X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1)
                        return -ENOMEM;
        } else if (o->trust_store_file || o->trust_store_dir) {
                if (o->trust_store_file && X509_STORE_load_file(store, o->trust_store_file) != 1)
                        return -ENOENT;
                if (o->trust_store_dir && X509_STORE_load_path(store, o->trust_store_dir) != 1)
                        return -ENOENT;
        } else if (X509_STORE_set_default_paths(store) != 1)
                return -ENOENT;

        *ret = TAKE_PTR(store);
        return 0;
}

static int verify_error(X509_STORE_CTX *ctx, CertBundle *b, bool have_authority, CertProblem *problem) {
        int err = X509_STORE_CTX_get_error(ctx);
        X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
        char leaf[256], name[256] = "?", issuer[256] = "?";
        const char *where = have_authority ? "is not in the authority given"
                                           : "is neither in the authority nor in the system trust store";

        leaf_label(b->leaf, leaf, sizeof(leaf));
        if (cur) {
                cert_label(cur, name, sizeof(name));
                name_label(X509_get_issuer_name(cur), issuer, sizeof(issuer));
        }

        switch (err) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
                return cert_problem_set(problem, CERT_ERROR_CHAIN_INCOMPLETE,
                                        "chain stops at '%s': its issuer '%s' %s", name, issuer, where);
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the certificate for '%s' is self-signed and %s: "
                                        "give it as the authority too, or use a certificate issued by a CA",
                                        leaf, have_authority ? "not in the authority given"
                                                             : "not in the system trust store");
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the chain ends at the root '%s', which %s", name, where);
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the signature on '%s' does not verify with the key of its issuer '%s'",
                                        name, issuer);
        case X509_V_ERR_INVALID_CA:
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "'%s' issued '%s' but is not a CA certificate", issuer, name);
        default:
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the chain of the certificate for '%s' is not trusted: %s (at '%s')",
                                        leaf, X509_verify_cert_error_string(err), name);
        }
}

/*
 * Orders b->chain from the leaf up, refuses missing links and unrelated
 * extra certificates, then lets OpenSSL verify signatures and CA
 * constraints. On success *ret_verified is the verified chain (leaf first,
 * anchor last) and *ret_store what it was verified against.
 */
static int check_chain(CertBundle *b, const ValidateOptions *o, STACK_OF(X509) **ret_verified,
                       X509_STORE **ret_store, CertProblem *problem) {
        bool leaf_is_anchor = o->allow_self_signed_leaf && self_signed(b->leaf);
        bool have_authority = sk_X509_num(b->authority) > 0;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(sk_X509_freep) STACK_OF(X509) *pool = NULL, *ordered = NULL;
        X509 *cur;
        int r;

        pool = sk_X509_dup(b->chain);
        ordered = sk_X509_new_null();
        if (!pool || !ordered)
                return -ENOMEM;

        /* Walk up from the leaf through the given intermediates, in whatever order they came. */
        cur = b->leaf;
        while (!self_signed(cur)) {
                int found = -1, not_issuer = -1;
                for (int i = 0; i < sk_X509_num(pool); i++) {
                        int why = X509_check_issued(sk_X509_value(pool, i), cur);
                        if (why == X509_V_OK) {
                                found = i;
                                break;
                        }
                        if (why == X509_V_ERR_KEYUSAGE_NO_CERTSIGN)
                                not_issuer = i;
                }
                if (found < 0 && not_issuer >= 0) {
                        /* The issuer was given, but may not issue: say that, not "missing". */
                        char name[256], issuer[256];
                        cert_label(cur, name, sizeof(name));
                        cert_label(sk_X509_value(pool, not_issuer), issuer, sizeof(issuer));
                        return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                                "'%s' is named as the issuer of '%s' but its key usage does not allow "
                                                "signing certificates (no keyCertSign)", issuer, name);
                }
                if (found < 0)
                        break;
                cur = sk_X509_delete(pool, found);
                if (sk_X509_push(ordered, cur) <= 0)
                        return -ENOMEM;
        }

        r = build_store(b, o, leaf_is_anchor, &store);
        if (r == -ENOENT)
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the system trust store could not be read; give the authority explicitly");
        if (r < 0)
                return r;

        ctx = X509_STORE_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (X509_STORE_CTX_init(ctx, store, b->leaf, ordered) != 1)
                return -ENOMEM;
        /* Dates are checked by check_dates(), which can name the certificate and the date. */
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);

        /* A missing link first: it is what the operator has to fix. */
        if (!self_signed(cur)) {
                X509 *issuer = NULL;
                if (X509_STORE_CTX_get1_issuer(&issuer, ctx, cur) != 1) {
                        char name[256], iname[256];
                        cert_label(cur, name, sizeof(name));
                        name_label(X509_get_issuer_name(cur), iname, sizeof(iname));
                        return cert_problem_set(problem, CERT_ERROR_CHAIN_INCOMPLETE,
                                                "chain stops at '%s': its issuer '%s' %s",
                                                name, iname,
                                                have_authority ? "is not in the authority given"
                                                               : "is neither in the authority nor in the system trust store");
                }
                X509_free(issuer);
        }

        if (sk_X509_num(pool) > 0) {
                char extra[256], leaf[256];
                cert_label(sk_X509_value(pool, 0), extra, sizeof(extra));
                leaf_label(b->leaf, leaf, sizeof(leaf));
                return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                        "the certificate '%s' is not part of the chain of the certificate for '%s'; "
                                        "remove it", extra, leaf);
        }

        if (X509_verify_cert(ctx) != 1)
                return verify_error(ctx, b, have_authority, problem);

        STACK_OF(X509) *verified = X509_STORE_CTX_get1_chain(ctx);
        if (!verified)
                return -ENOMEM;

        /* Commit the order: b->chain becomes the ordered intermediates. */
        sk_X509_zero(b->chain);
        for (int i = 0; i < sk_X509_num(ordered); i++)
                if (sk_X509_push(b->chain, sk_X509_value(ordered, i)) <= 0) {
                        sk_X509_pop_free(verified, X509_free);
                        return -ENOMEM;
                }

        *ret_verified = verified;
        *ret_store = TAKE_PTR(store);
        return 0;
}

/* "the certificate for 'x'", "the intermediate 'y'", "the root 'z'": computed only for a message. */
static void chain_member_label(STACK_OF(X509) *verified, int i, char *buf, size_t size) {
        X509 *x = sk_X509_value(verified, i);
        char name[256];

        if (i == 0) {
                leaf_label(x, name, sizeof(name));
                snprintf(buf, size, "the certificate for '%s'", name);
        } else {
                cert_label(x, name, sizeof(name));
                snprintf(buf, size, "the %s '%s'",
                         i == sk_X509_num(verified) - 1 && self_signed(x) ? "root" : "intermediate", name);
        }
}

/* Returns -1, 0, 1 as t is before, at, after now; -2 when unreadable. Cheaper than X509_cmp_time(). */
static int time_cmp(const ASN1_TIME *t, time_t now) {
        struct tm tm = {};
        time_t v;

        if (ASN1_TIME_to_tm(t, &tm) != 1)
                return -2;
        v = timegm(&tm);
        return v < now ? -1 : v > now ? 1 : 0;
}

static int check_dates(STACK_OF(X509) *verified, time_t now, CertProblem *problem) {
        for (int i = 0; i < sk_X509_num(verified); i++) {
                X509 *x = sk_X509_value(verified, i);
                char what[300], when[64];
                int c;

                c = time_cmp(X509_get0_notBefore(x), now);
                if (c == -2) {
                        chain_member_label(verified, i, what, sizeof(what));
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED, "%s has an unreadable notBefore date", what);
                }
                if (c > 0) {
                        chain_member_label(verified, i, what, sizeof(what));
                        format_time(X509_get0_notBefore(x), when, sizeof(when));
                        return cert_problem_set(problem, CERT_ERROR_NOT_YET_VALID,
                                                "%s is not valid before %s", what, when);
                }

                c = time_cmp(X509_get0_notAfter(x), now);
                if (c == -2) {
                        chain_member_label(verified, i, what, sizeof(what));
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED, "%s has an unreadable notAfter date", what);
                }
                if (c < 0) {
                        chain_member_label(verified, i, what, sizeof(what));
                        format_time(X509_get0_notAfter(x), when, sizeof(when));
                        return cert_problem_set(problem, CERT_ERROR_EXPIRED, "%s expired on %s", what, when);
                }
        }
        return 0;
}

/* "an address clients use" or "a name clients use": the words differ for an IP literal. */
static bool is_ip_literal(const char *name) {
        unsigned char buf[16];
        return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int cert_check_names(X509 *leaf, const ValidateOptions *o, CertProblem *problem) {
        char names[400], missing[400] = "";
        size_t used = 0;
        unsigned n_missing = 0;

        assert(leaf);
        assert(o);

        /* Every name is checked, so that one refusal names all of them, not one per attempt. */
        for (size_t i = 0; i == 0 || (o->access_names && o->access_names[i - 1]); i++) {
                const char *name = i == 0 ? o->server_name : o->access_names[i - 1];
                const char *origin = i == 0 ? (o->server_name_origin ?: "ServerName=")
                                            : (o->access_names_origin ?: "AccessNames=");
                const char *what = i == 0 ? "the server name" :
                                   is_ip_literal(name) ? "an address clients use" : "a name clients use";

                if (isempty(name) || cert_matches_name(leaf, name))
                        continue;
                n_missing++;
                int k = snprintf(missing + used, sizeof(missing) - used, "%snot '%s' (%s in %s)",
                                 used > 0 ? ", " : "", name, what, origin);
                if (k > 0)
                        used = used + (size_t) k < sizeof(missing) ? used + (size_t) k : sizeof(missing) - 1;
        }
        if (n_missing == 0)
                return 0;

        names_of(leaf, names, sizeof(names));
        return cert_problem_set(problem, CERT_ERROR_NAME_MISMATCH, "certificate is for %s, %s", names, missing);
}

static int check_server(X509 *leaf, CertProblem *problem) {
        uint32_t flags = X509_get_extension_flags(leaf);
        char name[256];

        if (flags & EXFLAG_CA) {
                leaf_label(leaf, name, sizeof(name));
                return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                        "the certificate for '%s' is a CA certificate (basicConstraints CA:TRUE), "
                                        "not a server certificate", name);
        }

        if (flags & EXFLAG_XKUSAGE) {
                uint32_t xku = X509_get_extended_key_usage(leaf);
                if (!(xku & (XKU_SSL_SERVER | XKU_ANYEKU))) {
                        static const struct {
                                uint32_t bit;
                                const char *name;
                        } ekus[] = {
                                { XKU_SSL_CLIENT, "clientAuth" },
                                { XKU_SMIME,      "emailProtection" },
                                { XKU_CODE_SIGN,  "codeSigning" },
                                { XKU_OCSP_SIGN,  "OCSPSigning" },
                                { XKU_TIMESTAMP,  "timeStamping" },
                        };
                        char list[200] = "";
                        size_t used = 0;

                        leaf_label(leaf, name, sizeof(name));
                        for (size_t i = 0; i < ELEMENTSOF(ekus); i++)
                                if (xku & ekus[i].bit)
                                        used += (size_t) snprintf(list + used, sizeof(list) - used, "%s%s",
                                                                  used ? ", " : "", ekus[i].name);
                        return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                                "the certificate for '%s' is not for TLS servers: its extended key "
                                                "usage allows only %s, not serverAuth",
                                                name, used ? list : "other purposes");
                }
        }

        if (flags & EXFLAG_KUSAGE) {
                uint32_t ku = X509_get_key_usage(leaf);
                EVP_PKEY *pub = X509_get0_pubkey(leaf);
                bool rsa = pub && EVP_PKEY_is_a(pub, "RSA");

                if (!(ku & KU_DIGITAL_SIGNATURE) && !(rsa && (ku & KU_KEY_ENCIPHERMENT))) {
                        leaf_label(leaf, name, sizeof(name));
                        return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                                "the certificate for '%s' cannot be used by a TLS server: its key usage "
                                                "allows %s", name,
                                                rsa ? "neither digitalSignature nor keyEncipherment"
                                                    : "no digitalSignature");
                }
        }
        return 0;
}

static bool curve_allowed(EVP_PKEY *k) {
        char group[80];
        size_t len = 0;

        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1)
                return false;
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef)
                nid = OBJ_ln2nid(group);
        return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1;
}

static int check_key_policy(STACK_OF(X509) *verified, int i, EVP_PKEY *k, ValidatePolicy policy,
                            CertProblem *problem) {
        const char *pname = validate_policy_to_string(policy);
        int min_rsa = policy == VALIDATE_POLICY_STRICT ? 3072 : 2048;
        char desc[32], what[300];

        if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS")) {
                if (EVP_PKEY_get_bits(k) >= min_rsa)
                        return 0;
        } else if (EVP_PKEY_is_a(k, "EC")) {
                if (curve_allowed(k))
                        return 0;
        }

        /* Refused: now the words. */
        chain_member_label(verified, i, what, sizeof(what));
        if (key_describe(k, desc, sizeof(desc)) < 0)
                snprintf(desc, sizeof(desc), "unknown");

        if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS"))
                return cert_problem_set(problem, CERT_ERROR_WEAK_KEY,
                                        "%s has an %s key; policy '%s' requires RSA %d or more",
                                        what, desc, pname, min_rsa);
        if (EVP_PKEY_is_a(k, "EC"))
                return cert_problem_set(problem, CERT_ERROR_WEAK_KEY,
                                        "%s has an %s key; policy '%s' allows only EC P-256, P-384 and P-521",
                                        what, desc, pname);
        return cert_problem_set(problem, CERT_ERROR_WEAK_KEY,
                                "%s has a key of type %s; policy '%s' allows only RSA (%d or more) and EC P-256, P-384, P-521",
                                what, desc, pname, min_rsa);
}

static const char *weak_digest(X509 *x) {
        int mdnid = NID_undef, pknid = NID_undef, secbits = 0;
        uint32_t flags = 0;

        if (X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags) != 1)
                return NULL;
        switch (mdnid) {
        case NID_md5:
                return "MD5";
        case NID_md5_sha1:
                return "MD5-SHA1";
        case NID_md4:
                return "MD4";
        case NID_md2:
                return "MD2";
        case NID_sha1:
                return "SHA-1";
        default:
                return NULL;
        }
}

static int check_policy(STACK_OF(X509) *verified, ValidatePolicy policy, CertProblem *problem) {
        int n = sk_X509_num(verified);
        char what[300];
        int r;

        for (int i = 0; i < n; i++) {
                EVP_PKEY *k = X509_get0_pubkey(sk_X509_value(verified, i));

                if (!k) {
                        chain_member_label(verified, i, what, sizeof(what));
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED, "%s has an unreadable public key", what);
                }
                r = check_key_policy(verified, i, k, policy, problem);
                if (r < 0)
                        return r;
        }

        for (int i = 0; i < n; i++) {
                X509 *x = sk_X509_value(verified, i);
                const char *md;

                /* Nobody verifies the self-signature of a trust anchor: its digest does not matter.
                 * Never for the leaf, though: a self-signed leaf's signature is all there is. */
                if (i > 0 && i == n - 1 && self_signed(x))
                        break;
                md = weak_digest(x);
                if (!md)
                        continue;
                chain_member_label(verified, i, what, sizeof(what));
                return cert_problem_set(problem, CERT_ERROR_WEAK_SIGNATURE,
                                        "%s is signed with %s; policy '%s' requires SHA-256 or better",
                                        what, md, validate_policy_to_string(policy));
        }
        return 0;
}

/* KiB for people: 225,000 bytes are "220 KiB", and anything over the limit says more than the limit. */
static size_t kib(size_t bytes) {
        return (bytes + 1023) / 1024;
}

static int check_handshake(CertBundle *b, X509_STORE *store, const ValidateOptions *o, time_t now,
                           CertProblem *problem) {
        bool leaf_is_anchor = o->allow_self_signed_leaf && self_signed(b->leaf);
        TlsPreflightOptions po = {
                .trust = store,
                /* As check_chain(): an operator may pin an intermediate as the authority. */
                .verify_flags = !leaf_is_anchor && sk_X509_num(b->authority) > 0 ? X509_V_FLAG_PARTIAL_CHAIN : 0,
                .server_name = o->server_name,
                .now = now,
        };
        TlsPreflightFailure f = {};
        const char *version;
        char leaf[256];
        int r;

        r = tls_preflight(b->leaf, b->chain, b->key, &po, &f);
        if (r != -EBADMSG)
                return r;

        version = tls_version_name(f.version);
        leaf_label(b->leaf, leaf, sizeof(leaf));

        if (f.certificate_list > TLS_CLIENT_MAX_CERT_LIST) {
                int leaf_size = i2d_X509(b->leaf, NULL);
                return cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                        "the chain is %zu KiB; TLS clients refuse certificate lists over %zu KiB "
                                        "(the certificate for '%s' alone is %zu KiB)",
                                        kib(f.certificate_list), TLS_CLIENT_MAX_CERT_LIST / 1024, leaf,
                                        kib(leaf_size > 0 ? (size_t) leaf_size : 0));
        }

        if (!f.server && f.verify_result != X509_V_OK)
                switch (f.verify_result) {
                case X509_V_ERR_HOSTNAME_MISMATCH:
                case X509_V_ERR_IP_ADDRESS_MISMATCH:
                        return cert_problem_set(problem, CERT_ERROR_NAME_MISMATCH,
                                                "a %s client connecting to '%s' refuses the certificate for '%s': %s",
                                                version, o->server_name ?: "", leaf, f.reason);
                case X509_V_ERR_CERT_HAS_EXPIRED:
                        return cert_problem_set(problem, CERT_ERROR_EXPIRED,
                                                "a %s client refuses the chain of the certificate for '%s': %s",
                                                version, leaf, f.reason);
                case X509_V_ERR_CERT_NOT_YET_VALID:
                        return cert_problem_set(problem, CERT_ERROR_NOT_YET_VALID,
                                                "a %s client refuses the chain of the certificate for '%s': %s",
                                                version, leaf, f.reason);
                case X509_V_ERR_INVALID_PURPOSE:
                        return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                                "a %s client refuses the certificate for '%s' for a TLS server: %s",
                                                version, leaf, f.reason);
                case X509_V_ERR_EE_KEY_TOO_SMALL:
                case X509_V_ERR_CA_KEY_TOO_SMALL:
                        return cert_problem_set(problem, CERT_ERROR_WEAK_KEY,
                                                "a %s client refuses the chain of the certificate for '%s': %s",
                                                version, leaf, f.reason);
                case X509_V_ERR_CA_MD_TOO_WEAK:
                        return cert_problem_set(problem, CERT_ERROR_WEAK_SIGNATURE,
                                                "a %s client refuses the chain of the certificate for '%s': %s",
                                                version, leaf, f.reason);
                default:
                        return cert_problem_set(problem, CERT_ERROR_UNTRUSTED_CHAIN,
                                                "a %s client does not trust the chain of the certificate for '%s': %s",
                                                version, leaf, f.reason);
                }

        if (f.setup)
                return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                        "a TLS server cannot be set up with the certificate for '%s' and its key: %s",
                                        leaf, f.reason);
        return cert_problem_set(problem, CERT_ERROR_NOT_SERVER_CERTIFICATE,
                                "a %s %s cannot complete a handshake with the certificate for '%s' and its key: %s",
                                version, f.server ? "server" : "client", leaf, f.reason);
}

int cert_bundle_validate(CertBundle *b, const ValidateOptions *options, CertProblem *problem) {
        static const ValidateOptions defaults = {};
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *verified = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        const ValidateOptions *o = options ?: &defaults;
        char leaf[256];
        int r;

        assert(b);
        cert_problem_clear(problem);

        if ((unsigned) o->policy >= _VALIDATE_POLICY_MAX)
                return -EINVAL;

        if (!b->leaf)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "no certificate was given");

        if (!b->key) {
                leaf_label(b->leaf, leaf, sizeof(leaf));
                return cert_problem_set(problem, CERT_ERROR_MISSING_KEY,
                                        "no private key was given: add the unencrypted PEM key of the certificate for '%s'",
                                        leaf);
        }

        r = check_key(b, problem);
        if (r < 0)
                return r;

        r = check_chain(b, o, &verified, &store, problem);
        if (r < 0)
                return r;

        time_t now = o->now_usec > 0 ? (time_t) (o->now_usec / USEC_PER_SEC) : time(NULL);
        r = check_dates(verified, now, problem);
        if (r < 0)
                return r;

        r = cert_check_names(b->leaf, o, problem);
        if (r < 0)
                return r;

        r = check_server(b->leaf, problem);
        if (r < 0)
                return r;

        r = check_policy(verified, o->policy, problem);
        if (r < 0)
                return r;

        return check_handshake(b, store, o, now, problem);
}

int cert_bundle_load(const void *certificate, size_t certificate_size,
                     const void *key, size_t key_size,
                     const void *authority, size_t authority_size,
                     const ValidateOptions *options,
                     CertBundle **ret,
                     CertProblem *problem) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        int r;

        assert(ret);

        r = pem_read_bundle(certificate, certificate_size, key, key_size, authority, authority_size,
                            options ? &options->limits : NULL, &b, problem);
        if (r < 0)
                return r;

        r = cert_bundle_validate(b, options, problem);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}
