/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A probe's handshake in a forked worker (worker.h; see probe-handshake.h
 * for why), which keeps the socket it was given besides its pipe.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "macro.h"
#include "probe-handshake.h"
#include "worker.h"

/* What the child writes: one write, well below PIPE_BUF, so it arrives whole or not at all. */
typedef struct HandshakeResult {
        int32_t r;
        char fingerprint[CERT_FINGERPRINT_MAX];
} HandshakeResult;

static int set_blocking_with_timeout(int fd, uint64_t timeout_usec) {
        struct timeval tv = {
                .tv_sec = (time_t) (timeout_usec / USEC_PER_SEC),
                .tv_usec = (suseconds_t) (timeout_usec % USEC_PER_SEC),
        };
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        return 0;
}

/* The child's work: the handshake and the leaf's fingerprint, r as probe_done_t has it. */
static int handshake(int fd, const char *server_name, uint64_t timeout_usec,
                     char fingerprint[static CERT_FINGERPRINT_MAX]) {
        SSL_CTX *ctx = NULL;
        SSL *ssl = NULL;
        int r;

        r = set_blocking_with_timeout(fd, timeout_usec);
        if (r < 0)
                return r;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        /* We want the leaf whatever it is: compare fingerprints, do not verify. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1)
                r = -ENOMEM;
        else if (server_name && SSL_set_tlsext_host_name(ssl, server_name) != 1)
                r = -EINVAL;
        else {
                int ret = SSL_connect(ssl);

                if (ret == 1) {
                        X509 *leaf = SSL_get0_peer_certificate(ssl);

                        r = !leaf ? -EPROTO : cert_fingerprint(leaf, fingerprint) < 0 ? -EIO : 0;
                        (void) SSL_shutdown(ssl);
                } else
                        switch (SSL_get_error(ssl, ret)) {
                        case SSL_ERROR_WANT_READ:
                        case SSL_ERROR_WANT_WRITE:
                                r = -ETIMEDOUT;    /* SO_RCVTIMEO/SO_SNDTIMEO ran out */
                                break;
                        case SSL_ERROR_SYSCALL:
                                /* A reset or EOF during the handshake: the listener is there, TLS is not working. */
                                r = errno == EAGAIN ? -ETIMEDOUT :
                                    errno == ECONNRESET || errno == EPIPE ? -ECONNRESET : -EPROTO;
                                break;
                        default:
                                r = -EPROTO;
                        }
        }

        /* Freed although _exit() follows: valgrind and ASan follow the child too. */
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return r;
}

int probe_handshake_fork(int fd, const char *server_name, uint64_t timeout_usec,
                         pid_t *ret_pid, int *ret_result_fd) {
        int pipe_fd;
        pid_t pid;

        pid = worker_fork(fd, &pipe_fd);
        if (pid < 0)
                return pid;

        if (pid == 0) {
                HandshakeResult result = {};

                result.r = handshake(fd, server_name, timeout_usec, result.fingerprint);
                (void) !write(pipe_fd, &result, sizeof(result));
                _exit(EXIT_SUCCESS);
        }

        if (fcntl(pipe_fd, F_SETFL, O_NONBLOCK) < 0) {
                int r = negative_errno();

                safe_close(pipe_fd);
                worker_reap(pid, true);
                return r;
        }
        *ret_pid = pid;
        *ret_result_fd = pipe_fd;
        return 0;
}

int probe_handshake_read(int result_fd, char fingerprint[static CERT_FINGERPRINT_MAX]) {
        HandshakeResult result;
        ssize_t n;

        n = read(result_fd, &result, sizeof(result));
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        /* EOF or a torn result: the child died before it could say (killed, out of memory). */
        if ((size_t) n != sizeof(result) || result.r > 0)
                return -EPROTO;
        if (result.r == 0) {
                result.fingerprint[CERT_FINGERPRINT_MAX - 1] = 0;
                memcpy(fingerprint, result.fingerprint, CERT_FINGERPRINT_MAX);
        }
        return result.r;
}
