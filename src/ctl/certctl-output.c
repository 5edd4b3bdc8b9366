/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How vertex-certctl prints: JSON for scripts, aligned lines for people.
 * Knows nothing of the bus or of validation; the verbs decide what to show.
 * The JSON writer is streaming and minimal on purpose: it escapes strings
 * and places commas, nothing more.
 */

#include <inttypes.h>
#include <stdarg.h>

#include "certctl-output.h"
#include "certctl-util.h"
#include "strv.h"

void json_init(Json *j, FILE *f) {
        *j = (Json) { .f = f };
        j->first[0] = true;
}

/* Comma before every value or key but the first of its container. */
static void json_separate(Json *j) {
        if (j->after_key) {
                j->after_key = false;
                return;
        }
        if (!j->first[j->depth])
                fputc(',', j->f);
        j->first[j->depth] = false;
}

static void json_open(Json *j, char c) {
        json_separate(j);
        fputc(c, j->f);
        if (j->depth + 1 < JSON_DEPTH_MAX)
                j->depth++;
        j->first[j->depth] = true;
}

static void json_close(Json *j, char c) {
        fputc(c, j->f);
        if (j->depth > 0)
                j->depth--;
}

void json_object_begin(Json *j) {
        json_open(j, '{');
}

void json_object_end(Json *j) {
        json_close(j, '}');
}

void json_array_begin(Json *j) {
        json_open(j, '[');
}

void json_array_end(Json *j) {
        json_close(j, ']');
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_sequence_length(const unsigned char *s) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
        } else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values beyond Unicode are not valid UTF-8. */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return n;
}

static void json_write_escaped(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20) {
                                fprintf(f, "\\u%04x", *p);
                                break;
                        }
                        n = utf8_sequence_length(p);
                        if (n == 0) {
                                /* Certificate strings are not guaranteed UTF-8; JSON must be. */
                                fputs("\\ufffd", f);
                                break;
                        }
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                p++;
        }
        fputc('"', f);
}

void json_key(Json *j, const char *key) {
        json_separate(j);
        json_write_escaped(j->f, key);
        fputc(':', j->f);
        j->after_key = true;
}

void json_string(Json *j, const char *s) {
        json_separate(j);
        if (s)
                json_write_escaped(j->f, s);
        else
                fputs("null", j->f);
}

void json_uint(Json *j, uint64_t v) {
        json_separate(j);
        fprintf(j->f, "%" PRIu64, v);
}

void json_int(Json *j, int64_t v) {
        json_separate(j);
        fprintf(j->f, "%" PRIi64, v);
}

void json_double(Json *j, double v) {
        json_separate(j);
        fprintf(j->f, "%.17g", v);
}

void json_bool(Json *j, bool b) {
        json_separate(j);
        fputs(b ? "true" : "false", j->f);
}

void json_null(Json *j) {
        json_separate(j);
        fputs("null", j->f);
}

void json_finish(Json *j) {
        fputc('\n', j->f);
        fflush(j->f);
}

void json_field_time(Json *j, const char *key, uint64_t usec) {
        char buf[FORMAT_TIMESTAMP_MAX], k[128];

        json_key(j, key);
        if (usec == 0)
                json_null(j);
        else
                json_string(j, format_timestamp_iso(buf, usec));
        snprintf(k, sizeof(k), "%s_usec", key);
        json_field_uint(j, k, usec);
}

void kv(const char *key, const char *format, ...) {
        va_list ap;

        printf("%*s: ", KV_WIDTH, key);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

void kv_more(const char *format, ...) {
        va_list ap;

        printf("%*s", KV_WIDTH + 2, "");
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

void kv_time(const char *key, uint64_t usec, uint64_t now) {
        char ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_RELATIVE_MAX];

        if (usec == 0) {
                kv(key, "n/a");
                return;
        }
        kv(key, "%s (%s)", format_timestamp(ts, usec), format_relative(rel, usec, now));
}

#define SANS_SHOWN_MAX 32

void cert_info_print(const CertInfo *info, uint64_t now) {
        kv("Subject", "%s", info->subject ?: "");
        kv("Issuer", "%s", info->issuer ?: "");
        kv("Serial", "%s", info->serial ?: "");
        if (!info->alt_names || !info->alt_names[0])
                kv("SANs", "none");
        else
                for (size_t i = 0; info->alt_names[i]; i++) {
                        if (i == SANS_SHOWN_MAX) {
                                /* A leaf with thousands of names would bury the verdict. */
                                kv_more("... and %zu more (--json lists them all)", strv_length(info->alt_names) - i);
                                break;
                        }
                        if (i == 0)
                                kv("SANs", "%s", info->alt_names[i]);
                        else
                                kv_more("%s", info->alt_names[i]);
                }
        kv_time("Valid from", info->not_before_usec, now);
        kv_time("Valid until", info->not_after_usec, now);
        kv("Fingerprint", "%s", info->fingerprint);
        kv("Key type", "%s", info->key_type);
}

void cert_info_json_fields(Json *j, const CertInfo *info) {
        json_field_string(j, "subject", info->subject);
        json_field_string(j, "issuer", info->issuer);
        json_field_string(j, "common_name", info->common_name);
        json_field_string(j, "serial", info->serial);
        json_key(j, "alt_names");
        json_array_begin(j);
        for (size_t i = 0; info->alt_names && info->alt_names[i]; i++)
                json_string(j, info->alt_names[i]);
        json_array_end(j);
        json_field_time(j, "not_before", info->not_before_usec);
        json_field_time(j, "not_after", info->not_after_usec);
        json_field_string(j, "fingerprint", info->fingerprint);
        json_field_string(j, "key_type", info->key_type);
        json_field_uint(j, "chain_length", info->chain_length);
}
