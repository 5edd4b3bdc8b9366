/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint-control.h"
#include "macro.h"

bool endpoint_name_is_valid(const char *name) {
        if (isempty(name) || strlen(name) > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
                        return false;
        return name[0] != '.';
}

int endpoint_control_path(const char *name, char **ret) {
        const char *rd = getenv("RUNTIME_DIRECTORY");
        char *p;
        int k;

        if (!isempty(rd))
                k = asprintf(&p, "%.*s/%s.sock", (int) strcspn(rd, ":"), rd, name);
        else
                k = asprintf(&p, "@vertex-endpoint/%s", name);
        if (k < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int endpoint_control_sockaddr(const char *path, struct sockaddr_un *ret_sa, socklen_t *ret_len) {
        size_t l = strlen(path);

        if (l == 0 || l >= sizeof(ret_sa->sun_path))
                return -ENAMETOOLONG;
        *ret_sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        memcpy(ret_sa->sun_path, path, l + 1);
        if (path[0] == '@') {
                ret_sa->sun_path[0] = '\0';
                *ret_len = offsetof(struct sockaddr_un, sun_path) + l;
        } else
                *ret_len = offsetof(struct sockaddr_un, sun_path) + l + 1;
        return 0;
}
