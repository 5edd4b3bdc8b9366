/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vertex-certctl install --pkcs12 FILE`: InstallPkcs12 with the file as a
 * descriptor and its password from --password-file, from
 * $VERTEX_CERTCTL_PKCS12_PASSWORD, or asked on the terminal without echo.
 * Never from the command line: every user on the machine can read that in ps.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "certctl-bus.h"
#include "certctl-noreply.h"
#include "certctl.h"
#include "certinfo.h"
#include "io-util.h"
#include "pkcs12.h"

#define PASSWORD_ENV "VERTEX_CERTCTL_PKCS12_PASSWORD"
#define PASSWORD_MAX 4096
#define PKCS12_MAX ((size_t) 64 * 1024 * 1024)

/*
 * The daemon takes regular files only (a pipe could block it). "-" or a pipe
 * (the web console hands the uploaded file over on stdin) is copied into a
 * memfd, which is one. Returns the descriptor to pass, or -1 (said why).
 */
static int open_pkcs12(const char *path) {
        _cleanup_close_ int fd = streq(path, "-") ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                                                  : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char *data = NULL;
        size_t size = 0;
        struct stat st;
        int mfd, r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "Failed to open '%s': %m\n", path);
                return -1;
        }
        if (S_ISREG(st.st_mode))
                return TAKE_FD(fd);
        r = read_fd_bounded(fd, PKCS12_MAX, 0, &data, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read '%s': %s\n", path, errno_name(r));
                return -1;
        }
        mfd = memfd_create("pkcs12", MFD_CLOEXEC);
        r = mfd < 0 ? -errno : write_all(mfd, data, size);
        free(data);
        if (r < 0) {
                fprintf(stderr, "Failed to hold '%s' in memory: %s\n", path, errno_name(r));
                safe_close(mfd);
                return -1;
        }
        return mfd;
}

static int read_password_file(const char *path, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char *data = NULL;
        size_t size = 0;
        int r;

        if (fd < 0) {
                fprintf(stderr, "Failed to open '%s': %m\n", path);
                return CERTCTL_EXIT_USAGE;
        }
        r = read_fd_bounded(fd, PASSWORD_MAX, 0, &data, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read the password from '%s': %s\n", path,
                        r == -EFBIG ? "longer than 4096 bytes" : errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        /* One line, as `echo secret > file` writes it: the line end is not part of the password. */
        size = strcspn(data, "\r\n");
        data[size] = 0;
        *ret = data;
        return CERTCTL_EXIT_OK;
}

static int ask_password(char **ret) {
        _cleanup_close_ int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        struct termios old, quiet;
        char buf[PASSWORD_MAX + 1];
        ssize_t n;
        size_t len = 0;

        if (tty < 0) {
                fprintf(stderr, "The PKCS#12 file needs its password: give it with --password-file FILE or "
                        "$" PASSWORD_ENV ", or run on a terminal to be asked.\n");
                return CERTCTL_EXIT_USAGE;
        }
        (void) write_all(tty, "Password of the PKCS#12 file: ", 30);
        bool echo_off = tcgetattr(tty, &old) == 0;
        if (echo_off) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                (void) tcsetattr(tty, TCSAFLUSH, &quiet);
        }
        while (len < PASSWORD_MAX && (n = read(tty, buf + len, 1)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || buf[len] == '\n')
                        break;
                len++;
        }
        if (echo_off)
                (void) tcsetattr(tty, TCSAFLUSH, &old);
        (void) write_all(tty, "\n", 1);
        buf[len] = 0;
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        if (!*ret) {
                fprintf(stderr, "Out of memory.\n");
                return CERTCTL_EXIT_USAGE;
        }
        return CERTCTL_EXIT_OK;
}

static int get_password(const CertctlArgs *a, char **ret) {
        const char *env = getenv(PASSWORD_ENV);

        if (a->password_file)
                return read_password_file(a->password_file, ret);
        if (env) {
                *ret = strdup(env);
                if (!*ret)
                        return CERTCTL_EXIT_USAGE;
                return CERTCTL_EXIT_OK;
        }
        return ask_password(ret);
}

/* The fingerprint of the file's certificate, read as the daemon reads it; for after a NoReply. */
static int pkcs12_fingerprint(int fd, const char *password, char ret[static CERT_FINGERPRINT_MAX]) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        CertProblem problem = {};
        size_t size = 0;
        int r;

        r = read_fd_bounded(fd, PKCS12_MAX, READ_FROM_START, &data, &size);
        if (r >= 0)
                r = pkcs12_read_bundle(data, size, password, &b, &problem);
        if (r < 0)
                return r;
        return cert_fingerprint(b->leaf, ret);
}

/* InstallPkcs12 with the file and the password. Returns an exit code; the reply in *ret_reply. */
static int call_install_pkcs12(const CertctlArgs *a, int fd, const char *password, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, "InstallPkcs12");
        if (r >= 0)
                r = sd_bus_message_append(m, "hs", fd, password);
        /* Sensitive: the message is erased when freed. */
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r < 0) {
                fprintf(stderr, "Failed to build the InstallPkcs12 call: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }

        r = call_message_error(a, bus, m, MUTATING_CALL_TIMEOUT_USEC, ret_reply, &error);
        if (r == CERTCTL_EXIT_REFUSED && bus_error_is_no_answer(&error)) {
                char uploaded[CERT_FINGERPRINT_MAX];
                int k = pkcs12_fingerprint(fd, password, uploaded);
                return install_after_no_answer(a, &error, k, uploaded);
        }
        if (r == CERTCTL_EXIT_REFUSED)
                return report_bus_error(a, &error, -EIO);
        return r;
}

int verb_install_pkcs12(const CertctlArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *password = NULL;
        int r;

        if (a->cert || a->key || a->ca) {
                fprintf(stderr, "--pkcs12 holds certificate, key and chain: it takes no --cert, --key or --ca.\n");
                return CERTCTL_EXIT_USAGE;
        }
        fd = open_pkcs12(a->pkcs12);
        if (fd < 0)
                return CERTCTL_EXIT_USAGE;
        r = get_password(a, &password);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = call_install_pkcs12(a, fd, password, &reply);
        explicit_bzero(password, strlen(password));
        free(password);
        /* A reply only when the call was answered (not after a NoReply). */
        if (r != CERTCTL_EXIT_OK || !reply)
                return r;
        return print_generation_reply(a, reply, "Installed");
}
