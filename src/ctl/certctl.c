/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vertex-certctl: the operator's command line. Parses options and picks the
 * verb; the verbs live in certctl-offline.c (no daemon) and certctl-bus.c
 * (vertex-certd over the system bus). Nothing here reads a file or touches
 * the bus.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "build-config.h"
#include "certctl.h"
#include "macro.h"
#include "strv.h"

/* Which options a verb accepts, so a misplaced one is an error rather than silently ignored. */
enum {
        OPT_FILES   = 1 << 0,   /* --cert --key --ca */
        OPT_OFFLINE = 1 << 1,   /* --offline --server-name --policy --trust-store */
        OPT_REQUEST = 1 << 2,   /* --key-type --subject --alt-name --output */
        OPT_PKCS12  = 1 << 3,   /* --pkcs12 --password-file */
};

typedef struct Verb {
        const char *name;
        int (*run)(const CertctlArgs *a);
        unsigned min_args, max_args;
        unsigned options;
        const char *synopsis;
        const char *help;
} Verb;

static int verb_install_any(const CertctlArgs *a) {
        return a->pkcs12 ? verb_install_pkcs12(a) : verb_install(a);
}

static int verb_validate(const CertctlArgs *a) {
        return a->offline ? verb_validate_offline(a) : verb_validate_bus(a);
}

static const Verb verbs[] = {
        { "status", verb_status, 0, 0, 0,
          "status",
          "Show the certificate vertex-certd serves, where it came from, when it\n"
          "expires and what each endpoint serves.\n" },
        { "install", verb_install_any, 0, 0, OPT_FILES | OPT_PKCS12,
          "install --cert FILE [--key FILE] [--ca FILE]\n"
          "        install --pkcs12 FILE [--password-file FILE]",
          "Hand a bundle to vertex-certd: it is validated, stored as a new generation,\n"
          "the endpoints are reloaded and checked; on any failure the previous\n"
          "certificate stays. The files are passed as file descriptors. --key may be\n"
          "left out when the --cert file holds the key too, or when the certificate\n"
          "answers a pending signing request (see 'request'): its key is used. Needs\n"
          "authorization (polkit action org.vertex.certificates.manage).\n"
          "With --pkcs12 a .p12/.pfx file is installed; its password comes from\n"
          "--password-file, from $VERTEX_CERTCTL_PKCS12_PASSWORD, or is asked on the\n"
          "terminal (never an argument: ps shows those to everyone).\n" },
        { "validate", verb_validate, 0, 0, OPT_FILES | OPT_OFFLINE,
          "validate [--offline [--server-name NAME...] [--policy fips|strict] [--trust-store FILE]\n"
          "         [--config FILE]] --cert FILE [--key FILE] [--ca FILE]",
          "Check a bundle without installing it. With --offline the checks run here,\n"
          "against every --server-name and --policy (default fips); without\n"
          "--server-name, against the names (ServerName=, AccessNames=), policy and\n"
          "trust store of the daemon's configuration on this host. Without --offline,\n"
          "vertex-certd checks it against its configuration. Without --ca the chain\n"
          "must lead to the system trust store (or to --trust-store FILE).\n"
          "Exit status 0 when valid, 1 when not (\"ErrorName: message\" on stderr).\n" },
        { "inspect", verb_inspect, 1, UINT32_MAX, 0,
          "inspect FILE...",
          "Show every certificate in PEM files: subject, issuer, serial, SANs,\n"
          "validity, fingerprint, key type, and whether it is a CA.\n" },
        { "rollback", verb_rollback, 0, 0, 0,
          "rollback",
          "Serve the previous generation again. Needs authorization.\n" },
        { "regenerate", verb_regenerate, 0, 0, 0,
          "regenerate",
          "Replace the served certificate with a new self-signed one for the\n"
          "configured ServerName= and AlternativeNames=. Needs authorization.\n" },
        { "generations", verb_generations, 0, 0, 0,
          "generations",
          "List the stored generations; * marks the one being served.\n" },
        { "request", verb_request, 0, 0, OPT_REQUEST,
          "request [--key-type TYPE] [--subject DN] [--alt-name NAME]... [--output FILE]",
          "Have vertex-certd make a new key and a certificate signing request (CSR)\n"
          "for it, and print the CSR (or write it to --output FILE). The key stays on\n"
          "this machine; install the signed certificate with 'install --cert FILE\n"
          "--ca FILE' and no --key. --key-type: \"EC P-256\" (default), \"EC P-384\",\n"
          "\"RSA 2048\", \"RSA 3072\", \"RSA 4096\". --subject: a DN, default\n"
          "CN=ServerName. --alt-name DNS:NAME or IP:ADDRESS, repeatable; default\n"
          "ServerName= and AlternativeNames=. Needs authorization.\n" },
        { "requests", verb_requests, 0, 0, 0,
          "requests",
          "List the pending signing requests: id, key type, created, expires, subject.\n" },
        { "cancel-request", verb_cancel_request, 1, 1, 0,
          "cancel-request ID",
          "Forget a pending signing request and remove its key. Needs authorization.\n" },
        { "reload", verb_reload, 0, 0, 0,
          "reload",
          "Reload the endpoints and check what they serve. Needs authorization.\n" },
};

/* The option groups the command line used, judged from what the options set. */
static unsigned options_used(const CertctlArgs *a) {
        unsigned used = 0;

        if (a->cert || a->key || a->ca)
                used |= OPT_FILES;
        if (a->offline || a->server_name || a->policy_set || a->trust_store || a->config)
                used |= OPT_OFFLINE;
        if (a->key_type || a->subject || a->alt_names || a->output)
                used |= OPT_REQUEST;
        if (a->pkcs12 || a->password_file)
                used |= OPT_PKCS12;
        return used;
}

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return verbs + i;
        return NULL;
}

static const char options_help[] =
        "Options:\n"
        "  -h --help             Show this help (after a command: that command's help)\n"
        "     --version          Show the version\n"
        "     --json             Print one JSON object on stdout, for scripts\n"
        "     --no-ask-password  Do not let polkit ask for a password\n"
        "     --offline          validate: check here, without the daemon\n"
        "     --server-name NAME validate --offline: DNS name or IP the certificate must cover;\n"
        "                        repeat it for every name clients use (ServerName= and AccessNames=)\n"
        "     --policy POLICY    validate --offline: fips (default) or strict\n"
        "     --trust-store FILE validate --offline: anchors when --ca is not given\n"
        "                        (default: the system trust store)\n"
        "     --config FILE      validate --offline without --server-name: take the names,\n"
        "                        policy and trust store from this certd.conf (default: the\n"
        "                        daemon's, " CONFIG_FILE ", when it exists)\n"
        "     --cert FILE        Certificate and chain (PEM), possibly with key and CA\n"
        "     --key FILE         Private key (PEM, unencrypted)\n"
        "     --ca FILE          Certificate authority (PEM)\n"
        "     --key-type TYPE    request: \"EC P-256\" (default), \"EC P-384\", \"RSA 2048|3072|4096\"\n"
        "     --subject DN       request: subject, default CN=ServerName\n"
        "     --alt-name NAME    request: DNS:NAME or IP:ADDRESS, repeatable\n"
        "     --output FILE      request: write the CSR to FILE instead of stdout\n"
        "     --pkcs12 FILE      install: a .p12/.pfx file (certificate, key and chain)\n"
        "     --password-file FILE  install --pkcs12: its password (else $VERTEX_CERTCTL_PKCS12_PASSWORD,\n"
        "                        else asked on the terminal)\n";

static const char exit_help[] =
        "Exit status: 0 success (valid), 1 invalid bundle or error from the daemon,\n"
        "2 usage error, unreadable file or no bus.\n";

static void help(void) {
        printf("vertex-certctl [OPTIONS...] COMMAND ...\n\n"
               "Check and manage the appliance's TLS certificate.\n\n"
               "Without the daemon:\n"
               "  validate --offline [--server-name NAME...] --cert FILE [--key FILE] [--ca FILE]\n"
               "                         Check a bundle exactly as vertex-certd would\n"
               "  inspect FILE...        Show every certificate in PEM files\n\n"
               "With vertex-certd (system bus):\n"
               "  status                 Show the served certificate and the endpoints\n"
               "  install --cert FILE [--key FILE] [--ca FILE]\n"
               "                         Install a bundle (no --key: a pending request's key)\n"
               "  install --pkcs12 FILE [--password-file FILE]\n"
               "                         Install a PKCS#12 file\n"
               "  request [--key-type TYPE] [--subject DN] [--alt-name NAME]... [--output FILE]\n"
               "                         Make a key here and print a signing request for it\n"
               "  requests               List the pending signing requests\n"
               "  cancel-request ID      Forget a pending signing request and its key\n"
               "  validate --cert FILE [--key FILE] [--ca FILE]\n"
               "                         Ask the daemon whether it would accept a bundle\n"
               "  rollback               Serve the previous generation again\n"
               "  regenerate             Replace it with a new self-signed certificate\n"
               "  generations            List the stored generations\n"
               "  reload                 Reload the endpoints and check what they serve\n\n"
               "%s\n%s\nSee vertex-certctl(1); '%s COMMAND --help' for one command.\n",
               options_help, exit_help, program_invocation_short_name);
}

static void help_verb(const Verb *v) {
        printf("vertex-certctl %s\n\n%s\n%s\n%s", v->synopsis, v->help, options_help, exit_help);
}

/* Fills *a; returns -1 to go on, or the exit code (--version, a bad option). */
static int parse_argv(int argc, char *argv[], CertctlArgs *a, bool *show_help) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_ASK_PASSWORD,
                ARG_OFFLINE,
                ARG_SERVER_NAME,
                ARG_POLICY,
                ARG_TRUST_STORE,
                ARG_CONFIG,
                ARG_CERT,
                ARG_KEY,
                ARG_CA,
                ARG_KEY_TYPE,
                ARG_SUBJECT,
                ARG_ALT_NAME,
                ARG_OUTPUT,
                ARG_PKCS12,
                ARG_PASSWORD_FILE,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "json",            no_argument,       NULL, ARG_JSON            },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "offline",         no_argument,       NULL, ARG_OFFLINE         },
                { "server-name",     required_argument, NULL, ARG_SERVER_NAME     },
                { "policy",          required_argument, NULL, ARG_POLICY          },
                { "trust-store",     required_argument, NULL, ARG_TRUST_STORE     },
                { "config",          required_argument, NULL, ARG_CONFIG          },
                { "cert",            required_argument, NULL, ARG_CERT            },
                { "key",             required_argument, NULL, ARG_KEY             },
                { "ca",              required_argument, NULL, ARG_CA              },
                { "key-type",        required_argument, NULL, ARG_KEY_TYPE        },
                { "subject",         required_argument, NULL, ARG_SUBJECT         },
                { "alt-name",        required_argument, NULL, ARG_ALT_NAME        },
                { "output",          required_argument, NULL, ARG_OUTPUT          },
                { "pkcs12",          required_argument, NULL, ARG_PKCS12          },
                { "password-file",   required_argument, NULL, ARG_PASSWORD_FILE   },
                {}
        };
        int c, p;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        *show_help = true;
                        break;
                case ARG_VERSION:
                        printf("vertex-certctl %s\n", PACKAGE_VERSION);
                        return CERTCTL_EXIT_OK;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        a->ask_password = false;
                        break;
                case ARG_OFFLINE:
                        a->offline = true;
                        break;
                case ARG_SERVER_NAME:
                        /* Repeatable, as the configuration has ServerName= and AccessNames=. */
                        if (!a->server_name)
                                a->server_name = optarg;
                        else if (strv_extend(&a->access_names, optarg) < 0) {
                                fprintf(stderr, "Out of memory.\n");
                                return CERTCTL_EXIT_USAGE;
                        }
                        break;
                case ARG_POLICY:
                        p = validate_policy_from_string(optarg);
                        if (p < 0) {
                                fprintf(stderr, "Unknown policy '%s', expected fips or strict.\n", optarg);
                                return CERTCTL_EXIT_USAGE;
                        }
                        a->policy = (ValidatePolicy) p;
                        a->policy_set = true;
                        break;
                case ARG_TRUST_STORE:
                        a->trust_store = optarg;
                        break;
                case ARG_CONFIG:
                        a->config = optarg;
                        break;
                case ARG_CERT:
                        a->cert = optarg;
                        break;
                case ARG_KEY:
                        a->key = optarg;
                        break;
                case ARG_CA:
                        a->ca = optarg;
                        break;
                case ARG_KEY_TYPE:
                        a->key_type = optarg;
                        break;
                case ARG_SUBJECT:
                        a->subject = optarg;
                        break;
                case ARG_ALT_NAME:
                        if (strv_extend(&a->alt_names, optarg) < 0) {
                                fprintf(stderr, "Out of memory.\n");
                                return CERTCTL_EXIT_USAGE;
                        }
                        break;
                case ARG_OUTPUT:
                        a->output = optarg;
                        break;
                case ARG_PKCS12:
                        a->pkcs12 = optarg;
                        break;
                case ARG_PASSWORD_FILE:
                        a->password_file = optarg;
                        break;
                default:
                        return CERTCTL_EXIT_USAGE;
                }
        return -1;
}

int main(int argc, char *argv[]) {
        CertctlArgs a = {
                .ask_password = true,
                .policy = VALIDATE_POLICY_FIPS,
        };
        bool show_help = false;
        unsigned used;
        int r;

        r = parse_argv(argc, argv, &a, &show_help);
        if (r >= 0)
                return r;

        if (optind >= argc || streq(argv[optind], "help")) {
                const Verb *v = optind + 1 < argc ? verb_find(argv[optind + 1]) : NULL;

                if (v)
                        help_verb(v);
                else if (show_help || optind < argc)
                        help();
                else {
                        fprintf(stderr, "No command given; see '%s --help'.\n", program_invocation_short_name);
                        return CERTCTL_EXIT_USAGE;
                }
                return CERTCTL_EXIT_OK;
        }

        const Verb *v = verb_find(argv[optind]);
        if (!v) {
                fprintf(stderr, "Unknown command '%s'; see '%s --help'.\n", argv[optind], program_invocation_short_name);
                return CERTCTL_EXIT_USAGE;
        }
        if (show_help) {
                help_verb(v);
                return CERTCTL_EXIT_OK;
        }

        unsigned n_args = (unsigned) (argc - optind - 1);
        if (n_args < v->min_args || n_args > v->max_args) {
                fprintf(stderr, "Wrong number of arguments for '%s'; usage: vertex-certctl %s\n", v->name, v->synopsis);
                return CERTCTL_EXIT_USAGE;
        }
        used = options_used(&a);
        if (used & ~v->options) {
                fprintf(stderr, "'%s' takes none of %s; usage: vertex-certctl %s\n", v->name,
                        (used & ~v->options & OPT_OFFLINE) ? "--offline, --server-name, --policy, --trust-store, --config" :
                        (used & ~v->options & OPT_REQUEST) ? "--key-type, --subject, --alt-name, --output" :
                        (used & ~v->options & OPT_PKCS12)  ? "--pkcs12, --password-file"
                                                           : "--cert, --key, --ca",
                        v->synopsis);
                return CERTCTL_EXIT_USAGE;
        }
        a.positional = argv + optind + 1;

        r = v->run(&a);
        strv_free(a.alt_names);
        strv_free(a.access_names);
        return r;
}
