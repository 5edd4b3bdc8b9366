/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * String vectors. Deliberately tiny: only what config, the bus layer and the
 * CLI need.
 */

#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        for (; l && l[n]; n++)
                ;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend_strv(char ***l, char *const *other) {
        STRV_FOREACH(i, other) {
                int r = strv_extend(l, *i);
                if (r < 0)
                        return r;
        }
        return 0;
}

int strv_split_words(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        const char *sep = " \t\n\r,";
        for (const char *p = s + strspn(s, sep); *p; p += strspn(p, sep)) {
                size_t n = strcspn(p, sep);
                _cleanup_free_ char *word = strndup(p, n);
                if (!word)
                        return -ENOMEM;
                int r = strv_extend(&l, word);
                if (r < 0)
                        return r;
                p += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char **strv_copy(char *const *l) {
        char **c = calloc(1, sizeof(char *));
        if (!c)
                return NULL;
        if (strv_extend_strv(&c, l) < 0)
                return strv_free(c);
        return c;
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 1, k = strlen(sep);
        STRV_FOREACH(i, l)
                n += strlen(*i) + k;
        char *r = malloc(n), *p = r;
        if (!r)
                return NULL;
        *p = 0;
        STRV_FOREACH(i, l) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return r;
}
