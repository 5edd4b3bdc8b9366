/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one loader for PEM files this project wrote itself: a generation in
 * the store, read back by the store and served by vertex-endpoint. The
 * files are trusted (written by the store, 0640 root:vertex-tls) but may be
 * torn by a crash, so a file whose text does not end with its END line is
 * refused. Untrusted input (uploads, the drop directory) goes through pem.c.
 */

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "io-util.h"
#include "trusted-pem.h"

/* Never prompt on a terminal for a passphrase: our key files are never encrypted. */
static int no_password_cb(char *buf, int size, int rwflag, void *u) {
        return -1;
}

/* Only whitespace may follow the last END line of a file we wrote: anything else is a torn write. */
static bool pem_tail_ok(const char *data, size_t size, const char *label) {
        while (size > 0 && strchr(" \t\r\n", data[size - 1]))
                size--;
        if (size == 0)
                return true;
        char end[64];
        int n = snprintf(end, sizeof(end), "-----END %s-----", label);
        return (size_t) n <= size && memcmp(data + size - (size_t) n, end, (size_t) n) == 0;
}

static int parse_certificates(const char *data, size_t size, STACK_OF(X509) **ret) {
        _cleanup_x509_stack_ STACK_OF(X509) *stack = sk_X509_new_null();
        _cleanup_(BIO_free_allp) BIO *bio = NULL;

        if (!stack)
                return -ENOMEM;
        if (!pem_tail_ok(data, size, "CERTIFICATE"))
                return -EBADMSG;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;

        ERR_clear_error();
        for (;;) {
                X509 *x = PEM_read_bio_X509(bio, NULL, no_password_cb, NULL);
                if (!x)
                        break;
                if (sk_X509_push(stack, x) <= 0) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }
        unsigned long e = ERR_peek_last_error();
        ERR_clear_error();
        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
                return -EBADMSG;

        *ret = TAKE_PTR(stack);
        return 0;
}

static int parse_key(const char *data, size_t size, EVP_PKEY **ret) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        EVP_PKEY *key;

        if (!pem_tail_ok(data, size, "PRIVATE KEY"))
                return -EBADMSG;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        key = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL);
        ERR_clear_error();
        if (!key)
                return -EBADMSG;
        *ret = key;
        return 0;
}

int trusted_pem_load_certificates_at(int dfd, const char *name, STACK_OF(X509) **ret) {
        _cleanup_erase_ char *data = NULL;
        size_t size;
        int r;

        r = read_file_at(dfd, name, TRUSTED_PEM_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        return parse_certificates(data, size, ret);
}

int trusted_pem_load_key_at(int dfd, const char *name, EVP_PKEY **ret) {
        char *data = NULL;
        size_t size;
        int r;

        r = read_file_at(dfd, name, TRUSTED_PEM_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        r = parse_key(data, size, ret);
        erase_and_free(data, size);
        return r;
}
