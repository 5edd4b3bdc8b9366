/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CertInfo: what an operator wants to know about a certificate, as plain
 * strings and numbers (bus properties, CLI output, store metadata). It only
 * describes: it judges nothing (validate.c does) and reads no files.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "certinfo.h"
#include "strv.h"

static int name_to_string(const X509_NAME *name, char **ret) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        char *data;

        if (!bio)
                return -ENOMEM;
        /* RFC 2253, but UTF-8 stays UTF-8 instead of \XX escapes. */
        if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
                return -EINVAL;
        long n = BIO_get_mem_data(bio, &data);
        if (n < 0)
                return -EINVAL;
        char *s = strndup(data, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int common_name(const X509_NAME *name, char **ret) {
        int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
        if (i < 0) {
                char *s = strdup("");
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }

        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        if (n < 0)
                return -EINVAL;
        char *s = strndup((const char *) utf8, (size_t) n);
        OPENSSL_free(utf8);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int hex_pairs(const unsigned char *p, size_t n, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        char *s = malloc(n > 0 ? n * 3 : 3), *q = s;

        if (!s)
                return -ENOMEM;
        if (n == 0) {
                strcpy(s, "00");
                *ret = s;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *q++ = ':';
                *q++ = hex[p[i] >> 4];
                *q++ = hex[p[i] & 15];
        }
        *q = 0;
        *ret = s;
        return 0;
}

static int serial_to_string(X509 *x, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        if (!bn)
                return -ENOMEM;
        int n = BN_num_bytes(bn);
        _cleanup_free_ unsigned char *buf = malloc(n > 0 ? (size_t) n : 1);
        if (!buf)
                return -ENOMEM;
        if (BN_bn2bin(bn, buf) != n)
                return -EINVAL;
        return hex_pairs(buf, (size_t) n, ret);
}

static int alt_names(X509 *x, char ***ret) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;

        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                char buf[INET6_ADDRSTRLEN + 512];
                const ASN1_STRING *s;

                switch (g->type) {
                case GEN_DNS:
                case GEN_EMAIL:
                case GEN_URI:
                        s = g->d.ia5;
                        snprintf(buf, sizeof(buf), "%s:%.*s",
                                 g->type == GEN_DNS ? "DNS" : g->type == GEN_EMAIL ? "email" : "URI",
                                 (int) strnlen((const char *) ASN1_STRING_get0_data(s), (size_t) ASN1_STRING_length(s)),
                                 (const char *) ASN1_STRING_get0_data(s));
                        break;
                case GEN_IPADD: {
                        char a[INET6_ADDRSTRLEN];
                        s = g->d.ip;
                        if (ASN1_STRING_length(s) == 4)
                                inet_ntop(AF_INET, ASN1_STRING_get0_data(s), a, sizeof(a));
                        else if (ASN1_STRING_length(s) == 16)
                                inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), a, sizeof(a));
                        else
                                continue;
                        snprintf(buf, sizeof(buf), "IP:%s", a);
                        break;
                }
                default:
                        continue;
                }
                r = strv_extend(&l, buf);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static uint64_t asn1_time_usec(const ASN1_TIME *t) {
        struct tm tm = {};

        if (ASN1_TIME_to_tm(t, &tm) != 1)
                return 0;
        time_t s = timegm(&tm);
        if (s < 0)
                return 0;
        return (uint64_t) s * USEC_PER_SEC;
}

int cert_fingerprint(X509 *cert, char buf[static CERT_FINGERPRINT_MAX]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        _cleanup_free_ char *s = NULL;

        if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
                return -EIO;
        if (hex_pairs(md, n, &s) < 0)
                return -EIO;
        snprintf(buf, CERT_FINGERPRINT_MAX, "%s", s);
        return 0;
}

int key_describe(EVP_PKEY *key, char *buf, size_t size) {
        if (!key || size == 0)
                return -EINVAL;

        if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
                snprintf(buf, size, "%s %d", EVP_PKEY_is_a(key, "RSA") ? "RSA" : "RSA-PSS", EVP_PKEY_get_bits(key));
                return 0;
        }

        if (EVP_PKEY_is_a(key, "EC")) {
                char group[80];
                size_t len = 0;

                if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
                        snprintf(buf, size, "EC %d", EVP_PKEY_get_bits(key));
                        return 0;
                }
                const char *nist = EC_curve_nid2nist(OBJ_sn2nid(group));
                snprintf(buf, size, "EC %s", nist ?: group);
                return 0;
        }

        const char *name = EVP_PKEY_get0_type_name(key);
        if (!name)
                return -EINVAL;
        size_t i;
        for (i = 0; name[i] && i + 1 < size; i++)
                buf[i] = (char) (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
        buf[i] = 0;
        return 0;
}

CertInfo *cert_info_free(CertInfo *info) {
        if (!info)
                return NULL;
        free(info->subject);
        free(info->issuer);
        free(info->common_name);
        free(info->serial);
        strv_free(info->alt_names);
        free(info);
        return NULL;
}

int cert_info_dup(const CertInfo *info, CertInfo **ret) {
        _cleanup_(cert_info_freep) CertInfo *copy = NULL;

        copy = calloc(1, sizeof(CertInfo));
        if (!copy)
                return -ENOMEM;
        *copy = *info;
        copy->subject = copy->issuer = copy->common_name = copy->serial = NULL;
        copy->alt_names = NULL;
        if ((info->subject && !(copy->subject = strdup(info->subject))) ||
            (info->issuer && !(copy->issuer = strdup(info->issuer))) ||
            (info->common_name && !(copy->common_name = strdup(info->common_name))) ||
            (info->serial && !(copy->serial = strdup(info->serial))))
                return -ENOMEM;
        if (info->alt_names) {
                copy->alt_names = strv_copy(info->alt_names);
                if (!copy->alt_names)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(copy);
        return 0;
}

int cert_info_new(X509 *leaf, unsigned chain_length, CertInfo **ret) {
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        int r;

        if (!leaf || !ret)
                return -EINVAL;

        info = calloc(1, sizeof(CertInfo));
        if (!info)
                return -ENOMEM;

        r = name_to_string(X509_get_subject_name(leaf), &info->subject);
        if (r < 0)
                return r;
        r = name_to_string(X509_get_issuer_name(leaf), &info->issuer);
        if (r < 0)
                return r;
        r = common_name(X509_get_subject_name(leaf), &info->common_name);
        if (r < 0)
                return r;
        r = serial_to_string(leaf, &info->serial);
        if (r < 0)
                return r;
        r = alt_names(leaf, &info->alt_names);
        if (r < 0)
                return r;

        info->not_before_usec = asn1_time_usec(X509_get0_notBefore(leaf));
        info->not_after_usec = asn1_time_usec(X509_get0_notAfter(leaf));

        r = cert_fingerprint(leaf, info->fingerprint);
        if (r < 0)
                return r;

        EVP_PKEY *pub = X509_get0_pubkey(leaf);
        if (!pub || key_describe(pub, info->key_type, sizeof(info->key_type)) < 0)
                snprintf(info->key_type, sizeof(info->key_type), "unknown");

        info->chain_length = chain_length;

        *ret = TAKE_PTR(info);
        return 0;
}

int cert_info_from_bundle(const CertBundle *b, CertInfo **ret) {
        if (!b || !b->leaf)
                return -EINVAL;
        return cert_info_new(b->leaf, 1 + (unsigned) sk_X509_num(b->chain), ret);
}

/* The flat form: numbers first, then the strings, each NUL-terminated, in this order. */
typedef struct CertInfoWire {
        uint64_t not_before_usec;
        uint64_t not_after_usec;
        uint32_t chain_length;
        uint32_t n_alt_names;
} CertInfoWire;

int cert_info_serialize(const CertInfo *info, char **ret, size_t *ret_size) {
        const char *fixed[] = { info->subject, info->issuer, info->common_name, info->serial,
                                info->fingerprint, info->key_type };
        CertInfoWire wire = {
                .not_before_usec = info->not_before_usec,
                .not_after_usec = info->not_after_usec,
                .chain_length = info->chain_length,
                .n_alt_names = (uint32_t) strv_length(info->alt_names),
        };
        size_t size = sizeof(wire);
        char *buf, *p;

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                size += strlen(fixed[i] ?: "") + 1;
        for (char **a = info->alt_names; a && *a; a++)
                size += strlen(*a) + 1;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &wire, sizeof(wire));
        p = buf + sizeof(wire);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                p = stpcpy(p, fixed[i] ?: "") + 1;
        for (char **a = info->alt_names; a && *a; a++)
                p = stpcpy(p, *a) + 1;

        *ret = buf;
        *ret_size = size;
        return 0;
}

/* The next NUL-terminated string within [*p, end), or NULL when there is none. */
static const char *next_string(const char **p, const char *end) {
        const char *s = *p, *nul = memchr(s, 0, (size_t) (end - s));

        if (!nul)
                return NULL;
        *p = nul + 1;
        return s;
}

int cert_info_deserialize(const void *data, size_t size, CertInfo **ret) {
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        const char *p = (const char *) data + sizeof(CertInfoWire), *end = (const char *) data + size;
        const char *fixed[6];
        CertInfoWire wire;

        if (size < sizeof(wire))
                return -EBADMSG;
        memcpy(&wire, data, sizeof(wire));

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if (!(fixed[i] = next_string(&p, end)))
                        return -EBADMSG;
        if (strlen(fixed[4]) >= CERT_FINGERPRINT_MAX || strlen(fixed[5]) >= sizeof(info->key_type) ||
            wire.n_alt_names > (size_t) (end - p))
                return -EBADMSG;

        info = calloc(1, sizeof(CertInfo));
        if (!info)
                return -ENOMEM;
        info->subject = strdup(fixed[0]);
        info->issuer = strdup(fixed[1]);
        info->common_name = strdup(fixed[2]);
        info->serial = strdup(fixed[3]);
        info->alt_names = calloc((size_t) wire.n_alt_names + 1, sizeof(char *));
        if (!info->subject || !info->issuer || !info->common_name || !info->serial || !info->alt_names)
                return -ENOMEM;
        for (uint32_t i = 0; i < wire.n_alt_names; i++) {
                const char *a = next_string(&p, end);
                if (!a)
                        return -EBADMSG;
                if (!(info->alt_names[i] = strdup(a)))
                        return -ENOMEM;
        }
        if (p != end)
                return -EBADMSG;

        (void) snprintf(info->fingerprint, sizeof(info->fingerprint), "%s", fixed[4]);
        (void) snprintf(info->key_type, sizeof(info->key_type), "%s", fixed[5]);
        info->not_before_usec = wire.not_before_usec;
        info->not_after_usec = wire.not_after_usec;
        info->chain_length = wire.chain_length;
        *ret = TAKE_PTR(info);
        return 0;
}
