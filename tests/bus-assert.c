/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the test-bus-*.c programs (bus-assert.h). */

#include <stdio.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include <openssl/pem.h>

#include "bus-assert.h"
#include "certinfo.h"

void setup(BusFixture *f, gconstpointer data) {
        bus_fixture_setup(f, NULL);
}

void teardown(BusFixture *f, gconstpointer data) {
        bus_fixture_teardown(f);
}

char *fingerprint_of(X509 *cert) {
        char buf[CERT_FINGERPRINT_MAX];
        g_assert_cmpint(cert_fingerprint(cert, buf), ==, 0);
        return g_strdup(buf);
}

/* The leaf certificate `current` points at, as consumers would read it. */
X509 *read_current_leaf(BusFixture *f) {
        g_autofree char *path = bus_fixture_path(f, "store/current/cert.pem");
        FILE *fp = fopen(path, "re");
        g_assert_nonnull(fp);
        X509 *leaf = PEM_read_X509(fp, NULL, NULL, NULL);
        fclose(fp);
        g_assert_nonnull(leaf);
        return leaf;
}

GVariant *install(BusFixture *f, const char *cert, const char *key, const char *ca, GError **error) {
        return bus_call(f, "Install", g_variant_new("(sss)", cert, key, ca), error);
}

void install_ok(BusFixture *f, const PkiChain *c, guint64 *ret_generation, char **ret_fingerprint) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = install(f, c->fullchain_pem, c->key_pem, c->root_pem, &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(ts)", ret_generation, ret_fingerprint);
}

/*
 * Every property of the interface against what is on disk under current/:
 * the bus must describe exactly the certificate consumers read.
 */
void assert_properties(BusFixture *f, guint64 generation, const char *source, const char *state,
                              guint chain_length, const char *fingerprint, const char *last_error_prefix) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(f->conn, CERTD_NAME, CERTD_PATH,
                                                                "org.freedesktop.DBus.Properties", "GetAll",
                                                                g_variant_new("(s)", CERTD_INTERFACE),
                                                                G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                                                10000, NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) all = g_variant_get_child_value(reply, 0);
        g_autoptr(GVariantDict) d = g_variant_dict_new(all);
        X509 *leaf = read_current_leaf(f);
        CertInfo *info = NULL;
        g_assert_cmpint(cert_info_new(leaf, chain_length, &info), ==, 0);

        static const struct { const char *name, *type; } props[] = {
                { "Generation", "t" }, { "Source", "s" }, { "Subject", "s" }, { "Issuer", "s" },
                { "SerialNumber", "s" }, { "SubjectAlternativeNames", "as" }, { "NotBefore", "t" },
                { "NotAfter", "t" }, { "Fingerprint", "s" }, { "KeyType", "s" }, { "ChainLength", "u" },
                { "InstalledAt", "t" }, { "ServerName", "s" }, { "RequiredNames", "as" },
                { "DropDirectory", "s" }, { "State", "s" },
                { "Endpoints", "a(ssss)" }, { "LastError", "s" }, { "PendingRequests", "a(ssstt)" },
        };
        g_assert_cmpuint(g_variant_n_children(all), ==, G_N_ELEMENTS(props));
        for (size_t i = 0; i < G_N_ELEMENTS(props); i++) {
                g_autoptr(GVariant) v = g_variant_dict_lookup_value(d, props[i].name, NULL);
                if (!v)
                        g_error("property %s missing", props[i].name);
                g_assert_cmpstr(g_variant_get_type_string(v), ==, props[i].type);
        }

        guint64 t, installed_at;
        const char *s;
        g_assert_true(g_variant_dict_lookup(d, "Generation", "t", &t));
        g_assert_cmpuint(t, ==, generation);
        g_assert_true(g_variant_dict_lookup(d, "Source", "&s", &s));
        g_assert_cmpstr(s, ==, source);
        g_assert_true(g_variant_dict_lookup(d, "Subject", "&s", &s));
        g_assert_cmpstr(s, ==, info->subject);
        g_assert_true(g_variant_dict_lookup(d, "Issuer", "&s", &s));
        g_assert_cmpstr(s, ==, info->issuer);
        g_assert_true(g_variant_dict_lookup(d, "SerialNumber", "&s", &s));
        g_assert_cmpstr(s, ==, info->serial);
        g_assert_true(g_variant_dict_lookup(d, "Fingerprint", "&s", &s));
        g_assert_cmpstr(s, ==, info->fingerprint);
        if (fingerprint)
                g_assert_cmpstr(s, ==, fingerprint);
        g_assert_true(g_variant_dict_lookup(d, "KeyType", "&s", &s));
        g_assert_cmpstr(s, ==, info->key_type);
        g_assert_true(g_variant_dict_lookup(d, "NotBefore", "t", &t));
        g_assert_cmpuint(t, ==, info->not_before_usec);
        g_assert_true(g_variant_dict_lookup(d, "NotAfter", "t", &t));
        g_assert_cmpuint(t, ==, info->not_after_usec);
        guint32 u;
        g_assert_true(g_variant_dict_lookup(d, "ChainLength", "u", &u));
        g_assert_cmpuint(u, ==, chain_length);
        g_assert_true(g_variant_dict_lookup(d, "InstalledAt", "t", &installed_at));
        g_assert_cmpuint(installed_at, >, (guint64) (g_get_real_time() - (gint64) 3600 * G_USEC_PER_SEC));
        g_assert_cmpuint(installed_at, <=, (guint64) (g_get_real_time() + G_USEC_PER_SEC));
        g_assert_true(g_variant_dict_lookup(d, "ServerName", "&s", &s));
        g_assert_cmpstr(s, ==, SERVER_NAME);
        g_autofree char *drop = bus_fixture_path(f, "drop");
        g_assert_true(g_variant_dict_lookup(d, "DropDirectory", "&s", &s));
        g_assert_cmpstr(s, ==, drop);
        g_assert_true(g_variant_dict_lookup(d, "State", "&s", &s));
        g_assert_cmpstr(s, ==, state);
        g_assert_true(g_variant_dict_lookup(d, "LastError", "&s", &s));
        if (last_error_prefix) {
                if (!g_str_has_prefix(s, last_error_prefix))
                        g_error("LastError '%s' does not start with '%s'", s, last_error_prefix);
        } else
                g_assert_cmpstr(s, ==, "");

        g_autofree const char **alt = NULL;
        g_assert_true(g_variant_dict_lookup(d, "SubjectAlternativeNames", "^a&s", &alt));
        g_assert_cmpuint(g_strv_length((char **) alt), ==, g_strv_length(info->alt_names));
        for (size_t i = 0; alt[i]; i++)
                g_assert_cmpstr(alt[i], ==, info->alt_names[i]);

        cert_info_free(info);
        X509_free(leaf);
}

void assert_changed(BusFixture *f, guint from, const char *const *names) {
        g_autoptr(GHashTable) changed = bus_changed_properties(f, from);
        for (const char *const *n = names; *n; n++)
                if (!g_hash_table_contains(changed, *n))
                        g_error("no PropertiesChanged for %s", *n);
}

const char *const certificate_properties[] = {
        "Generation", "Source", "Subject", "Issuer", "SerialNumber", "SubjectAlternativeNames",
        "NotBefore", "NotAfter", "Fingerprint", "KeyType", "ChainLength", "InstalledAt", NULL
};

guint n_generations(BusFixture *f) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call(f, "ListGenerations", NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
        return (guint) g_variant_n_children(list);
}

/* A chain for SERVER_NAME, changed by tweak first. */
PkiChain *chain_with(void (*tweak)(PkiChainOptions *o)) {
        PkiChainOptions o = { .server_name = SERVER_NAME };
        if (tweak)
                tweak(&o);
        return pki_chain_new_full(&o);
}

/* InstallFiles with these descriptors (closed here). */
GVariant *install_fds(BusFixture *f, int cert, int key, int ca, GError **error) {
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(fds, cert, NULL), ==, 0);
        g_assert_cmpint(g_unix_fd_list_append(fds, key, NULL), ==, 1);
        g_assert_cmpint(g_unix_fd_list_append(fds, ca, NULL), ==, 2);
        close(cert);
        close(key);
        close(ca);
        return bus_call_with_fds(f, "InstallFiles", g_variant_new("(hhh)", 0, 1, 2), fds, error);
}

/* Takes (or releases) a well-known name on the fixture's connection, to stand in for a service. */
void request_name(BusFixture *f, const char *name, bool release) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus",
                                                            release ? "ReleaseName" : "RequestName",
                                                            release ? g_variant_new("(s)", name)
                                                                    : g_variant_new("(su)", name, 4u),
                                                            G_VARIANT_TYPE("(u)"), 0, 10000, NULL, &error);
        g_assert_no_error(error);
        guint32 v;
        g_variant_get(r, "(u)", &v);
        g_assert_cmpuint(v, ==, 1);
}
