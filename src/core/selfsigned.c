/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The self-signed default certificate: what a fresh install serves until an
 * administrator installs a real one. A new EC P-256 key, a certificate for
 * the configured names that any TLS client accepts as a server certificate
 * once it trusts it. It deliberately does not store anything (store.c) and
 * is not a CA: it cannot sign other certificates.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "selfsigned.h"
#include "strv.h"

/* RFC 5280 ub-common-name: a longer server name goes into the SAN only. */
#define COMMON_NAME_MAX 64
#define NOT_BEFORE_SLACK_SEC (5 * 60)

static bool dns_name_valid(const char *name) {
        size_t len = strlen(name), label = 0;

        if (len == 0 || len > 253)
                return false;
        for (const char *p = name;; p++) {
                if (*p == '.' || *p == 0) {
                        /* empty label (leading/trailing/double dot), or label too long */
                        if (label == 0 || label > 63)
                                return false;
                        if (p[-1] == '-' || p[-(ptrdiff_t) label] == '-')
                                return false;
                        if (*p == 0)
                                /* an all-numeric last label is a mistyped IP address, not a name */
                                return strspn(p - label, "0123456789") != label;
                        label = 0;
                        continue;
                }
                /* '_' is not a host name character, but real host names have it and clients accept it. */
                if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
                        return false;
                label++;
        }
}

static int ip_literal(const char *name, unsigned char buf[static 16]) {
        if (inet_pton(AF_INET, name, buf) == 1)
                return 4;
        if (inet_pton(AF_INET6, name, buf) == 1)
                return 16;
        return 0;
}

int selfsigned_check_name(const char *name) {
        unsigned char buf[16];

        if (isempty(name))
                return -EINVAL;
        if (ip_literal(name, buf) > 0)
                return 0;
        return dns_name_valid(name) ? 0 : -EINVAL;
}

static int add_general_name(GENERAL_NAMES *names, const char *name) {
        unsigned char ip[16];
        GENERAL_NAME *gn = GENERAL_NAME_new();
        int n;

        if (!gn)
                return -ENOMEM;

        n = ip_literal(name, ip);
        if (n > 0) {
                ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
                if (!s || ASN1_OCTET_STRING_set(s, ip, n) != 1) {
                        ASN1_OCTET_STRING_free(s);
                        GENERAL_NAME_free(gn);
                        return -ENOMEM;
                }
                GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
        } else {
                ASN1_IA5STRING *s = ASN1_IA5STRING_new();
                if (!s || ASN1_STRING_set(s, name, -1) != 1) {
                        ASN1_IA5STRING_free(s);
                        GENERAL_NAME_free(gn);
                        return -ENOMEM;
                }
                GENERAL_NAME_set0_value(gn, GEN_DNS, s);
        }

        if (sk_GENERAL_NAME_push(names, gn) <= 0) {
                GENERAL_NAME_free(gn);
                return -ENOMEM;
        }
        return 0;
}

/* Same name twice (case-insensitively for DNS, by address for IPs) goes into the SAN once. */
static bool name_seen(char *const *seen, const char *name) {
        unsigned char a[16], b[16];
        int na = ip_literal(name, a);

        STRV_FOREACH(i, seen) {
                if (na > 0) {
                        if (ip_literal(*i, b) == na && memcmp(a, b, (size_t) na) == 0)
                                return true;
                } else if (strcasecmp(*i, name) == 0)
                        return true;
        }
        return false;
}

static void general_names_pop_freep(GENERAL_NAMES **p) {
        if (*p)
                sk_GENERAL_NAME_pop_free(*p, GENERAL_NAME_free);
}

static int add_extension(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
        if (!ext || X509_add_ext(x, ext, -1) != 1)
                return -EIO;
        return 0;
}

static int random_serial(X509 *x) {
        _cleanup_(BN_freep) BIGNUM *bn = BN_new();

        /* 128 random bits with the top one set: always positive, always 17 DER octets, far below the 20 allowed. */
        if (!bn || BN_rand(bn, 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1)
                return -EIO;
        if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
                return -ENOMEM;
        return 0;
}

int selfsigned_generate(const char *server_name, char *const *alternative_names,
                        unsigned lifetime_days, CertBundle **ret) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(general_names_pop_freep) GENERAL_NAMES *names = NULL;
        _cleanup_strv_free_ char **seen = NULL;
        int r;

        assert(ret);

        if (selfsigned_check_name(server_name) < 0)
                return -EINVAL;
        STRV_FOREACH(n, alternative_names)
                if (selfsigned_check_name(*n) < 0)
                        return -EINVAL;

        if (lifetime_days == 0 || lifetime_days > SELFSIGNED_LIFETIME_DAYS_DEFAULT)
                lifetime_days = SELFSIGNED_LIFETIME_DAYS_DEFAULT;

        names = sk_GENERAL_NAME_new_null();
        seen = calloc(1, sizeof(char *));
        if (!names || !seen)
                return -ENOMEM;
        r = add_general_name(names, server_name);
        if (r < 0)
                return r;
        r = strv_extend(&seen, server_name);
        if (r < 0)
                return r;
        STRV_FOREACH(n, alternative_names) {
                if (name_seen(seen, *n))
                        continue;
                r = add_general_name(names, *n);
                if (r < 0)
                        return r;
                r = strv_extend(&seen, *n);
                if (r < 0)
                        return r;
        }

        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!key) {
                ERR_clear_error();
                return -EIO;
        }

        x = X509_new();
        if (!x)
                return -ENOMEM;
        if (X509_set_version(x, X509_VERSION_3) != 1)
                return -EIO;
        r = random_serial(x);
        if (r < 0)
                return r;

        /* notBefore a little in the past: clients whose clock lags a few minutes accept it at once. */
        time_t now = time(NULL);
        time_t not_before = now - NOT_BEFORE_SLACK_SEC;
        if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &not_before) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), (int) lifetime_days, 0, &not_before))
                return -EIO;

        bool have_cn = strlen(server_name) <= COMMON_NAME_MAX;
        X509_NAME *subject = X509_get_subject_name(x);
        if (have_cn &&
            X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                       (const unsigned char *) server_name, -1, -1, 0) != 1)
                return -EIO;
        if (X509_set_issuer_name(x, subject) != 1)
                return -EIO;
        if (X509_set_pubkey(x, key) != 1)
                return -EIO;

        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        if (add_extension(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_extension(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
            add_extension(x, &ctx, NID_ext_key_usage, "serverAuth") < 0 ||
            add_extension(x, &ctx, NID_subject_key_identifier, "hash") < 0) {
                ERR_clear_error();
                return -EIO;
        }
        /* RFC 5280 4.2.1.6: with an empty subject the SAN must be critical. */
        if (X509_add1_ext_i2d(x, NID_subject_alt_name, names, have_cn ? 0 : 1, X509V3_ADD_DEFAULT) != 1)
                return -EIO;

        if (X509_sign(x, key, EVP_sha256()) <= 0) {
                ERR_clear_error();
                return -EIO;
        }

        b = cert_bundle_new();
        if (!b)
                return -ENOMEM;
        b->leaf = TAKE_PTR(x);
        b->key = TAKE_PTR(key);
        *ret = TAKE_PTR(b);
        return 0;
}
