#ifndef LLMLOAD_JSON_H
#define LLMLOAD_JSON_H
/* Thin hot-path helpers over jsmn (zero allocation), plus JSON string
 * escaping for request bodies.
 *
 * jsmn is header-only: json.c is the one translation unit that instantiates
 * it (strict mode); everyone else sees only the declarations below.  Token
 * text is js[t->start .. t->end) and is NOT NUL-terminated: every helper
 * here reads exactly that range and never past it. */
#include <stddef.h>
#include <stdint.h>

/* Parent links make jsmn close containers without scanning back over
 * every token (about 15% faster on chat chunks).  They change the layout
 * of jsmntok_t, so include jsmn only through this header. */
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>
#undef JSMN_HEADER

/* One complete value followed by more than whitespace (a second value,
 * garbage, a NUL): the fourth error, after jsmn's three. */
#define JSON_ERROR_TRAIL (-4)

/* Tokenise js[0..len) into toks.  Returns the token count, or a negative
 * error: JSMN_ERROR_NOMEM (toks too small), JSMN_ERROR_PART (cut short),
 * JSON_ERROR_TRAIL, or JSMN_ERROR_INVAL for anything else that is not
 * JSON.  jsmn (strict) checks brackets, strings and the first byte of a
 * primitive; json_tokenize adds the rest of the grammar: members are
 * "key":value pairs separated by single commas, array elements are
 * separated by single commas, no separator dangles, and every primitive
 * is exactly true, false, null or a JSON number.  The check is one pass
 * over the tokens that reads only the bytes between them. */
int json_tokenize(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks);

/* Like json_tokenize, but when toks runs out (JSMN_ERROR_NOMEM) and the
 * top-level value is an object, the object is tokenised member by member
 * and every member value that does not fit in the tokens left is replaced
 * by one childless token of its type (size 0, start/end still spanning the
 * whole value).  This is how a 50,000-element Ollama `context` array is
 * skipped while the scalar fields around it are still read, without
 * allocating.  Returns the token count or a negative jsmn error. */
int json_tokenize_elide(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks);
/* (An elided value is only scanned for its extent, strings and brackets;
 * every value that is tokenised gets json_tokenize's checks.) */

/* Index of the token just past the subtree starting at i (n when the
 * subtree runs to the end). */
int json_skip(const jsmntok_t *t, int n, int i);

/* Index of the value of key `key` in the object at index obj, or -1 (also
 * when obj is not an object).  Keys are compared as raw (escaped) text. */
int json_find(const char *js, const jsmntok_t *t, int n, int obj, const char *key);

/* A key to look for with json_members; JSON_KEY("name") fills the length. */
struct json_key { const char *name; unsigned len; };
#define JSON_KEY(s) { (s), (unsigned)(sizeof(s) - 1) }

/* One pass over the members of the object at index obj: out[k] gets the
 * index of the value of keys[k], or -1 when absent (all -1 when obj is not
 * an object).  When a key repeats, the first one wins, as with
 * json_find.  Returns how many keys were found.  This is the hot-path
 * lookup: one walk instead of one json_find per key. */
int json_members(const char *js, const jsmntok_t *t, int n, int obj,
                 const struct json_key *keys, int nkeys, int *out);

/* Index of element idx of the array at index arr, or -1. */
int json_index(const jsmntok_t *t, int n, int arr, int idx);

/* Token text equals s (raw text, no unescaping). */
int json_eq(const char *js, const jsmntok_t *t, const char *s);

/* Reads a number token.  json_int64 also accepts a float and truncates it
 * toward zero.  Both return 0, or -1 when the token is not a number (or is
 * out of int64 range). */
int json_int64(const char *js, const jsmntok_t *t, int64_t *out);
int json_double(const char *js, const jsmntok_t *t, double *out);
int json_is_null(const char *js, const jsmntok_t *t);
/* 0 and *out set for true/false, -1 otherwise. */
int json_bool(const char *js, const jsmntok_t *t, int *out);

/* Decodes the JSON string escapes of s[0..len) into out (UTF-8).  Returns
 * the decoded length, or -1 on a bad escape or when out is too small.
 * A lone UTF-16 surrogate decodes to U+FFFD (servers that cut a character
 * in half emit them); out may equal s (decoding in place is safe, since the
 * output is never longer than the input). */
long json_unescape(const char *s, size_t len, char *out, size_t cap);

/* Appends s as a quoted JSON string into buf at *pos; -1 if it does not
 * fit (then *pos is unchanged).  Quotes, backslashes and control bytes are
 * escaped; other bytes (UTF-8) pass through.  The result is NUL-terminated
 * when room is left for it, but the NUL is not counted in *pos. */
int json_put_string(char *buf, size_t cap, size_t *pos, const char *s);

#endif
