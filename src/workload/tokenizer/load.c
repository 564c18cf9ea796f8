/* Loading a tokenizer: the file read whole, its format told from its
 * first byte. */
#include "tokenizer_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tokenizer *tokenizer_load_mem(const char *data, size_t len, const char *name,
                                     const char *encoding, char *err, size_t errcap)
{
    struct tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        util_errf(err, errcap, "%s: out of memory", name);
        return NULL;
    }
    t->heap_threshold = TOK_HEAP_DEFAULT;
    t->cache = calloc(TOK_CACHE, sizeof *t->cache);   /* optional: NULL only slows down */
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
        i++;
    int rc = i < len && data[i] == '{'
        ? tok_load_hf(t, data, len, name, encoding, err, errcap)
        : tok_load_tiktoken(t, data, len, name, encoding, err, errcap);
    if (rc < 0) {
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

struct tokenizer *tokenizer_load(const char *path, const char *encoding, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        util_errf(err, errcap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct tokenizer *t = NULL;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            if (cap > TOK_MAX_FILE) {
                util_errf(err, errcap, "%s: larger than 1 GiB: not a tokenizer file", path);
                goto out;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                util_errf(err, errcap, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        util_errf(err, errcap, "%s: read error", path);
        goto out;
    }
    if (len == 0) {
        util_errf(err, errcap, "%s: empty file", path);
        goto out;
    }
    t = tokenizer_load_mem(buf, len, path, encoding, err, errcap);
out:
    free(buf);
    fclose(f);
    return t;
}
