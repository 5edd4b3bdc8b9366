/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's last-served marker (store-served.h; docs/design.md, "Store layout"). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"
#include "store-generation.h"
#include "store-served.h"

#define SERVED_FILE "last-served"
#define SERVED_TMP ".last-served.tmp"
#define SERVED_FILE_MAX 64

int store_served_read(const char *store_dir, uint64_t *ret_id) {
        _cleanup_close_ int dfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        if (dfd < 0)
                return negative_errno();
        r = read_file_at(dfd, SERVED_FILE, SERVED_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        while (size > 0 && data[size - 1] == '\n')
                size--;
        return parse_id(data, size, ret_id);
}

int store_served_write(const char *store_dir, uint64_t id) {
        _cleanup_close_ int dfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char text[32];
        int r;

        if (dfd < 0)
                return negative_errno();
        int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", id);
        _cleanup_close_ int fd = openat(dfd, SERVED_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, text, (size_t) n);
        /* No fsync: a marker lost in a crash only means one needless check at the next start, or none. */
        if (r >= 0 && renameat(dfd, SERVED_TMP, dfd, SERVED_FILE) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dfd, SERVED_TMP, 0);
        return r;
}
