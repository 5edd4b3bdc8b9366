/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vertex-certctl install --cert FILE [--key FILE] [--ca FILE]`: InstallFiles
 * with the files as descriptors, so the daemon reads them with its own bound
 * and the key never appears on a command line or in a bus message's text.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <systemd/sd-bus.h>

#include "certctl-bus.h"
#include "certctl-noreply.h"
#include "certctl.h"
#include "certinfo.h"
#include "io-util.h"
#include "pem.h"

static int open_input(const char *path, int *ret) {
        struct stat st;
        int fd;

        fd = open(path ?: "/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "Failed to open '%s': %m\n", path);
                return CERTCTL_EXIT_USAGE;
        }
        if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
                fprintf(stderr, "Failed to use '%s': %s\n", path, S_ISDIR(st.st_mode) ? "is a directory" : errno_name(-errno));
                safe_close(fd);
                return CERTCTL_EXIT_USAGE;
        }
        *ret = fd;
        return CERTCTL_EXIT_OK;
}

/* The fingerprint of the leaf of what we uploaded, found as the daemon finds it (pem.c). */
static int upload_fingerprint(int cert_fd, int key_fd, int ca_fd, char ret[static CERT_FINGERPRINT_MAX]) {
        _cleanup_free_ char *cert = NULL, *ca = NULL;
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        char *key = NULL;
        size_t cert_size = 0, key_size = 0, ca_size = 0;
        PemLimits limits = { .max_size = 64 * 1024 * 1024 };
        CertProblem problem = {};
        int r;

        r = read_fd_bounded(cert_fd, limits.max_size, READ_FROM_START, &cert, &cert_size);
        if (r >= 0)
                r = read_fd_bounded(ca_fd, limits.max_size, READ_FROM_START, &ca, &ca_size);
        if (r >= 0)
                r = read_fd_bounded(key_fd, limits.max_size, READ_FROM_START, &key, &key_size);
        if (r >= 0)
                r = pem_read_bundle(cert, cert_size, key ?: "", key_size, ca ?: "", ca_size, &limits, &b, &problem);
        if (key)
                erase_and_free(key, key_size);
        if (r < 0)
                return r;
        if (!b->leaf)
                return -EBADMSG;
        return cert_fingerprint(b->leaf, ret);
}

int verb_install(const CertctlArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int cert_fd = -EBADF, key_fd = -EBADF, ca_fd = -EBADF;
        int r;

        if (!a->cert) {
                fprintf(stderr, "install needs --cert FILE or --pkcs12 FILE (see --help).\n");
                return CERTCTL_EXIT_USAGE;
        }

        /* File descriptors rather than strings: the daemon reads them with its own bound. */
        r = open_input(a->cert, &cert_fd);
        if (r == CERTCTL_EXIT_OK)
                r = open_input(a->key, &key_fd);
        if (r == CERTCTL_EXIT_OK)
                r = open_input(a->ca, &ca_fd);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = bus_connect(a, &bus);
        if (r != CERTCTL_EXIT_OK)
                return r;

        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        r = call_method_error(a, bus, "InstallFiles", MUTATING_CALL_TIMEOUT_USEC, &reply, &error,
                              "hhh", cert_fd, key_fd, ca_fd);
        if (r != CERTCTL_EXIT_OK && bus_error_is_no_answer(&error)) {
                char uploaded[CERT_FINGERPRINT_MAX];
                int k = upload_fingerprint(cert_fd, key_fd, ca_fd, uploaded);
                return install_after_no_answer(a, &error, k, uploaded);
        }
        if (r != CERTCTL_EXIT_OK)
                return report_bus_error(a, &error, -EIO);
        return print_generation_reply(a, reply, "Installed");
}
