/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A passed file, read with the caller's limits (passed-file.h). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "io-util.h"
#include "passed-file.h"

static const char *fd_type_name(mode_t m) {
        if (S_ISDIR(m))
                return "a directory";
        if (S_ISFIFO(m))
                return "a pipe";
        if (S_ISSOCK(m))
                return "a socket";
        if (S_ISCHR(m) || S_ISBLK(m))
                return "a device";
        return "a special file";
}

static int too_large(CertProblem *problem, const char *what, uint64_t max) {
        return cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                "The %s is larger than the limit of %" PRIu64 " bytes (MaxInputSize=).", what, max);
}

int passed_file_read(int fd, const char *what, bool optional, uint64_t max, char **ret, size_t *ret_size,
                     CertProblem *problem) {
        struct stat st;
        int flags, r;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "The %s's file descriptor cannot be used: %s.", what, errno_name(-errno));
        if ((flags & O_PATH) || (flags & O_ACCMODE) == O_WRONLY)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "The %s's file descriptor is not open for reading%s.", what,
                                        (flags & O_PATH) ? " (O_PATH)" : " (write-only)");
        if (fstat(fd, &st) < 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "The %s's file descriptor cannot be examined: %s.", what, errno_name(-errno));

        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
                /* /dev/null: this part is absent. */
                *ret = strdup("");
                if (!*ret)
                        return -ENOMEM;
                *ret_size = 0;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return cert_problem_set(problem, CERT_ERROR_MALFORMED,
                                        "The %s must be passed as a regular file%s, not %s.",
                                        what, optional ? " (or /dev/null for none)" : "", fd_type_name(st.st_mode));
        if ((uint64_t) st.st_size > max)
                return too_large(problem, what, max);

        /* From offset 0, whatever the caller's position; a file that grew past the limit is still refused. */
        r = read_fd_bounded(fd, (size_t) max, READ_FROM_START, ret, ret_size);
        if (r == -EFBIG)
                return too_large(problem, what, max);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return cert_problem_set(problem, CERT_ERROR_MALFORMED, "The %s could not be read: %s.", what,
                                        errno_name(r));
        return 0;
}
