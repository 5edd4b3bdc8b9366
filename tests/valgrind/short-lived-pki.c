/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * short-lived-pki: writes a root -> intermediate -> leaf PKI (the files of
 * vertex-testpki) whose leaf stops being valid a given number of seconds
 * from now, for the memcheck scenario's expiry step. It does nothing else;
 * vertex-testpki only knows whole-day offsets.
 *
 *   short-lived-pki DIR SERVER_NAME SECONDS
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pki.h"

int main(int argc, char *argv[]) {
        if (argc != 4) {
                fprintf(stderr, "Usage: short-lived-pki DIR SERVER_NAME SECONDS\n");
                return EXIT_FAILURE;
        }

        char *end;
        long seconds = strtol(argv[3], &end, 10);
        if (*end || seconds <= 0) {
                fprintf(stderr, "Bad number of seconds '%s'.\n", argv[3]);
                return EXIT_FAILURE;
        }
        if (mkdir(argv[1], 0700) < 0 && errno != EEXIST) {
                fprintf(stderr, "Failed to create '%s': %s\n", argv[1], strerror(errno));
                return EXIT_FAILURE;
        }

        PkiChainOptions o = {
                .server_name = argv[2],
                .leaf = { .not_before_offset = -3600, .not_after_offset = seconds },
        };
        PkiChain *chain = pki_chain_new_full(&o);
        int r = pki_chain_write_dir(chain, argv[1]);
        pki_chain_free(chain);
        if (r < 0) {
                fprintf(stderr, "Failed to write into '%s': %s\n", argv[1], strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
