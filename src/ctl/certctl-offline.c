/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl verbs that need no daemon: `validate --offline` runs the
 * very checks the daemon runs (pem_read_bundle() + cert_bundle_validate(),
 * i.e. cert_bundle_load()) on the operator's files, and `inspect` shows
 * every certificate of a PEM file. Neither writes anything anywhere; the
 * private key is only parsed, never printed, and erased from memory after.
 */

#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "certctl-output.h"
#include "certctl-util.h"
#include "certctl.h"
#include "build-config.h"
#include "certinfo.h"
#include "config.h"
#include "pem.h"
#include "strv.h"
#include "validate.h"

static void print_problem(const CertProblem *p) {
        fprintf(stderr, "%s: %s\n", cert_error_name(p->code) ?: "Invalid", p->message);
}

/* "required_names": every name the certificate must cover, the primary name first. */
static void json_field_required_names(Json *j, const CertctlArgs *a) {
        json_key(j, "required_names");
        json_array_begin(j);
        json_string(j, a->server_name);
        STRV_FOREACH(n, a->access_names)
                json_string(j, *n);
        json_array_end(j);
}

/* A refusal found before the bundle could be read at all. */
static int report_refusal(const CertctlArgs *a, const CertProblem *p) {
        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_bool(&j, "valid", false);
                json_field_string(&j, "error", cert_error_name(p->code));
                json_field_string(&j, "message", p->message);
                json_field_string(&j, "server_name", a->server_name);
                json_field_required_names(&j, a);
                json_field_string(&j, "policy", validate_policy_to_string(a->policy));
                json_key(&j, "certificate");
                json_null(&j);
                json_close_object(&j);
        } else {
                kv("Valid", "no, %s (the reason follows on stderr)", cert_error_name(p->code) ?: "Invalid");
                fflush(stdout);
        }
        print_problem(p);
        return CERTCTL_EXIT_REFUSED;
}

/* At most one byte more than the PEM reader accepts, so that it can refuse an oversized file as TooLarge. */
static int read_file_bounded(const char *path, Input *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return read_fd_bounded(fd, PEM_MAX_INPUT_DEFAULT, READ_KEEP_EXCESS, &ret->data, &ret->size);
}

static int read_one(const char *path, Input *ret) {
        int r;

        r = read_file_bounded(path, ret);
        if (r < 0) {
                errno = -r;
                fprintf(stderr, "Failed to read '%s': %m\n", path);
                return CERTCTL_EXIT_USAGE;
        }
        return CERTCTL_EXIT_OK;
}

int certctl_read_bundle_files(const CertctlArgs *a, Input in[static 3]) {
        const char *paths[3] = { a->cert, a->key, a->ca };

        for (size_t i = 0; i < 3; i++) {
                if (!paths[i])
                        continue;
                int r = read_one(paths[i], &in[i]);
                if (r != CERTCTL_EXIT_OK) {
                        for (size_t k = 0; k < 3; k++)
                                input_done(&in[k]);
                        return r;
                }
        }
        return CERTCTL_EXIT_OK;
}

static void inputs_done(Input (*in)[3]) {
        for (size_t i = 0; i < 3; i++)
                input_done(&(*in)[i]);
}

/* Subject of the last certificate we were given in the chain's direction, for "anchored at". */
static char *chain_top_issuer(const CertBundle *b) {
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        X509 *top = sk_X509_num(b->chain) > 0 ? sk_X509_value(b->chain, sk_X509_num(b->chain) - 1) : b->leaf;

        if (cert_info_new(top, 1, &info) < 0)
                return NULL;
        return TAKE_PTR(info->issuer);
}

/* The reader stopped one byte past the bound: say which file, and how big it really is. */
static bool input_too_large(const CertctlArgs *a, const Input in[static 3], CertProblem *problem) {
        const char *paths[3] = { a->cert, a->key, a->ca };

        for (size_t i = 0; i < 3; i++)
                if (in[i].size > PEM_MAX_INPUT_DEFAULT) {
                        struct stat st;

                        if (stat(paths[i], &st) >= 0 && S_ISREG(st.st_mode))
                                cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                                 "'%s' is %.1f MiB; at most %zu MiB is accepted", paths[i],
                                                 (double) st.st_size / (1024 * 1024), PEM_MAX_INPUT_DEFAULT / (1024 * 1024));
                        else
                                cert_problem_set(problem, CERT_ERROR_TOO_LARGE,
                                                 "'%s' is larger than %zu MiB, the most accepted", paths[i],
                                                 PEM_MAX_INPUT_DEFAULT / (1024 * 1024));
                        return true;
                }
        return false;
}

/*
 * Without --server-name, on the appliance: the names (and policy and trust
 * store, unless given) the daemon requires, from its own configuration, read
 * by the daemon's own parser. Returns 0, -ENOENT when there is none here
 * (not the appliance), or another -errno (said on stderr).
 */
static int args_from_config(CertctlArgs *a, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        const char *path = a->config ?: CONFIG_FILE;
        int r;

        if (!a->config && access(CONFIG_FILE, F_OK) < 0 && access(CONFIG_FILE ".d", F_OK) < 0)
                return -ENOENT;
        r = config_load(path, &c, &error);
        if (r < 0) {
                fprintf(stderr, "Cannot take the names from the configuration: %s\n", error ?: errno_name(r));
                return r;
        }
        a->server_name = c->server_name;
        a->access_names = c->access_names;
        if (!a->policy_set)
                a->policy = c->policy;
        if (!a->trust_store)
                a->trust_store = c->trust_store_file;
        *ret = TAKE_PTR(c);
        return 0;
}

/* "'console.example.com', '192.0.2.10'", for the verdict. */
static void names_text(const CertctlArgs *a, char *buf, size_t size) {
        int k = snprintf(buf, size, "'%s'", a->server_name);
        size_t used = k > 0 ? (size_t) k : 0;

        STRV_FOREACH(n, a->access_names) {
                if (used >= size - 1)
                        break;  /* truncated: snprintf() said how much it would have written */
                k = snprintf(buf + used, size - used, ", '%s'", *n);
                used += k > 0 ? (size_t) k : 0;
        }
}

int verb_validate_offline(const CertctlArgs *args) {
        _cleanup_(config_freep) Config *config = NULL;
        CertctlArgs local = *args;
        const CertctlArgs *a = &local;
        _cleanup_(inputs_done) Input in[3] = {};
        _cleanup_(cert_bundle_freep) CertBundle *b = NULL;
        _cleanup_(cert_info_freep) CertInfo *info = NULL;
        _cleanup_free_ char *anchor = NULL;
        CertProblem problem = {};
        char key_type[32] = "";
        uint64_t now = now_usec(CLOCK_REALTIME);
        int r;

        bool from_config = false;
        if (!a->server_name && a->cert) {
                r = args_from_config(&local, &config);
                if (r < 0 && r != -ENOENT)
                        return CERTCTL_EXIT_USAGE;
                from_config = r >= 0;
        }
        if (!a->server_name || !a->cert) {
                fprintf(stderr, "validate --offline needs --server-name NAME (or the configuration of vertex-certd "
                        "on this host) and --cert FILE (see --help).\n");
                return CERTCTL_EXIT_USAGE;
        }

        r = certctl_read_bundle_files(a, in);
        if (r != CERTCTL_EXIT_OK)
                return r;

        if (input_too_large(a, in, &problem))
                return report_refusal(a, &problem);

        ValidateOptions options = {
                .server_name = a->server_name,
                .access_names = a->access_names,
                /* From the configuration, the messages name its keys, as the daemon's would. */
                .server_name_origin = from_config ? NULL : "--server-name",
                .access_names_origin = from_config ? NULL : "--server-name",
                .policy = a->policy,
                .trust_store_file = a->trust_store,
                .now_usec = now,
        };

        /* Two steps rather than cert_bundle_load(), so a refused bundle still shows what its leaf is. */
        r = pem_read_bundle(in[0].data ?: "", in[0].size,
                            in[1].data ?: "", in[1].size,
                            in[2].data ?: "", in[2].size,
                            &options.limits, &b, &problem);
        if (r >= 0)
                r = cert_bundle_validate(b, &options, &problem);
        if (r < 0 && r != -EBADMSG) {
                fprintf(stderr, "Failed to validate the bundle: %s\n", errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }
        bool valid = r >= 0;

        if (b && b->leaf) {
                r = cert_info_from_bundle(b, &info);
                if (r < 0) {
                        fprintf(stderr, "Failed to describe the certificate: %s\n", errno_name(r));
                        return CERTCTL_EXIT_USAGE;
                }
                if (valid)
                        anchor = chain_top_issuer(b);
        }
        if (b && b->key)
                (void) key_describe(b->key, key_type, sizeof(key_type));

        if (a->json) {
                Json j;

                json_open_object(&j, stdout);
                json_field_bool(&j, "valid", valid);
                json_field_string(&j, "error", valid ? NULL : cert_error_name(problem.code));
                json_field_string(&j, "message", valid ? NULL : problem.message);
                json_field_string(&j, "server_name", a->server_name);
                json_field_required_names(&j, a);
                json_field_string(&j, "policy", validate_policy_to_string(a->policy));
                json_key(&j, "certificate");
                if (info) {
                        json_object_begin(&j);
                        cert_info_json_fields(&j, info);
                        json_object_end(&j);
                } else
                        json_null(&j);
                json_field_string(&j, "anchor", anchor);
                json_field_string(&j, "private_key", key_type[0] ? key_type : NULL);
                json_close_object(&j);
        } else {
                char names[512];
                names_text(a, names, sizeof(names));
                if (valid)
                        kv("Valid", "yes, for %s (policy %s)", names, validate_policy_to_string(a->policy));
                else
                        kv("Valid", "no, %s (the reason follows on stderr)", cert_error_name(problem.code) ?: "Invalid");
                if (info) {
                        cert_info_print(info, now);
                        if (valid) {
                                unsigned n = info->chain_length > 0 ? info->chain_length - 1 : 0;
                                kv("Chain", "leaf + %u intermediate%s, anchored at '%s'",
                                   n, n == 1 ? "" : "s", anchor ?: "?");
                        }
                }
                if (key_type[0])
                        kv("Private key", "%s%s", key_type, valid ? ", matches the certificate" : "");
                fflush(stdout);
        }

        if (!valid) {
                print_problem(&problem);
                return CERTCTL_EXIT_REFUSED;
        }
        return CERTCTL_EXIT_OK;
}

static int inspect_file(const char *path, Json *j, unsigned *counter) {
        _cleanup_(input_done) Input in = {};
        _cleanup_x509_stack_ STACK_OF(X509) *certs = NULL;
        CertProblem problem = {};
        PemLimits limits = {};
        uint64_t now = now_usec(CLOCK_REALTIME);
        int r;

        r = read_one(path, &in);
        if (r != CERTCTL_EXIT_OK)
                return r;

        r = pem_read_certificates(in.data, in.size, &limits, &certs, &problem);
        if (r == -EBADMSG) {
                fprintf(stderr, "%s: %s: %s\n", cert_error_name(problem.code) ?: "Invalid", path, problem.message);
                return CERTCTL_EXIT_REFUSED;
        }
        if (r < 0) {
                fprintf(stderr, "Failed to read certificates from '%s': %s\n", path, errno_name(r));
                return CERTCTL_EXIT_USAGE;
        }

        int n = sk_X509_num(certs);
        for (int i = 0; i < n; i++) {
                _cleanup_(cert_info_freep) CertInfo *info = NULL;
                X509 *x = sk_X509_value(certs, i);
                bool ca = X509_check_ca(x) > 0;
                bool self_signed = X509_self_signed(x, 0) == 1;

                r = cert_info_new(x, 1, &info);
                if (r < 0) {
                        fprintf(stderr, "Failed to describe certificate %d of '%s': %s\n", i + 1, path, errno_name(r));
                        return CERTCTL_EXIT_USAGE;
                }

                if (j) {
                        json_object_begin(j);
                        json_field_string(j, "file", path);
                        json_field_uint(j, "index", (uint64_t) i);
                        cert_info_json_fields(j, info);
                        json_field_bool(j, "ca", ca);
                        json_field_bool(j, "self_signed", self_signed);
                        json_object_end(j);
                } else {
                        if ((*counter)++ > 0)
                                putchar('\n');
                        printf("%s: certificate %d of %d\n", path, i + 1, n);
                        cert_info_print(info, now);
                        kv("CA", "%s%s", ca ? "yes" : "no", self_signed ? " (self-signed)" : "");
                }
        }
        return CERTCTL_EXIT_OK;
}

int verb_inspect(const CertctlArgs *a) {
        unsigned counter = 0;
        int ret = CERTCTL_EXIT_OK;
        Json j;

        if (!a->positional || !a->positional[0]) {
                fprintf(stderr, "inspect needs at least one FILE (see --help).\n");
                return CERTCTL_EXIT_USAGE;
        }

        if (a->json) {
                json_open_object(&j, stdout);
                json_key(&j, "certificates");
                json_array_begin(&j);
        }

        STRV_FOREACH(f, a->positional) {
                int r = inspect_file(*f, a->json ? &j : NULL, &counter);
                /* The worst outcome wins: a usage error over a refusal over success. */
                if (r > ret)
                        ret = r;
        }

        if (a->json) {
                json_array_end(&j);
                json_close_object(&j);
        } else
                fflush(stdout);
        return ret;
}
