/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * vertex-endpoint as systemd runs it: socket-activated on a loopback port,
 * serving a store directory whose `current` symlink the test swaps the way
 * the store does, reloaded with vertex-endpoint-reload. Checks what clients see: the
 * served fingerprint in the handshake and in GET /, keep-alive, old
 * connections surviving a reload, a failed reload keeping the old pair.
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "endpoint-spawn.h"
#include "pki.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PkiChain, pki_chain_free)

typedef struct Fixture {
        char *tmp;
        char *current;   /* tmp/current -> gen-N */
        unsigned generation;
        SpawnedEndpoint e;
} Fixture;

/* Writes a generation directory and points `current` at it by an atomic rename, as the store does. */
static void commit_pair(Fixture *f, const char *fullchain, const char *key) {
        g_autofree char *name = g_strdup_printf("gen-%u", ++f->generation);
        g_autofree char *dir = g_build_filename(f->tmp, name, NULL);
        g_autofree char *chain_path = g_build_filename(dir, "fullchain.pem", NULL);
        g_autofree char *key_path = g_build_filename(dir, "key.pem", NULL);
        g_autofree char *tmp_link = g_build_filename(f->tmp, "current.tmp", NULL);

        g_assert_cmpint(g_mkdir(dir, 0750), ==, 0);
        g_assert_cmpint(pki_write_file(chain_path, fullchain), ==, 0);
        g_assert_cmpint(pki_write_file(key_path, key), ==, 0);
        g_assert_cmpint(symlink(name, tmp_link), ==, 0);
        g_assert_cmpint(rename(tmp_link, f->current), ==, 0);
}

static char *commit_chain(Fixture *f, PkiChain *chain) {
        char fp[CERT_FINGERPRINT_MAX];

        commit_pair(f, chain->fullchain_pem, chain->key_pem);
        g_assert_cmpint(cert_fingerprint(chain->leaf, fp), ==, 0);
        return g_strdup(fp);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        f->tmp = g_dir_make_tmp("test-endpoint-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        f->current = g_build_filename(f->tmp, "current", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = NULL;

        if (f->e.pid > 0) {
                kill(f->e.pid, SIGKILL);
                waitpid(f->e.pid, NULL, 0);
        }
        g_free(f->e.control);
        cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
        g_free(f->current);
}

static char *expected_json(const char *name, const char *fp) {
        return g_strdup_printf("{\"endpoint\":\"%s\",\"fingerprint\":\"%s\"}\n", name, fp);
}

static void test_serve(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain = pki_chain_new("console.example.com");
        g_autofree char *fp = commit_chain(f, chain);
        g_autofree char *json = expected_json("console", fp);
        g_autofree char *body = NULL, *body2 = NULL, *headers = NULL, *served = NULL;
        g_autoptr(TlsClient) c = NULL;

        endpoint_spawn(&f->e, "console", f->current, f->tmp, false, NULL);

        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp);

        /* Several requests on one connection: keep-alive. */
        g_assert_cmpint(tls_client_get(c, "/", &body), ==, 200);
        g_assert_cmpstr(body, ==, json);
        g_clear_pointer(&body, g_free);
        g_assert_cmpint(tls_client_get(c, "/healthz", &body), ==, 200);
        g_assert_cmpstr(body, ==, "ok\n");
        g_clear_pointer(&body, g_free);
        g_assert_cmpint(tls_client_get(c, "/nothing-here", &body), ==, 404);
        g_clear_pointer(&body, g_free);
        g_assert_cmpint(tls_client_get(c, "/?x=1", &body), ==, 200);
        g_assert_cmpstr(body, ==, json);
        g_clear_pointer(&body, g_free);

        /* HEAD: headers only. */
        tls_client_send(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        g_assert_cmpint(tls_client_read_response(c, true, &body, &headers), ==, 200);
        g_assert_cmpstr(body, ==, "");
        g_assert_nonnull(strstr(headers, "Content-Type: application/json\r\n"));
        g_clear_pointer(&body, g_free);
        g_clear_pointer(&headers, g_free);

        /* Two pipelined requests in one write, answered in order. */
        tls_client_send(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        g_assert_cmpint(tls_client_read_response(c, false, &body, NULL), ==, 200);
        g_assert_cmpstr(body, ==, "ok\n");
        g_assert_cmpint(tls_client_read_response(c, false, &body2, NULL), ==, 200);
        g_assert_cmpstr(body2, ==, json);
        g_clear_pointer(&body, g_free);

        /* A body announced by Content-Length is skipped, not taken for the next request. */
        tls_client_send(c, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\n\r\n");
        g_assert_cmpint(tls_client_read_response(c, false, &body, NULL), ==, 405);
        g_clear_pointer(&body, g_free);
        g_assert_cmpint(tls_client_read_response(c, false, &body, NULL), ==, 200);
        g_assert_cmpstr(body, ==, "ok\n");
        g_clear_pointer(&body, g_free);

        /* Connection: close is honoured: the server closes after the response. */
        tls_client_send(c, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
        g_assert_cmpint(tls_client_read_response(c, false, &body, &headers), ==, 200);
        g_assert_nonnull(strstr(headers, "Connection: close\r\n"));
        {
                char byte;

                g_assert_cmpint(SSL_read(c->ssl, &byte, 1), <=, 0);
        }

        endpoint_stop(&f->e);
}

static void test_reload(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain1 = pki_chain_new("console.example.com");
        g_autoptr(PkiChain) chain2 = pki_chain_new("console.example.com");
        g_autofree char *fp1 = commit_chain(f, chain1), *fp2 = NULL;
        g_autofree char *out = NULL, *err = NULL, *body = NULL, *served = NULL, *json = NULL, *expected_out = NULL;
        g_autoptr(TlsClient) old = NULL, fresh = NULL;

        endpoint_spawn(&f->e, "console", f->current, f->tmp, false, NULL);

        old = tls_client_connect(f->e.port);
        g_assert_cmpint(tls_client_get(old, "/", &body), ==, 200);
        json = expected_json("console", fp1);
        g_assert_cmpstr(body, ==, json);
        g_clear_pointer(&body, g_free);
        g_clear_pointer(&json, g_free);

        fp2 = commit_chain(f, chain2);
        g_assert_cmpstr(fp1, !=, fp2);

        g_assert_cmpint(endpoint_reload(&f->e, "console", &out, &err), ==, 0);
        expected_out = g_strdup_printf("ok %s\n", fp2);
        g_assert_cmpstr(out, ==, expected_out);

        /* A new connection gets the new certificate... */
        fresh = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(fresh);
        g_assert_cmpstr(served, ==, fp2);
        g_assert_cmpint(tls_client_get(fresh, "/", &body), ==, 200);
        json = expected_json("console", fp2);
        g_assert_cmpstr(body, ==, json);
        g_clear_pointer(&body, g_free);
        g_clear_pointer(&json, g_free);

        /* ...and the one opened before the reload still works, on the certificate it was made with. */
        g_assert_cmpint(tls_client_get(old, "/", &body), ==, 200);
        json = expected_json("console", fp1);
        g_assert_cmpstr(body, ==, json);
        g_clear_pointer(&body, g_free);
        g_free(served);
        served = tls_client_fingerprint(old);
        g_assert_cmpstr(served, ==, fp1);

        endpoint_stop(&f->e);
}

static void test_reload_bad_pair(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain1 = pki_chain_new("api.example.com");
        g_autoptr(PkiChain) chain2 = pki_chain_new("api.example.com");
        g_autofree char *fp1 = commit_chain(f, chain1);
        g_autofree char *out = NULL, *err = NULL, *served = NULL, *other_key_pem = NULL;
        g_autoptr(TlsClient) c = NULL;
        EVP_PKEY *other_key = pki_key_pooled(PKI_KEY_RSA2048, 5);

        endpoint_spawn(&f->e, "api", f->current, f->tmp, false, NULL);

        /* Certificate of chain2 with somebody else's key. */
        other_key_pem = pki_key_pem(other_key, NULL);
        EVP_PKEY_free(other_key);
        commit_pair(f, chain2->fullchain_pem, other_key_pem);

        g_assert_cmpint(endpoint_reload(&f->e, "api", &out, &err), ==, 1);
        g_assert_cmpstr(out, ==, "");
        g_assert_nonnull(strstr(err, "error: Private key in"));
        g_assert_nonnull(strstr(err, "does not match the certificate"));

        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp1);
        tls_client_free(g_steal_pointer(&c));
        g_clear_pointer(&served, g_free);
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);

        /* Missing files: same. */
        commit_pair(f, "", "");
        g_assert_cmpint(endpoint_reload(&f->e, "api", &out, &err), ==, 1);
        g_assert_nonnull(strstr(err, "error: No usable private key in"));
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);

        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp1);

        endpoint_stop(&f->e);
}

static void test_fail_switch(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain1 = pki_chain_new("grpc.example.com");
        g_autoptr(PkiChain) chain2 = pki_chain_new("grpc.example.com");
        g_autofree char *fp1 = commit_chain(f, chain1), *fp2 = NULL;
        g_autofree char *out = NULL, *err = NULL, *served = NULL;
        g_autofree char *switch_path = g_build_filename(f->tmp, "fail-reload", NULL);
        const char *args[] = { "--fail-reload-if-exists", switch_path, NULL };
        g_autoptr(TlsClient) c = NULL;

        endpoint_spawn(&f->e, "grpc", f->current, f->tmp, false, args);
        fp2 = commit_chain(f, chain2);

        /* A perfectly good pair, refused while the test switch exists. */
        g_assert_cmpint(pki_write_file(switch_path, ""), ==, 0);
        g_assert_cmpint(endpoint_reload(&f->e, "grpc", &out, &err), ==, 1);
        g_assert_nonnull(strstr(err, "error: Reload refused: test switch"));
        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp1);
        tls_client_free(g_steal_pointer(&c));
        g_clear_pointer(&served, g_free);
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);

        g_assert_cmpint(unlink(switch_path), ==, 0);
        g_assert_cmpint(endpoint_reload(&f->e, "grpc", &out, &err), ==, 0);
        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp2);

        endpoint_stop(&f->e);
}

static void test_many_connections(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain = pki_chain_new("console.example.com");
        g_autofree char *fp = commit_chain(f, chain);
        g_autofree char *json = expected_json("many", fp);
        TlsClient *clients[200];

        endpoint_spawn(&f->e, "many", f->current, f->tmp, false, NULL);

        /* All open at once, then each asked twice: nothing is served one connection at a time. */
        for (size_t i = 0; i < G_N_ELEMENTS(clients); i++)
                clients[i] = tls_client_connect(f->e.port);
        for (unsigned round = 0; round < 2; round++)
                for (size_t i = 0; i < G_N_ELEMENTS(clients); i++) {
                        g_autofree char *body = NULL;

                        g_assert_cmpint(tls_client_get(clients[i], "/", &body), ==, 200);
                        g_assert_cmpstr(body, ==, json);
                }
        for (size_t i = 0; i < G_N_ELEMENTS(clients); i++)
                tls_client_free(clients[i]);

        endpoint_stop(&f->e);
}

static void test_abstract_control(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain = pki_chain_new("console.example.com");
        g_autofree char *fp = commit_chain(f, chain);
        g_autofree char *control_dir = g_strdup_printf("@vertex-endpoint-test-%d", (int) getpid());
        g_autofree char *out = NULL, *err = NULL, *expected = g_strdup_printf("ok %s\n", fp);

        /* "@NAME": the abstract namespace, the default when there is no runtime directory. */
        endpoint_spawn(&f->e, "console", f->current, control_dir, false, NULL);
        g_assert_cmpint(endpoint_reload(&f->e, "console", &out, &err), ==, 0);
        g_assert_cmpstr(out, ==, expected);
        endpoint_stop(&f->e);
}

static void test_no_pair_at_start(Fixture *f, gconstpointer data) {
        g_autofree char *binary = endpoint_binary();
        g_autofree char *missing = g_build_filename(f->tmp, "missing", NULL);
        const char *argv[] = { binary, "--name", "console", "--directory", missing,
                               "--listen", "127.0.0.1:0", NULL };
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &error));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 1);
        g_assert_nonnull(strstr(err, "Failed to load the certificate: Failed to open directory"));
}

static void test_reload_not_running(Fixture *f, gconstpointer data) {
        SpawnedEndpoint nobody = { .control = g_build_filename(f->tmp, "nobody.sock", NULL) };
        g_autofree char *out = NULL, *err = NULL;

        /* ExecReload= must fail when there is no endpoint to answer. */
        g_assert_cmpint(endpoint_reload(&nobody, "nobody", &out, &err), ==, 1);
        g_assert_nonnull(strstr(err, "Failed to connect to the endpoint's control socket"));
        g_free(nobody.control);
}

/* A socket at the control path that the unit's main process does not listen on gets nothing. */
static void test_reload_other_listener(Fixture *f, gconstpointer data) {
        g_autoptr(PkiChain) chain1 = pki_chain_new("grpc.example.com");
        g_autoptr(PkiChain) chain2 = pki_chain_new("grpc.example.com");
        g_autofree char *fp1 = commit_chain(f, chain1), *fp2 = NULL;
        g_autofree char *out = NULL, *err = NULL, *served = NULL, *expected_out = NULL;
        g_autofree char *own_pid = g_strdup_printf("%d", (int) getpid());
        g_autoptr(TlsClient) c = NULL;

        endpoint_spawn(&f->e, "grpc", f->current, f->tmp, false, NULL);
        fp2 = commit_chain(f, chain2);

        /* $MAINPID names another process (this one): the client must not ask. */
        g_assert_cmpint(endpoint_reload_as(&f->e, "grpc", own_pid, &out, &err), ==, 1);
        g_assert_cmpstr(out, ==, "");
        g_assert_nonnull(strstr(err, "not by the unit's main process"));
        c = tls_client_connect(f->e.port);
        served = tls_client_fingerprint(c);
        g_assert_cmpstr(served, ==, fp1);
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);

        /* A garbled $MAINPID is an error too, before any connection. */
        g_assert_cmpint(endpoint_reload_as(&f->e, "grpc", "12x", &out, &err), ==, 1);
        g_assert_nonnull(strstr(err, "$MAINPID is not a process ID: '12x'"));
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);

        /* Without $MAINPID (run by hand) and with the right one, it reloads. */
        g_assert_cmpint(endpoint_reload_as(&f->e, "grpc", NULL, &out, &err), ==, 0);
        expected_out = g_strdup_printf("ok %s\n", fp2);
        g_assert_cmpstr(out, ==, expected_out);
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);
        g_assert_cmpint(endpoint_reload(&f->e, "grpc", &out, &err), ==, 0);

        endpoint_stop(&f->e);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/endpoint/serve", Fixture, NULL, fixture_setup, test_serve, fixture_teardown);
        g_test_add("/endpoint/reload", Fixture, NULL, fixture_setup, test_reload, fixture_teardown);
        g_test_add("/endpoint/reload-bad-pair", Fixture, NULL, fixture_setup, test_reload_bad_pair, fixture_teardown);
        g_test_add("/endpoint/fail-switch", Fixture, NULL, fixture_setup, test_fail_switch, fixture_teardown);
        g_test_add("/endpoint/many-connections", Fixture, NULL, fixture_setup, test_many_connections, fixture_teardown);
        g_test_add("/endpoint/abstract-control", Fixture, NULL, fixture_setup, test_abstract_control, fixture_teardown);
        g_test_add("/endpoint/no-pair-at-start", Fixture, NULL, fixture_setup, test_no_pair_at_start, fixture_teardown);
        g_test_add("/endpoint/reload-other-listener", Fixture, NULL, fixture_setup, test_reload_other_listener, fixture_teardown);
        g_test_add("/endpoint/reload-not-running", Fixture, NULL, fixture_setup, test_reload_not_running, fixture_teardown);

        return g_test_run();
}
