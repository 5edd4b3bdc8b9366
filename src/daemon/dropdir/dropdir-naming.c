/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bundle names in the drop directory. Decides from names alone which files
 * belong together; whether a file is complete, safe or holds a key is the
 * drop directory's business, not this file's. Hidden names are ignored
 * wholesale: they are editors' temporaries and the kubelet's "..data"
 * machinery, which dropdir.c handles on its own.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dropdir-naming.h"
#include "macro.h"

typedef struct Suffix {
        const char *suffix;
        DropPart part;
        unsigned rank;       /* lower wins when two files claim one part */
} Suffix;

/* Longest first: "x.ca.pem" is the authority of "x", not the certificate of "x.ca". */
static const Suffix suffixes[] = {
        { ".ca.crt", DROP_PART_CA,   0 },
        { ".ca.pem", DROP_PART_CA,   1 },
        { "-ca.pem", DROP_PART_CA,   2 },
        { "-ca.crt", DROP_PART_CA,   3 },
        { ".crt",    DROP_PART_CERT, 0 },
        { ".cert",   DROP_PART_CERT, 1 },
        { ".pem",    DROP_PART_CERT, 2 },
        { ".key",    DROP_PART_KEY,  0 },
};

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

bool drop_name_ignored(const char *filename) {
        if (isempty(filename) || filename[0] == '.')
                return true;
        if (strchr(filename, '/'))
                return true;
        if (endswith(filename, "~"))
                return true;
        return false;
}

static const Suffix *find_suffix(const char *filename) {
        size_t len = strlen(filename);

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i].suffix);
                /* NAME must not be empty */
                if (len > l && endswith(filename, suffixes[i].suffix))
                        return &suffixes[i];
        }
        return NULL;
}

int drop_name_classify(const char *filename, char **ret_name) {
        const Suffix *s;
        char *name;

        if (drop_name_ignored(filename))
                return -EINVAL;
        s = find_suffix(filename);
        if (!s)
                return -EINVAL;
        name = strndup(filename, strlen(filename) - strlen(s->suffix));
        if (!name)
                return -ENOMEM;
        *ret_name = name;
        return (int) s->part;
}

void drop_groups_free(DropGroup *groups, size_t n) {
        if (!groups)
                return;
        for (size_t i = 0; i < n; i++) {
                free(groups[i].name);
                for (size_t p = 0; p < _DROP_PART_MAX; p++)
                        free(groups[i].files[p]);
        }
        free(groups);
}

typedef struct Builder {
        DropGroup *groups;
        unsigned (*ranks)[_DROP_PART_MAX];
        size_t n, allocated;
        /* open addressing over group names, so a burst of 1,000 files groups in linear time */
        size_t *index;
        size_t index_size;
} Builder;

static void builder_done(Builder *b) {
        drop_groups_free(b->groups, b->n);
        free(b->ranks);
        free(b->index);
}

static size_t name_hash(const char *s) {
        size_t h = 5381;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                h = h * 33 + *p;
        return h;
}

static int builder_add(Builder *b, const char *name, DropPart part, unsigned rank, const char *filename) {
        size_t i, slot;

        /* index_size > number of names >= number of groups: there is always a free slot */
        for (slot = name_hash(name) % b->index_size; b->index[slot] != SIZE_MAX; slot = (slot + 1) % b->index_size)
                if (streq(b->groups[b->index[slot]].name, name))
                        break;
        i = b->index[slot] != SIZE_MAX ? b->index[slot] : b->n;

        if (i == b->n) {
                if (b->n == b->allocated) {
                        size_t k = b->allocated ? b->allocated * 2 : 8;
                        DropGroup *g = reallocarray(b->groups, k, sizeof(DropGroup));
                        if (!g)
                                return -ENOMEM;
                        b->groups = g;
                        unsigned (*r)[_DROP_PART_MAX] = reallocarray(b->ranks, k, sizeof(*r));
                        if (!r)
                                return -ENOMEM;
                        b->ranks = r;
                        b->allocated = k;
                }
                b->groups[i] = (DropGroup) {};
                b->groups[i].name = strdup(name);
                if (!b->groups[i].name)
                        return -ENOMEM;
                b->index[slot] = i;
                b->n++;
        }

        DropGroup *g = &b->groups[i];
        if (g->files[part] && b->ranks[i][part] <= rank)
                return 0;

        char *f = strdup(filename);
        if (!f)
                return -ENOMEM;
        free(g->files[part]);
        g->files[part] = f;
        b->ranks[i][part] = rank;
        return 0;
}

int drop_names_group(char *const *names, size_t n_names, DropGroup **ret) {
        _cleanup_(builder_done) Builder b = {};
        bool have_tls = false;
        int r;

        b.index_size = n_names * 2 + 1;
        b.index = malloc(b.index_size * sizeof(size_t));
        if (!b.index)
                return -ENOMEM;
        for (size_t i = 0; i < b.index_size; i++)
                b.index[i] = SIZE_MAX;

        /* cert-manager writes tls.crt + tls.key + ca.crt; without tls.* a ca.crt is just bundle "ca". */
        for (size_t i = 0; i < n_names; i++)
                if (streq(names[i], "tls.crt") || streq(names[i], "tls.key"))
                        have_tls = true;

        for (size_t i = 0; i < n_names; i++) {
                _cleanup_free_ char *name = NULL;
                const Suffix *s;

                if (drop_name_ignored(names[i]))
                        continue;
                s = find_suffix(names[i]);
                if (!s)
                        continue;

                if (have_tls && streq(names[i], "ca.crt")) {
                        r = builder_add(&b, "tls", DROP_PART_CA, 0, names[i]);
                        if (r < 0)
                                return r;
                        continue;
                }

                name = strndup(names[i], strlen(names[i]) - strlen(s->suffix));
                if (!name)
                        return -ENOMEM;
                r = builder_add(&b, name, s->part, s->rank, names[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(b.groups);
        r = (int) b.n;
        b.n = 0;
        return r;
}
