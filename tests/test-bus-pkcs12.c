/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus tier for InstallPkcs12, with files made by `openssl pkcs12 -export`
 * as an organisation's tools make them: AES with the chain inside, a wrong
 * password, legacy (RC2) encryption, no key inside.
 */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "bus-assert.h"
#include "pki.h"
#include "test-util.h"

#define PASSWORD "correct horse battery staple"

typedef struct Files {
        char *leaf, *key, *chain;
} Files;

static void write_chain(BusFixture *f, const PkiChain *c, Files *out) {
        out->leaf = bus_fixture_path(f, "leaf.pem");
        out->key = bus_fixture_path(f, "leaf.key");
        out->chain = bus_fixture_path(f, "chain.pem");
        g_autofree char *chain = pki_strcat(c->intermediate_pem, c->root_pem, NULL);
        g_assert_cmpint(pki_write_file(out->leaf, c->leaf_pem), ==, 0);
        g_assert_cmpint(pki_write_file(out->key, c->key_pem), ==, 0);
        g_assert_cmpint(pki_write_file(out->chain, chain), ==, 0);
}

static void files_done(Files *x) {
        g_free(x->leaf), g_free(x->key), g_free(x->chain);
}

/* `openssl pkcs12 -export` with the extra arguments given; returns the file's path. */
static char *export(BusFixture *f, const Files *in, const char *name, const char *const *extra) {
        g_autofree char *openssl = g_find_program_in_path("openssl");
        g_assert_nonnull(openssl);
        char *out = bus_fixture_path(f, name);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        const char *base[] = { openssl, "pkcs12", "-export", "-in", in->leaf, "-out", out,
                               "-passout", "pass:" PASSWORD, NULL };
        for (const char *const *a = base; *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        for (const char *const *a = extra; a && *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);
        const char *envp[] = { "LC_ALL=C", NULL };
        g_auto(Run) r = run_program((char **) argv->pdata, (char **) envp, NULL);
        if (r.status != 0)
                g_error("openssl pkcs12 -export failed: %s", r.err);
        return out;
}

static GVariant *install_p12(BusFixture *f, const char *path, const char *password, GError **error) {
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(g_unix_fd_list_append(fds, fd, NULL), ==, 0);
        close(fd);
        return bus_call_with_fds(f, "InstallPkcs12", g_variant_new("(hs)", 0, password), fds, error);
}

static void test_aes_with_chain(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        Files in;
        write_chain(f, c, &in);
        const char *extra[] = { "-inkey", in.key, "-certfile", in.chain, NULL };
        g_autofree char *p12 = export(f, &in, "bundle.p12", extra);
        g_autofree char *expected = fingerprint_of(c->leaf);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = install_p12(f, p12, PASSWORD, &error);
        g_assert_no_error(error);
        const char *fp;
        guint64 generation;
        g_variant_get(reply, "(t&s)", &generation, &fp);
        g_assert_cmpstr(fp, ==, expected);
        /* The intermediate is the chain, the root inside the file the authority. */
        assert_properties(f, generation, "bus", "serving", 2, expected, NULL);
        files_done(&in);
}

static void test_wrong_password(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        Files in;
        write_chain(f, c, &in);
        const char *extra[] = { "-inkey", in.key, "-certfile", in.chain, NULL };
        g_autofree char *p12 = export(f, &in, "bundle.p12", extra);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = install_p12(f, p12, "not the password", &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("EncryptedKey"));
        g_assert_cmpstr(message, ==, "the PKCS#12 password is wrong");
        g_autofree char *source = bus_get_string(f, "Source");
        g_assert_cmpstr(source, ==, "self-signed");
        files_done(&in);
}

static void test_legacy(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        Files in;
        write_chain(f, c, &in);
        const char *extra[] = { "-inkey", in.key, "-certfile", in.chain, "-legacy", NULL };
        g_autofree char *p12 = export(f, &in, "legacy.p12", extra);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = install_p12(f, p12, PASSWORD, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("Malformed"));
        g_assert_nonnull(strstr(message, "legacy algorithm"));
        g_assert_nonnull(strstr(message, "legacy provider"));
        g_assert_nonnull(strstr(message, "re-export it with AES"));
        files_done(&in);
}

static void test_no_key(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        Files in;
        write_chain(f, c, &in);
        const char *extra[] = { "-nokeys", "-certfile", in.chain, NULL };
        g_autofree char *p12 = export(f, &in, "nokey.p12", extra);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = install_p12(f, p12, PASSWORD, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("MissingKey"));
        g_assert_nonnull(strstr(message, "holds no private key"));
        files_done(&in);
}

static void test_not_pkcs12(BusFixture *f, gconstpointer data) {
        _cleanup_pki_chain_ PkiChain *c = pki_chain_new(SERVER_NAME);
        g_autofree char *pem = bus_fixture_path(f, "leaf.pem");
        g_assert_cmpint(pki_write_file(pem, c->fullchain_pem), ==, 0);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = install_p12(f, pem, PASSWORD, &error);
        g_assert_null(reply);
        g_autofree char *message = bus_assert_error(error, CERTD_ERROR("Malformed"));
        g_assert_nonnull(strstr(message, "not PKCS#12"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add("/bus/pkcs12/aes-with-chain", BusFixture, NULL, setup, test_aes_with_chain, teardown);
        g_test_add("/bus/pkcs12/wrong-password", BusFixture, NULL, setup, test_wrong_password, teardown);
        g_test_add("/bus/pkcs12/legacy", BusFixture, NULL, setup, test_legacy, teardown);
        g_test_add("/bus/pkcs12/no-key", BusFixture, NULL, setup, test_no_key, teardown);
        g_test_add("/bus/pkcs12/not-pkcs12", BusFixture, NULL, setup, test_not_pkcs12, teardown);
        return g_test_run();
}
