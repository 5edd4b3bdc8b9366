/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test PKI: keys, certificates and their encodings, made with the OpenSSL
 * 3 API at run time. Test code only: it aborts on any failure instead of
 * returning errors, and it makes no attempt to be a general CA.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki.h"

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what) {
        fprintf(stderr, "pki: %s failed\n", what);
        ERR_print_errors_fp(stderr);
        abort();
}

#define CHECK(expr)                             \
        do {                                    \
                if (!(expr))                    \
                        die(#expr);             \
        } while (0)

/* ------------------------------------------------------------------ keys */

static const char *const key_type_names[_PKI_KEY_TYPE_MAX] = {
        [PKI_KEY_RSA2048] = "rsa2048",
        [PKI_KEY_RSA3072] = "rsa3072",
        [PKI_KEY_RSA1024] = "rsa1024",
        [PKI_KEY_EC256]   = "ec256",
        [PKI_KEY_EC384]   = "ec384",
};

const char *pki_key_type_to_string(PkiKeyType t) {
        if ((unsigned) t >= _PKI_KEY_TYPE_MAX)
                return NULL;
        return key_type_names[t];
}

int pki_key_type_from_string(const char *s) {
        for (int i = 0; s && i < _PKI_KEY_TYPE_MAX; i++)
                if (strcmp(key_type_names[i], s) == 0)
                        return i;
        return -1;
}

EVP_PKEY *pki_key_new(PkiKeyType type) {
        EVP_PKEY *k = NULL;

        switch (type) {
        case PKI_KEY_RSA1024:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
                break;
        case PKI_KEY_RSA2048:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
                break;
        case PKI_KEY_RSA3072:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 3072);
                break;
        case PKI_KEY_EC256:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
                break;
        case PKI_KEY_EC384:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
                break;
        default:
                die("pki_key_new(unknown type)");
        }
        CHECK(k);
        return k;
}

#define POOL_SLOTS 16
static EVP_PKEY *key_pool[_PKI_KEY_TYPE_MAX][POOL_SLOTS];

EVP_PKEY *pki_key_pooled(PkiKeyType type, unsigned slot) {
        CHECK((unsigned) type < _PKI_KEY_TYPE_MAX && slot < POOL_SLOTS);
        if (!key_pool[type][slot])
                key_pool[type][slot] = pki_key_new(type);
        CHECK(EVP_PKEY_up_ref(key_pool[type][slot]) == 1);
        return key_pool[type][slot];
}

/* --------------------------------------------------------- certificates */

static void add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value) {
        X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
        if (!ext) {
                fprintf(stderr, "pki: extension %s = '%s'\n", OBJ_nid2sn(nid), value);
                die("X509V3_EXT_nconf_nid");
        }
        CHECK(X509_add_ext(cert, ext, -1) == 1);
        X509_EXTENSION_free(ext);
}

static bool nonempty_list(const char *const *l) {
        return l && l[0];
}

bool pki_is_ip(const char *s) {
        unsigned char buf[16];
        return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

X509 *pki_cert_new(EVP_PKEY *key, const PkiCertOptions *o) {
        static const PkiCertOptions defaults = {};
        X509 *cert = X509_new();
        X509_NAME *name;
        X509V3_CTX ctx;
        bool self_signed;

        if (!o)
                o = &defaults;
        CHECK(cert);
        CHECK(key);
        self_signed = !o->issuer_cert;
        CHECK(self_signed == !o->issuer_key);

        CHECK(X509_set_version(cert, X509_VERSION_3) == 1);

        /* Random positive 63-bit serial: distinct certificates never collide. */
        {
                BIGNUM *bn = BN_new();
                CHECK(bn);
                CHECK(BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1);
                CHECK(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)));
                BN_free(bn);
        }

        int64_t nb = o->not_before_offset, na = o->not_after_offset;
        if (nb == 0 && na == 0) {
                nb = -3600;
                na = 90 * PKI_DAY;
        }
        CHECK(X509_gmtime_adj(X509_getm_notBefore(cert), (long) nb));
        CHECK(X509_gmtime_adj(X509_getm_notAfter(cert), (long) na));

        name = X509_get_subject_name(cert);
        if (o->organization)
                CHECK(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                                 (const unsigned char *) o->organization, -1, -1, 0) == 1);
        if (o->common_name)
                CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                                 (const unsigned char *) o->common_name, -1, -1, 0) == 1);
        CHECK(X509_set_issuer_name(cert, self_signed ? name : X509_get_subject_name(o->issuer_cert)) == 1);
        CHECK(X509_set_pubkey(cert, key) == 1);

        X509V3_set_ctx(&ctx, self_signed ? cert : o->issuer_cert, cert, NULL, NULL, 0);

        if (o->ca)
                add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        else
                add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");

        const char *ku = o->key_usage;
        if (!ku)
                ku = o->ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                   : EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                   : "critical,digitalSignature";
        if (*ku)
                add_ext(cert, &ctx, NID_key_usage, ku);

        const char *eku = o->extended_key_usage;
        if (!eku)
                eku = o->ca ? "" : "serverAuth";
        if (*eku)
                add_ext(cert, &ctx, NID_ext_key_usage, eku);

        add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
        if (!self_signed)
                add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");

        if (nonempty_list(o->dns_names) || nonempty_list(o->ip_addresses)) {
                size_t len = 1;
                for (const char *const *s = o->dns_names; s && *s; s++)
                        len += strlen(*s) + 6;
                for (const char *const *s = o->ip_addresses; s && *s; s++)
                        len += strlen(*s) + 6;
                char *san = calloc(1, len), *end;
                CHECK(san);
                /* Appended at the end, not strcat(): 10,000 names stay linear. */
                end = san;
                for (const char *const *s = o->dns_names; s && *s; s++)
                        end += sprintf(end, "%sDNS:%s", end == san ? "" : ",", *s);
                for (const char *const *s = o->ip_addresses; s && *s; s++)
                        end += sprintf(end, "%sIP:%s", end == san ? "" : ",", *s);
                add_ext(cert, &ctx, NID_subject_alt_name, san);
                free(san);
        }

        CHECK(X509_sign(cert, self_signed ? key : o->issuer_key, o->digest ?: EVP_sha256()) > 0);
        return cert;
}

/* ----------------------------------------------------------- encodings */

static char *bio_to_string(BIO *bio) {
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        CHECK(n >= 0);
        char *s = malloc((size_t) n + 1);
        CHECK(s);
        memcpy(s, data, (size_t) n);
        s[n] = 0;
        BIO_free(bio);
        return s;
}

char *pki_cert_pem(X509 *cert) {
        BIO *bio = BIO_new(BIO_s_mem());
        CHECK(bio);
        CHECK(PEM_write_bio_X509(bio, cert) == 1);
        return bio_to_string(bio);
}

char *pki_certs_pem(X509 *first, ...) {
        BIO *bio = BIO_new(BIO_s_mem());
        va_list ap;

        CHECK(bio);
        va_start(ap, first);
        for (X509 *c = first; c; c = va_arg(ap, X509 *))
                CHECK(PEM_write_bio_X509(bio, c) == 1);
        va_end(ap);
        return bio_to_string(bio);
}

char *pki_stack_pem(STACK_OF(X509) *certs) {
        BIO *bio = BIO_new(BIO_s_mem());
        CHECK(bio);
        for (int i = 0; i < sk_X509_num(certs); i++)
                CHECK(PEM_write_bio_X509(bio, sk_X509_value(certs, i)) == 1);
        return bio_to_string(bio);
}

unsigned char *pki_cert_der(X509 *cert, size_t *ret_size) {
        unsigned char *der = NULL;
        int n = i2d_X509(cert, &der);
        CHECK(n > 0);
        /* Hand out malloc()ed memory so callers can free() it. */
        unsigned char *copy = malloc((size_t) n);
        CHECK(copy);
        memcpy(copy, der, (size_t) n);
        OPENSSL_free(der);
        *ret_size = (size_t) n;
        return copy;
}

char *pki_key_pem(EVP_PKEY *key, const char *passphrase) {
        BIO *bio = BIO_new(BIO_s_mem());
        CHECK(bio);
        if (passphrase)
                CHECK(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(),
                                                    passphrase, (int) strlen(passphrase), NULL, NULL) == 1);
        else
                CHECK(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1);
        return bio_to_string(bio);
}

char *pki_key_pem_traditional(EVP_PKEY *key, const char *passphrase) {
        BIO *bio = BIO_new(BIO_s_mem());
        CHECK(bio);
        CHECK(PEM_write_bio_PrivateKey_traditional(bio, key,
                                                   passphrase ? EVP_aes_128_cbc() : NULL,
                                                   (unsigned char *) passphrase,
                                                   passphrase ? (int) strlen(passphrase) : 0,
                                                   NULL, NULL) == 1);
        return bio_to_string(bio);
}

unsigned char *pki_pkcs12(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *extra,
                          const char *passphrase, size_t *ret_size) {
        PKCS12 *p12 = PKCS12_create(passphrase, "vertex test", key, cert, extra, 0, 0, 0, 0, 0);
        CHECK(p12);
        unsigned char *der = NULL;
        int n = i2d_PKCS12(p12, &der);
        CHECK(n > 0);
        PKCS12_free(p12);
        unsigned char *copy = malloc((size_t) n);
        CHECK(copy);
        memcpy(copy, der, (size_t) n);
        OPENSSL_free(der);
        *ret_size = (size_t) n;
        return copy;
}

char *pki_strcat(const char *first, ...) {
        va_list ap;
        size_t len = 1;

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                len += strlen(s);
        va_end(ap);

        char *r = malloc(len), *p = r;
        CHECK(r);
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                p = stpcpy(p, s);
        va_end(ap);
        *p = 0;
        return r;
}

char *pki_to_crlf(const char *s) {
        size_t n = 1;
        for (const char *p = s; *p; p++)
                n += *p == '\n' ? 2 : 1;
        char *r = malloc(n), *q = r;
        CHECK(r);
        for (const char *p = s; *p; p++) {
                if (*p == '\n' && (p == s || p[-1] != '\r'))
                        *q++ = '\r';
                *q++ = *p;
        }
        *q = 0;
        return r;
}

int pki_write_file(const char *path, const char *content) {
        size_t left = strlen(content);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        while (left > 0) {
                ssize_t k = write(fd, content, left);
                if (k < 0) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
                content += k;
                left -= (size_t) k;
        }
        if (close(fd) < 0)
                return -errno;
        return 0;
}

/* -------------------------------------------------------------- chain */

PkiChain *pki_chain_new(const char *server_name) {
        PkiChainOptions o = { .server_name = server_name };
        return pki_chain_new_full(&o);
}

PkiChain *pki_chain_new_full(const PkiChainOptions *options) {
        static unsigned counter = 0;
        char root_cn[64], intermediate_cn[64];
        PkiChain *c = calloc(1, sizeof(PkiChain));

        CHECK(c);
        CHECK(options && options->server_name);
        counter++;

        PkiCertOptions root = options->root;
        if (!root.common_name) {
                snprintf(root_cn, sizeof(root_cn), "Vertex Test Root %u", counter);
                root.common_name = root_cn;
        }
        if (!root.organization)
                root.organization = "Vertex Test";
        root.ca = true;
        root.issuer_cert = NULL;
        root.issuer_key = NULL;
        c->root_key = pki_key_pooled(options->ca_key_type, 0);
        c->root = pki_cert_new(c->root_key, &root);

        PkiCertOptions inter = options->intermediate;
        if (!inter.common_name) {
                snprintf(intermediate_cn, sizeof(intermediate_cn), "Vertex Test Intermediate %u", counter);
                inter.common_name = intermediate_cn;
        }
        if (!inter.organization)
                inter.organization = "Vertex Test";
        inter.ca = true;
        inter.issuer_cert = c->root;
        inter.issuer_key = c->root_key;
        c->intermediate_key = pki_key_pooled(options->ca_key_type, 1);
        c->intermediate = pki_cert_new(c->intermediate_key, &inter);

        PkiCertOptions leaf = options->leaf;
        size_t n_alt = 0;
        for (const char *const *s = options->alt_names; s && *s; s++)
                n_alt++;
        const char **dns = calloc(n_alt + options->extra_names + 2, sizeof(char *)),
                   **ips = calloc(n_alt + 2, sizeof(char *));
        char **extra = calloc(options->extra_names + 1, sizeof(char *));
        CHECK(dns && ips && extra);
        for (unsigned i = 0; i < options->extra_names; i++)
                CHECK(asprintf(&extra[i], "name-%u.%s", i + 1, options->server_name) > 0);
        if (!leaf.dns_names && !leaf.ip_addresses) {
                size_t nd = 0, ni = 0;
                if (pki_is_ip(options->server_name))
                        ips[ni++] = options->server_name;
                else
                        dns[nd++] = options->server_name;
                for (const char *const *s = options->alt_names; s && *s; s++) {
                        if (pki_is_ip(*s))
                                ips[ni++] = *s;
                        else
                                dns[nd++] = *s;
                }
                for (unsigned i = 0; i < options->extra_names; i++)
                        dns[nd++] = extra[i];
                leaf.dns_names = dns;
                leaf.ip_addresses = ips;
        }
        if (!leaf.common_name)
                leaf.common_name = options->server_name;
        leaf.issuer_cert = c->intermediate;
        leaf.issuer_key = c->intermediate_key;
        c->leaf_key = options->fresh_leaf_key ? pki_key_new(options->leaf_key_type)
                                              : pki_key_pooled(options->leaf_key_type, 2);
        c->leaf = pki_cert_new(c->leaf_key, &leaf);
        free(dns);
        free(ips);
        for (unsigned i = 0; i < options->extra_names; i++)
                free(extra[i]);
        free(extra);

        c->root_pem = pki_cert_pem(c->root);
        c->intermediate_pem = pki_cert_pem(c->intermediate);
        c->leaf_pem = pki_cert_pem(c->leaf);
        c->fullchain_pem = pki_strcat(c->leaf_pem, c->intermediate_pem, NULL);
        c->key_pem = pki_key_pem(c->leaf_key, NULL);
        c->bundle_pem = pki_strcat(c->fullchain_pem, c->key_pem, c->root_pem, NULL);
        return c;
}

PkiChain *pki_chain_free(PkiChain *c) {
        if (!c)
                return NULL;
        EVP_PKEY_free(c->root_key);
        EVP_PKEY_free(c->intermediate_key);
        EVP_PKEY_free(c->leaf_key);
        X509_free(c->root);
        X509_free(c->intermediate);
        X509_free(c->leaf);
        free(c->root_pem);
        free(c->intermediate_pem);
        free(c->leaf_pem);
        free(c->fullchain_pem);
        if (c->key_pem) {
                OPENSSL_cleanse(c->key_pem, strlen(c->key_pem));
                free(c->key_pem);
        }
        if (c->bundle_pem) {
                OPENSSL_cleanse(c->bundle_pem, strlen(c->bundle_pem));
                free(c->bundle_pem);
        }
        free(c);
        return NULL;
}

int pki_chain_write_dir(const PkiChain *c, const char *directory) {
        const struct {
                const char *name;
                const char *content;
        } files[] = {
                { "root.pem",         c->root_pem },
                { "intermediate.pem", c->intermediate_pem },
                { "leaf.pem",         c->leaf_pem },
                { "chain.pem",        c->intermediate_pem },
                { "fullchain.pem",    c->fullchain_pem },
                { "key.pem",          c->key_pem },
                { "ca.pem",           c->root_pem },
                { "bundle.pem",       c->bundle_pem },
        };

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char path[4096];
                int r;

                if ((size_t) snprintf(path, sizeof(path), "%s/%s", directory, files[i].name) >= sizeof(path))
                        return -ENAMETOOLONG;
                r = pki_write_file(path, files[i].content);
                if (r < 0)
                        return r;
        }
        return 0;
}
