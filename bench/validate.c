/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-validate: how fast is one bundle validation, compared with the
 * openssl CLI and with the raw cost of an RSA-2048 signature verification?
 *
 * In one run, on one freshly generated leaf + intermediate + root PKI (all
 * RSA 2048, pki.h):
 *   1. in-process: cert_bundle_load() on the PEM strings (split, parse the
 *      three certificates and the key, match the key, build and verify the
 *      chain, check dates, name, purpose and policy), in a loop for --seconds;
 *   2. script: validate-openssl.sh, the same checks with openssl commands,
 *      --script-runs times;
 *   3. raw: `openssl speed -seconds N -mr rsa2048`, verifies per second.
 * Prints the three rates and the two ratios. It does not judge: the figures
 * and what they mean are in bench/README.md.
 *
 *   bench-validate SCRIPT [--seconds S] [--script-runs N] [--no-script] [--no-speed]
 */

#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pki.h"
#include "pem.h"
#include "validate.h"

#define SERVER_NAME "bench.example.com"

extern char **environ;

/*
 * CPU time of this process, not wall time: `openssl speed` counts user CPU
 * time by default, and the machine running the benchmark may be busy with
 * other work. The script is measured by its children's CPU time likewise.
 */
static double now_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double wall_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double children_cpu_seconds(void) {
        struct rusage ru;

        getrusage(RUSAGE_CHILDREN, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
               (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* Validations per second of cert_bundle_load() on the chain's PEM strings. */
static double bench_in_process(const PkiChain *c, double seconds, unsigned long *ret_count) {
        ValidateOptions options = {
                .server_name = SERVER_NAME,
                .policy = VALIDATE_POLICY_FIPS,
        };
        size_t cert_size = strlen(c->fullchain_pem), key_size = strlen(c->key_pem), ca_size = strlen(c->root_pem);
        unsigned long n = 0;
        double start, elapsed;

        start = now_seconds();
        do {
                /* Batches of 64 keep the clock out of the measurement. */
                for (unsigned i = 0; i < 64; i++) {
                        CertBundle *b = NULL;
                        CertProblem problem = {};
                        int r;

                        r = cert_bundle_load(c->fullchain_pem, cert_size, c->key_pem, key_size,
                                             c->root_pem, ca_size, &options, &b, &problem);
                        if (r < 0) {
                                fprintf(stderr, "In-process validation failed: %s: %s (%s)\n",
                                        cert_error_name(problem.code) ?: "?", problem.message, strerror(-r));
                                exit(EXIT_FAILURE);
                        }
                        cert_bundle_free(b);
                        n++;
                }
                elapsed = now_seconds() - start;
        } while (elapsed < seconds);

        *ret_count = n;
        return (double) n / elapsed;
}

/*
 * Where the time of one validation goes: the two halves of cert_bundle_load()
 * timed apart, on fresh objects each time (OpenSSL caches per-object state,
 * e.g. the provider-side public key, so re-validating one bundle would
 * flatter the checks). Batches are parsed untimed, then validated timed.
 */
#define BATCH 128

static void bench_phases(const PkiChain *c, double seconds, double *ret_parse_us, double *ret_checks_us) {
        ValidateOptions options = {
                .server_name = SERVER_NAME,
                .policy = VALIDATE_POLICY_FIPS,
        };
        size_t cert_size = strlen(c->fullchain_pem), key_size = strlen(c->key_pem), ca_size = strlen(c->root_pem);
        double parse = 0, checks = 0;
        unsigned long n = 0;

        while (parse + checks < seconds) {
                CertBundle *b[BATCH];
                CertProblem problem = {};
                double t0 = now_seconds();

                for (unsigned i = 0; i < BATCH; i++)
                        if (pem_read_bundle(c->fullchain_pem, cert_size, c->key_pem, key_size,
                                            c->root_pem, ca_size, &options.limits, &b[i], &problem) < 0) {
                                fprintf(stderr, "pem_read_bundle() failed: %s\n", problem.message);
                                exit(EXIT_FAILURE);
                        }
                double t1 = now_seconds();
                for (unsigned i = 0; i < BATCH; i++)
                        if (cert_bundle_validate(b[i], &options, &problem) < 0) {
                                fprintf(stderr, "cert_bundle_validate() failed: %s\n", problem.message);
                                exit(EXIT_FAILURE);
                        }
                double t2 = now_seconds();
                for (unsigned i = 0; i < BATCH; i++)
                        cert_bundle_free(b[i]);

                parse += t1 - t0;
                checks += t2 - t1;
                n += BATCH;
        }
        *ret_parse_us = parse / (double) n * 1e6;
        *ret_checks_us = checks / (double) n * 1e6;
}

/* One RSA-2048 certificate signature check in-process (X509_verify: digest of the TBS part + verify). */
static double bench_x509_verify(const PkiChain *c, double seconds) {
        EVP_PKEY *issuer_key = X509_get0_pubkey(c->intermediate);
        unsigned long n = 0;
        double start = now_seconds(), elapsed;

        do {
                for (unsigned i = 0; i < 64; i++) {
                        if (X509_verify(c->leaf, issuer_key) != 1) {
                                fprintf(stderr, "X509_verify() failed\n");
                                exit(EXIT_FAILURE);
                        }
                        n++;
                }
                elapsed = now_seconds() - start;
        } while (elapsed < seconds);
        return (double) n / elapsed;
}

static int run_wait(char *const argv[]) {
        pid_t pid;
        int status, r;

        r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0) {
                fprintf(stderr, "Failed to run %s: %s\n", argv[0], strerror(r));
                return -r;
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "%s failed (status %d)\n", argv[0], status);
                return -EPROTO;
        }
        return 0;
}

/* Validations per CPU second (and per wall second) of the openssl CLI script, run `runs` times in one go. */
static double bench_script(const char *script, const char *dir, unsigned runs, double *ret_wall_rate) {
        char runs_str[32];
        double start, wall_start;

        snprintf(runs_str, sizeof(runs_str), "%u", runs);
        char *argv[] = { (char *) "sh", (char *) script, (char *) dir, (char *) SERVER_NAME, runs_str, NULL };

        start = children_cpu_seconds();
        wall_start = wall_seconds();
        if (run_wait(argv) < 0)
                exit(EXIT_FAILURE);
        *ret_wall_rate = (double) runs / (wall_seconds() - wall_start);
        return (double) runs / (children_cpu_seconds() - start);
}

/* RSA-2048 verifications per second as `openssl speed -mr` reports them ("+F2:idx:bits:sign/s:verify/s"). */
static double bench_raw_verify(unsigned seconds) {
        char cmd[128], line[512];
        double verify = -1;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "openssl speed -seconds %u -mr rsa2048 2>/dev/null", seconds);
        f = popen(cmd, "r");
        if (!f) {
                fprintf(stderr, "Failed to run openssl speed: %m\n");
                exit(EXIT_FAILURE);
        }
        while (fgets(line, sizeof(line), f)) {
                char *last;

                if (strncmp(line, "+F2:", 4) != 0)
                        continue;
                last = strrchr(line, ':');
                if (last)
                        verify = strtod(last + 1, NULL);
        }
        if (pclose(f) != 0 || verify <= 0) {
                fprintf(stderr, "openssl speed gave no RSA-2048 verify rate\n");
                exit(EXIT_FAILURE);
        }
        return verify;
}

static void help(void) {
        printf("bench-validate SCRIPT [--seconds S] [--script-runs N] [--no-script] [--no-speed]\n"
               "  SCRIPT           bench/validate-openssl.sh\n"
               "  --seconds S      length of the in-process loop and of openssl speed (default 2)\n"
               "  --script-runs N  iterations of the openssl script (default 50)\n"
               "  --no-script      skip the openssl script\n"
               "  --no-speed       skip openssl speed\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h' },
                { "seconds",     required_argument, NULL, 's' },
                { "script-runs", required_argument, NULL, 'n' },
                { "no-script",   no_argument,       NULL, 'S' },
                { "no-speed",    no_argument,       NULL, 'R' },
                {}
        };
        unsigned seconds = 2, runs = 50;
        bool do_script = true, do_speed = true;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 's':
                        seconds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'n':
                        runs = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'S':
                        do_script = false;
                        break;
                case 'R':
                        do_speed = false;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (seconds == 0 || runs == 0 || (do_script && optind != argc - 1)) {
                help();
                return EXIT_FAILURE;
        }
        const char *script = do_script ? argv[optind] : NULL;

        char dir[] = "/tmp/bench-validate-XXXXXX";
        if (!mkdtemp(dir)) {
                fprintf(stderr, "Failed to create a temporary directory: %m\n");
                return EXIT_FAILURE;
        }
        PkiChain *chain = pki_chain_new(SERVER_NAME);
        if (pki_chain_write_dir(chain, dir) < 0) {
                fprintf(stderr, "Failed to write the PKI into %s\n", dir);
                return EXIT_FAILURE;
        }

        unsigned long count;
        double in_process = bench_in_process(chain, seconds, &count);
        double parse_us, checks_us;
        bench_phases(chain, seconds, &parse_us, &checks_us);
        double x509_verify = bench_x509_verify(chain, seconds / 2.0);
        double script_wall = 0;
        double script_rate = do_script ? bench_script(script, dir, runs, &script_wall) : 0;
        double raw = do_speed ? bench_raw_verify(seconds) : 0;

        printf("bundle: leaf + intermediate + root, RSA 2048, SHA-256 signatures, server name '%s'\n", SERVER_NAME);
        printf("%s; rates per CPU second (user + system), as openssl speed counts them\n", OpenSSL_version(OPENSSL_VERSION));
        printf("in-process cert_bundle_load():   %10.0f validations/s  (%lu in %u s)\n", in_process, count, seconds);
        printf("  of which parsing (pem_read_bundle): %7.1f us per bundle (3 certificates + key)\n", parse_us);
        printf("  of which checks (cert_bundle_validate): %4.1f us per bundle\n", checks_us);
        printf("in-process X509_verify (1 signature): %7.0f verifies/s\n", x509_verify);
        if (do_script) {
                printf("openssl CLI script:              %10.1f validations/s  (%u runs; %.1f/s by the wall clock)\n",
                       script_rate, runs, script_wall);
                printf("in-process / script:             %10.0fx\n", in_process / script_rate);
        }
        if (do_speed) {
                printf("openssl speed rsa2048 verify:    %10.0f verifies/s\n", raw);
                printf("one validation costs:            %10.2f raw verifies  (raw verifies/s / validations/s;\n"
                       "                                             it performs 2 verifies, so 2.00 is the floor)\n",
                       raw / in_process);
                printf("the checks alone cost:           %10.2f raw verifies  (the parsing: %.2f)\n",
                       checks_us * raw / 1e6, parse_us * raw / 1e6);
        }

        /* Clean up the PKI files; the directory holds nothing else. */
        static const char *const files[] = {
                "root.pem", "intermediate.pem", "leaf.pem", "chain.pem", "fullchain.pem", "key.pem", "ca.pem", "bundle.pem",
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char p[sizeof(dir) + 32];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
                (void) unlink(p);
        }
        (void) rmdir(dir);
        pki_chain_free(chain);
        return EXIT_SUCCESS;
}
