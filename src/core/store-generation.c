/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading one generation directory of the store back: its files and meta,
 * checked whole (every file parses, fullchain = leaf + chain, the key
 * matches, combined.pem = fullchain.pem + key.pem when there is one). It
 * knows directories and files only, not the Store (store.c), and writes
 * nothing.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "io-util.h"
#include "store-forms.h"
#include "store-generation.h"
#include "trusted-pem.h"

/* Strict decimal: no sign, no leading zero, no overflow. Ids start at 1. */
int parse_id(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 20 || s[0] == '0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int open_dir_at(int dfd, const char *name) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

void meta_done(Meta *m) {
        free(m->source);
        m->source = NULL;
}

/* key=value lines; unknown keys are ignored so that later versions may add some. */
static int parse_meta(const char *data, Meta *ret) {
        _cleanup_free_ char *source = NULL;
        bool have_installed = false;
        uint64_t installed = 0;

        for (const char *p = data; *p; ) {
                size_t n = strcspn(p, "\n");
                const char *eq = memchr(p, '=', n);
                if (eq) {
                        size_t klen = (size_t) (eq - p), vlen = n - klen - 1;
                        if (klen == 6 && memcmp(p, "source", 6) == 0) {
                                free(source);
                                source = strndup(eq + 1, vlen);
                                if (!source)
                                        return -ENOMEM;
                        } else if (klen == 12 && memcmp(p, "installed-at", 12) == 0) {
                                if (vlen == 1 && eq[1] == '0')
                                        installed = 0;
                                else if (parse_id(eq + 1, vlen, &installed) < 0)
                                        return -EBADMSG;
                                have_installed = true;
                        }
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        if (isempty(source) || !have_installed)
                return -EBADMSG;
        ret->source = TAKE_PTR(source);
        ret->installed_usec = installed;
        return 0;
}

int generation_name(uint64_t id, char buf[static 21]) {
        snprintf(buf, 21, "%" PRIu64, id);
        return 0;
}

/*
 * Reads generation id completely and checks that it is whole: every file
 * present and parseable, exactly one leaf, fullchain = leaf + chain, key
 * matching the leaf, meta readable. -ENOENT when there is no such
 * directory, -EBADMSG when it is incomplete or torn.
 */
int load_generation(int generations_fd, uint64_t id, CertBundle **ret_bundle, Meta *ret_meta) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        _cleanup_x509_stack_ STACK_OF(X509) *leaf = NULL, *fullchain = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_erase_ char *data = NULL;
        char name[21];
        size_t size;
        int r;

        generation_name(id, name);
        fd = open_dir_at(generations_fd, name);
        if (fd < 0)
                return fd == -ENOTDIR || fd == -ELOOP ? -EBADMSG : fd;

        b = cert_bundle_new();
        if (!b)
                return -ENOMEM;

        r = trusted_pem_load_certificates_at(fd, cert_bundle_part_file(CERT_BUNDLE_CERT), &leaf);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (sk_X509_num(leaf) != 1)
                return -EBADMSG;
        b->leaf = sk_X509_shift(leaf);

        sk_X509_pop_free(b->chain, X509_free);
        b->chain = NULL;
        r = trusted_pem_load_certificates_at(fd, cert_bundle_part_file(CERT_BUNDLE_CHAIN), &b->chain);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        sk_X509_pop_free(b->authority, X509_free);
        b->authority = NULL;
        r = trusted_pem_load_certificates_at(fd, cert_bundle_part_file(CERT_BUNDLE_CA), &b->authority);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        /* fullchain.pem is what most consumers serve: it must be exactly leaf + chain. */
        r = trusted_pem_load_certificates_at(fd, cert_bundle_part_file(CERT_BUNDLE_FULLCHAIN), &fullchain);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (sk_X509_num(fullchain) != 1 + sk_X509_num(b->chain))
                return -EBADMSG;
        if (X509_cmp(sk_X509_value(fullchain, 0), b->leaf) != 0)
                return -EBADMSG;
        for (int i = 0; i < sk_X509_num(b->chain); i++)
                if (X509_cmp(sk_X509_value(fullchain, i + 1), sk_X509_value(b->chain, i)) != 0)
                        return -EBADMSG;

        r = trusted_pem_load_key_at(fd, cert_bundle_part_file(CERT_BUNDLE_KEY), &b->key);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        EVP_PKEY *pub = X509_get0_pubkey(b->leaf);
        if (!pub || EVP_PKEY_eq(pub, b->key) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }

        /* The combined form must be this very chain and key, or the generation is torn. */
        r = store_form_check(fd, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        r = read_file_at(fd, META_FILE, STORE_FILE_MAX, &data, &size);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (strlen(data) != size)
                return -EBADMSG;
        Meta meta = {};
        r = parse_meta(data, &meta);
        if (r < 0)
                return r;

        if (ret_meta)
                *ret_meta = meta;
        else
                meta_done(&meta);
        if (ret_bundle)
                *ret_bundle = TAKE_PTR(b);
        return 0;
}

