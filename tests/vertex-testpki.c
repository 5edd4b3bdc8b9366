/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-testpki: writes a freshly generated root -> intermediate -> leaf
 * PKI into a directory, for shell-driven tests and benchmarks. A thin CLI
 * over pki.h; it never touches anything but the files it names.
 *
 *   vertex-testpki DIR --server-name NAME [--key-type rsa2048|rsa3072|ec256|ec384]
 *                  [--ca-key-type TYPE] [--expired] [--not-yet-valid] [--ip ADDR]... [--dns NAME]...
 *                  [--extra-names N]
 *
 * Files: root.pem, intermediate.pem, leaf.pem, chain.pem, fullchain.pem,
 * key.pem, ca.pem, bundle.pem.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pki.h"

static void help(void) {
        printf("Usage: vertex-testpki DIR --server-name NAME [OPTIONS]\n"
               "  --server-name NAME   DNS name or IP literal of the leaf (CN and SAN)\n"
               "  --key-type TYPE      leaf key: rsa2048 (default), rsa3072, rsa1024, ec256, ec384\n"
               "  --ca-key-type TYPE   root and intermediate keys (default rsa2048)\n"
               "  --expired            the leaf expired yesterday\n"
               "  --not-yet-valid      the leaf becomes valid tomorrow\n"
               "  --ip ADDR            add an IP SAN (repeatable)\n"
               "  --dns NAME           add a DNS SAN (repeatable)\n"
               "  --extra-names N      add N more DNS SANs (name-1.NAME …): a leaf too large to serve\n"
               "Writes root.pem intermediate.pem leaf.pem chain.pem fullchain.pem key.pem ca.pem bundle.pem\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",          no_argument,       NULL, 'h' },
                { "server-name",   required_argument, NULL, 's' },
                { "key-type",      required_argument, NULL, 'k' },
                { "ca-key-type",   required_argument, NULL, 'K' },
                { "expired",       no_argument,       NULL, 'e' },
                { "not-yet-valid", no_argument,       NULL, 'n' },
                { "ip",            required_argument, NULL, 'i' },
                { "dns",           required_argument, NULL, 'd' },
                { "extra-names",   required_argument, NULL, 'x' },
                {}
        };
        PkiChainOptions o = {};
        const char **alt = calloc((size_t) argc + 1, sizeof(char *));
        size_t n_alt = 0;
        int c, t;

        if (!alt)
                return EXIT_FAILURE;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 's':
                        o.server_name = optarg;
                        break;
                case 'k':
                case 'K':
                        t = pki_key_type_from_string(optarg);
                        if (t < 0) {
                                fprintf(stderr, "Unknown key type '%s'.\n", optarg);
                                return EXIT_FAILURE;
                        }
                        if (c == 'k')
                                o.leaf_key_type = (PkiKeyType) t;
                        else
                                o.ca_key_type = (PkiKeyType) t;
                        break;
                case 'e':
                        o.leaf.not_before_offset = -30 * PKI_DAY;
                        o.leaf.not_after_offset = -PKI_DAY;
                        break;
                case 'n':
                        o.leaf.not_before_offset = PKI_DAY;
                        o.leaf.not_after_offset = 30 * PKI_DAY;
                        break;
                case 'i':
                        if (!pki_is_ip(optarg)) {
                                fprintf(stderr, "'%s' is not an IP address.\n", optarg);
                                return EXIT_FAILURE;
                        }
                        alt[n_alt++] = optarg;
                        break;
                case 'd':
                        alt[n_alt++] = optarg;
                        break;
                case 'x':
                        o.extra_names = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return EXIT_FAILURE;
                }

        if (optind != argc - 1 || !o.server_name) {
                help();
                return EXIT_FAILURE;
        }
        o.alt_names = alt;

        const char *dir = argv[optind];
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                fprintf(stderr, "Failed to create '%s': %m\n", dir);
                return EXIT_FAILURE;
        }

        PkiChain *chain = pki_chain_new_full(&o);
        int r = pki_chain_write_dir(chain, dir);
        pki_chain_free(chain);
        free(alt);
        if (r < 0) {
                errno = -r;
                fprintf(stderr, "Failed to write into '%s': %m\n", dir);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
