/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded list of content hashes, persisted with temp file + rename so
 * that a crash leaves either the old or the new list. Deliberately no
 * fsync: the list is a hint against handing the same content out twice,
 * losing its newest entry to a power cut costs at most one repeated install
 * of identical content, and an fsync here would delay the next bundle of a
 * burst by milliseconds. It knows nothing of files in the drop directory; it
 * only answers "seen before?".
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropdir-state.h"

typedef struct Entry {
        DropSeenKind kind;
        char hash[65];
} Entry;

struct DropSeen {
        char *path;
        Entry entries[DROP_SEEN_MAX];
        size_t n;
};

static const char *const kind_names[_DROP_SEEN_KIND_MAX] = {
        [DROP_SEEN_INSTALLED] = "installed",
        [DROP_SEEN_REJECTED] = "rejected",
};

const char *drop_seen_kind_to_string(DropSeenKind k) {
        return (unsigned) k < _DROP_SEEN_KIND_MAX ? kind_names[k] : NULL;
}

static bool hash_valid(const char *h) {
        if (strlen(h) != 64)
                return false;
        return strspn(h, "0123456789abcdef") == 64;
}

static void remember(DropSeen *s, DropSeenKind kind, const char *hash) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->entries[i].hash, hash)) {
                        memmove(s->entries + i, s->entries + i + 1, (s->n - i - 1) * sizeof(Entry));
                        s->n--;
                        break;
                }
        if (s->n == DROP_SEEN_MAX) {
                memmove(s->entries, s->entries + 1, (DROP_SEEN_MAX - 1) * sizeof(Entry));
                s->n--;
        }
        s->entries[s->n].kind = kind;
        memcpy(s->entries[s->n].hash, hash, 65);
        s->n++;
}

DropSeen *drop_seen_free(DropSeen *s) {
        if (!s)
                return NULL;
        free(s->path);
        free(s);
        return NULL;
}

int drop_seen_load(const char *path, DropSeen **ret) {
        _cleanup_(drop_seen_freep) DropSeen *s = NULL;
        FILE *f;
        char line[256];

        s = calloc(1, sizeof(DropSeen));
        if (!s)
                return -ENOMEM;
        if (path) {
                s->path = strdup(path);
                if (!s->path)
                        return -ENOMEM;
                f = fopen(path, "re");
                if (!f && errno != ENOENT)
                        return negative_errno();
                while (f && fgets(line, sizeof(line), f)) {
                        char kind[16], hash[80];

                        if (line[0] == '#')
                                continue;
                        if (sscanf(line, "%15s %79s", kind, hash) != 2 || !hash_valid(hash))
                                continue;
                        for (DropSeenKind k = 0; k < _DROP_SEEN_KIND_MAX; k++)
                                if (streq(kind, kind_names[k]))
                                        remember(s, k, hash);
                }
                if (f)
                        fclose(f);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

bool drop_seen_contains(const DropSeen *s, const char *hash, DropSeenKind *ret_kind) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->entries[i].hash, hash)) {
                        if (ret_kind)
                                *ret_kind = s->entries[i].kind;
                        return true;
                }
        return false;
}

static int save(const DropSeen *s) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        FILE *f;
        int r = 0;

        if (asprintf(&tmp, "%s.XXXXXX", s->path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        (void) fchmod(fd, 0600);

        f = fdopen(fd, "w");
        if (!f) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        TAKE_FD(fd);
        fputs("# vertex-certd drop directory: content already handed out\n", f);
        for (size_t i = 0; i < s->n; i++)
                fprintf(f, "%s %s\n", kind_names[s->entries[i].kind], s->entries[i].hash);
        if (fflush(f) != 0)
                r = negative_errno();
        if (fclose(f) != 0 && r == 0)
                r = negative_errno();
        if (r == 0 && rename(tmp, s->path) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int drop_seen_add(DropSeen *s, DropSeenKind kind, const char *hash) {
        if (!hash_valid(hash) || (unsigned) kind >= _DROP_SEEN_KIND_MAX)
                return -EINVAL;
        remember(s, kind, hash);
        return s->path ? save(s) : 0;
}
