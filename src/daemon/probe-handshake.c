/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A probe's handshake in a forked worker (worker.h; see probe-handshake.h
 * for why), which keeps the socket it was given besides its pipe.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "macro.h"
#include "probe-handshake.h"
#include "worker.h"

/* What the child writes: one write, below PIPE_BUF, so it arrives whole or not at all. */
typedef struct HandshakeResult {
        int32_t r;
        char fingerprint[CERT_FINGERPRINT_MAX];   /* the leaf shown, also when the handshake failed later */
        char reason[PROBE_REASON_MAX];            /* r == -EPROTO: why the handshake failed */
} HandshakeResult;

_Static_assert(sizeof(HandshakeResult) <= PIPE_BUF, "a probe's answer must be one atomic write");

/* What the client saw of the server, for the callbacks. */
typedef struct Seen {
        size_t certificate_list;      /* bytes of the server's Certificate message */
        char fingerprint[CERT_FINGERPRINT_MAX];
        char alert[64];               /* a fatal alert the server sent */
        char refused[PROBE_REASON_MAX];
} Seen;

/* Large enough to see any leaf we could have installed, so that a failure can be laid at its door. */
#define PROBE_MAX_CERT_LIST ((long) 16 * 1024 * 1024)

static void on_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
        const unsigned char *p = buf;
        Seen *seen = arg;

        if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 4 && p[0] == SSL3_MT_CERTIFICATE)
                seen->certificate_list = len - 4;
}

static void on_info(const SSL *ssl, int where, int ret) {
        Seen *seen = SSL_get_app_data(ssl);

        if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ) && (ret >> 8) == SSL3_AL_FATAL)
                (void) snprintf(seen->alert, sizeof(seen->alert), "%s", SSL_alert_desc_string_long(ret));
}

/*
 * Instead of verifying the chain: note the leaf (the caller compares fingerprints, which is stronger
 * for its purpose), and refuse what a client with OpenSSL's default limits refuses, a certificate
 * list over 100 KiB, saying so.
 */
static int on_verify(X509_STORE_CTX *ctx, void *arg) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
        Seen *seen = SSL_get_app_data(ssl);
        X509 *leaf = X509_STORE_CTX_get0_cert(ctx);

        if (leaf && cert_fingerprint(leaf, seen->fingerprint) < 0)
                seen->fingerprint[0] = 0;
        if (seen->certificate_list > SSL_MAX_CERT_LIST_DEFAULT) {
                (void) snprintf(seen->refused, sizeof(seen->refused),
                                "the chain served is %zu KiB; TLS clients refuse certificate lists over %d KiB",
                                (seen->certificate_list + 1023) / 1024, SSL_MAX_CERT_LIST_DEFAULT / 1024);
                X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
                return 0;
        }
        return 1;
}

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
static int handshake(int fd, const char *server_name, uint64_t timeout_usec, HandshakeResult *result) {
        SSL_CTX *ctx = NULL;
        SSL *ssl = NULL;
        Seen seen = {};
        int r;

        r = set_blocking_with_timeout(fd, timeout_usec);
        if (r < 0)
                return r;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        /* Any leaf is taken (on_verify), but a failure after it shows is laid at its door. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, on_verify, NULL);
        SSL_CTX_set_max_cert_list(ctx, PROBE_MAX_CERT_LIST);
        SSL_CTX_set_info_callback(ctx, on_info);
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1)
                r = -ENOMEM;
        else if (server_name && SSL_set_tlsext_host_name(ssl, server_name) != 1)
                r = -EINVAL;
        else {
                int ret;

                SSL_set_app_data(ssl, &seen);
                SSL_set_msg_callback(ssl, on_message);
                SSL_set_msg_callback_arg(ssl, &seen);
                ERR_clear_error();
                ret = SSL_connect(ssl);
                if (ret == 1) {
                        r = seen.fingerprint[0] ? 0 : -EPROTO;
                        if (r < 0)
                                (void) snprintf(result->reason, sizeof(result->reason), "no certificate was served");
                        (void) SSL_shutdown(ssl);
                } else
                        switch (SSL_get_error(ssl, ret)) {
                        case SSL_ERROR_WANT_READ:
                        case SSL_ERROR_WANT_WRITE:
                                r = -ETIMEDOUT;    /* SO_RCVTIMEO/SO_SNDTIMEO ran out */
                                break;
                        case SSL_ERROR_SYSCALL:
                                /*
                                 * A reset or EOF during the handshake: the listener is there, nothing answers
                                 * TLS (a service restarting, say). Unreachable, not a handshake that failed.
                                 */
                                r = errno == EAGAIN ? -ETIMEDOUT : errno > 0 ? -errno : -ECONNRESET;
                                break;
                        default: {
                                /* The TLS exchange itself failed: an alert, or what the server sent. */
                                unsigned long e = ERR_peek_last_error();
                                const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

                                if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                                    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                                        /* Closed on us before any TLS: as a reset, unreachable. */
                                        r = -ECONNRESET;
                                        break;
                                }
                                r = -EPROTO;
                                if (seen.refused[0])
                                        (void) snprintf(result->reason, sizeof(result->reason), "%s", seen.refused);
                                else if (seen.alert[0])
                                        (void) snprintf(result->reason, sizeof(result->reason),
                                                        "the endpoint sent the TLS alert '%s'", seen.alert);
                                else
                                        (void) snprintf(result->reason, sizeof(result->reason), "%s",
                                                        why ?: "the TLS handshake did not complete");
                        }
                        }
        }
        memcpy(result->fingerprint, seen.fingerprint, sizeof(result->fingerprint));

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

                result.r = handshake(fd, server_name, timeout_usec, &result);
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

int probe_handshake_read(int result_fd, char fingerprint[static CERT_FINGERPRINT_MAX],
                         char reason[static PROBE_REASON_MAX]) {
        HandshakeResult result;
        ssize_t n;

        n = read(result_fd, &result, sizeof(result));
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        /* EOF or a torn result: the child died before it could say (killed, out of memory). */
        if ((size_t) n != sizeof(result) || result.r > 0 || result.r < -4095)
                return -EIO;
        result.fingerprint[CERT_FINGERPRINT_MAX - 1] = 0;
        result.reason[PROBE_REASON_MAX - 1] = 0;
        memcpy(fingerprint, result.fingerprint, CERT_FINGERPRINT_MAX);
        memcpy(reason, result.reason, PROBE_REASON_MAX);
        if (result.r == -EPROTO && !reason[0])
                (void) snprintf(reason, PROBE_REASON_MAX, "the TLS handshake did not complete");
        return result.r;
}
