/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PEM reading: turns the untrusted bytes of an install (certificate, key and
 * authority inputs) into a CertBundle. It finds the blocks itself (text
 * around them, LF or CRLF, any order), decodes them with the DER parsers, and
 * explains every input it cannot use (empty, DER, PKCS#12, truncated,
 * encrypted key, too large) in the operator's terms.
 *
 * It deliberately does not validate: it does not order the chain, check
 * signatures, dates or names (validate.c does). It never logs, never prompts
 * for a passphrase, and cleanses every buffer that held key material.
 *
 * Sorting rules (see also pem.h):
 *   - certificates of the certificate and key inputs are candidates for the
 *     leaf and chain; self-signed CA certificates among them join the
 *     authority (the trailing root of a combined file);
 *   - certificates of the authority input are the authority, except
 *     non-self-signed ones, which are intermediates a CA shipped in its
 *     "CA bundle": they join the chain so that they are served;
 *   - the leaf is the first candidate that issued no other candidate.
 */

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "pem.h"

typedef enum BlockKind {
        BLOCK_CERTIFICATE,
        BLOCK_TRUSTED_CERTIFICATE,
        BLOCK_PKCS8_KEY,
        BLOCK_RSA_KEY,
        BLOCK_EC_KEY,
        BLOCK_ENCRYPTED_PKCS8_KEY,
        BLOCK_IGNORED,
        BLOCK_CSR,
        BLOCK_PUBLIC_KEY,
        BLOCK_PKCS7,
        BLOCK_UNKNOWN,
} BlockKind;

static const struct {
        const char *label;
        BlockKind kind;
} block_labels[] = {
        { "CERTIFICATE",               BLOCK_CERTIFICATE },
        { "X509 CERTIFICATE",          BLOCK_CERTIFICATE },
        { "TRUSTED CERTIFICATE",       BLOCK_TRUSTED_CERTIFICATE },
        { "PRIVATE KEY",               BLOCK_PKCS8_KEY },
        { "RSA PRIVATE KEY",           BLOCK_RSA_KEY },
        { "EC PRIVATE KEY",            BLOCK_EC_KEY },
        { "ENCRYPTED PRIVATE KEY",     BLOCK_ENCRYPTED_PKCS8_KEY },
        /* `openssl ecparam -genkey` and some combined server files carry parameters: harmless. */
        { "EC PARAMETERS",             BLOCK_IGNORED },
        { "DH PARAMETERS",             BLOCK_IGNORED },
        { "CERTIFICATE REQUEST",       BLOCK_CSR },
        { "NEW CERTIFICATE REQUEST",   BLOCK_CSR },
        { "PUBLIC KEY",                BLOCK_PUBLIC_KEY },
        { "RSA PUBLIC KEY",            BLOCK_PUBLIC_KEY },
        { "PKCS7",                     BLOCK_PKCS7 },
        { "CMS",                       BLOCK_PKCS7 },
};

/* One input being read: what the operator calls it, and its bytes. */
typedef struct Input {
        const char *what;   /* "certificate input", "private key input", "authority input" */
        const char *data;
        size_t size;
} Input;

/* What the inputs yield, before sorting. */
typedef struct Harvest {
        STACK_OF(X509) *certs;      /* from the certificate and key inputs */
        STACK_OF(X509) *authority;  /* from the authority input */
        EVP_PKEY *key;
        const char *key_from;       /* input the key came from */
        size_t n_certs;
        size_t max_certs;
} Harvest;

static size_t limit_size(const PemLimits *l) {
        return l && l->max_size > 0 ? l->max_size : PEM_MAX_INPUT_DEFAULT;
}

static size_t limit_certs(const PemLimits *l) {
        return l && l->max_certificates > 0 ? l->max_certificates : PEM_MAX_CERTIFICATES_DEFAULT;
}

static bool input_blank(const Input *in) {
        for (size_t i = 0; i < in->size; i++)
                if (!isspace((unsigned char) in->data[i]))
                        return false;
        return true;
}

static const char *memmem_str(const char *hay, size_t n, const char *needle) {
        return memmem(hay, n, needle, strlen(needle));
}

static unsigned line_of(const Input *in, const char *p) {
        unsigned line = 1;
        for (const char *q = in->data; q < p; q++)
                if (*q == '\n')
                        line++;
        return line;
}

static void format_size(size_t n, char *buf, size_t size) {
        if (n >= 1024 * 1024)
                snprintf(buf, size, "%.1f MiB", (double) n / (1024.0 * 1024.0));
        else if (n >= 1024)
                snprintf(buf, size, "%.1f KiB", (double) n / 1024.0);
        else
                snprintf(buf, size, "%zu bytes", n);
}

/*
 * An input without any PEM block: say what it is instead, since the usual
 * mistakes are a DER certificate, a PKCS#12 file or a DER key.
 */
static int explain_not_pem(const Input *in, bool is_key_input, CertProblem *problem) {
        const unsigned char *p;

        if (in->size > 0 && (unsigned char) in->data[0] == 0x30 && in->size <= LONG_MAX) {
                p = (const unsigned char *) in->data;
                X509 *x = d2i_X509(NULL, &p, (long) in->size);
                if (x) {
                        X509_free(x);
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s is DER, not PEM: convert it with "
                                                "'openssl x509 -inform der -in FILE -out cert.pem'", in->what);
                }

                p = (const unsigned char *) in->data;
                PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long) in->size);
                if (p12) {
                        PKCS12_free(p12);
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s looks like PKCS#12 (.p12/.pfx): extract it with "
                                                "'openssl pkcs12 -nodes -in FILE'", in->what);
                }

                p = (const unsigned char *) in->data;
                EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long) in->size);
                if (k) {
                        EVP_PKEY_free(k);
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s is a DER private key, not PEM: convert it with "
                                                "'openssl pkey -inform der -in FILE -out key.pem'", in->what);
                }

                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "the %s is binary data, neither PEM nor DER that could be read", in->what);
        }

        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                "the %s holds no PEM block (no '-----BEGIN %s-----' line)",
                                in->what, is_key_input ? "PRIVATE KEY" : "CERTIFICATE");
}

/*
 * Base64 body of a block (between the BEGIN and END lines) to DER. Header
 * lines ("Proc-Type: …") are skipped up to the blank line that ends them.
 * The result is always freed with erase_and_free(): it may be a key.
 */
static int decode_body(const char *body, size_t len, unsigned char **ret, size_t *ret_size) {
        /* Skip RFC 1421 headers. */
        const char *nl = memchr(body, '\n', len);
        const char *colon = memchr(body, ':', nl ? (size_t) (nl - body) : len);
        if (colon) {
                const char *p = body, *end = body + len;
                while (p < end) {
                        const char *e = memchr(p, '\n', (size_t) (end - p));
                        const char *next = e ? e + 1 : end;
                        bool blank = true;
                        for (const char *q = p; q < (e ? e : end); q++)
                                if (!isspace((unsigned char) *q))
                                        blank = false;
                        p = next;
                        if (blank)
                                break;
                }
                len -= (size_t) (p - body);
                body = p;
        }

        if (len > INT_MAX)
                return -EBADMSG;

        unsigned char *out = malloc(len / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;

        EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
        if (!ctx) {
                free(out);
                return -ENOMEM;
        }

        int n = 0, m = 0;
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *) body, (int) len) < 0 ||
            EVP_DecodeFinal(ctx, out + n, &m) != 1 ||
            n + m <= 0) {
                EVP_ENCODE_CTX_free(ctx);
                erase_and_free(out, len / 4 * 3 + 4);
                return -EBADMSG;
        }
        EVP_ENCODE_CTX_free(ctx);

        *ret = out;
        *ret_size = (size_t) (n + m);
        return 0;
}

/*
 * Reused private key decoders. OpenSSL 3.0's d2i_PrivateKey() builds an
 * OSSL_DECODER_CTX for every call, and OSSL_DECODER_CTX_new_for_pkey()
 * enumerates and chains every decoder of every provider each time: over
 * 90 % of decoding an RSA key (later OpenSSL releases keep such contexts
 * themselves; 3.0 does not). A context can decode any number of inputs, so
 * keep one per (structure, key type) that a PEM label or PKCS#8 algorithm
 * names, built on first use. Nothing decoded is kept: each call decodes its
 * own bytes.
 *
 * The context writes its result through the EVP_PKEY ** it was made with,
 * hence the `result` slot that must not move, and the lock: the daemon and
 * the CLI are single-threaded, but the library makes no such demand of its
 * callers. The contexts see the providers loaded when they were built;
 * nothing here loads providers later. OPENSSL_cleanup() (at exit, or called
 * by the program) frees them before it tears OpenSSL down, so that leak
 * checkers see nothing.
 *
 * This is only a faster first attempt, made with the parameters of one of
 * d2i_PrivateKey()'s own attempts (DER, the structure, the key type,
 * key-pair selection, the default library context) and its private-key
 * check: whatever it does not return a key for goes through d2i_PrivateKey()
 * as before, so what is accepted does not change (tests/test-pem.c compares
 * the two on damaged keys).
 */
typedef enum KeyDecoderId {
        KEY_DECODER_RSA_TYPE_SPECIFIC,  /* RSA PRIVATE KEY (PKCS#1) */
        KEY_DECODER_RSA_PKCS8,          /* PRIVATE KEY, rsaEncryption */
        KEY_DECODER_EC_TYPE_SPECIFIC,   /* EC PRIVATE KEY (SEC 1) */
        KEY_DECODER_EC_PKCS8,           /* PRIVATE KEY, id-ecPublicKey */
        _KEY_DECODER_MAX,
} KeyDecoderId;

typedef struct KeyDecoder {
        const char *structure;
        const char *key_type;
        OSSL_DECODER_CTX *ctx;
        EVP_PKEY *result;       /* where ctx stores what it decoded */
} KeyDecoder;

static KeyDecoder key_decoders[_KEY_DECODER_MAX] = {
        [KEY_DECODER_RSA_TYPE_SPECIFIC] = { "type-specific",  "RSA" },
        [KEY_DECODER_RSA_PKCS8]         = { "PrivateKeyInfo", "RSA" },
        [KEY_DECODER_EC_TYPE_SPECIFIC]  = { "type-specific",  "EC" },
        [KEY_DECODER_EC_PKCS8]          = { "PrivateKeyInfo", "EC" },
};
static pthread_mutex_t key_decoders_lock = PTHREAD_MUTEX_INITIALIZER;
static bool key_decoders_registered;

static void key_decoders_free(void) {
        pthread_mutex_lock(&key_decoders_lock);
        for (size_t i = 0; i < ELEMENTSOF(key_decoders); i++) {
                OSSL_DECODER_CTX_free(key_decoders[i].ctx);
                key_decoders[i].ctx = NULL;
        }
        pthread_mutex_unlock(&key_decoders_lock);
}

/*
 * d2i_PrivateKey() refuses a decoded key without its private half; ask the
 * key for the size of its private component (no copy of it is made).
 */
static bool key_has_private(const EVP_PKEY *k) {
        OSSL_PARAM params[] = {
                OSSL_PARAM_BN(EVP_PKEY_is_a(k, "RSA") ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
                OSSL_PARAM_END,
        };

        return EVP_PKEY_get_params(k, params) == 1 && OSSL_PARAM_modified(params);
}

/* Returns the key, or NULL: then the caller falls back to d2i_PrivateKey(). */
static EVP_PKEY *decode_key_reused(KeyDecoderId id, const unsigned char *der, size_t size) {
        KeyDecoder *d = &key_decoders[id];
        const unsigned char *p = der;
        size_t left = size;
        EVP_PKEY *k = NULL;

        pthread_mutex_lock(&key_decoders_lock);
        if (!d->ctx) {
                d->ctx = OSSL_DECODER_CTX_new_for_pkey(&d->result, "DER", d->structure, d->key_type,
                                                       EVP_PKEY_KEYPAIR, NULL, NULL);
                if (d->ctx && !key_decoders_registered && OPENSSL_atexit(key_decoders_free) == 1)
                        key_decoders_registered = true;
        }
        if (d->ctx) {
                /* A failure here is no failure yet: leave the error queue as the fallback finds it. */
                ERR_set_mark();
                d->result = NULL;
                if (OSSL_DECODER_from_data(d->ctx, &p, &left) == 1 && d->result && key_has_private(d->result))
                        k = TAKE_PTR(d->result);
                EVP_PKEY_free(TAKE_PTR(d->result));
                ERR_pop_to_mark();
        }
        pthread_mutex_unlock(&key_decoders_lock);
        return k;
}

/* d2i_PrivateKey() of a known type, its common cases through the reused decoders. */
static EVP_PKEY *decode_key(int type, KeyDecoderId id, const unsigned char *der, size_t size) {
        const unsigned char *p = der;
        EVP_PKEY *k;

        k = decode_key_reused(id, der, size);
        if (!k)
                k = d2i_PrivateKey(type, NULL, &p, (long) size);
        return k;
}

static int parse_key(BlockKind kind, const unsigned char *der, size_t size, EVP_PKEY **ret) {
        const unsigned char *p = der;
        EVP_PKEY *k = NULL;

        switch (kind) {
        case BLOCK_PKCS8_KEY: {
                PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long) size);
                const ASN1_OBJECT *alg = NULL;

                if (!p8)
                        break;
                /*
                 * OpenSSL 3.0 tries every key decoder for a PKCS#8 blob unless told the
                 * type: naming it from the algorithm OID makes this several times cheaper.
                 */
                if (PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) == 1) {
                        int nid = OBJ_obj2nid(alg);
                        if (nid == NID_rsaEncryption)
                                k = decode_key(EVP_PKEY_RSA, KEY_DECODER_RSA_PKCS8, der, size);
                        else if (nid == NID_X9_62_id_ecPublicKey)
                                k = decode_key(EVP_PKEY_EC, KEY_DECODER_EC_PKCS8, der, size);
                }
                if (!k)
                        k = EVP_PKCS82PKEY(p8);
                PKCS8_PRIV_KEY_INFO_free(p8);
                break;
        }
        case BLOCK_RSA_KEY:
                k = decode_key(EVP_PKEY_RSA, KEY_DECODER_RSA_TYPE_SPECIFIC, der, size);
                break;
        case BLOCK_EC_KEY:
                k = decode_key(EVP_PKEY_EC, KEY_DECODER_EC_TYPE_SPECIFIC, der, size);
                break;
        default:
                return -EINVAL;
        }
        if (!k)
                return -EBADMSG;
        *ret = k;
        return 0;
}

static int parse_certificate(BlockKind kind, const unsigned char *der, size_t size, X509 **ret) {
        const unsigned char *p = der;
        X509 *x;

        if (kind == BLOCK_TRUSTED_CERTIFICATE)
                x = d2i_X509_AUX(NULL, &p, (long) size);
        else
                x = d2i_X509(NULL, &p, (long) size);
        if (!x)
                return -EBADMSG;
        /* Trailing bytes after the certificate mean the block is not what it claims to be. */
        if (p != der + size) {
                X509_free(x);
                return -EBADMSG;
        }
        *ret = x;
        return 0;
}

static BlockKind block_kind(const char *label, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(block_labels); i++)
                if (strlen(block_labels[i].label) == len && memcmp(block_labels[i].label, label, len) == 0)
                        return block_labels[i].kind;
        return BLOCK_UNKNOWN;
}

static int add_key(Harvest *h, const Input *in, EVP_PKEY *k, CertProblem *problem) {
        if (h->key) {
                /* The same key twice (key file and combined file) is not a conflict. */
                if (EVP_PKEY_eq(h->key, k) == 1) {
                        EVP_PKEY_free(k);
                        return 0;
                }
                EVP_PKEY_free(k);
                if (streq(h->key_from, in->what))
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s holds more than one private key; give only the server's key",
                                                in->what);
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "more than one private key was given (in the %s and in the %s); "
                                        "give only the server's key", h->key_from, in->what);
        }
        h->key = k;
        h->key_from = in->what;
        return 0;
}

/*
 * Reads every block of one input. certs receives the certificates; keys are
 * collected into h->key unless want_keys is false (then they are skipped).
 */
/* One CERTIFICATE block, the n-th of its input, starting on line: onto certs. Returns 0, -EBADMSG, -ENOMEM. */
static int read_certificate_block(Harvest *h, const Input *in, BlockKind kind, const char *body, size_t body_len,
                                  unsigned n, unsigned line, STACK_OF(X509) *certs, CertProblem *problem) {
        _cleanup_(X509_freep) X509 *x = NULL;
        unsigned char *der = NULL;
        size_t der_size = 0;
        int r;

        if (++h->n_certs > h->max_certs)
                return cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                        "more than %zu certificates were given; at most %zu are accepted",
                                        h->max_certs, h->max_certs);
        r = decode_body(body, body_len, &der, &der_size);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                r = parse_certificate(kind, der, der_size, &x);
                free(der);
        }
        if (r < 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "certificate %u of the %s (line %u) is corrupt: "
                                        "not a valid X.509 certificate",
                                        n, in->what, line);
        if (sk_X509_push(certs, x) <= 0)
                return -ENOMEM;
        TAKE_PTR(x);
        return 0;
}

/* One unencrypted private key block starting on line, handed to add_key(). Returns 0, -EBADMSG, -ENOMEM. */
static int read_key_block(Harvest *h, const Input *in, BlockKind kind, const char *label, size_t label_len,
                          const char *body, size_t body_len, unsigned line, CertProblem *problem) {
        unsigned char *der = NULL;
        size_t der_size = 0;
        EVP_PKEY *k = NULL;
        int r;

        /* Traditional encryption lives in RFC 1421 headers inside the block. */
        if (memmem_str(body, body_len, "Proc-Type:") && memmem_str(body, body_len, "ENCRYPTED"))
                return cert_problem_set(problem, CERT_ERROR_ENCRYPTED_KEY,
                                        "the private key in the %s is encrypted (Proc-Type: 4,ENCRYPTED): "
                                        "decrypt it with 'openssl pkey -in FILE -out key.pem'", in->what);
        r = decode_body(body, body_len, &der, &der_size);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                r = parse_key(kind, der, der_size, &k);
                erase_and_free(der, der_size);
        }
        if (r < 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "the private key in the %s (line %u) is corrupt: "
                                        "not a valid %.*s",
                                        in->what, line, (int) label_len, label);
        return add_key(h, in, k, problem);
}

static int read_input(Harvest *h, const Input *in, STACK_OF(X509) *certs, bool want_keys,
                      bool is_key_input, CertProblem *problem) {
        const char *p = in->data, *end = in->data + in->size;
        unsigned n_blocks = 0, n_cert_blocks = 0;
        int r;

        for (;;) {
                const char *begin = memmem_str(p, (size_t) (end - p), "-----BEGIN ");
                if (!begin)
                        break;

                const char *label = begin + strlen("-----BEGIN ");
                const char *label_end = memmem_str(label, (size_t) (end - label), "-----");
                const char *eol = memchr(label, '\n', (size_t) (end - label));
                if (!label_end || (eol && eol < label_end))
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s is truncated: the BEGIN line on line %u is incomplete",
                                                in->what, line_of(in, begin));
                size_t label_len = (size_t) (label_end - label);
                if (label_len == 0 || label_len > 64)
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s has a malformed BEGIN line on line %u", in->what, line_of(in, begin));

                char end_marker[96];
                snprintf(end_marker, sizeof(end_marker), "-----END %.*s-----", (int) label_len, label);

                const char *body = label_end + 5;
                const char *stop = memmem_str(body, (size_t) (end - body), end_marker);
                const char *next_begin = memmem_str(body, (size_t) (end - body), "-----BEGIN ");
                if (!stop || (next_begin && next_begin < stop))
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s is truncated: the '%.*s' block starting on line %u has no END line",
                                                in->what, (int) label_len, label, line_of(in, begin));
                p = stop + strlen(end_marker);
                n_blocks++;

                BlockKind kind = block_kind(label, label_len);
                size_t body_len = (size_t) (stop - body);

                switch (kind) {
                case BLOCK_CERTIFICATE:
                case BLOCK_TRUSTED_CERTIFICATE:
                        r = read_certificate_block(h, in, kind, body, body_len, ++n_cert_blocks,
                                                   line_of(in, begin), certs, problem);
                        if (r < 0)
                                return r;
                        break;

                case BLOCK_ENCRYPTED_PKCS8_KEY:
                        if (!want_keys)
                                break;
                        return cert_problem_set(problem, CERT_ERROR_ENCRYPTED_KEY,
                                                "the private key in the %s is encrypted (ENCRYPTED PRIVATE KEY): "
                                                "decrypt it with 'openssl pkey -in FILE -out key.pem'", in->what);

                case BLOCK_PKCS8_KEY:
                case BLOCK_RSA_KEY:
                case BLOCK_EC_KEY:
                        if (!want_keys)
                                break;
                        r = read_key_block(h, in, kind, label, label_len, body, body_len, line_of(in, begin), problem);
                        if (r < 0)
                                return r;
                        break;

                case BLOCK_IGNORED:
                        break;

                case BLOCK_CSR:
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s holds a certificate signing request (CSR), not a certificate: "
                                                "give the certificate your CA issued for it", in->what);
                case BLOCK_PUBLIC_KEY:
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s holds a public key (%.*s), not a private key or certificate",
                                                in->what, (int) label_len, label);
                case BLOCK_PKCS7:
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s holds a PKCS#7 bundle: extract the certificates with "
                                                "'openssl pkcs7 -print_certs -in FILE'", in->what);
                default:
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the %s holds a '%.*s' block on line %u, which is neither a "
                                                "certificate nor a private key",
                                                in->what, (int) label_len, label, line_of(in, begin));
                }
        }

        if (n_blocks == 0)
                return explain_not_pem(in, is_key_input, problem);

        return 0;
}

static int check_size(const Input *in, const PemLimits *limits, CertProblem *problem) {
        char have[32], max[32];

        if (in->size <= limit_size(limits))
                return 0;
        format_size(in->size, have, sizeof(have));
        format_size(limit_size(limits), max, sizeof(max));
        return cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                "the %s is %s (%zu bytes); at most %s (%zu bytes) is accepted",
                                in->what, have, in->size, max, limit_size(limits));
}

/* Names and key identifiers only: a self-signed leaf without keyCertSign counts too. */
static bool self_signed(X509 *x) {
        return X509_self_signed(x, 0) == 1;
}

/* Did any other certificate of the stack get issued by x? */
static bool issued_any(X509 *x, STACK_OF(X509) *certs) {
        for (int i = 0; i < sk_X509_num(certs); i++) {
                X509 *c = sk_X509_value(certs, i);
                if (c != x && X509_check_issued(x, c) == X509_V_OK)
                        return true;
        }
        return false;
}

static int sort_into_bundle(Harvest *h, CertBundle *b) {
        X509 *x;

        /* Non-self-signed certificates of a "CA bundle" are intermediates: serve them. */
        for (int i = 0; i < sk_X509_num(h->authority);) {
                x = sk_X509_value(h->authority, i);
                if (self_signed(x)) {
                        i++;
                        continue;
                }
                (void) sk_X509_delete(h->authority, i);
                if (sk_X509_push(h->certs, x) <= 0) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }

        /* A trailing self-signed CA among the certificates is the authority, unless it is all there is. */
        for (int i = 0; i < sk_X509_num(h->certs) && sk_X509_num(h->certs) > 1;) {
                x = sk_X509_value(h->certs, i);
                if (!(X509_get_extension_flags(x) & EXFLAG_CA) || !self_signed(x)) {
                        i++;
                        continue;
                }
                (void) sk_X509_delete(h->certs, i);
                if (sk_X509_push(h->authority, x) <= 0) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }

        int leaf = 0;
        for (int i = 0; i < sk_X509_num(h->certs); i++)
                if (!issued_any(sk_X509_value(h->certs, i), h->certs)) {
                        leaf = i;
                        break;
                }

        b->leaf = sk_X509_delete(h->certs, leaf);
        while (sk_X509_num(h->certs) > 0) {
                x = sk_X509_shift(h->certs);
                if (sk_X509_push(b->chain, x) <= 0) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }
        while (sk_X509_num(h->authority) > 0) {
                x = sk_X509_shift(h->authority);
                if (sk_X509_push(b->authority, x) <= 0) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }
        b->key = TAKE_PTR(h->key);
        return 0;
}

static void harvest_done(Harvest *h) {
        sk_X509_pop_free(h->certs, X509_free);
        sk_X509_pop_free(h->authority, X509_free);
        EVP_PKEY_free(h->key);
}

int pem_read_bundle(const void *certificate, size_t certificate_size,
                    const void *key, size_t key_size,
                    const void *authority, size_t authority_size,
                    const PemLimits *limits,
                    CertBundle **ret,
                    CertProblem *problem) {
        _cleanup_(harvest_done) Harvest h = {
                .max_certs = limit_certs(limits),
        };
        const Input cert_in = { "certificate input", certificate, certificate ? certificate_size : 0 };
        const Input key_in = { "private key input", key, key ? key_size : 0 };
        const Input ca_in = { "authority input", authority, authority ? authority_size : 0 };
        int r;

        assert(ret);

        cert_problem_clear(problem);

        /* Sizes first: nothing of an oversized input is looked at. */
        r = check_size(&cert_in, limits, problem);
        if (r < 0)
                return r;
        r = check_size(&key_in, limits, problem);
        if (r < 0)
                return r;
        r = check_size(&ca_in, limits, problem);
        if (r < 0)
                return r;

        if (input_blank(&cert_in))
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the certificate input is empty");

        h.certs = sk_X509_new_null();
        h.authority = sk_X509_new_null();
        if (!h.certs || !h.authority)
                return -ENOMEM;

        /* The key input first, so that its key is "the" key when a combined file repeats it. */
        if (!input_blank(&key_in)) {
                r = read_input(&h, &key_in, h.certs, true, true, problem);
                if (r < 0)
                        return r;
        }

        size_t before = (size_t) sk_X509_num(h.certs);
        r = read_input(&h, &cert_in, h.certs, true, false, problem);
        if (r < 0)
                return r;
        if ((size_t) sk_X509_num(h.certs) == before)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the certificate input holds no certificate");

        /* Certificates of the key input follow those of the certificate input: the leaf comes from the latter. */
        if (before > 0) {
                for (size_t i = 0; i < before; i++) {
                        X509 *x = sk_X509_shift(h.certs);
                        if (sk_X509_push(h.certs, x) <= 0) {
                                X509_free(x);
                                return -ENOMEM;
                        }
                }
        }

        if (!input_blank(&ca_in)) {
                r = read_input(&h, &ca_in, h.authority, true, false, problem);
                if (r < 0)
                        return r;
                if (sk_X509_num(h.authority) == 0)
                        return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                                "the authority input holds no certificate");
        }

        _cleanup_(cert_bundle_freep) CertBundle *b = cert_bundle_new();
        if (!b)
                return -ENOMEM;
        r = sort_into_bundle(&h, b);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

int pem_read_certificates(const void *data, size_t size, const PemLimits *limits,
                          STACK_OF(X509) **ret, CertProblem *problem) {
        _cleanup_(harvest_done) Harvest h = {
                .max_certs = limit_certs(limits),
        };
        const Input in = { "certificate input", data, data ? size : 0 };
        int r;

        assert(ret);

        cert_problem_clear(problem);

        r = check_size(&in, limits, problem);
        if (r < 0)
                return r;
        if (input_blank(&in))
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the certificate input is empty");

        h.certs = sk_X509_new_null();
        if (!h.certs)
                return -ENOMEM;

        r = read_input(&h, &in, h.certs, false, false, problem);
        if (r < 0)
                return r;
        if (sk_X509_num(h.certs) == 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "the certificate input holds no certificate");

        *ret = TAKE_PTR(h.certs);
        return 0;
}
