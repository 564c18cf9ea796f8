/* json: hot-path helpers over jsmn.  This is the one translation unit that
 * instantiates jsmn, in strict mode, so that malformed chunks are reported
 * as protocol errors instead of being half-understood. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

#include "utf8.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *js, size_t len, size_t i)
{
    while (i < len && is_ws(js[i]))
        i++;
    return i;
}

/* End (exclusive) of the text of top-level token 0: jsmn's string tokens
 * exclude their closing quote. */
static size_t tok_text_end(const jsmntok_t *t)
{
    return (size_t)t->end + (t->type == JSMN_STRING ? 1 : 0);
}

/* A primitive jsmn let through is JSON: strict jsmn only looks at the
 * first byte, so `tru` and `1.2.3` would pass. */
static int primitive_ok(const char *js, const jsmntok_t *t)
{
    const char *p = js + t->start, *e = js + t->end;
    size_t n = (size_t)(e - p);

    switch (*p) {
    case 't': return n == 4 && p[1] == 'r' && p[2] == 'u' && p[3] == 'e';
    case 'f': return n == 5 && p[1] == 'a' && p[2] == 'l' && p[3] == 's' && p[4] == 'e';
    case 'n': return n == 4 && p[1] == 'u' && p[2] == 'l' && p[3] == 'l';
    default: break;
    }
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (p < e && *p == '.') {
        const char *d = ++p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        const char *d;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        d = p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    return p == e;
}

/* Where a token's head ends: after a string's closing quote, a
 * primitive, or the bracket that opens a container. */
static size_t head_end(const jsmntok_t *t)
{
    return t->type == JSMN_OBJECT || t->type == JSMN_ARRAY ? (size_t)t->start + 1 : tok_text_end(t);
}

/* What may stand between two tokens: whitespace, the closing brackets of
 * the containers that ended, then exactly one separator.  GAP_CLOSE is
 * the end of the document: brackets and whitespace, no separator. */
enum { GAP_NONE = 0, GAP_CLOSE = 1 };

static int gap_slow(const char *js, size_t a, size_t b, char sep)
{
    int seen = 0;

    for (; a < b; a++) {
        char c = js[a];

        if (is_ws(c))
            continue;
        if ((c == '}' || c == ']') && !seen && (sep == ',' || sep == GAP_CLOSE))
            continue;
        if (c == sep && !seen && sep != GAP_CLOSE) {
            seen = 1;
            continue;
        }
        return 0;
    }
    return seen || sep == GAP_NONE || sep == GAP_CLOSE;
}

/* Compact JSON has nothing, or the separator alone, between two tokens:
 * that case costs a compare. */
static inline int gap_ok(const char *js, size_t a, size_t b, char sep)
{
    if (b - a == 1 && js[a] == sep)
        return sep != GAP_CLOSE;
    if (a == b)
        return sep == GAP_NONE || sep == GAP_CLOSE;
    return gap_slow(js, a, b, sep);
}

/* jsmn matches brackets but not the grammar between them: it takes
 * {"a" "b"} for an object of two strings, [1 2] for an array, ["a":1] and
 * {"a"::1} too.  Every token is checked against its parent (an object
 * holds keys of exactly one value; a key's value follows it; a primitive
 * holds nothing) and against the bytes between it and the token before
 * it.  One pass over the tokens, touching only the bytes between them. */
static int json_check(const char *js, const jsmntok_t *t, int n)
{
    size_t prev_end = head_end(&t[0]);

    for (int i = 1; i < n; i++) {
        const jsmntok_t *c = &t[i];
        int p = c->parent;
        jsmntype_t pt;
        char sep;

        if ((unsigned)p >= (unsigned)i)
            return -1;
        pt = t[p].type;
        /* A string is a key (one child) exactly when its parent is an
         * object; nothing else may sit in an object (strict jsmn already
         * refuses most of it). */
        if (c->type == JSMN_STRING) {
            if (c->size != (pt == JSMN_OBJECT))
                return -1;
            if (!gap_ok(js, prev_end, (size_t)c->start - 1, pt == JSMN_STRING ? ':' :
                                                            p == i - 1 ? GAP_NONE : ','))
                return -1;
            prev_end = (size_t)c->end + 1;
            continue;
        }
        if (pt == JSMN_OBJECT)
            return -1;
        if (pt == JSMN_STRING) {            /* the value of key p, right after it */
            if (p != i - 1)
                return -1;
            sep = ':';
        } else if (pt == JSMN_PRIMITIVE) {
            return -1;
        } else {
            sep = p == i - 1 ? GAP_NONE : ',';
        }
        if (!gap_ok(js, prev_end, (size_t)c->start, sep))
            return -1;
        if (c->type == JSMN_PRIMITIVE) {
            if (!primitive_ok(js, c))
                return -1;
            prev_end = (size_t)c->end;
        } else {
            prev_end = (size_t)c->start + 1;
        }
    }
    switch (t[0].type) {
    case JSMN_OBJECT:
    case JSMN_ARRAY:
        return gap_ok(js, prev_end, (size_t)t[0].end - 1, GAP_CLOSE) ? 0 : -1;
    case JSMN_PRIMITIVE:
        return primitive_ok(js, &t[0]) ? 0 : -1;
    default:
        return t[0].size == 0 ? 0 : -1;
    }
}

int json_tokenize(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks)
{
    jsmn_parser p;
    int r;

    if (len > INT_MAX)
        return JSMN_ERROR_INVAL;
    jsmn_init(&p);
    r = jsmn_parse(&p, js, len, toks, ntoks);
    if (r < 0)
        return r;
    if (r == 0)
        return JSMN_ERROR_PART;
    /* jsmn happily reads several values in a row and stops at a NUL;
     * one event is one value, so anything after the first is an error. */
    if (json_skip(toks, r, 0) != r || skip_ws(js, len, tok_text_end(&toks[0])) != len)
        return JSON_ERROR_TRAIL;
    if (json_check(js, toks, r) < 0)
        return JSMN_ERROR_INVAL;
    return r;
}

/* Index of the closing quote of the string whose opening quote is at i, or
 * len when it does not close. */
static size_t scan_string(const char *js, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (js[i] == '\\')
            i++;
        else if (js[i] == '"')
            return i;
    }
    return len;
}

/* End (exclusive) of the value starting at i, or 0 when it is cut short.
 * Brackets are counted, not matched: jsmn checks them when the value is
 * tokenised, and an elided value only needs its extent. */
static size_t scan_value(const char *js, size_t len, size_t i)
{
    size_t depth = 0;

    if (js[i] == '"') {
        i = scan_string(js, len, i);
        return i < len ? i + 1 : 0;
    }
    if (js[i] != '{' && js[i] != '[') {
        while (i < len && !is_ws(js[i]) && js[i] != ',' && js[i] != '}' && js[i] != ']')
            i++;
        return i;
    }
    for (; i < len; i++) {
        char c = js[i];
        if (c == '"') {
            i = scan_string(js, len, i);
            if (i >= len)
                return 0;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

static void tok_set(jsmntok_t *t, jsmntype_t type, size_t start, size_t end, int parent)
{
    t->type = type;
    t->start = (int)start;
    t->end = (int)end;
    t->size = 0;
    t->parent = parent;
}

int json_tokenize_elide(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks)
{
    unsigned k = 1;
    size_t i;
    int r = json_tokenize(js, len, toks, ntoks);

    if (r != JSMN_ERROR_NOMEM)
        return r;
    i = skip_ws(js, len, 0);
    if (i >= len || js[i] != '{' || ntoks < 1)
        return JSMN_ERROR_NOMEM;
    tok_set(&toks[0], JSMN_OBJECT, i, 0, -1);
    i = skip_ws(js, len, i + 1);
    if (i < len && js[i] == '}')
        goto close;
    for (;;) {
        size_t e, vend;

        if (i >= len || js[i] != '"')
            return i >= len ? JSMN_ERROR_PART : JSMN_ERROR_INVAL;
        e = scan_string(js, len, i);
        if (e >= len)
            return JSMN_ERROR_PART;
        if (k >= ntoks)
            return JSMN_ERROR_NOMEM;
        tok_set(&toks[k], JSMN_STRING, i + 1, e, 0);
        toks[k++].size = 1;
        i = skip_ws(js, len, e + 1);
        if (i >= len || js[i] != ':')
            return i >= len ? JSMN_ERROR_PART : JSMN_ERROR_INVAL;
        i = skip_ws(js, len, i + 1);
        if (i >= len)
            return JSMN_ERROR_PART;
        vend = scan_value(js, len, i);
        if (vend == 0 || vend == i)
            return vend == 0 ? JSMN_ERROR_PART : JSMN_ERROR_INVAL;
        if (k >= ntoks)
            return JSMN_ERROR_NOMEM;
        if (js[i] == '{' || js[i] == '[') {
            int n = json_tokenize(js + i, vend - i, toks + k, ntoks - k);

            if (n == JSMN_ERROR_NOMEM) {
                /* The elision: one childless token stands for the value. */
                tok_set(&toks[k], js[i] == '{' ? JSMN_OBJECT : JSMN_ARRAY, i, vend, (int)k - 1);
                k++;
            } else if (n < 0) {
                return n;
            } else {
                for (int j = 0; j < n; j++) {
                    jsmntok_t *sub = &toks[k + (unsigned)j];
                    sub->start += (int)i;
                    sub->end += (int)i;
                    /* The sub-parse's root hangs off the key before it. */
                    sub->parent = sub->parent < 0 ? (int)k - 1 : sub->parent + (int)k;
                }
                k += (unsigned)n;
            }
        } else if (js[i] == '"') {
            tok_set(&toks[k], JSMN_STRING, i + 1, vend - 1, (int)k - 1);
            k++;
        } else {
            tok_set(&toks[k], JSMN_PRIMITIVE, i, vend, (int)k - 1);
            if (!primitive_ok(js, &toks[k]))
                return JSMN_ERROR_INVAL;
            k++;
        }
        toks[0].size++;
        i = skip_ws(js, len, vend);
        if (i < len && js[i] == ',') {
            i = skip_ws(js, len, i + 1);
            continue;
        }
        if (i < len && js[i] == '}')
            break;
        return i >= len ? JSMN_ERROR_PART : JSMN_ERROR_INVAL;
    }
close:
    toks[0].end = (int)(i + 1);
    if (skip_ws(js, len, i + 1) != len)
        return JSON_ERROR_TRAIL;
    return (int)k;
}

int json_skip(const jsmntok_t *t, int n, int i)
{
    /* Every token has `size` direct children (an object key has its value
     * as its one child), so a subtree ends when no child is pending. */
    int pending = 1;

    while (pending > 0 && i < n) {
        pending += t[i].size - 1;
        i++;
    }
    return i;
}

int json_eq(const char *js, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);

    return t->end >= t->start && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, s, n) == 0;
}

int json_find(const char *js, const jsmntok_t *t, int n, int obj, const char *key)
{
    int i, k;

    if (obj < 0 || obj >= n || t[obj].type != JSMN_OBJECT)
        return -1;
    i = obj + 1;
    for (k = 0; k < t[obj].size && i + 1 < n; k++) {
        if (t[i].type == JSMN_STRING && json_eq(js, &t[i], key))
            return i + 1;
        i = json_skip(t, n, i + 1);
    }
    return -1;
}

int json_members(const char *js, const jsmntok_t *t, int n, int obj,
                 const struct json_key *keys, int nkeys, int *out)
{
    int i, k, m, found = 0;

    for (k = 0; k < nkeys; k++)
        out[k] = -1;
    if (obj < 0 || obj >= n || t[obj].type != JSMN_OBJECT)
        return 0;
    i = obj + 1;
    for (m = 0; m < t[obj].size && i + 1 < n; m++) {
        const char *name = js + t[i].start;
        unsigned len = (unsigned)(t[i].end - t[i].start);

        for (k = 0; k < nkeys; k++) {
            if (keys[k].len == len && t[i].type == JSMN_STRING &&
                memcmp(keys[k].name, name, len) == 0) {
                if (out[k] < 0) {
                    out[k] = i + 1;
                    found++;
                }
                break;
            }
        }
        i = json_skip(t, n, i + 1);
    }
    return found;
}

int json_index(const jsmntok_t *t, int n, int arr, int idx)
{
    int i, k;

    if (arr < 0 || arr >= n || t[arr].type != JSMN_ARRAY || idx < 0 || idx >= t[arr].size)
        return -1;
    i = arr + 1;
    for (k = 0; k < idx && i < n; k++)
        i = json_skip(t, n, i);
    return i < n ? i : -1;
}

/* Copies a primitive token into a NUL-terminated scratch buffer: strtod
 * needs a terminator and the token text has none. */
static int tok_copy(const char *js, const jsmntok_t *t, char *out, size_t cap)
{
    size_t n;

    if (t->type != JSMN_PRIMITIVE || t->end <= t->start)
        return -1;
    n = (size_t)(t->end - t->start);
    if (n >= cap)
        return -1;
    memcpy(out, js + t->start, n);
    out[n] = '\0';
    return 0;
}

int json_double(const char *js, const jsmntok_t *t, double *out)
{
    char tmp[64], *end;
    double v;

    if (tok_copy(js, t, tmp, sizeof tmp) < 0)
        return -1;
    if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return -1;
    errno = 0;
    v = strtod(tmp, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int json_int64(const char *js, const jsmntok_t *t, int64_t *out)
{
    const char *p, *e;
    int neg = 0;
    uint64_t v = 0;
    double d;

    if (t->type != JSMN_PRIMITIVE || t->end <= t->start)
        return -1;
    p = js + t->start;
    e = js + t->end;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == e)
        return -1;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto as_double;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p != e)
        goto as_double;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
as_double:
    /* A float, or an integer with more digits than int64 holds. */
    if (json_double(js, t, &d) < 0 || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
        return -1;
    *out = (int64_t)d;
    return 0;
}

int json_is_null(const char *js, const jsmntok_t *t)
{
    return t->type == JSMN_PRIMITIVE && json_eq(js, t, "null");
}

int json_bool(const char *js, const jsmntok_t *t, int *out)
{
    if (t->type != JSMN_PRIMITIVE)
        return -1;
    if (json_eq(js, t, "true"))
        *out = 1;
    else if (json_eq(js, t, "false"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

long json_unescape(const char *s, size_t len, char *out, size_t cap)
{
    size_t i = 0, o = 0;

    while (i < len) {
        char c = s[i], enc[4];
        size_t n;
        unsigned cp;

        if (c != '\\') {
            if (o >= cap)
                return -1;
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        switch (s[i + 1]) {
        case '"':  c = '"'; break;
        case '\\': c = '\\'; break;
        case '/':  c = '/'; break;
        case 'b':  c = '\b'; break;
        case 'f':  c = '\f'; break;
        case 'n':  c = '\n'; break;
        case 'r':  c = '\r'; break;
        case 't':  c = '\t'; break;
        case 'u':  c = 0; break;
        default:   return -1;
        }
        if (s[i + 1] != 'u') {
            if (o >= cap)
                return -1;
            out[o++] = c;
            i += 2;
            continue;
        }
        if (i + 6 > len || hex4(s + i + 2, &cp) < 0)
            return -1;
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u' &&
                hex4(s + i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        /* Encode into a scratch first: out may alias s. */
        n = utf8_encode(cp, enc);
        if (o + n > cap)
            return -1;
        memcpy(out + o, enc, n);
        o += n;
    }
    return (long)o;
}

int json_put_string(char *buf, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *pos;

    if (o >= cap)
        return -1;
    buf[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc = 0;

        switch (c) {
        case '"':  esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        default: break;
        }
        if (esc) {
            if (o + 2 > cap)
                return -1;
            buf[o++] = '\\';
            buf[o++] = esc;
        } else if (c < 0x20) {
            if (o + 6 > cap)
                return -1;
            memcpy(buf + o, "\\u00", 4);
            buf[o + 4] = hex[c >> 4];
            buf[o + 5] = hex[c & 15];
            o += 6;
        } else {
            if (o >= cap)
                return -1;
            buf[o++] = (char)c;
        }
    }
    if (o >= cap)
        return -1;
    buf[o++] = '"';
    if (o < cap)
        buf[o] = '\0';
    *pos = o;
    return 0;
}
