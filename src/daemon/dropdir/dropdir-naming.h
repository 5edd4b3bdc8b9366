/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Recognising bundles among the names in a drop directory. Pure string work:
 * no I/O, no knowledge of file types or contents.
 */

#include <stdbool.h>
#include <stddef.h>

typedef enum DropPart {
        DROP_PART_CERT,   /* NAME.crt, NAME.cert, NAME.pem, tls.crt */
        DROP_PART_KEY,    /* NAME.key, tls.key */
        DROP_PART_CA,     /* NAME.ca.crt, NAME.ca.pem, NAME-ca.pem, NAME-ca.crt, ca.crt (with tls.*) */
        _DROP_PART_MAX,
} DropPart;

typedef struct DropGroup {
        char *name;                     /* the bundle's NAME: "console", "tls" */
        char *files[_DROP_PART_MAX];    /* file names as given; NULL when that part is absent */
} DropGroup;

/* Names that are never part of a bundle: hidden files (editors' and kubelet's), backups, *.error, … */
bool drop_name_ignored(const char *filename);

/*
 * What a single file name is. Returns the part and sets *ret_name (malloc'ed
 * NAME), -EINVAL for a name that is no part, -ENOMEM. "ca.crt" is classified
 * here as the certificate of bundle "ca"; drop_names_group() decides with
 * context (cert-manager's tls.* beside it).
 */
int drop_name_classify(const char *filename, char **ret_name);

/*
 * Groups names into bundles, in the order each NAME first appears. When a
 * bundle has two candidates for one part (console.crt and console.pem), the
 * one with the earlier suffix in the list above wins and the other is left
 * out for now. Returns the number of groups (*ret may be NULL when 0) or
 * -ENOMEM.
 */
int drop_names_group(char *const *names, size_t n_names, DropGroup **ret);
void drop_groups_free(DropGroup *groups, size_t n);
