/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CertBundle: ownership of the OpenSSL objects of one bundle and their PEM
 * serialisation. Does not validate anything (see validate.c) and does not
 * touch files (see store.c).
 */

#include <openssl/pem.h>

#include "bundle.h"

CertBundle *cert_bundle_new(void) {
        CertBundle *b = calloc(1, sizeof(CertBundle));
        if (!b)
                return NULL;
        b->chain = sk_X509_new_null();
        b->authority = sk_X509_new_null();
        if (!b->chain || !b->authority)
                return cert_bundle_free(b);
        return b;
}

CertBundle *cert_bundle_free(CertBundle *b) {
        if (!b)
                return NULL;
        X509_free(b->leaf);
        sk_X509_pop_free(b->chain, X509_free);
        sk_X509_pop_free(b->authority, X509_free);
        EVP_PKEY_free(b->key);
        free(b);
        return NULL;
}

static const char *const part_files[_CERT_BUNDLE_PART_MAX] = {
        [CERT_BUNDLE_FULLCHAIN] = "fullchain.pem",
        [CERT_BUNDLE_CERT]      = "cert.pem",
        [CERT_BUNDLE_CHAIN]     = "chain.pem",
        [CERT_BUNDLE_CA]        = "ca.pem",
        [CERT_BUNDLE_KEY]       = "key.pem",
};

const char *cert_bundle_part_file(CertBundlePart part) {
        if ((unsigned) part >= _CERT_BUNDLE_PART_MAX)
                return NULL;
        return part_files[part];
}

static int write_stack(BIO *bio, STACK_OF(X509) *stack) {
        for (int i = 0; i < sk_X509_num(stack); i++)
                if (PEM_write_bio_X509(bio, sk_X509_value(stack, i)) != 1)
                        return -ENOMEM;
        return 0;
}

int cert_bundle_part_pem(const CertBundle *b, CertBundlePart part, char **ret, size_t *ret_size) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_secmem());
        int r = 0;

        if (!bio)
                return -ENOMEM;

        switch (part) {
        case CERT_BUNDLE_FULLCHAIN:
                if (b->leaf && PEM_write_bio_X509(bio, b->leaf) != 1)
                        return -ENOMEM;
                r = write_stack(bio, b->chain);
                break;
        case CERT_BUNDLE_CERT:
                if (b->leaf && PEM_write_bio_X509(bio, b->leaf) != 1)
                        return -ENOMEM;
                break;
        case CERT_BUNDLE_CHAIN:
                r = write_stack(bio, b->chain);
                break;
        case CERT_BUNDLE_CA:
                r = write_stack(bio, b->authority);
                break;
        case CERT_BUNDLE_KEY:
                if (b->key && PEM_write_bio_PrivateKey(bio, b->key, NULL, NULL, 0, NULL, NULL) != 1)
                        return -ENOMEM;
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        char *data;
        long n = BIO_get_mem_data(bio, &data);
        if (n < 0)
                return -EIO;
        char *copy = malloc((size_t) n + 1);
        if (!copy)
                return -ENOMEM;
        if (n > 0)
                memcpy(copy, data, (size_t) n);
        copy[n] = 0;
        *ret = copy;
        if (ret_size)
                *ret_size = (size_t) n;
        return 0;
}
