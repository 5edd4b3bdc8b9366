/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: recognising bundles among drop-directory file names
 * (dropdir-naming.c). The input is a directory listing, one name per line
 * (a name may hold any byte but NUL and newline, as on Linux but for the
 * newline); at most MAX_NAMES names, which is more than a drop directory
 * holds in practice.
 *
 * Checks dropdir-naming.h's contract beyond "no crash": a classified name
 * is a NAME plus a suffix of its part and is never an ignored name; every
 * grouped file is one of the names given, under its own NAME and part
 * (cert-manager's ca.crt beside tls.* under "tls"), and group names are
 * unique.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dropdir-naming.h"
#include "fuzz-util.h"
#include "macro.h"

#define MAX_NAMES 256

static bool in_list(char *const *names, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], s) == 0)
                        return true;
        return false;
}

static void check_classify(const char *filename) {
        char *name = NULL;
        int r = drop_name_classify(filename, &name);

        if (r == -EINVAL || r == -ENOMEM) {
                fuzz_assert(!name);
                return;
        }
        fuzz_assert(r >= 0 && r < _DROP_PART_MAX && name);
        fuzz_assert(!drop_name_ignored(filename));
        /* NAME is a non-empty proper prefix of the file name. */
        size_t len = strlen(name);
        fuzz_assert(len > 0 && len < strlen(filename) && strncmp(filename, name, len) == 0);
        free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *copy, *names[MAX_NAMES];
        DropGroup *groups = NULL;
        size_t n = 0;
        int r;

        /* One C string per line; a NUL inside a line ends that name early, as the kernel would never give it. */
        copy = malloc(size + 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = 0;
        for (char *p = copy; n < MAX_NAMES; ) {
                char *nl = strchr(p, '\n');
                names[n++] = p;
                if (!nl)
                        break;
                *nl = 0;
                p = nl + 1;
        }

        bool have_tls = false;
        for (size_t i = 0; i < n; i++) {
                check_classify(names[i]);
                if (strcmp(names[i], "tls.crt") == 0 || strcmp(names[i], "tls.key") == 0)
                        have_tls = true;
        }

        r = drop_names_group(names, n, &groups);
        if (r == -ENOMEM)
                goto finish;
        fuzz_assert(r >= 0 && (size_t) r <= n);
        fuzz_assert(r == 0 || groups);

        for (int g = 0; g < r; g++) {
                bool any = false;

                fuzz_assert(groups[g].name);
                for (int h = 0; h < g; h++)
                        fuzz_assert(strcmp(groups[g].name, groups[h].name) != 0);

                for (int part = 0; part < _DROP_PART_MAX; part++) {
                        const char *f = groups[g].files[part];
                        char *name = NULL;

                        if (!f)
                                continue;
                        any = true;
                        fuzz_assert(in_list(names, n, f));
                        fuzz_assert(!drop_name_ignored(f));

                        if (have_tls && strcmp(f, "ca.crt") == 0) {
                                fuzz_assert(part == DROP_PART_CA && strcmp(groups[g].name, "tls") == 0);
                                continue;
                        }
                        int k = drop_name_classify(f, &name);
                        if (k == -ENOMEM)
                                continue;
                        fuzz_assert(k == part);
                        fuzz_assert(strcmp(name, groups[g].name) == 0);
                        free(name);
                }
                fuzz_assert(any);
        }

        drop_groups_free(groups, (size_t) (r > 0 ? r : 0));
finish:
        free(copy);
        return 0;
}
