/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The combined file of a store generation (store-forms.h): made from the
 * same texts as fullchain.pem and key.pem, checked against them when a
 * generation is read back, and added to generations that predate it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "io-util.h"
#include "macro.h"
#include "store-forms.h"
#include "store-generation.h"

#define COMBINED_TMP ".tmp-" STORE_FORM_COMBINED

int store_fix_owner_mode(int fd, gid_t gid, mode_t mode) {
        /* Group first, so that the file is never readable by the wrong group. */
        if (gid != (gid_t) -1 && fchown(fd, (uid_t) -1, gid) < 0)
                return negative_errno();
        if (fchmod(fd, mode) < 0)
                return negative_errno();
        return 0;
}

int store_form_combined(const char *fullchain, size_t fullchain_size, const char *key, size_t key_size,
                        char **ret, size_t *ret_size) {
        char *text = malloc(fullchain_size + key_size + 1);

        if (!text)
                return -ENOMEM;
        if (fullchain_size > 0)
                memcpy(text, fullchain, fullchain_size);
        if (key_size > 0)
                memcpy(text + fullchain_size, key, key_size);
        text[fullchain_size + key_size] = 0;
        *ret = text;
        *ret_size = fullchain_size + key_size;
        return 0;
}

/* fullchain.pem and key.pem of gen_fd, combined. Returns 0 or -errno. */
static int combined_from_parts(int gen_fd, char **ret, size_t *ret_size) {
        _cleanup_erase_ char *fullchain = NULL, *key = NULL;
        size_t fullchain_size, key_size;
        int r;

        r = read_file_at(gen_fd, cert_bundle_part_file(CERT_BUNDLE_FULLCHAIN), STORE_FILE_MAX, &fullchain,
                         &fullchain_size);
        if (r < 0)
                return r;
        r = read_file_at(gen_fd, cert_bundle_part_file(CERT_BUNDLE_KEY), STORE_FILE_MAX, &key, &key_size);
        if (r < 0)
                return r;
        return store_form_combined(fullchain, fullchain_size, key, key_size, ret, ret_size);
}

int store_form_check(int gen_fd, bool *ret_missing) {
        char *expected = NULL, *found = NULL;
        size_t expected_size = 0, found_size = 0;
        int r;

        r = read_file_at(gen_fd, STORE_FORM_COMBINED, STORE_FILE_MAX, &found, &found_size);
        if (ret_missing)
                *ret_missing = r == -ENOENT;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        r = combined_from_parts(gen_fd, &expected, &expected_size);
        if (r >= 0 && (found_size != expected_size || memcmp(found, expected, found_size) != 0))
                r = -EBADMSG;
        erase_and_free(found, found_size);
        if (expected)
                erase_and_free(expected, expected_size);
        return r;
}

int store_form_add(int gen_fd, gid_t gid) {
        _cleanup_close_ int fd = -EBADF;
        char *combined = NULL;
        size_t size = 0;
        int r;

        r = combined_from_parts(gen_fd, &combined, &size);
        if (r < 0)
                return r;

        /* A temporary left by a crash in here is ours: replaced, never served (it has another name). */
        (void) unlinkat(gen_fd, COMBINED_TMP, 0);
        fd = openat(gen_fd, COMBINED_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                r = negative_errno();
        if (r >= 0)
                r = store_fix_owner_mode(fd, gid, MODE_KEY);
        if (r >= 0)
                r = write_all(fd, combined, size);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        erase_and_free(combined, size);
        if (r >= 0 && renameat(gen_fd, COMBINED_TMP, gen_fd, STORE_FORM_COMBINED) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(gen_fd, COMBINED_TMP, 0);
                return r;
        }
        return fsync(gen_fd) < 0 ? negative_errno() : 0;
}
