#ifndef LLMLOAD_JSON_H
#define LLMLOAD_JSON_H
/* Thin hot-path helpers over jsmn (zero allocation), plus JSON string
 * escaping for request bodies. */
#include <stddef.h>
#include <stdint.h>

#define JSMN_HEADER
#include <jsmn.h>
#undef JSMN_HEADER

/* Tokenise js into toks.  Returns the token count, or a negative jsmn error. */
int json_tokenize(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks);

/* Index of the token just past the subtree starting at i. */
int json_skip(const jsmntok_t *t, int n, int i);

/* Index of the value of key `key` in the object at index obj, or -1. */
int json_find(const char *js, const jsmntok_t *t, int n, int obj, const char *key);

/* Token text equals s. */
int json_eq(const char *js, const jsmntok_t *t, const char *s);

/* Reads an integer (also accepts a float, truncated).  -1 on failure. */
int json_int64(const char *js, const jsmntok_t *t, int64_t *out);
int json_double(const char *js, const jsmntok_t *t, double *out);
int json_is_null(const char *js, const jsmntok_t *t);
int json_bool(const char *js, const jsmntok_t *t, int *out);

/* Decodes the JSON string escapes of s[0..len) into out (UTF-8).  Returns
 * the decoded length, or -1 on a bad escape or when out is too small. */
long json_unescape(const char *s, size_t len, char *out, size_t cap);

/* Appends s as a quoted JSON string into buf at *pos; -1 if it does not fit. */
int json_put_string(char *buf, size_t cap, size_t *pos, const char *s);

#endif
