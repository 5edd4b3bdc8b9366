/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-gen-seeds: writes the PEM seed corpus of fuzz-pem into a directory.
 * Certificates are made with pki.h and dated around fuzz-pem's fixed clock
 * (FUZZ_NOW), not around today, so the committed seeds keep exercising the
 * accepted path however old they get. Run by hand when the seeds need to
 * change (HACKING.md); the build never runs it.
 *
 *   fuzz-gen-seeds DIR
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "fuzz-util.h"
#include "pki.h"

#define FUZZ_NOW INT64_C(1796083200)   /* keep in sync with fuzz-pem.c */
#define SERVER_NAME "fuzz.vertex.test"
#define SEP FUZZ_SEPARATOR

static const char *directory;
static int64_t delta;   /* FUZZ_NOW - now: pki.h's offsets are relative to now */

static void seed(const char *name, const char *content, size_t size) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", directory, name);
        f = fopen(path, "we");
        if (!f || fwrite(content, 1, size, f) != size || fclose(f) != 0) {
                perror(path);
                exit(EXIT_FAILURE);
        }
}

/* cert SEP key SEP authority [SEP options] */
static void seed_parts(const char *name, const char *cert, const char *key, const char *authority, const char *options) {
        char *s = pki_strcat(cert, SEP, key, SEP, authority, options ? SEP : "", options ?: "", NULL);
        seed(name, s, strlen(s));
        free(s);
}

static void dates(PkiChainOptions *o) {
        o->root.not_before_offset = o->intermediate.not_before_offset = delta - 365 * PKI_DAY;
        o->root.not_after_offset = o->intermediate.not_after_offset = delta + 3650 * PKI_DAY;
        o->leaf.not_before_offset = delta - 30 * PKI_DAY;
        o->leaf.not_after_offset = delta + 60 * PKI_DAY;
}

static PkiChain *chain(PkiChainOptions *o) {
        if (!o->server_name)
                o->server_name = SERVER_NAME;
        /* Explicit offsets are kept; zero ones get the fixed clock's window. */
        PkiChainOptions d = *o;
        dates(&d);
        if (o->leaf.not_before_offset || o->leaf.not_after_offset) {
                d.leaf.not_before_offset = delta + o->leaf.not_before_offset;
                d.leaf.not_after_offset = delta + o->leaf.not_after_offset;
        }
        return pki_chain_new_full(&d);
}

int main(int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "Usage: %s DIR\n", argv[0]);
                return EXIT_FAILURE;
        }
        directory = argv[1];
        delta = FUZZ_NOW - (int64_t) time(NULL);

        /* The accepted forms. */
        PkiChainOptions o = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256 };
        PkiChain *ec = chain(&o);
        seed_parts("valid-separate", ec->fullchain_pem, ec->key_pem, ec->root_pem, NULL);
        seed_parts("valid-combined", ec->bundle_pem, "", "", NULL);
        {
                char *crlf = pki_to_crlf(ec->bundle_pem);
                seed_parts("valid-combined-crlf", crlf, "", "", NULL);
                free(crlf);
        }
        {
                char *shuffled = pki_strcat("some text before\n", ec->intermediate_pem, "between\n",
                                            ec->leaf_pem, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                                            "-----END EC PARAMETERS-----\n", NULL);
                seed_parts("valid-shuffled-text", shuffled, ec->key_pem, ec->root_pem, NULL);
                free(shuffled);
        }
        {
                char *trad = pki_key_pem_traditional(ec->leaf_key, NULL);
                seed_parts("valid-ec-traditional-key", ec->fullchain_pem, trad, ec->root_pem, NULL);
                free(trad);
                /* Only the intermediate as the authority: it joins the chain, leaving no anchor. */
                seed_parts("intermediate-as-authority", ec->leaf_pem, ec->key_pem, ec->intermediate_pem, NULL);
                /* A CA bundle holding the intermediate too. */
                char *cabundle = pki_strcat(ec->intermediate_pem, ec->root_pem, NULL);
                seed_parts("valid-ca-bundle", ec->leaf_pem, ec->key_pem, cabundle, NULL);
                free(cabundle);
        }

        PkiChainOptions ro = {};
        PkiChain *rsa = chain(&ro);
        seed_parts("valid-rsa", rsa->fullchain_pem, rsa->key_pem, rsa->root_pem, NULL);
        {
                char *trad = pki_key_pem_traditional(rsa->leaf_key, NULL);
                seed_parts("valid-rsa-traditional-key", rsa->fullchain_pem, trad, rsa->root_pem, NULL);
                free(trad);
        }
        seed_parts("weak-key-strict", rsa->fullchain_pem, rsa->key_pem, rsa->root_pem, "strict");
        seed_parts("too-large-small", rsa->bundle_pem, "", "", "small");

        PkiChainOptions wo = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                               .leaf.dns_names = (const char *[]) { "*.vertex.test", NULL },
                               .leaf.ip_addresses = (const char *[]) { "192.0.2.10", "2001:db8::10", NULL } };
        PkiChain *wild = chain(&wo);
        seed_parts("valid-wildcard-ip", wild->fullchain_pem, wild->key_pem, wild->root_pem, NULL);

        /* Our own first-boot form: a self-signed leaf. */
        {
                EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 5);
                PkiCertOptions co = { .common_name = SERVER_NAME,
                                      .dns_names = (const char *[]) { SERVER_NAME, "localhost", NULL },
                                      .ip_addresses = (const char *[]) { "127.0.0.1", "::1", NULL },
                                      .not_before_offset = delta - PKI_DAY, .not_after_offset = delta + 365 * PKI_DAY };
                X509 *x = pki_cert_new(k, &co);
                char *c = pki_cert_pem(x), *kp = pki_key_pem(k, NULL);
                seed_parts("valid-self-signed", c, kp, "", "self-signed");
                seed_parts("self-signed-untrusted", c, kp, "", NULL);

                /* Binary forms an operator might drop: DER and PKCS#12. */
                size_t size;
                unsigned char *der = pki_cert_der(x, &size);
                seed("der-certificate", (const char *) der, size);
                free(der);
                unsigned char *p12 = pki_pkcs12(x, k, NULL, "secret", &size);
                seed("pkcs12", (const char *) p12, size);
                free(p12);
                free(c);
                free(kp);
                X509_free(x);
                EVP_PKEY_free(k);
        }

        /* Refusals, one per row of the validation table. */
        {
                char *enc = pki_key_pem(ec->leaf_key, "secret");
                seed_parts("encrypted-key-pkcs8", ec->fullchain_pem, enc, ec->root_pem, NULL);
                free(enc);
                enc = pki_key_pem_traditional(ec->leaf_key, "secret");
                seed_parts("encrypted-key-traditional", ec->fullchain_pem, enc, ec->root_pem, NULL);
                free(enc);
        }
        seed_parts("missing-key", ec->fullchain_pem, "", ec->root_pem, NULL);
        seed_parts("key-mismatch", ec->fullchain_pem, rsa->key_pem, ec->root_pem, NULL);
        {
                char *root_key = pki_key_pem(ec->root_key, NULL);
                seed_parts("ca-key-dropped", ec->fullchain_pem, root_key, ec->root_pem, NULL);
                free(root_key);
        }
        seed_parts("chain-incomplete", ec->leaf_pem, ec->key_pem, ec->root_pem, NULL);
        seed_parts("untrusted-no-authority", ec->fullchain_pem, ec->key_pem, "", NULL);
        seed_parts("untrusted-other-root", ec->fullchain_pem, ec->key_pem, rsa->root_pem, NULL);
        {
                char *extra = pki_strcat(ec->fullchain_pem, rsa->leaf_pem, NULL);
                seed_parts("unrelated-extra-cert", extra, ec->key_pem, ec->root_pem, NULL);
                free(extra);
        }

        PkiChainOptions eo = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                               .leaf.not_before_offset = -30 * PKI_DAY, .leaf.not_after_offset = -PKI_DAY };
        PkiChain *expired = chain(&eo);
        seed_parts("expired", expired->fullchain_pem, expired->key_pem, expired->root_pem, NULL);

        PkiChainOptions no = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                               .leaf.not_before_offset = PKI_DAY, .leaf.not_after_offset = 30 * PKI_DAY };
        PkiChain *notyet = chain(&no);
        seed_parts("not-yet-valid", notyet->fullchain_pem, notyet->key_pem, notyet->root_pem, NULL);

        PkiChainOptions mo = { .server_name = "other.vertex.test", .leaf_key_type = PKI_KEY_EC256,
                               .ca_key_type = PKI_KEY_EC256 };
        PkiChain *mismatch = chain(&mo);
        seed_parts("name-mismatch", mismatch->fullchain_pem, mismatch->key_pem, mismatch->root_pem, NULL);

        PkiChainOptions co = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                               .leaf.extended_key_usage = "clientAuth" };
        PkiChain *client = chain(&co);
        seed_parts("not-server-client-auth", client->fullchain_pem, client->key_pem, client->root_pem, NULL);

        PkiChainOptions weak = { .leaf_key_type = PKI_KEY_RSA1024, .ca_key_type = PKI_KEY_EC256 };
        PkiChain *w = chain(&weak);
        seed_parts("weak-key-rsa1024", w->fullchain_pem, w->key_pem, w->root_pem, NULL);

        PkiChainOptions sha1 = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                                 .leaf.digest = EVP_sha1() };
        PkiChain *s1 = chain(&sha1);
        seed_parts("weak-signature-sha1", s1->fullchain_pem, s1->key_pem, s1->root_pem, NULL);

        /* Valid in every row of the table, but its chain is over the 100 KiB TLS clients accept:
         * the pre-flight handshake refuses it (TooLarge). */
        PkiChainOptions many = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256, .extra_names = 4300 };
        PkiChain *big = chain(&many);
        seed_parts("too-large-chain-many-names", big->fullchain_pem, big->key_pem, big->root_pem, NULL);
        pki_chain_free(big);

        PkiChainOptions cao = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256, .leaf.ca = true };
        PkiChain *leafca = chain(&cao);
        seed_parts("not-server-leaf-is-ca", leafca->fullchain_pem, leafca->key_pem, leafca->root_pem, NULL);

        PkiChainOptions kuo = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                                .leaf.key_usage = "critical,keyAgreement" };
        PkiChain *ku = chain(&kuo);
        seed_parts("not-server-key-usage", ku->fullchain_pem, ku->key_pem, ku->root_pem, NULL);

        PkiChainOptions ipo = { .leaf_key_type = PKI_KEY_EC256, .ca_key_type = PKI_KEY_EC256,
                                .leaf.ip_addresses = (const char *[]) { "192.0.2.10", "2001:db8::10", NULL } };
        PkiChain *ip = chain(&ipo);
        seed_parts("name-mismatch-ip-only", ip->fullchain_pem, ip->key_pem, ip->root_pem, NULL);

        {
                /* Hand-made leaves under ec's intermediate: CN only (no SAN), and one issued by a non-CA. */
                EVP_PKEY *k = pki_key_pooled(PKI_KEY_EC256, 6);
                PkiCertOptions cn = { .common_name = SERVER_NAME, .issuer_cert = ec->intermediate,
                                      .issuer_key = ec->intermediate_key,
                                      .not_before_offset = delta - PKI_DAY, .not_after_offset = delta + 30 * PKI_DAY };
                X509 *x = pki_cert_new(k, &cn);
                char *c = pki_certs_pem(x, ec->intermediate, NULL), *kp = pki_key_pem(k, NULL);
                seed_parts("cn-only-no-san", c, kp, ec->root_pem, NULL);
                free(c);
                X509_free(x);

                PkiCertOptions bad = cn;
                bad.issuer_cert = ec->leaf;
                bad.issuer_key = ec->leaf_key;
                bad.dns_names = (const char *[]) { SERVER_NAME, NULL };
                x = pki_cert_new(k, &bad);
                c = pki_certs_pem(x, ec->leaf, ec->intermediate, NULL);
                seed_parts("issuer-not-ca", c, kp, ec->root_pem, NULL);
                free(c);
                free(kp);
                X509_free(x);
                EVP_PKEY_free(k);
        }

        /* Broken bytes. */
        {
                size_t len = strlen(ec->fullchain_pem);
                char *cut = strndup(ec->fullchain_pem, len / 2);
                seed_parts("truncated", cut, ec->key_pem, ec->root_pem, NULL);
                free(cut);
                char *bad = strdup(ec->leaf_pem);
                bad[strlen(bad) / 2] = '!';
                seed_parts("bad-base64", bad, ec->key_pem, ec->root_pem, NULL);
                free(bad);
        }
        seed_parts("garbage", "hello, this is not a certificate\n\x01\x02\xff", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "", NULL);
        seed_parts("csr-and-public-key",
                   "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n",
                   "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", "", NULL);
        seed("empty", "", 0);

        pki_chain_free(ec);
        pki_chain_free(rsa);
        pki_chain_free(wild);
        pki_chain_free(expired);
        pki_chain_free(notyet);
        pki_chain_free(mismatch);
        pki_chain_free(client);
        pki_chain_free(w);
        pki_chain_free(s1);
        pki_chain_free(leafca);
        pki_chain_free(ku);
        pki_chain_free(ip);
        return EXIT_SUCCESS;
}
