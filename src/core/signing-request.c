/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Making a key and a PKCS#10 request for it. The subject and the names are
 * checked here, before any key is made, so that a bad option costs nothing
 * and is named precisely by the caller.
 */

#include <errno.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "macro.h"
#include "selfsigned.h"
#include "signing-request.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free);

static const struct {
        const char *name;
        const char *algorithm;
        const char *curve;
        size_t bits;
} key_types[_CSR_KEY_MAX] = {
        [CSR_KEY_EC_P256]  = { "EC P-256", "EC", "P-256", 0 },
        [CSR_KEY_EC_P384]  = { "EC P-384", "EC", "P-384", 0 },
        [CSR_KEY_RSA_2048] = { "RSA 2048", "RSA", NULL, 2048 },
        [CSR_KEY_RSA_3072] = { "RSA 3072", "RSA", NULL, 3072 },
        [CSR_KEY_RSA_4096] = { "RSA 4096", "RSA", NULL, 4096 },
};

const char *csr_key_type_to_string(CsrKeyType t) {
        return (unsigned) t < _CSR_KEY_MAX ? key_types[t].name : NULL;
}

int csr_key_type_from_string(const char *s) {
        for (CsrKeyType t = 0; t < _CSR_KEY_MAX; t++)
                if (streq_ptr(s, key_types[t].name))
                        return (int) t;
        return -EINVAL;
}

/*
 * Adds the DN's entries to name (NULL: only checks). Both the comma form
 * people type and the slash form `openssl req -subj` takes; no escaping, so
 * a value cannot contain the separator: such subjects are rare for a server.
 */
static int parse_subject(const char *dn, X509_NAME *name) {
        _cleanup_free_ char *copy = NULL;
        char sep = ',', *p, *save = NULL;
        size_t n = 0;

        if (isempty(dn))
                return -EINVAL;
        for (const char *c = dn; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return -EINVAL;
        if (dn[0] == '/') {
                sep = '/';
                dn++;
        }
        copy = strdup(dn);
        if (!copy)
                return -ENOMEM;

        for (p = strtok_r(copy, (char[]) { sep, 0 }, &save); p; p = strtok_r(NULL, (char[]) { sep, 0 }, &save)) {
                while (*p == ' ')
                        p++;
                char *eq = strchr(p, '=');
                if (!eq || eq == p || eq[1] == 0)
                        return -EINVAL;
                *eq = 0;
                int nid = OBJ_txt2nid(p);
                if (nid == NID_undef)
                        return -EINVAL;
                if (name && X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (unsigned char *) eq + 1, -1, -1, 0) != 1)
                        return -EINVAL;   /* too long for the attribute, or not printable where it must be */
                n++;
        }
        return n > 0 ? 0 : -EINVAL;
}

int csr_check_subject(const char *dn) {
        _cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_new();

        if (!name)
                return -ENOMEM;
        return parse_subject(dn, name);
}

int csr_check_alt_name(const char *name) {
        if (!name)
                return -EINVAL;
        if (strncmp(name, "DNS:", 4) == 0) {
                const char *host = name + 4;
                if (strncmp(host, "*.", 2) == 0)
                        host += 2;
                /* selfsigned_check_name() takes IP literals too; a DNS: entry must be a name. */
                if (strspn(host, "0123456789.") == strlen(host) || strchr(host, ':'))
                        return -EINVAL;
                return selfsigned_check_name(host);
        }
        if (strncmp(name, "IP:", 3) == 0) {
                const char *ip = name + 3;
                if (strspn(ip, "0123456789.:abcdefABCDEF") != strlen(ip))
                        return -EINVAL;
                return selfsigned_check_name(ip);
        }
        return -EINVAL;
}

static EVP_PKEY *make_key(CsrKeyType t) {
        if (key_types[t].curve)
                return EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[t].curve);
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", key_types[t].bits);
}

static int add_alt_names(X509_REQ *req, char *const *alt_names) {
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;
        _cleanup_free_ char *value = NULL;
        STACK_OF(X509_EXTENSION) *exts;
        int r;

        if (strv_length(alt_names) == 0)
                return 0;
        STRV_FOREACH(i, alt_names)
                if (csr_check_alt_name(*i) < 0)
                        return -EINVAL;
        /* Checked above: no entry holds a comma, so the joined form is exactly the list. */
        value = strv_join(alt_names, ",");
        if (!value)
                return -ENOMEM;
        ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
        if (!ext)
                return -EINVAL;
        exts = sk_X509_EXTENSION_new_null();
        if (!exts)
                return -ENOMEM;
        r = sk_X509_EXTENSION_push(exts, ext) > 0 && X509_REQ_add_extensions(req, exts) == 1 ? 0 : -ENOMEM;
        sk_X509_EXTENSION_free(exts);
        return r;
}

int csr_generate(CsrKeyType t, const char *subject, char *const *alt_names, EVP_PKEY **ret_key, char **ret_pem) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        char *data, *pem;
        long n;
        int r;

        if ((unsigned) t >= _CSR_KEY_MAX)
                return -EINVAL;

        req = X509_REQ_new();
        if (!req)
                return -ENOMEM;
        r = parse_subject(subject, X509_REQ_get_subject_name(req));
        if (r < 0)
                return r;
        r = add_alt_names(req, alt_names);
        if (r < 0)
                return r;

        key = make_key(t);
        if (!key)
                return -EIO;
        if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || X509_REQ_set_pubkey(req, key) != 1)
                return -ENOMEM;
        if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
                return -EIO;

        bio = BIO_new(BIO_s_mem());
        if (!bio || PEM_write_bio_X509_REQ(bio, req) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(bio, &data);
        pem = strndup(data, (size_t) n);
        if (!pem)
                return -ENOMEM;

        *ret_key = TAKE_PTR(key);
        *ret_pem = pem;
        return 0;
}
