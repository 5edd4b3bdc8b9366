/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"

int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int read_exactly(int fd, void *data, size_t size) {
        char *p = data;

        while (size > 0) {
                ssize_t n = read(fd, p, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* A larger buffer for a file that turned out longer than fstat() said; the old one is erased. */
static int grow(char **buf, size_t size, size_t *allocated, size_t max) {
        size_t k = *allocated > (max + 1) / 2 ? max + 1 : *allocated * 2;
        char *nb = malloc(k + 1);

        if (!nb)
                return -ENOMEM;
        memcpy(nb, *buf, size);
        erase_and_free(*buf, *allocated + 1);
        *buf = nb;
        *allocated = k;
        return 0;
}

int read_fd_bounded(int fd, size_t max, ReadFlags flags, char **ret, size_t *ret_size) {
        struct stat st;
        size_t allocated, size = 0;
        char *buf;
        int r;

        if (fstat(fd, &st) < 0)
                return negative_errno();

        /* One allocation of what fstat() promises (a pipe promises nothing), at most max + 1 bytes. */
        allocated = S_ISREG(st.st_mode) ? (size_t) st.st_size + 1 : 4096;
        if (allocated > max + 1)
                allocated = max + 1;
        buf = malloc(allocated + 1);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (size == allocated) {
                        if (allocated > max)
                                break;
                        r = grow(&buf, size, &allocated, max);
                        if (r < 0)
                                goto fail;
                }
                if (flags & READ_FROM_START)
                        n = pread(fd, buf + size, allocated - size, (off_t) size);
                else
                        n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }

        if (size > max && !(flags & READ_KEEP_EXCESS)) {
                r = -EFBIG;
                goto fail;
        }
        buf[size] = 0;
        *ret = buf;
        *ret_size = size;
        return 0;

fail:
        erase_and_free(buf, allocated + 1);
        return r;
}

int read_file_at(int dfd, const char *name, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        struct stat st;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_fd_bounded(fd, max, 0, ret, ret_size);
}
