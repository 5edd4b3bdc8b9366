/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signing-request.c and store-pending.c: subjects and names, the CSR and its
 * key, and the pending area on disk (modes, listing, matching, expiry, a
 * crash's leftovers).
 */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "pki.h"
#include "signing-request.h"
#include "store-pending.h"

static void test_subject(void) {
        g_assert_cmpint(csr_check_subject("CN=a.example.com"), ==, 0);
        g_assert_cmpint(csr_check_subject("CN=a.example.com, O=Example, C=DE"), ==, 0);
        g_assert_cmpint(csr_check_subject("/CN=a/OU=b"), ==, 0);
        g_assert_cmpint(csr_check_subject(""), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("CN"), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("CN="), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("=x"), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("NOPE=x"), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("CN=a\tb"), ==, -EINVAL);
        g_assert_cmpint(csr_check_subject("C=Germany"), ==, -EINVAL);   /* countryName is two letters */
}

static void test_alt_names(void) {
        g_assert_cmpint(csr_check_alt_name("DNS:a.example.com"), ==, 0);
        g_assert_cmpint(csr_check_alt_name("DNS:*.example.com"), ==, 0);
        g_assert_cmpint(csr_check_alt_name("IP:192.0.2.1"), ==, 0);
        g_assert_cmpint(csr_check_alt_name("IP:2001:db8::1"), ==, 0);
        g_assert_cmpint(csr_check_alt_name("a.example.com"), ==, -EINVAL);
        g_assert_cmpint(csr_check_alt_name("DNS:192.0.2.1"), ==, -EINVAL);
        g_assert_cmpint(csr_check_alt_name("DNS:a,b"), ==, -EINVAL);
        g_assert_cmpint(csr_check_alt_name("IP:example.com"), ==, -EINVAL);
        g_assert_cmpint(csr_check_alt_name("IP:300.1.1.1"), ==, -EINVAL);
        g_assert_cmpint(csr_check_alt_name("URI:https://x"), ==, -EINVAL);
}

static void test_key_types(void) {
        g_assert_cmpint(csr_key_type_from_string("EC P-256"), ==, CSR_KEY_EC_P256);
        g_assert_cmpint(csr_key_type_from_string("RSA 4096"), ==, CSR_KEY_RSA_4096);
        g_assert_cmpint(csr_key_type_from_string("rsa 4096"), ==, -EINVAL);
        g_assert_cmpint(csr_key_type_from_string("RSA 1024"), ==, -EINVAL);
        for (CsrKeyType t = 0; t < _CSR_KEY_MAX; t++)
                g_assert_cmpint(csr_key_type_from_string(csr_key_type_to_string(t)), ==, (int) t);
}

static void test_generate(void) {
        char *names[] = { (char *) "DNS:a.example.com", (char *) "IP:192.0.2.1", NULL };
        EVP_PKEY *key = NULL;
        char *pem = NULL;

        g_assert_cmpint(csr_generate(CSR_KEY_EC_P384, "CN=a.example.com,O=Ex", names, &key, &pem), ==, 0);
        BIO *bio = BIO_new_mem_buf(pem, -1);
        X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
        BIO_free(bio);
        g_assert_nonnull(req);
        g_assert_cmpint(X509_REQ_verify(req, key), ==, 1);
        g_assert_cmpint(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), ==, 1);
        g_assert_cmpint(EVP_PKEY_get_bits(key), ==, 384);
        char buf[256];
        X509_NAME_oneline(X509_REQ_get_subject_name(req), buf, sizeof(buf));
        g_assert_cmpstr(buf, ==, "/CN=a.example.com/O=Ex");
        X509_REQ_free(req);
        EVP_PKEY_free(key);
        free(pem);

        char *bad[] = { (char *) "a.example.com", NULL };
        key = NULL;
        g_assert_cmpint(csr_generate(CSR_KEY_EC_P256, "CN=x", bad, &key, &pem), ==, -EINVAL);
        g_assert_null(key);
}

static void test_pending(void) {
        g_autofree char *dir = g_dir_make_tmp("pending-XXXXXX", NULL);
        EVP_PKEY *key = NULL, *found = NULL;
        char *pem = NULL, id_found[PENDING_ID_MAX];
        PendingRequest p = { .subject = (char *) "CN=a.example.com", .key_type = (char *) "EC P-256",
                             .created_usec = 1000, .expires_usec = UINT64_MAX / 2 };
        PendingRequest *list = NULL;
        size_t n = 0;
        struct stat st;

        g_assert_cmpint(pending_new_id(p.id), ==, 0);
        g_assert_true(pending_id_valid(p.id));
        g_assert_false(pending_id_valid("../x"));
        g_assert_cmpint(csr_generate(CSR_KEY_EC_P256, p.subject, NULL, &key, &pem), ==, 0);
        g_assert_cmpint(pending_write(dir, &p, key, pem), ==, 0);

        g_autofree char *key_path = g_strdup_printf("%s/pending/%s/key.pem", dir, p.id);
        g_autofree char *pending_dir = g_strdup_printf("%s/pending", dir);
        g_assert_cmpint(stat(key_path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpint(stat(pending_dir, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);

        g_assert_cmpint(pending_list(dir, &list, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpstr(list[0].id, ==, p.id);
        g_assert_cmpstr(list[0].subject, ==, p.subject);
        g_assert_cmpstr(list[0].key_type, ==, p.key_type);
        g_assert_cmpuint(list[0].created_usec, ==, 1000);
        pending_request_array_free(list, n);

        /* Matching by public key: the request's key for a certificate of that key, nothing for another. */
        PkiCertOptions o = { .common_name = "a.example.com" };
        X509 *cert = pki_cert_new(key, &o);
        g_assert_cmpint(pending_find_key(dir, cert, &found, id_found), ==, 1);
        g_assert_cmpstr(id_found, ==, p.id);
        g_assert_cmpint(EVP_PKEY_eq(found, key), ==, 1);
        EVP_PKEY_free(found);
        X509_free(cert);
        EVP_PKEY *other = pki_key_pooled(PKI_KEY_EC256, 5);
        cert = pki_cert_new(other, &o);
        g_assert_cmpint(pending_find_key(dir, cert, &found, id_found), ==, 0);
        X509_free(cert);
        EVP_PKEY_free(other);

        /* A crash's leftover is removed by pending_clean() and never listed. */
        g_autofree char *tmp = g_strdup_printf("%s/pending/.tmp-0123", dir);
        g_assert_cmpint(g_mkdir(tmp, 0700), ==, 0);
        g_assert_cmpint(pending_clean(dir), ==, 0);
        g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));

        /* Expiry: not yet, then after. */
        g_assert_cmpint(pending_prune(dir, 2000), ==, 0);
        g_assert_cmpint(pending_prune(dir, UINT64_MAX / 2), ==, 1);
        g_assert_false(g_file_test(key_path, G_FILE_TEST_EXISTS));
        g_assert_cmpint(pending_list(dir, &list, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        g_assert_cmpint(pending_remove(dir, p.id), ==, -ENOENT);

        EVP_PKEY_free(key);
        free(pem);
        g_assert_cmpint(g_rmdir(pending_dir), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/signing-request/subject", test_subject);
        g_test_add_func("/signing-request/alt-names", test_alt_names);
        g_test_add_func("/signing-request/key-types", test_key_types);
        g_test_add_func("/signing-request/generate", test_generate);
        g_test_add_func("/signing-request/pending", test_pending);
        return g_test_run();
}
