/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Safe reads beneath the drop directory. openat2(RESOLVE_BENEATH) does the
 * path walk when the kernel has it; otherwise a small resolver walks one
 * component at a time with O_NOFOLLOW and refuses anything that could leave
 * the directory (absolute targets, ".."), which is stricter than the kernel
 * but enough for the kubelet's "..data/" links. Files are first opened with
 * O_PATH and checked with fstat() so that a FIFO or a device is never
 * opened for reading; the real open is compared with that check.
 * This file does not decide what a bundle is, nor move anything.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dropdir-safeopen.h"
#include "io-util.h"
#include "macro.h"

bool safe_open_force_fallback = false;

#define SYMLINK_MAX_FOLLOW 40

static int openat2_beneath(int dir_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) flags,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        fd = (int) syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
        if (fd < 0)
                return negative_errno();
        return fd;
}

/* Splits off the first component of *p; returns it as a malloc'ed string, NULL for none left. */
static int next_component(const char **p, char **ret) {
        const char *s = *p, *e;

        while (*s == '/')
                s++;
        if (!*s) {
                *p = s;
                *ret = NULL;
                return 0;
        }
        e = strchrnul(s, '/');
        *ret = strndup(s, (size_t) (e - s));
        if (!*ret)
                return -ENOMEM;
        *p = e;
        return 1;
}

static int fallback_beneath(int dir_fd, const char *path, int flags) {
        _cleanup_close_ int cur = -EBADF;
        _cleanup_free_ char *todo = NULL;
        unsigned followed = 0;
        int r;

        if (path[0] == '/')
                return -EXDEV;

        cur = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return negative_errno();

        todo = strdup(path);
        if (!todo)
                return -ENOMEM;

        for (;;) {
                _cleanup_free_ char *comp = NULL;
                _cleanup_close_ int fd = -EBADF;
                const char *p = todo;
                struct stat st;

                r = next_component(&p, &comp);
                if (r < 0)
                        return r;
                if (r == 0) {
                        /* The path named a directory ("." or "x/"): reopen it as asked. */
                        fd = openat(cur, ".", flags | O_NOFOLLOW);
                        return fd < 0 ? negative_errno() : TAKE_FD(fd);
                }
                if (streq(comp, "."))
                        goto advance;
                if (streq(comp, ".."))
                        return -EXDEV;

                fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                if (fstat(fd, &st) < 0)
                        return negative_errno();

                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n;

                        if (++followed > SYMLINK_MAX_FOLLOW)
                                return -ELOOP;
                        n = readlinkat(fd, "", target, sizeof(target) - 1);
                        if (n < 0)
                                return negative_errno();
                        target[n] = 0;
                        if (target[0] == '/')
                                return -EXDEV;

                        /* Replace this component by the link's target, relative to cur. */
                        char *rest;
                        if (asprintf(&rest, "%s%s", target, p) < 0)
                                return -ENOMEM;
                        free(todo);
                        todo = rest;
                        continue;
                }

                if (S_ISDIR(st.st_mode)) {
                        safe_close(cur);
                        cur = TAKE_FD(fd);
                        goto advance;
                }

                /* Not a directory: it must be the last component. */
                while (*p == '/')
                        p++;
                if (*p)
                        return -ENOTDIR;
                if (flags & O_PATH)
                        return TAKE_FD(fd);
                fd = safe_close(fd);
                fd = openat(cur, comp, flags | O_NOFOLLOW);
                return fd < 0 ? negative_errno() : TAKE_FD(fd);

        advance:;
                char *rest = strdup(p);
                if (!rest)
                        return -ENOMEM;
                free(todo);
                todo = rest;
        }
}

int safe_open_beneath(int dir_fd, const char *path, int flags) {
        int r;

        if (isempty(path))
                return -EINVAL;

        if (!safe_open_force_fallback) {
                r = openat2_beneath(dir_fd, path, flags);
                if (r != -ENOSYS && r != -EPERM)   /* seccomp filters answer EPERM for unknown syscalls */
                        return r;
        }
        return fallback_beneath(dir_fd, path, flags);
}

void drop_file_done(DropFile *f) {
        if (!f)
                return;
        if (f->data)
                erase_and_free(f->data, f->size);
        *f = (DropFile) {};
}

static int refuse(DropRefusal *refusal, CertErrorCode code, const char *format, ...) _printf_(3, 4);
static int refuse(DropRefusal *refusal, CertErrorCode code, const char *format, ...) {
        va_list ap;

        refusal->code = code;
        va_start(ap, format);
        (void) vsnprintf(refusal->message, sizeof(refusal->message), format, ap);
        va_end(ap);
        return -EPERM;
}

static const char *file_type_name(mode_t m) {
        if (S_ISFIFO(m))
                return "a FIFO";
        if (S_ISCHR(m) || S_ISBLK(m))
                return "a device node";
        if (S_ISSOCK(m))
                return "a socket";
        if (S_ISDIR(m))
                return "a directory";
        return "not a regular file";
}

int drop_file_read(int dir_fd, const char *path, uint64_t max_size, DropFile *ret, DropRefusal *refusal) {
        _cleanup_close_ int pfd = -EBADF, fd = -EBADF;
        struct stat st, st2;
        char *buf = NULL;
        size_t size = 0;
        int r;

        pfd = safe_open_beneath(dir_fd, path, O_PATH | O_CLOEXEC);
        if (pfd == -EXDEV)
                return refuse(refusal, CERT_ERROR_MALFORMED, "'%s' is a symbolic link leading out of the drop directory, not read", path);
        if (pfd == -ELOOP)
                return refuse(refusal, CERT_ERROR_MALFORMED, "'%s' is a symbolic link loop, not read", path);
        if (pfd == -ENOTDIR)
                return -ENOENT;
        if (pfd < 0)
                return pfd;

        if (fstat(pfd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return refuse(refusal, CERT_ERROR_MALFORMED, "'%s' is %s, not read", path, file_type_name(st.st_mode));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return refuse(refusal, CERT_ERROR_MALFORMED, "'%s' is owned by uid %u, neither root nor the daemon, not read",
                              path, (unsigned) st.st_uid);
        if ((uint64_t) st.st_size > max_size)
                return refuse(refusal, CERT_ERROR_TOO_LARGE, "'%s' is %" PRIu64 " bytes, more than the limit of %" PRIu64 " bytes",
                              path, (uint64_t) st.st_size, max_size);

        /* Reopen for reading through the checked O_PATH fd: no second path walk to race with. */
        char proc[64];
        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", pfd);
        fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)   /* no /proc: walk again, the inode comparison below catches a swap */
                fd = safe_open_beneath(dir_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        else if (fd < 0)
                fd = negative_errno();
        if (fd == -EACCES)
                /* Typically a root-owned 0600 file: say so instead of leaving it there unexplained. */
                return refuse(refusal, CERT_ERROR_MALFORMED,
                              "'%s' is not readable by the daemon (uid %u): make it readable by user or group of the daemon, e.g. mode 0640 group vertex-tls",
                              path, (unsigned) geteuid());
        if (fd < 0)
                return fd;
        if (fstat(fd, &st2) < 0)
                return negative_errno();
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return -ENOENT;

        /* At most max_size + 1 bytes: a file that grew past the limit meanwhile is still refused. */
        r = read_fd_bounded(fd, (size_t) max_size, 0, &buf, &size);
        if (r == -EFBIG)
                return refuse(refusal, CERT_ERROR_TOO_LARGE, "'%s' is more than the limit of %" PRIu64 " bytes", path, max_size);
        if (r < 0)
                return r;

        *ret = (DropFile) { .data = buf, .size = size, .st = st };
        return 0;
}
