/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vertex-certctl output: a streaming JSON writer (one object per command, on
 * one line), hostnamectl-style aligned "Key: value" lines, and both
 * renderings of a CertInfo.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "certinfo.h"
#include "macro.h"

#define JSON_DEPTH_MAX 32

typedef struct Json {
        FILE *f;
        unsigned depth;
        bool after_key;
        bool first[JSON_DEPTH_MAX];
} Json;

void json_init(Json *j, FILE *f);
void json_object_begin(Json *j);
void json_object_end(Json *j);
void json_array_begin(Json *j);
void json_array_end(Json *j);
void json_key(Json *j, const char *key);
void json_string(Json *j, const char *s);        /* NULL: null */
void json_uint(Json *j, uint64_t v);
void json_int(Json *j, int64_t v);
void json_double(Json *j, double v);
void json_bool(Json *j, bool b);
void json_null(Json *j);
/* Ends the document with a newline and flushes. */
void json_finish(Json *j);

/* The usual shape of an answer: one object on f. */
static inline void json_open_object(Json *j, FILE *f) {
        json_init(j, f);
        json_object_begin(j);
}
static inline void json_close_object(Json *j) {
        json_object_end(j);
        json_finish(j);
}

static inline void json_field_string(Json *j, const char *key, const char *s) {
        json_key(j, key);
        json_string(j, s);
}
static inline void json_field_uint(Json *j, const char *key, uint64_t v) {
        json_key(j, key);
        json_uint(j, v);
}
static inline void json_field_bool(Json *j, const char *key, bool b) {
        json_key(j, key);
        json_bool(j, b);
}
/* "key": "2026-…Z", "key_usec": N */
void json_field_time(Json *j, const char *key, uint64_t usec);

/* Width of the right-aligned key column, as hostnamectl does it. */
#define KV_WIDTH 14

/* "     Subject: CN=…" */
void kv(const char *key, const char *format, ...) _printf_(2, 3);
/* A continuation line under the value column. */
void kv_more(const char *format, ...) _printf_(1, 2);
/* "  Valid until: Tue 2026-… (in 89 days)" */
void kv_time(const char *key, uint64_t usec, uint64_t now);

/* Subject, issuer, serial, SANs, validity, fingerprint, key type. */
void cert_info_print(const CertInfo *info, uint64_t now);
/* The same fields (chain_length included) as members of the JSON object being written. */
void cert_info_json_fields(Json *j, const CertInfo *info);
