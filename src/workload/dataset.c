/* Dataset reader: one validating pass over a memory-mapped file that keeps
 * only the positions of prompts (dataset.h explains the formats).
 *
 * JSON is read with the hot path's helpers (json.h: strict jsmn plus the
 * grammar check), so a line the client would call malformed in a stream
 * is malformed here too.  ShareGPT files are one huge array, so they are
 * never tokenised whole: a small scanner finds each element's extent
 * (strings and nesting only), and one element at a time is tokenised. */
#include "util.h"
#include "dataset.h"
#include "fileio.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DS_MAX_ENTRY   ((size_t)1 << 30)   /* jsmn offsets are int */
#define DS_MAX_TOKENS  (1u << 24)
#define DS_RELEASE     ((size_t)16 << 20)  /* drop scanned pages every 16 MiB */

enum entry_kind { ENTRY_PROMPT = 0, ENTRY_MESSAGES, ENTRY_LINE };

struct entry {
    uint64_t off;          /* prompt string content, messages array, or line */
    uint64_t reply_off;    /* ShareGPT reply string content */
    uint32_t len, reply_len;
    uint32_t line;
    int32_t max_tokens;    /* -1 none */
    uint8_t kind;
    uint8_t has_reply;
};

struct dataset {
    const char *data; size_t len;
    size_t start;                /* after a UTF-8 byte order mark */
    void *map; size_t map_len;   /* mmap'd file, or NULL */
    char *owned;                 /* file read into memory when mmap failed */
    char name[256];
    enum dataset_format fmt;
    int skip_bad;
    size_t max_prompt, max_entry;    /* --max-prompt-bytes, DATASET_ENTRY_MAX of it */
    char why[128];                   /* a bad entry's reason, when it has numbers */
    struct entry *e; size_t n, cap;
    size_t skipped, unusable;
    /* The file's SHA-256, taken during the scan, before a page is released. */
    struct sha256_ctx sha; size_t hashed;
    char sha256[2 * SHA256_DIGEST_SIZE + 1];
    /* load scratch */
    jsmntok_t *toks; unsigned ntoks;
    char *ubuf; size_t ucap;
};

static const char *const fmt_names[] = { "auto", "jsonl", "sharegpt", "lines" };

int dataset_format_from_name(const char *s, enum dataset_format *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, fmt_names[i])) {
            *out = (enum dataset_format)i;
            return 0;
        }
    return -1;
}

const char *dataset_format_name(enum dataset_format f)
{
    return (unsigned)f < 4 ? fmt_names[f] : "?";
}


/* ------------------------------------------------------------- strings */

/* Decodes the JSON string content s[0..n) into out (room for n + 1 bytes:
 * no escape grows) and NUL-terminates it.  Returns the length, or -1 on a
 * bad escape or a NUL character (which a C string prompt cannot carry). */
static long unescape(const char *s, size_t n, char *out)
{
    long l = json_unescape(s, n, out, n);

    if (l < 0 || memchr(out, '\0', (size_t)l))
        return -1;
    out[l] = '\0';
    return l;
}

/* json_tokenize over js[0..len) into the growing token array.  Returns
 * the count or json_tokenize's negative error. */
static int parse_json(jsmntok_t **toks, unsigned *ntoks, const char *js, size_t len)
{
    for (;;) {
        if (!*ntoks) {
            *toks = malloc(256 * sizeof **toks);
            if (!*toks)
                return JSMN_ERROR_NOMEM;
            *ntoks = 256;
        }
        int r = json_tokenize(js, len, *toks, *ntoks);
        if (r != JSMN_ERROR_NOMEM)
            return r;
        if (*ntoks >= DS_MAX_TOKENS)
            return JSMN_ERROR_NOMEM;
        jsmntok_t *nt = realloc(*toks, (size_t)*ntoks * 2 * sizeof *nt);
        if (!nt)
            return JSMN_ERROR_NOMEM;
        *toks = nt;
        *ntoks *= 2;
    }
}

/* ------------------------------------------------------------- entries */

static int ubuf_reserve(char **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < n)
        c *= 2;
    char *b = realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

/* A string token that decodes cleanly, for validation: its decoded
 * length, or -1. */
static long check_string(struct dataset *d, const char *js, const jsmntok_t *t)
{
    if (t->type != JSMN_STRING)
        return -1;
    size_t n = (size_t)(t->end - t->start);
    if (ubuf_reserve(&d->ubuf, &d->ucap, n + 1) < 0)
        return -1;
    return unescape(js + t->start, n, d->ubuf);
}

/* A prompt of n bytes within --max-prompt-bytes: 1, or -1 with why. */
static int prompt_fits(struct dataset *d, size_t n, const char **why)
{
    if (n <= d->max_prompt)
        return 1;
    snprintf(d->why, sizeof d->why, "prompt of %zu bytes is larger than --max-prompt-bytes %zu",
             n, d->max_prompt);
    *why = d->why;
    return -1;
}

/* The longest line a line format may hold (a CR before the LF aside). */
static size_t line_limit(const struct dataset *d, int json)
{
    return json ? d->max_entry : d->max_prompt;
}

/* Why a line longer than line_limit is bad, in d->why. */
static const char *line_too_long(struct dataset *d, int json)
{
    if (json)
        snprintf(d->why, sizeof d->why, "entry longer than %zu bytes, too large for a prompt of at most "
                 "--max-prompt-bytes %zu", d->max_entry, d->max_prompt);
    else
        snprintf(d->why, sizeof d->why, "prompt longer than --max-prompt-bytes %zu", d->max_prompt);
    return d->why;
}

static int is_role(const char *js, const jsmntok_t *t, const char *const *names)
{
    for (; *names; names++)
        if (json_eq(js, t, *names))
            return 1;
    return 0;
}

static const char *const human_names[] = { "human", "user", NULL };
static const char *const gpt_names[] = { "gpt", "assistant", "chatgpt", "bard", "bing", "model", NULL };

/* Parses one entry object js[0..len) (at absolute offset base).  Returns 1
 * when usable (e filled), 0 when valid but unusable, -1 when bad (why set). */
static int parse_entry(struct dataset *d, const char *js, size_t len, uint64_t base,
                       struct entry *e, const char **why)
{
    if (len >= DS_MAX_ENTRY || len > d->max_entry) {
        /* Not even tokenised: it cannot hold a prompt within the bound. */
        *why = line_too_long(d, 1);
        return -1;
    }
    int n = parse_json(&d->toks, &d->ntoks, js, len);
    jsmntok_t *t = d->toks;
    if (n == JSMN_ERROR_NOMEM) {
        *why = "entry too large (or out of memory)";
        return -1;
    }
    if (n == JSON_ERROR_TRAIL) {
        *why = "not a valid JSON object (data after it)";
        return -1;
    }
    if (n <= 0 || t[0].type != JSMN_OBJECT) {
        *why = "not a valid JSON object";
        return -1;
    }
    memset(e, 0, sizeof *e);
    e->max_tokens = -1;
    int v = json_find(js, t, n, 0, "max_tokens");
    if (v >= 0 && !(t[v].type == JSMN_PRIMITIVE && js[t[v].start] == 'n')) {
        long long mt = 0;
        int ok = t[v].type == JSMN_PRIMITIVE && t[v].end - t[v].start <= 9;
        for (int k = t[v].start; ok && k < t[v].end; k++) {
            if (js[k] < '0' || js[k] > '9')
                ok = 0;
            else
                mt = mt * 10 + (js[k] - '0');
        }
        if (!ok || mt < 1) {
            *why = "max_tokens is not a positive integer below 10^9";
            return -1;
        }
        e->max_tokens = (int32_t)mt;
    }
    if ((v = json_find(js, t, n, 0, "prompt")) >= 0) {
        long pl = check_string(d, js, &t[v]);
        if (pl < 0) {
            *why = "\"prompt\" is not a string (or has a bad escape or a NUL)";
            return -1;
        }
        e->kind = ENTRY_PROMPT;
        e->off = base + (uint64_t)t[v].start;
        e->len = (uint32_t)(t[v].end - t[v].start);
        return prompt_fits(d, (size_t)pl, why);
    }
    if ((v = json_find(js, t, n, 0, "messages")) >= 0) {
        if (t[v].type != JSMN_ARRAY || t[v].size == 0) {
            *why = "\"messages\" is not a non-empty array";
            return -1;
        }
        int i = v + 1;
        size_t total = 0;
        for (int k = 0; k < t[v].size; k++) {
            int r = json_find(js, t, n, i, "role"), c = json_find(js, t, n, i, "content");
            long cl = -1;
            if (r < 0 || c < 0 || check_string(d, js, &t[r]) < 0 || (cl = check_string(d, js, &t[c])) < 0) {
                *why = "a message lacks a string \"role\" and \"content\"";
                return -1;
            }
            total += (size_t)cl;
            i = json_skip(t, n, i);
        }
        e->kind = ENTRY_MESSAGES;
        e->off = base + (uint64_t)t[v].start;
        e->len = (uint32_t)(t[v].end - t[v].start);
        return prompt_fits(d, total, why);
    }
    if ((v = json_find(js, t, n, 0, "conversations")) >= 0 ||
        (v = json_find(js, t, n, 0, "conversation")) >= 0) {
        if (t[v].type != JSMN_ARRAY) {
            *why = "\"conversations\" is not an array";
            return -1;
        }
        int i = v + 1, human = -1, gpt = -1;
        long human_len = 0;
        for (int k = 0; k < t[v].size; k++) {
            int f = json_find(js, t, n, i, "from"), val = json_find(js, t, n, i, "value");
            if (f < 0)
                f = json_find(js, t, n, i, "role");
            if (val < 0)
                val = json_find(js, t, n, i, "content");
            long vl = -1;
            if (f < 0 || val < 0 || t[f].type != JSMN_STRING || (vl = check_string(d, js, &t[val])) < 0) {
                *why = "a conversation turn lacks string \"from\" and \"value\"";
                return -1;
            }
            if (human < 0 && is_role(js, &t[f], human_names) && t[val].end > t[val].start) {
                human = val;
                human_len = vl;
            }
            else if (human >= 0 && gpt < 0 && is_role(js, &t[f], gpt_names))
                gpt = val;
            i = json_skip(t, n, i);
        }
        if (human < 0 || gpt < 0)
            return 0;
        e->kind = ENTRY_PROMPT;
        e->off = base + (uint64_t)t[human].start;
        e->len = (uint32_t)(t[human].end - t[human].start);
        e->has_reply = 1;
        e->reply_off = base + (uint64_t)t[gpt].start;
        e->reply_len = (uint32_t)(t[gpt].end - t[gpt].start);
        return prompt_fits(d, (size_t)human_len, why);
    }
    *why = "no \"prompt\", \"messages\" or \"conversations\" field";
    return -1;
}

static int push_entry(struct dataset *d, const struct entry *e)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        struct entry *ne = realloc(d->e, cap * sizeof *ne);
        if (!ne)
            return -1;
        d->e = ne;
        d->cap = cap;
    }
    d->e[d->n++] = *e;
    return 0;
}

/* Hashes the bytes up to pos that are not hashed yet. */
static void hash_upto(struct dataset *d, size_t pos)
{
    if (pos > d->hashed) {
        sha256_update(&d->sha, pos - d->hashed, (const uint8_t *)d->data + d->hashed);
        d->hashed = pos;
    }
}

/* Drops the pages of the mapping before pos from memory: the scan never
 * returns to them, and dataset_get faults the few it needs back in.  They
 * are hashed first, so the file is read once. */
static void release_scanned(struct dataset *d, size_t pos, size_t *released)
{
    if (!d->map || pos < *released + DS_RELEASE)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t end = pos / page * page;
    hash_upto(d, end);
    if (end > *released) {
        /* Advice only: a failure leaves the pages cached, which is harmless. */
        (void)madvise((char *)d->map + *released, end - *released, MADV_DONTNEED);
        *released = end;
    }
}

/* Records the outcome of one entry.  Returns 0 to go on, -1 to stop. */
static int take(struct dataset *d, int rc, const struct entry *e, size_t line, const char *why,
                char *err, size_t errcap)
{
    if (rc > 0) {
        if (push_entry(d, e) < 0) {
            util_errf(err, errcap, "%s: out of memory", d->name);
            return -1;
        }
    } else if (rc == 0) {
        d->unusable++;
    } else if (d->skip_bad) {
        d->skipped++;
    } else {
        util_errf(err, errcap, "%s:%zu: %s (--skip-bad-lines skips such lines)", d->name, line, why);
        return -1;
    }
    return 0;
}

static int load_lines(struct dataset *d, int json, char *err, size_t errcap)
{
    size_t line = 0, released = 0, limit = line_limit(d, json);
    for (size_t pos = d->start; pos < d->len; ) {
        /* The end of the line is looked for only as far as a line may go:
         * a file that is one endless line fails at once. */
        size_t room = d->len - pos, look = room < limit + 2 ? room : limit + 2;
        const char *nl = memchr(d->data + pos, '\n', look);
        if (!nl && look < room) {
            line++;
            if (take(d, -1, NULL, line, line_too_long(d, json), err, errcap) < 0)
                return -1;
            nl = memchr(d->data + pos + look, '\n', room - look);   /* skipped: find its end */
            pos = nl ? (size_t)(nl - d->data) + 1 : d->len;
            release_scanned(d, pos, &released);
            continue;
        }
        size_t end = nl ? (size_t)(nl - d->data) : d->len;
        size_t start = pos, l = end - pos;
        line++;
        pos = end + 1;
        if (l && d->data[start + l - 1] == '\r')
            l--;
        size_t k = 0;
        while (k < l && (d->data[start + k] == ' ' || d->data[start + k] == '\t'))
            k++;
        if (k == l)
            continue;   /* blank lines are allowed anywhere */
        struct entry e;
        const char *why = NULL;
        int rc;
        if (json) {
            rc = parse_entry(d, d->data + start, l, start, &e, &why);
        } else if (l >= UINT32_MAX || memchr(d->data + start, '\0', l)) {
            rc = -1;
            why = l >= UINT32_MAX ? "line longer than 4 GiB" : "line contains a NUL byte";
        } else {
            memset(&e, 0, sizeof e);
            e.kind = ENTRY_LINE;
            e.off = start;
            e.len = (uint32_t)l;
            e.max_tokens = -1;
            rc = prompt_fits(d, l, &why);
        }
        if (line <= UINT32_MAX)
            e.line = (uint32_t)line;
        if (take(d, rc, &e, line, why, err, errcap) < 0)
            return -1;
        release_scanned(d, pos, &released);
    }
    return 0;
}

static size_t skip_ws(const char *s, size_t n, size_t pos, size_t *line)
{
    while (pos < n && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' || s[pos] == '\n')) {
        *line += s[pos] == '\n';
        pos++;
    }
    return pos;
}

/* The end (one past) of the JSON value starting at pos, found from strings
 * and nesting alone; 0 when the data ends first. */
static size_t scan_value(const char *s, size_t n, size_t pos, size_t *line)
{
    int depth = 0;
    for (size_t i = pos; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\')
                    i++;
                else if (s[i] == '\n')
                    (*line)++;
            }
            if (i >= n)
                return 0;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        } else if (c == '\n') {
            (*line)++;
        }
    }
    return 0;
}

static int load_sharegpt(struct dataset *d, char *err, size_t errcap)
{
    size_t line = 1, released = 0;
    size_t pos = skip_ws(d->data, d->len, d->start, &line);
    if (pos >= d->len || d->data[pos] != '[') {
        util_errf(err, errcap, "%s:%zu: a ShareGPT file is a JSON array ('[' expected)", d->name, line);
        return -1;
    }
    pos = skip_ws(d->data, d->len, pos + 1, &line);
    if (pos < d->len && d->data[pos] == ']')
        pos++;
    else {
        for (size_t idx = 0;; idx++) {
            size_t start = pos, start_line = line;
            if (pos >= d->len || d->data[pos] != '{') {
                util_errf(err, errcap, "%s:%zu: entry %zu: '{' expected", d->name, line, idx);
                return -1;
            }
            size_t end = scan_value(d->data, d->len, pos, &line);
            if (!end) {
                util_errf(err, errcap, "%s:%zu: entry %zu: unterminated (truncated file?)", d->name, start_line, idx);
                return -1;
            }
            struct entry e;
            const char *why = NULL;
            int rc = parse_entry(d, d->data + start, end - start, start, &e, &why);
            e.line = start_line <= UINT32_MAX ? (uint32_t)start_line : 0;
            if (take(d, rc, &e, start_line, why, err, errcap) < 0)
                return -1;
            release_scanned(d, end, &released);
            pos = skip_ws(d->data, d->len, end, &line);
            if (pos < d->len && d->data[pos] == ',') {
                pos = skip_ws(d->data, d->len, pos + 1, &line);
                continue;
            }
            if (pos < d->len && d->data[pos] == ']') {
                pos++;
                break;
            }
            util_errf(err, errcap, "%s:%zu: ',' or ']' expected after entry %zu", d->name, line, idx);
            return -1;
        }
    }
    pos = skip_ws(d->data, d->len, pos, &line);
    if (pos < d->len) {
        util_errf(err, errcap, "%s:%zu: data after the end of the array", d->name, line);
        return -1;
    }
    return 0;
}

static struct dataset *open_common(struct dataset *d, enum dataset_format fmt, int skip_bad,
                                   char *err, size_t errcap)
{
    size_t pos = 0;
    if (d->len >= 3 && !memcmp(d->data, "\xef\xbb\xbf", 3))
        pos = d->start = 3;   /* a UTF-8 byte order mark */
    size_t line = 1;
    pos = skip_ws(d->data, d->len, pos, &line);
    if (fmt == DATASET_AUTO) {
        if (pos < d->len && d->data[pos] == '[')
            fmt = DATASET_SHAREGPT;
        else if (pos < d->len && d->data[pos] == '{')
            fmt = DATASET_JSONL;
        else {
            util_errf(err, errcap, "%s: cannot tell the dataset format (JSONL lines or a ShareGPT array "
                    "expected); use --dataset-format", d->name);
            goto fail;
        }
    }
    d->fmt = fmt;
    d->skip_bad = skip_bad;
    sha256_init(&d->sha);
    int rc = fmt == DATASET_SHAREGPT ? load_sharegpt(d, err, errcap)
           : load_lines(d, fmt == DATASET_JSONL, err, errcap);
    if (rc < 0)
        goto fail;
    hash_upto(d, d->len);
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&d->sha, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(d->sha256 + 2 * i, 3, "%02x", digest[i]);
    if (!d->n) {
        util_errf(err, errcap, "%s: no usable prompt (%zu bad entries skipped, %zu without a prompt)",
                d->name, d->skipped, d->unusable);
        goto fail;
    }
    free(d->toks);
    d->toks = NULL;
    d->ntoks = 0;
    free(d->ubuf);
    d->ubuf = NULL;
    d->ucap = 0;
    return d;
fail:
    dataset_free(d);
    return NULL;
}

/* A new dataset named name, with its bounds. */
static struct dataset *dataset_new(const char *name, size_t max_prompt, char *err, size_t errcap)
{
    struct dataset *d = calloc(1, sizeof *d);
    if (!d) {
        util_errf(err, errcap, "%s: out of memory", name);
        return NULL;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    d->max_prompt = max_prompt ? max_prompt : DATASET_MAX_PROMPT;
    d->max_entry = DATASET_ENTRY_MAX(d->max_prompt);
    return d;
}

struct dataset *dataset_open_mem(const char *data, size_t len, const char *name,
                                 enum dataset_format fmt, int skip_bad, size_t max_prompt,
                                 char *err, size_t errcap)
{
    struct dataset *d = dataset_new(name, max_prompt, err, errcap);
    if (!d)
        return NULL;
    d->data = data;
    d->len = len;
    return open_common(d, fmt, skip_bad, err, errcap);
}

/* Reads what cannot be mapped (a pipe, a device) whole into d->owned,
 * with the bounds of the scan applied as it comes: no NUL byte (no text
 * dataset has one; /dev/zero is all of them), and, in a line format, no
 * line longer than a line may be.  0, or -1 with err. */
static int read_whole(struct dataset *d, int fd, enum dataset_format fmt, char *err, size_t errcap)
{
    size_t cap = 1 << 16, n = 0, line = 1, run = 0;
    /* AUTO is settled by the first non-blank byte, as open_common does. */
    int lined = fmt == DATASET_LINES || fmt == DATASET_JSONL, json = fmt != DATASET_LINES;
    int settled = fmt != DATASET_AUTO;
    for (;;) {
        if (n == cap || !d->owned) {
            if (d->owned)
                cap *= 2;
            char *b = realloc(d->owned, cap);
            if (!b) {
                util_errf(err, errcap, "%s: out of memory", d->name);
                return -1;
            }
            d->owned = b;
        }
        ssize_t r = read(fd, d->owned + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            util_errf(err, errcap, "%s: %s", d->name, strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        for (const char *p = d->owned + n, *end = p + r; p < end; p++) {
            if (*p == '\0') {
                util_errf(err, errcap, "%s:%zu: a NUL byte at offset %zu: not a text dataset",
                          d->name, line, (size_t)(p - d->owned));
                return -1;
            }
            if (!settled && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                settled = 1;
                lined = *p != '[';
            }
            if (*p == '\n') {
                line++;
                run = 0;
            } else if (lined && ++run > line_limit(d, json) + 1) {
                util_errf(err, errcap, "%s:%zu: %s", d->name, line, line_too_long(d, json));
                return -1;
            }
        }
        n += (size_t)r;
    }
    d->data = d->owned;
    d->len = n;
    return 0;
}

struct dataset *dataset_open(const char *path, enum dataset_format fmt, int skip_bad,
                             size_t max_prompt, char *err, size_t errcap)
{
    struct dataset *d = dataset_new(path, max_prompt, err, errcap);
    if (!d)
        return NULL;
    int fd = in_open_fd(path);     /* "-": the standard input */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        util_errf(err, errcap, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        util_errf(err, errcap, "%s: is a directory", path);
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            d->map = m;
            d->map_len = (size_t)st.st_size;
            d->data = m;
            d->len = d->map_len;
            (void)madvise(m, d->map_len, MADV_SEQUENTIAL);   /* advice only */
        }
    }
    /* A pipe, or a file that cannot be mapped: read it whole. */
    if (!d->data && read_whole(d, fd, fmt, err, errcap) < 0)
        goto fail;
    close(fd);
    fd = -1;
    if (!d->len) {
        util_errf(err, errcap, "%s: empty file", path);
        goto fail;
    }
    return open_common(d, fmt, skip_bad, err, errcap);
fail:
    if (fd >= 0)
        close(fd);
    dataset_free(d);
    return NULL;
}

void dataset_free(struct dataset *d)
{
    if (!d)
        return;
    if (d->map)
        munmap(d->map, d->map_len);
    free(d->owned);
    free(d->e);
    free(d->toks);
    free(d->ubuf);
    free(d);
}

size_t dataset_count(const struct dataset *d) { return d->n; }
size_t dataset_bytes(const struct dataset *d) { return d->len; }
const char *dataset_sha256(const struct dataset *d) { return d->sha256; }
size_t dataset_skipped(const struct dataset *d) { return d->skipped; }
size_t dataset_unusable(const struct dataset *d) { return d->unusable; }
enum dataset_format dataset_format(const struct dataset *d) { return d->fmt; }

void dataset_scratch_free(struct dataset_scratch *s)
{
    free(s->buf);
    free(s->msgs);
    free(s->toks);
    memset(s, 0, sizeof *s);
}

int dataset_get(struct dataset *d, size_t i, struct dataset_scratch *s, int with_reply,
                struct dataset_item *out)
{
    const struct entry *e = &d->e[i];
    memset(out, 0, sizeof *out);
    out->max_tokens = e->max_tokens;
    size_t need = (size_t)e->len + 1 + (with_reply && e->has_reply ? (size_t)e->reply_len + 1 : 0);
    if (ubuf_reserve(&s->buf, &s->cap, need) < 0)
        return -1;
    const char *src = d->data + e->off;
    size_t o = 0;
    if (e->kind == ENTRY_LINE) {
        memcpy(s->buf, src, e->len);
        s->buf[e->len] = '\0';
        out->prompt = s->buf;
        o = (size_t)e->len + 1;
    } else if (e->kind == ENTRY_PROMPT) {
        long n = unescape(src, e->len, s->buf);
        if (n < 0)
            return -1;   /* validated at open: cannot happen */
        out->prompt = s->buf;
        o = (size_t)n + 1;
    } else {
        jsmntok_t *t = s->toks;
        unsigned nt = s->ntoks;
        int n = parse_json(&t, &nt, src, e->len);
        s->toks = t;
        s->ntoks = nt;
        if (n <= 0 || t[0].type != JSMN_ARRAY)
            return -1;
        size_t nm = (size_t)t[0].size;
        if (nm > s->msgcap) {
            struct api_message *m = realloc(s->msgs, nm * sizeof *m);
            if (!m)
                return -1;
            s->msgs = m;
            s->msgcap = nm;
        }
        /* buf was reserved for the whole span above, so it does not move
         * while the messages point into it. */
        int k = 1;
        for (size_t m = 0; m < nm; m++) {
            int r = json_find(src, t, n, k, "role"), c = json_find(src, t, n, k, "content");
            if (r < 0 || c < 0)
                return -1;
            for (int w = 0; w < 2; w++) {
                const jsmntok_t *x = &t[w ? c : r];
                long l = unescape(src + x->start, (size_t)(x->end - x->start), s->buf + o);
                if (l < 0)
                    return -1;
                if (w)
                    s->msgs[m].content = s->buf + o;
                else
                    s->msgs[m].role = s->buf + o;
                o += (size_t)l + 1;
            }
            k = json_skip(t, n, k);
        }
        out->messages = s->msgs;
        out->nmessages = nm;
    }
    if (with_reply && e->has_reply) {
        long n = unescape(d->data + e->reply_off, e->reply_len, s->buf + o);
        if (n < 0)
            return -1;
        out->reply = s->buf + o;
        out->reply_len = (size_t)n;
    }
    return 0;
}
