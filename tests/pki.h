/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A test PKI made at run time with the OpenSSL 3 API, so nothing in the
 * repository ever expires. Used by the unit, bus and system tests and by the
 * benchmarks; vertex-testpki writes the same material into a directory for
 * shell-driven tests.
 *
 * Conventions:
 *   - Test code: every helper aborts the process (with a message on stderr)
 *     when OpenSSL fails, so callers need no error handling.
 *   - Returned X509 / EVP_PKEY are new references (free with X509_free /
 *     EVP_PKEY_free); returned strings and buffers are malloc()ed, free()
 *     them (g_free() is the same thing with GLib >= 2.46).
 *   - Options structs are zero-initialised for the defaults:
 *       PkiCertOptions o = { .common_name = "x", .dns_names = (const char *[]) { "x", NULL } };
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------------ keys */

typedef enum PkiKeyType {
        PKI_KEY_RSA2048 = 0,    /* the default of every zeroed options struct */
        PKI_KEY_RSA3072,
        PKI_KEY_RSA1024,        /* weak: for WeakKey tests */
        PKI_KEY_EC256,
        PKI_KEY_EC384,
        _PKI_KEY_TYPE_MAX,
} PkiKeyType;

/* "rsa2048", "rsa3072", "rsa1024", "ec256", "ec384". */
const char *pki_key_type_to_string(PkiKeyType t);
/* Returns the type or -1 for an unknown name. */
int pki_key_type_from_string(const char *s);

/* A freshly generated key (RSA keygen costs tens of ms: prefer pki_key_pooled()). */
EVP_PKEY *pki_key_new(PkiKeyType type);

/*
 * A process-wide cached key: the same (type, slot) always gives the same key,
 * different slots give different keys. slot < 16. Returns a new reference.
 * pki_chain_new() uses slots 0 (root), 1 (intermediate), 2 (leaf); use
 * slot >= 3 (or pki_key_new()) for "another key" in mismatch tests.
 */
EVP_PKEY *pki_key_pooled(PkiKeyType type, unsigned slot);

/* --------------------------------------------------------- certificates */

typedef struct PkiCertOptions {
        const char *common_name;          /* subject CN; NULL: no CN */
        const char *organization;         /* subject O; NULL: none */
        const char *const *dns_names;     /* NULL-terminated; SAN DNS entries */
        const char *const *ip_addresses;  /* NULL-terminated; SAN IP entries, v4 or v6 literals */
        /* No SAN extension at all when both lists are NULL/empty (CN-only certificates). */

        bool ca;                          /* basicConstraints critical CA:TRUE, keyUsage keyCertSign+cRLSign */
        const char *extended_key_usage;   /* NULL: "serverAuth" for non-CA, none for CA; "": no EKU;
                                             else an OpenSSL list, e.g. "clientAuth" */
        const char *key_usage;            /* NULL: default (CA: keyCertSign,cRLSign,digitalSignature;
                                             leaf: digitalSignature[,keyEncipherment for RSA]); "": none;
                                             else an OpenSSL list, e.g. "critical,keyCertSign" */

        /* Validity relative to now, in seconds. Both 0: not_before = -1 h, not_after = +90 days.
         * Expired: { -30 days, -1 day }; not yet valid: { +1 day, +30 days }. */
        int64_t not_before_offset;
        int64_t not_after_offset;

        const EVP_MD *digest;             /* signature digest; NULL: SHA-256. EVP_sha1() for WeakSignature */

        X509 *issuer_cert;                /* NULL (with issuer_key NULL): self-signed with the subject's key */
        EVP_PKEY *issuer_key;
} PkiCertOptions;

#define PKI_DAY ((int64_t) 86400)

/* A certificate for `key` (its public half), signed as the options say. */
X509 *pki_cert_new(EVP_PKEY *key, const PkiCertOptions *options);

/* ----------------------------------------------------------- encodings */

/* PEM of one certificate. */
char *pki_cert_pem(X509 *cert);
/* PEM of several certificates in the order given; the list ends with NULL. */
char *pki_certs_pem(X509 *first, ...) __attribute__((sentinel));
/* PEM of a stack, in stack order. */
char *pki_stack_pem(STACK_OF(X509) *certs);
/* DER of one certificate, *ret_size bytes. */
unsigned char *pki_cert_der(X509 *cert, size_t *ret_size);

/*
 * Private key PEM. PKCS#8 ("BEGIN PRIVATE KEY"); with a passphrase,
 * encrypted PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY", AES-256-CBC).
 */
char *pki_key_pem(EVP_PKEY *key, const char *passphrase);
/*
 * Traditional key PEM ("BEGIN RSA PRIVATE KEY" / "BEGIN EC PRIVATE KEY");
 * with a passphrase, the legacy "Proc-Type: 4,ENCRYPTED" + DEK-Info form.
 */
char *pki_key_pem_traditional(EVP_PKEY *key, const char *passphrase);

/* A PKCS#12 (.p12/.pfx) file holding cert, key and extra certs (may be NULL), DER, *ret_size bytes. */
unsigned char *pki_pkcs12(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *extra,
                          const char *passphrase, size_t *ret_size);

/* Concatenates NUL-terminated strings (NULL-terminated list). */
char *pki_strcat(const char *first, ...) __attribute__((sentinel));

/* Converts LF line ends to CRLF. */
char *pki_to_crlf(const char *s);

/* Writes a string to a file (mode 0600). Returns 0 or -errno. */
int pki_write_file(const char *path, const char *content);

/* True if s is an IPv4 or IPv6 literal. */
bool pki_is_ip(const char *s);

/* -------------------------------------------------------------- chain */

/*
 * root -> intermediate -> leaf. Every field of the three per-certificate
 * option blocks may be set to deviate from the defaults; the helper then
 * fills in what is left:
 *   root:         CN "Vertex Test Root N" (N unique per process), O "Vertex Test", ca forced, self-signed,
 *                 key pki_key_pooled(ca_key_type, 0)
 *   intermediate: CN "Vertex Test Intermediate N", ca forced, issued by root, key pooled (ca_key_type, 1)
 *   leaf:         CN = server_name, SAN = server_name (+ alt_names), DNS or IP as
 *                 pki_is_ip() says (only when leaf.dns_names and leaf.ip_addresses are both NULL),
 *                 issued by the intermediate, key pooled (leaf_key_type, 2)
 * issuer_cert/issuer_key in the blocks are ignored (the chain decides).
 */
typedef struct PkiChainOptions {
        const char *server_name;          /* required: DNS name or IP literal */
        const char *const *alt_names;     /* NULL-terminated, more SANs (DNS or IP), optional */
        unsigned extra_names;             /* that many more DNS SANs, "name-N.<server_name>": a large leaf */
        PkiKeyType leaf_key_type;         /* default RSA 2048 */
        PkiKeyType ca_key_type;           /* root and intermediate; default RSA 2048 */
        bool fresh_leaf_key;              /* generate a new leaf key instead of the pooled one */
        PkiCertOptions root;
        PkiCertOptions intermediate;
        PkiCertOptions leaf;
} PkiChainOptions;

typedef struct PkiChain {
        EVP_PKEY *root_key, *intermediate_key, *leaf_key;
        X509 *root, *intermediate, *leaf;

        char *root_pem;           /* ca.pem: the root */
        char *intermediate_pem;   /* chain.pem: the intermediate */
        char *leaf_pem;           /* leaf.pem / cert.pem */
        char *fullchain_pem;      /* leaf + intermediate */
        char *key_pem;            /* leaf key, PKCS#8, unencrypted */
        char *bundle_pem;         /* fullchain + key + root, one combined file */
} PkiChain;

/* root -> intermediate -> leaf for server_name, all defaults (RSA 2048 everywhere). */
PkiChain *pki_chain_new(const char *server_name);
PkiChain *pki_chain_new_full(const PkiChainOptions *options);
PkiChain *pki_chain_free(PkiChain *c);
static inline void pki_chain_freep(PkiChain **c) {
        if (*c)
                pki_chain_free(*c);
}

/*
 * Writes root.pem, intermediate.pem, leaf.pem, chain.pem (intermediate),
 * fullchain.pem, key.pem, ca.pem (root), bundle.pem (fullchain + key + root)
 * into an existing directory. Returns 0 or -errno.
 */
int pki_chain_write_dir(const PkiChain *c, const char *directory);
