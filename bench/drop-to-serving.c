/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-drop-probe: the stopwatch of bench/drop-to-serving.sh, run inside
 * the system container. It does the renames that drop a bundle (the last
 * one is "the final rename"), starts the clock right after that last
 * rename() returns, then handshakes with every port that does not serve it
 * yet, one round every --interval-ms (default 2; 0 is a tight loop), until
 * each serves the expected leaf fingerprint, and prints how long the last
 * port took:
 *
 *   bench-drop-probe --expect FP [--ports 8443,8444,8445] [--server-name NAME]
 *                    [--timeout-ms 30000] [--interval-ms 2] --rename SRC DST...
 *
 * Why an interval: the container has two cores, and a tight loop of full
 * handshakes (client and endpoint side) takes most of one away from what is
 * being measured, systemd, polkitd and the daemons, on both sides of the
 * comparison. A round every 2 ms costs a few percent and adds at most one
 * interval to a figure.
 *
 * Output: "ms=T port8443=T1 port8444=T2 port8445=T3 handshakes=N" (ms since the
 * final rename). Exit 0 when every port served FP in time, 1 when not (it
 * then prints what each port served last), 2 for bad arguments.
 *
 * Deliberately not a certificate validator: a full handshake (no session
 * resumption) and a comparison of the leaf's SHA-256 is what "serves" means.
 */

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define PORTS_MAX 8
#define RENAMES_MAX 8
#define FP_MAX 128

static uint64_t mono_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void lower(char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'F')
                        *s = (char) (*s - 'A' + 'a');
}

/* One full handshake with 127.0.0.1:port; the leaf's fingerprint into fp ("" when none). */
static void probe(SSL_CTX *ctx, int port, const char *server_name, char *fp, size_t fp_size) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct timeval tv = { .tv_sec = 2 };
        int fd, one = 1;
        SSL *ssl = NULL;
        X509 *x = NULL;

        fp[0] = 0;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                goto out;
        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, server_name) != 1)
                goto out;
        if (SSL_connect(ssl) != 1)
                goto out;
        x = SSL_get1_peer_certificate(ssl);
        if (x) {
                unsigned char md[EVP_MAX_MD_SIZE];
                unsigned int n = 0;
                size_t off = 0;
                if (X509_digest(x, EVP_sha256(), md, &n) == 1)
                        for (unsigned i = 0; i < n && off + 4 < fp_size; i++)
                                off += (size_t) snprintf(fp + off, fp_size - off, "%s%02x", i ? ":" : "", md[i]);
        }
        /* No close_notify: nothing was exchanged, a FIN is enough. */
out:
        ERR_clear_error();
        X509_free(x);
        SSL_free(ssl);
        close(fd);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "expect",      required_argument, NULL, 'e' },
                { "ports",       required_argument, NULL, 'p' },
                { "server-name", required_argument, NULL, 's' },
                { "timeout-ms",  required_argument, NULL, 't' },
                { "interval-ms", required_argument, NULL, 'i' },
                { "rename",      required_argument, NULL, 'r' },
                {}
        };
        const char *server_name = "appliance.vertex.test";
        const char *renames[RENAMES_MAX][2];
        int n_renames = 0, ports[PORTS_MAX] = { 8443, 8444, 8445 }, n_ports = 3, opt;
        uint64_t timeout_us = 30 * 1000000ULL, interval_us = 2000, t0, done_at[PORTS_MAX] = {}, handshakes = 0;
        char expect[FP_MAX] = "", last[PORTS_MAX][FP_MAX] = {};
        size_t n_done = 0;

        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'e':
                        snprintf(expect, sizeof(expect), "%s", optarg);
                        lower(expect);
                        break;
                case 'p': {
                        char *copy = strdup(optarg), *save = NULL;
                        n_ports = 0;
                        for (char *p = strtok_r(copy, ",", &save); p && n_ports < PORTS_MAX;
                             p = strtok_r(NULL, ",", &save))
                                ports[n_ports++] = atoi(p);
                        free(copy);
                        break;
                }
                case 's':
                        server_name = optarg;
                        break;
                case 't':
                        timeout_us = strtoull(optarg, NULL, 10) * 1000ULL;
                        break;
                case 'i':
                        interval_us = strtoull(optarg, NULL, 10) * 1000ULL;
                        break;
                case 'r':
                        /* --rename SRC DST: DST is the next argument. */
                        if (n_renames >= RENAMES_MAX || optind >= argc)
                                return 2;
                        renames[n_renames][0] = optarg;
                        renames[n_renames][1] = argv[optind++];
                        n_renames++;
                        break;
                default:
                        return 2;
                }
        if (!expect[0] || n_ports == 0) {
                fprintf(stderr, "usage: bench-drop-probe --expect FP [--ports LIST] --rename SRC DST...\n");
                return 2;
        }

        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return 2;
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

        for (int i = 0; i < n_renames; i++)
                if (rename(renames[i][0], renames[i][1]) < 0) {
                        fprintf(stderr, "rename '%s' -> '%s': %m\n", renames[i][0], renames[i][1]);
                        return 2;
                }
        t0 = mono_us();

        for (uint64_t round_at = t0; n_done < (size_t) n_ports; round_at += interval_us) {
                uint64_t now = mono_us();

                if (round_at > now) {
                        struct timespec ts = { .tv_sec = (time_t) (round_at / 1000000ULL),
                                               .tv_nsec = (long) (round_at % 1000000ULL) * 1000L };
                        (void) clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                } else
                        round_at = now;   /* a late round does not make the next ones come faster */
                if (mono_us() - t0 > timeout_us) {
                        fprintf(stderr, "bench-drop-probe: not every port serves %s after %llu ms:\n", expect,
                                (unsigned long long) (timeout_us / 1000));
                        for (int i = 0; i < n_ports; i++)
                                fprintf(stderr, "  port %d: %s\n", ports[i], done_at[i] ? "ok" : last[i][0] ? last[i] : "(nothing)");
                        return 1;
                }
                for (int i = 0; i < n_ports; i++) {
                        if (done_at[i])
                                continue;
                        probe(ctx, ports[i], server_name, last[i], sizeof(last[i]));
                        handshakes++;
                        if (strcmp(last[i], expect) == 0) {
                                done_at[i] = mono_us() - t0;
                                if (done_at[i] == 0)
                                        done_at[i] = 1;
                                n_done++;
                        }
                }
        }

        uint64_t worst = 0;
        for (int i = 0; i < n_ports; i++)
                if (done_at[i] > worst)
                        worst = done_at[i];
        printf("ms=%.3f", (double) worst / 1000.0);
        for (int i = 0; i < n_ports; i++)
                printf(" port%d=%.3f", ports[i], (double) done_at[i] / 1000.0);
        printf(" handshakes=%llu\n", (unsigned long long) handshakes);
        SSL_CTX_free(ctx);
        return 0;
}
