/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading store generations back: a generation's files and meta, checked
 * whole (every file parses, fullchain = leaf + chain, the key matches), and
 * the per-process cache of generations already checked or written, which
 * answers the bus's questions without parsing. It writes nothing.
 */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "io-util.h"
#include "store-internal.h"
#include "trusted-pem.h"

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
int load_generation(Store *s, uint64_t id, CertBundle **ret_bundle, Meta *ret_meta) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        _cleanup_x509_stack_ STACK_OF(X509) *leaf = NULL, *fullchain = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_erase_ char *data = NULL;
        char name[21];
        size_t size;
        int r;

        generation_name(id, name);
        fd = open_dir_at(s->generations_fd, name);
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

VerifiedGeneration *verified_find(Store *s, uint64_t id) {
        for (size_t i = 0; i < s->n_verified; i++)
                if (s->verified[i].id == id)
                        return &s->verified[i];
        return NULL;
}

void verified_forget(Store *s, uint64_t id) {
        VerifiedGeneration *v = verified_find(s, id);
        if (!v)
                return;
        free(v->source);
        cert_info_free(v->info);
        *v = s->verified[--s->n_verified];
}

/* Takes ownership of info. Returns 0 or -ENOMEM. */
int verified_add(Store *s, uint64_t id, const char *source, uint64_t installed_usec, CertInfo *info) {
        _cleanup_(cert_info_freep) CertInfo *owned = info;

        verified_forget(s, id);
        VerifiedGeneration *array = reallocarray(s->verified, s->n_verified + 1, sizeof(VerifiedGeneration));
        if (!array)
                return -ENOMEM;
        s->verified = array;
        char *copy = strdup(source);
        if (!copy)
                return -ENOMEM;
        s->verified[s->n_verified++] = (VerifiedGeneration) {
                .id = id,
                .source = copy,
                .installed_usec = installed_usec,
                .info = TAKE_PTR(owned),
        };
        return 0;
}

/* Whether generation id is complete and matching, checked once per process. Returns 0, -EBADMSG, -ENOENT, -errno. */
int check_generation(Store *s, uint64_t id, VerifiedGeneration **ret) {
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        CertInfo *info = NULL;
        Meta meta = {};
        int r;

        VerifiedGeneration *v = verified_find(s, id);
        if (!v) {
                r = load_generation(s, id, &b, &meta);
                if (r < 0)
                        return r;
                r = cert_info_from_bundle(b, &info);
                if (r >= 0)
                        r = verified_add(s, id, meta.source, meta.installed_usec, info);
                meta_done(&meta);
                if (r < 0)
                        return r;
                v = verified_find(s, id);
        }
        if (ret)
                *ret = v;
        return 0;
}

int store_load(Store *s, uint64_t id, CertBundle **ret) {
        assert(s);
        assert(ret);
        return load_generation(s, id, ret, NULL);
}

static int generation_new(Store *s, uint64_t id, StoreGeneration **ret) {
        _cleanup_(store_generation_freep) StoreGeneration *g = NULL;
        VerifiedGeneration *v;
        int r;

        r = check_generation(s, id, &v);
        if (r < 0)
                return r;

        g = calloc(1, sizeof(StoreGeneration));
        if (!g)
                return -ENOMEM;
        g->id = id;
        g->installed_usec = v->installed_usec;
        g->source = strdup(v->source);
        if (!g->source)
                return -ENOMEM;
        r = cert_info_dup(v->info, &g->info);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

int store_get(Store *s, uint64_t id, StoreGeneration **ret) {
        assert(s);
        assert(ret);
        return generation_new(s, id, ret);
}

int store_list(Store *s, StoreGeneration **ret, size_t *ret_n) {
        _cleanup_free_ uint64_t *ids = NULL;
        StoreGeneration *array = NULL;
        size_t n, k = 0;
        int r;

        assert(s);
        assert(ret);
        assert(ret_n);

        r = scan_ids(s, &ids, &n, NULL);
        if (r < 0)
                return r;
        array = calloc(n ? n : 1, sizeof(StoreGeneration));
        if (!array)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                StoreGeneration *g;
                r = generation_new(s, ids[i], &g);
                if (r == -EBADMSG || r == -ENOENT)
                        continue;  /* incomplete: not a generation anyone can use */
                if (r < 0) {
                        store_generation_array_free(array, k);
                        return r;
                }
                array[k++] = *g;
                free(g);
        }
        *ret = array;
        *ret_n = k;
        return 0;
}

StoreGeneration *store_generation_free(StoreGeneration *g) {
        if (!g)
                return NULL;
        free(g->source);
        cert_info_free(g->info);
        free(g);
        return NULL;
}

void store_generation_array_free(StoreGeneration *array, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(array[i].source);
                cert_info_free(array[i].info);
        }
        free(array);
}
