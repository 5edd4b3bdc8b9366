/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl's offline commands, driven as an operator would: the built
 * binary run with g_spawn on files generated at run time with pki.h. Each
 * case asserts the exit status, the error name and message on stderr, and
 * what stdout says. The bus commands are tested in test-certctl-bus.c.
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "certinfo.h"
#include "pki.h"
#include "test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free);

static const char *certctl_path(void) {
        static char *path;

        if (!path)
                path = built_program("vertex-certctl");
        return path;
}

/* Runs vertex-certctl with the NULL-terminated arguments; captures both streams. */
static Run certctl(const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run certctl(const char *first, ...) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        va_list ap;

        g_ptr_array_add(argv, (char *) certctl_path());
        va_start(ap, first);
        for (const char *a = first; a; a = va_arg(ap, const char *))
                g_ptr_array_add(argv, (char *) a);
        va_end(ap);
        g_ptr_array_add(argv, NULL);

        /* A fixed environment: the C locale and UTC make the output comparable. */
        const char *envp[] = { "LC_ALL=C", "TZ=UTC", "PATH=/usr/bin:/bin", NULL };
        Run r = run_program((char **) argv->pdata, (char **) envp, NULL);
        if (g_test_verbose())
                g_printerr("exit %d\nstdout:\n%sstderr:\n%s", r.status, r.out, r.err);
        return r;
}

typedef struct Fixture {
        char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autoptr(GError) error = NULL;

        f->dir = g_dir_make_tmp("test-certctl-XXXXXX", &error);
        g_assert_no_error(error);
}

static void rm_rf(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL);
                g_assert_cmpint(g_unlink(p), ==, 0);
        }
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        rm_rf(f->dir);
        g_free(f->dir);
}

static char *fpath(Fixture *f, const char *name) {
        return g_build_filename(f->dir, name, NULL);
}

static char *write_file(Fixture *f, const char *name, const char *content) {
        char *p = fpath(f, name);
        g_assert_cmpint(pki_write_file(p, content), ==, 0);
        return p;
}

static char *fingerprint_of(X509 *x) {
        char fp[CERT_FINGERPRINT_MAX];
        g_assert_cmpint(cert_fingerprint(x, fp), ==, 0);
        return g_strdup(fp);
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;

        for (; *s; s++)
                if (*s == '\n')
                        n++;
        return n;
}

/* Asserts a refusal: exit 1, stderr exactly one line "Name: …" that contains `needle`. */
static void assert_refused(const Run *r, const char *name, const char *needle) {
        g_autofree char *prefix = g_strconcat(name, ": ", NULL);

        g_assert_cmpint(r->status, ==, 1);
        g_assert_true(g_str_has_prefix(r->err, prefix));
        g_assert_nonnull(strstr(r->err, needle));
        g_assert_cmpuint(count_lines(r->err), ==, 1);
}

/* ------------------------------------------------------------ valid bundles */

static void test_valid(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c = pki_chain_new("console.example.com");
        g_autofree char *cert = write_file(f, "fullchain.pem", c->fullchain_pem);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);
        g_autofree char *fp = fingerprint_of(c->leaf);

        g_auto(Run) r = certctl("validate", "--offline", "--server-name", "console.example.com",
                                "--cert", cert, "--key", key, "--ca", ca, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.err, ==, "");
        g_assert_nonnull(strstr(r.out, "Valid: yes, for 'console.example.com' (policy fips)\n"));
        g_assert_nonnull(strstr(r.out, "Subject: CN=console.example.com\n"));
        g_assert_nonnull(strstr(r.out, "SANs: DNS:console.example.com\n"));
        g_assert_nonnull(strstr(r.out, "Key type: RSA 2048\n"));
        g_assert_nonnull(strstr(r.out, "(in 89 days)\n"));   /* pki.h: valid for 90 days from an hour ago */
        g_assert_nonnull(strstr(r.out, "(1 hour ago)\n"));
        g_assert_nonnull(strstr(r.out, "Chain: leaf + 1 intermediate, anchored at 'CN=Vertex Test Root"));
        g_assert_nonnull(strstr(r.out, "Private key: RSA 2048, matches the certificate\n"));
        g_autofree char *fpline = g_strdup_printf("Fingerprint: %s\n", fp);
        g_assert_nonnull(strstr(r.out, fpline));
        /* Key material never reaches the output. */
        g_assert_null(strstr(r.out, "PRIVATE KEY"));
}

static void test_valid_json(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c = pki_chain_new("console.example.com");
        g_autofree char *cert = write_file(f, "fullchain.pem", c->fullchain_pem);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);
        g_autofree char *fp = fingerprint_of(c->leaf);
        g_autofree char *fpfield = g_strdup_printf("\"fingerprint\":\"%s\"", fp);

        g_auto(Run) r = certctl("validate", "--json", "--offline", "--server-name", "console.example.com",
                                "--cert", cert, "--key", key, "--ca", ca, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.err, ==, "");
        g_assert_true(g_str_has_prefix(r.out, "{\"valid\":true,\"error\":null,\"message\":null,"));
        g_assert_true(g_str_has_suffix(r.out, "}\n"));
        g_assert_cmpuint(count_lines(r.out), ==, 1);
        g_assert_nonnull(strstr(r.out, fpfield));
        g_assert_nonnull(strstr(r.out, "\"alt_names\":[\"DNS:console.example.com\"]"));
        g_assert_nonnull(strstr(r.out, "\"key_type\":\"RSA 2048\""));
        g_assert_nonnull(strstr(r.out, "\"chain_length\":2"));
        g_assert_nonnull(strstr(r.out, "\"private_key\":\"RSA 2048\""));
        g_assert_nonnull(strstr(r.out, "\"policy\":\"fips\""));
}

/* One combined file (chain + key + root), no --key, no --ca. */
static void test_valid_combined(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c = pki_chain_new("console.example.com");
        g_autofree char *bundle = write_file(f, "bundle.pem", c->bundle_pem);

        g_auto(Run) r = certctl("validate", "--offline", "--server-name", "console.example.com",
                                "--cert", bundle, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_nonnull(strstr(r.out, "Valid: yes"));
}

/* Without --ca the system store decides; --trust-store replaces it. */
static void test_trust_store(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c = pki_chain_new("console.example.com");
        g_autofree char *cert = write_file(f, "fullchain.pem", c->fullchain_pem);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);

        g_auto(Run) r1 = certctl("validate", "--offline", "--server-name", "console.example.com",
                                 "--cert", cert, "--key", key, NULL);
        g_assert_cmpint(r1.status, ==, 1);
        g_assert_true(g_str_has_prefix(r1.err, "ChainIncomplete: ") || g_str_has_prefix(r1.err, "UntrustedChain: "));
        g_assert_nonnull(strstr(r1.err, "Vertex Test Root"));

        g_auto(Run) r2 = certctl("validate", "--offline", "--server-name", "console.example.com",
                                 "--cert", cert, "--key", key, "--trust-store", ca, NULL);
        g_assert_cmpint(r2.status, ==, 0);
}

/* -------------------------------------------------------- every refusal */

typedef enum Breakage {
        BREAK_KEY_MISMATCH,
        BREAK_KEY_MISMATCH_SAME_TYPE,
        BREAK_NAME,
        BREAK_EXPIRED,
        BREAK_NOT_YET_VALID,
        BREAK_CLIENT_AUTH,
        BREAK_CA_LEAF,
        BREAK_WEAK_KEY,
        BREAK_STRICT_POLICY,
        BREAK_SHA1,
        BREAK_MISSING_KEY,
        BREAK_ENCRYPTED_KEY,
        BREAK_GARBAGE,
        BREAK_EMPTY,
        BREAK_DER,
        BREAK_TOO_LARGE,
        BREAK_MISSING_INTERMEDIATE,
        BREAK_UNRELATED_EXTRA,
        BREAK_WRONG_ROOT,
        BREAK_CA_KEY,
        BREAK_MANY_NAMES,
} Breakage;

typedef struct RefusalCase {
        const char *path;
        Breakage breakage;
        const char *name;      /* error name expected on stderr */
        const char *needle;    /* a part of the message */
} RefusalCase;

static const RefusalCase refusal_cases[] = {
        { "/certctl/offline/key-mismatch",        BREAK_KEY_MISMATCH,         "KeyMismatch",          "private key is EC P-256 but the certificate's key is RSA 2048" },
        { "/certctl/offline/key-mismatch-same",   BREAK_KEY_MISMATCH_SAME_TYPE, "KeyMismatch",        "different keys" },
        { "/certctl/offline/name-mismatch",       BREAK_NAME,                 "NameMismatch",         "not 'other.example.org'" },
        { "/certctl/offline/expired",             BREAK_EXPIRED,              "Expired",              "expired" },
        { "/certctl/offline/not-yet-valid",       BREAK_NOT_YET_VALID,        "NotYetValid",          "" },
        { "/certctl/offline/client-auth-only",    BREAK_CLIENT_AUTH,          "NotServerCertificate", "" },
        { "/certctl/offline/ca-as-leaf",          BREAK_CA_LEAF,              "NotServerCertificate", "" },
        { "/certctl/offline/weak-key",            BREAK_WEAK_KEY,             "WeakKey",              "1024" },
        { "/certctl/offline/strict-policy",       BREAK_STRICT_POLICY,        "WeakKey",              "2048" },
        { "/certctl/offline/sha1",                BREAK_SHA1,                 "WeakSignature",        "SHA" },
        { "/certctl/offline/missing-key",         BREAK_MISSING_KEY,          "MissingKey",           "" },
        { "/certctl/offline/encrypted-key",       BREAK_ENCRYPTED_KEY,        "EncryptedKey",         "" },
        { "/certctl/offline/garbage",             BREAK_GARBAGE,              "Malformed",            "" },
        { "/certctl/offline/empty",               BREAK_EMPTY,                "Malformed",            "empty" },
        { "/certctl/offline/der",                 BREAK_DER,                  "Malformed",            "DER" },
        { "/certctl/offline/too-large",           BREAK_TOO_LARGE,            "TooLarge",             "at most 1 MiB" },
        { "/certctl/offline/missing-intermediate", BREAK_MISSING_INTERMEDIATE, "ChainIncomplete",     "Vertex Test Intermediate" },
        { "/certctl/offline/unrelated-extra",     BREAK_UNRELATED_EXTRA,      "UntrustedChain",       "" },
        { "/certctl/offline/wrong-root",          BREAK_WRONG_ROOT,           "",                     "" },
        { "/certctl/offline/ca-key",              BREAK_CA_KEY,               "KeyMismatch",          "CA" },
        { "/certctl/offline/many-names",          BREAK_MANY_NAMES,           "TooLarge",             "KiB; TLS clients refuse certificate lists over 100 KiB" },
};

static void test_refusal(Fixture *f, gconstpointer data) {
        const RefusalCase *t = data;
        PkiChainOptions o = { .server_name = "console.example.com" };
        const char *server_name = "console.example.com";
        const char *policy = "fips";
        g_autofree char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;

        switch (t->breakage) {
        case BREAK_EXPIRED:
                o.leaf.not_before_offset = -30 * PKI_DAY;
                o.leaf.not_after_offset = -PKI_DAY;
                break;
        case BREAK_NOT_YET_VALID:
                o.leaf.not_before_offset = PKI_DAY;
                o.leaf.not_after_offset = 30 * PKI_DAY;
                break;
        case BREAK_CLIENT_AUTH:
                o.leaf.extended_key_usage = "clientAuth";
                break;
        case BREAK_CA_LEAF:
                o.leaf.ca = true;
                break;
        case BREAK_WEAK_KEY:
                o.leaf_key_type = PKI_KEY_RSA1024;
                break;
        case BREAK_STRICT_POLICY:
                policy = "strict";
                break;
        case BREAK_SHA1:
                o.leaf.digest = EVP_sha1();
                break;
        case BREAK_NAME:
                server_name = "other.example.org";
                break;
        case BREAK_MANY_NAMES:
                /* Covers the name and passes every check but the pre-flight handshake. */
                o.extra_names = 9999;
                break;
        default:
                break;
        }

        g_autoptr(PkiChain) c = pki_chain_new_full(&o);
        cert_pem = g_strdup(c->fullchain_pem);
        key_pem = g_strdup(c->key_pem);
        ca_pem = g_strdup(c->root_pem);

        switch (t->breakage) {
        case BREAK_KEY_MISMATCH: {
                EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 3);
                g_free(key_pem);
                key_pem = pki_key_pem(k, NULL);
                EVP_PKEY_free(k);
                break;
        }
        case BREAK_KEY_MISMATCH_SAME_TYPE: {
                EVP_PKEY *k = pki_key_pooled(PKI_KEY_RSA2048, 3);
                g_free(key_pem);
                key_pem = pki_key_pem(k, NULL);
                EVP_PKEY_free(k);
                break;
        }
        case BREAK_CA_KEY:
                g_free(key_pem);
                key_pem = pki_key_pem(c->intermediate_key, NULL);
                break;
        case BREAK_MISSING_KEY:
                g_clear_pointer(&key_pem, g_free);
                break;
        case BREAK_ENCRYPTED_KEY:
                g_free(key_pem);
                key_pem = pki_key_pem(c->leaf_key, "secret");
                break;
        case BREAK_GARBAGE:
                g_free(cert_pem);
                cert_pem = g_strdup("this is not a certificate\n-----BEGIN CERTIFICATE-----\nAAAA!!\n-----END CERTIFICATE-----\n");
                break;
        case BREAK_EMPTY:
                g_free(cert_pem);
                cert_pem = g_strdup("");
                break;
        case BREAK_TOO_LARGE: {
                GString *s = g_string_new(c->fullchain_pem);
                while (s->len <= 1024 * 1024)
                        g_string_append(s, "# padding padding padding padding padding padding padding padding\n");
                g_free(cert_pem);
                cert_pem = g_string_free(s, FALSE);
                break;
        }
        case BREAK_MISSING_INTERMEDIATE:
                g_free(cert_pem);
                cert_pem = g_strdup(c->leaf_pem);
                break;
        case BREAK_UNRELATED_EXTRA: {
                g_autoptr(PkiChain) other = pki_chain_new("unrelated.example.net");
                g_free(cert_pem);
                cert_pem = pki_strcat(c->fullchain_pem, other->leaf_pem, NULL);
                break;
        }
        case BREAK_WRONG_ROOT: {
                g_autoptr(PkiChain) other = pki_chain_new("unrelated.example.net");
                g_free(ca_pem);
                ca_pem = g_strdup(other->root_pem);
                break;
        }
        default:
                break;
        }

        g_autofree char *cert = NULL;
        if (t->breakage == BREAK_DER) {
                size_t n;
                g_autofree unsigned char *der = pki_cert_der(c->leaf, &n);
                cert = fpath(f, "leaf.der");
                g_assert_true(g_file_set_contents(cert, (const char *) der, (gssize) n, NULL));
        } else
                cert = write_file(f, "fullchain.pem", cert_pem);
        g_autofree char *ca = write_file(f, "ca.pem", ca_pem);
        g_autofree char *key = key_pem ? write_file(f, "key.pem", key_pem) : NULL;

        g_auto(Run) r = key ?
                certctl("validate", "--offline", "--server-name", server_name, "--policy", policy,
                        "--cert", cert, "--key", key, "--ca", ca, NULL) :
                certctl("validate", "--offline", "--server-name", server_name, "--policy", policy,
                        "--cert", cert, "--ca", ca, NULL);

        if (t->breakage == BREAK_WRONG_ROOT) {
                /* Either name is right for an anchor that did not sign the chain; the verdict is what matters. */
                g_assert_cmpint(r.status, ==, 1);
                g_assert_true(g_str_has_prefix(r.err, "ChainIncomplete: ") || g_str_has_prefix(r.err, "UntrustedChain: "));
        } else
                assert_refused(&r, t->name, t->needle);
        g_assert_nonnull(strstr(r.out, "Valid: no, "));
        if (t->breakage == BREAK_MANY_NAMES) {
                /* 32 names, then how many more: the verdict is not buried under 10,000 lines. */
                g_assert_nonnull(strstr(r.out, "... and 9968 more (--json lists them all)\n"));
                g_assert_cmpuint(count_lines(r.out), <, 60);
        }

        /* The same verdict as JSON. */
        g_auto(Run) j = key ?
                certctl("validate", "--offline", "--json", "--server-name", server_name, "--policy", policy,
                        "--cert", cert, "--key", key, "--ca", ca, NULL) :
                certctl("validate", "--offline", "--json", "--server-name", server_name, "--policy", policy,
                        "--cert", cert, "--ca", ca, NULL);
        g_assert_cmpint(j.status, ==, 1);
        g_assert_true(g_str_has_prefix(j.out, "{\"valid\":false,\"error\":\""));
        if (*t->name) {
                g_autofree char *field = g_strdup_printf("\"error\":\"%s\"", t->name);
                g_assert_nonnull(strstr(j.out, field));
        }
        g_assert_cmpstr(j.err, ==, r.err);
}

/* ------------------------------------------------------- accepted forms */

static void test_ip_and_wildcard(Fixture *f, gconstpointer data) {
        PkiChainOptions o = {
                .server_name = "192.0.2.10",
                .alt_names = (const char *[]) { "*.example.com", "2001:db8::1", NULL },
        };
        g_autoptr(PkiChain) c = pki_chain_new_full(&o);
        g_autofree char *cert = write_file(f, "fullchain.pem", c->fullchain_pem);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);
        static const struct {
                const char *name;
                int status;
        } names[] = {
                { "192.0.2.10",          0 },
                { "2001:db8::1",         0 },
                { "console.example.com", 0 },
                { "a.b.example.com",     1 },
                { "example.com",         1 },
                { "192.0.2.11",          1 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_auto(Run) r = certctl("validate", "--offline", "--server-name", names[i].name,
                                        "--cert", cert, "--key", key, "--ca", ca, NULL);
                g_assert_cmpint(r.status, ==, names[i].status);
                if (names[i].status == 1)
                        g_assert_true(g_str_has_prefix(r.err, "NameMismatch: "));
        }
}

static void test_ec_crlf(Fixture *f, gconstpointer data) {
        PkiChainOptions o = { .server_name = "console.example.com", .leaf_key_type = PKI_KEY_EC384 };
        g_autoptr(PkiChain) c = pki_chain_new_full(&o);
        g_autofree char *crlf = pki_to_crlf(c->fullchain_pem);
        g_autofree char *cert = write_file(f, "fullchain.pem", crlf);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);

        g_auto(Run) r = certctl("validate", "--offline", "--server-name", "console.example.com",
                                "--cert", cert, "--key", key, "--ca", ca, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_nonnull(strstr(r.out, "Key type: EC P-384\n"));
}

/* ----------------------------------------------------------------- inspect */

static void test_inspect(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) c = pki_chain_new("console.example.com");
        g_autofree char *bundle = write_file(f, "bundle.pem", c->bundle_pem);
        g_autofree char *fp_leaf = fingerprint_of(c->leaf);
        g_autofree char *fp_root = fingerprint_of(c->root);

        g_auto(Run) r = certctl("inspect", bundle, NULL);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.err, ==, "");
        g_assert_nonnull(strstr(r.out, "certificate 1 of 3\n"));
        g_assert_nonnull(strstr(r.out, "certificate 3 of 3\n"));
        g_assert_nonnull(strstr(r.out, fp_leaf));
        g_assert_nonnull(strstr(r.out, fp_root));
        g_assert_nonnull(strstr(r.out, "CA: no\n"));
        g_assert_nonnull(strstr(r.out, "CA: yes\n"));               /* the intermediate */
        g_assert_nonnull(strstr(r.out, "CA: yes (self-signed)\n")); /* the root */
        g_assert_nonnull(strstr(r.out, "Issuer: CN=Vertex Test Root"));
        g_assert_null(strstr(r.out, "PRIVATE KEY"));

        g_auto(Run) j = certctl("inspect", "--json", bundle, NULL);
        g_assert_cmpint(j.status, ==, 0);
        g_assert_true(g_str_has_prefix(j.out, "{\"certificates\":[{"));
        g_assert_true(g_str_has_suffix(j.out, "}]}\n"));
        g_assert_nonnull(strstr(j.out, "\"ca\":false,\"self_signed\":false"));
        g_assert_nonnull(strstr(j.out, "\"ca\":true,\"self_signed\":true"));
        unsigned n = 0;
        for (const char *p = j.out; (p = strstr(p, "\"fingerprint\":")); p++)
                n++;
        g_assert_cmpuint(n, ==, 3);
}

static void test_inspect_bad(Fixture *f, gconstpointer data) {
        g_autofree char *garbage = write_file(f, "garbage.pem", "hello\n");
        g_autofree char *missing = fpath(f, "missing.pem");

        g_auto(Run) r = certctl("inspect", garbage, NULL);
        g_assert_cmpint(r.status, ==, 1);
        g_assert_true(g_str_has_prefix(r.err, "Malformed: "));
        g_assert_nonnull(strstr(r.err, garbage));

        g_auto(Run) m = certctl("inspect", missing, NULL);
        g_assert_cmpint(m.status, ==, 2);
        g_assert_nonnull(strstr(m.err, "No such file or directory"));
}

/* ------------------------------------------------------------------- usage */

static void test_usage(Fixture *f, gconstpointer data) {
        g_autofree char *missing = fpath(f, "missing.pem");

        g_auto(Run) none = certctl(NULL, NULL);
        g_assert_cmpint(none.status, ==, 2);

        g_auto(Run) unknown = certctl("frobnicate", NULL);
        g_assert_cmpint(unknown.status, ==, 2);
        g_assert_nonnull(strstr(unknown.err, "Unknown command 'frobnicate'"));

        g_auto(Run) no_name = certctl("validate", "--offline", "--cert", missing, NULL);
        g_assert_cmpint(no_name.status, ==, 2);
        g_assert_nonnull(strstr(no_name.err, "--server-name"));

        g_auto(Run) policy = certctl("validate", "--offline", "--policy", "lax", NULL);
        g_assert_cmpint(policy.status, ==, 2);
        g_assert_nonnull(strstr(policy.err, "Unknown policy 'lax'"));

        g_auto(Run) io = certctl("validate", "--offline", "--server-name", "x", "--cert", missing, NULL);
        g_assert_cmpint(io.status, ==, 2);
        g_assert_nonnull(strstr(io.err, "Failed to read"));

        g_auto(Run) dir = certctl("validate", "--offline", "--server-name", "x", "--cert", f->dir, NULL);
        g_assert_cmpint(dir.status, ==, 2);
        g_assert_nonnull(strstr(dir.err, "Is a directory"));

        g_auto(Run) misplaced = certctl("status", "--cert", missing, NULL);
        g_assert_cmpint(misplaced.status, ==, 2);

        g_auto(Run) online_name = certctl("validate", "--server-name", "x", "--cert", missing, NULL);
        g_assert_cmpint(online_name.status, ==, 2);
        g_assert_nonnull(strstr(online_name.err, "--offline only"));

        g_auto(Run) help = certctl("--help", NULL);
        g_assert_cmpint(help.status, ==, 0);
        g_assert_nonnull(strstr(help.out, "inspect FILE..."));

        const char *verbs[] = { "status", "install", "validate", "inspect", "rollback", "regenerate", "generations", "reload" };
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                g_autofree char *head = g_strdup_printf("vertex-certctl %s", verbs[i]);
                g_auto(Run) h = certctl(verbs[i], "--help", NULL);
                g_assert_cmpint(h.status, ==, 0);
                g_assert_true(g_str_has_prefix(h.out, head));
        }
}

/* Without a bus the bus commands fail cleanly with exit 2. */
static void test_no_bus(Fixture *f, gconstpointer data) {
        g_autofree char *sock = fpath(f, "no-bus");
        g_autofree char *addr = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s", sock);
        const char *envp[] = { "LC_ALL=C", addr, NULL };
        const char *argv[] = { certctl_path(), "status", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int wait_status = 0;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, (char **) envp, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &wait_status, NULL));
        g_assert_true(WIFEXITED(wait_status));
        g_assert_cmpint(WEXITSTATUS(wait_status), ==, 2);
        g_assert_nonnull(strstr(err, "Failed to connect to the system bus"));
}

/* Every name clients use, by repeating --server-name: each missing one is named. */
static void test_several_names(Fixture *f, gconstpointer data) {
        PkiChainOptions o = { .server_name = "console.example.com" };
        g_autoptr(PkiChain) c = pki_chain_new_full(&o);
        g_autofree char *cert = write_file(f, "fullchain.pem", c->fullchain_pem);
        g_autofree char *key = write_file(f, "key.pem", c->key_pem);
        g_autofree char *ca = write_file(f, "ca.pem", c->root_pem);

        g_auto(Run) r = certctl("validate", "--offline", "--server-name", "console.example.com",
                                "--server-name", "192.0.2.10", "--cert", cert, "--key", key, "--ca", ca, NULL);
        assert_refused(&r, "NameMismatch", "not '192.0.2.10' (an address clients use in --server-name)");

        PkiChainOptions both = { .server_name = "console.example.com",
                                 .alt_names = (const char *[]) { "192.0.2.10", NULL } };
        g_autoptr(PkiChain) c2 = pki_chain_new_full(&both);
        g_autofree char *cert2 = write_file(f, "fullchain2.pem", c2->fullchain_pem);
        g_autofree char *key2 = write_file(f, "key2.pem", c2->key_pem);
        g_autofree char *ca2 = write_file(f, "ca2.pem", c2->root_pem);
        g_auto(Run) ok = certctl("validate", "--offline", "--server-name", "console.example.com",
                                 "--server-name", "192.0.2.10", "--cert", cert2, "--key", key2, "--ca", ca2, NULL);
        g_assert_cmpint(ok.status, ==, 0);
        g_assert_nonnull(strstr(ok.out, "yes, for 'console.example.com', '192.0.2.10'"));

        /* JSON names every required name, as the refusal does. */
        g_auto(Run) j = certctl("validate", "--offline", "--json", "--server-name", "console.example.com",
                                "--server-name", "192.0.2.10", "--cert", cert2, "--key", key2, "--ca", ca2, NULL);
        g_assert_cmpint(j.status, ==, 0);
        g_assert_nonnull(strstr(j.out, "\"server_name\":\"console.example.com\","
                                       "\"required_names\":[\"console.example.com\",\"192.0.2.10\"]"));
        g_auto(Run) jr = certctl("validate", "--offline", "--json", "--server-name", "console.example.com",
                                 "--server-name", "192.0.2.10", "--cert", cert, "--key", key, "--ca", ca, NULL);
        g_assert_cmpint(jr.status, ==, 1);
        g_assert_nonnull(strstr(jr.out, "\"error\":\"NameMismatch\""));
        g_assert_nonnull(strstr(jr.out, "\"required_names\":[\"console.example.com\",\"192.0.2.10\"]"));

        /* Without --server-name: the names of the daemon's configuration, its keys named. */
        g_autofree char *conf = write_file(f, "certd.conf", "[Certificates]\nServerName=console.example.com\n"
                                                            "AccessNames=192.0.2.10\n");
        g_auto(Run) rc = certctl("validate", "--offline", "--config", conf, "--cert", cert, "--key", key, "--ca", ca, NULL);
        assert_refused(&rc, "NameMismatch", "not '192.0.2.10' (an address clients use in AccessNames=)");
        g_auto(Run) okc = certctl("validate", "--offline", "--config", conf, "--cert", cert2, "--key", key2,
                                  "--ca", ca2, NULL);
        g_assert_cmpint(okc.status, ==, 0);
        g_assert_nonnull(strstr(okc.out, "yes, for 'console.example.com', '192.0.2.10'"));

        /* A bad configuration is said as the daemon would say it. */
        g_autofree char *bad = write_file(f, "bad.conf", "[Certificates]\nAccessNames=[::1]\n");
        g_auto(Run) rb = certctl("validate", "--offline", "--config", bad, "--cert", cert, NULL);
        g_assert_cmpint(rb.status, ==, 2);
        g_assert_nonnull(strstr(rb.err, "bad.conf:2: AccessNames=[::1]: '[::1]' is not a DNS name"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/certctl/offline/valid", test_valid);
        ADD("/certctl/offline/valid-json", test_valid_json);
        ADD("/certctl/offline/valid-combined", test_valid_combined);
        ADD("/certctl/offline/trust-store", test_trust_store);
        ADD("/certctl/offline/ip-and-wildcard", test_ip_and_wildcard);
        ADD("/certctl/offline/ec-crlf", test_ec_crlf);
        ADD("/certctl/offline/several-names", test_several_names);
        for (size_t i = 0; i < G_N_ELEMENTS(refusal_cases); i++)
                g_test_add(refusal_cases[i].path, Fixture, &refusal_cases[i], fixture_setup, test_refusal, fixture_teardown);
        ADD("/certctl/inspect/bundle", test_inspect);
        ADD("/certctl/inspect/bad", test_inspect_bad);
        ADD("/certctl/usage", test_usage);
        ADD("/certctl/no-bus", test_no_bus);
#undef ADD

        return g_test_run();
}
