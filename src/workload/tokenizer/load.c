/* Loading a tokenizer: the file read whole, its format told from its
 * first byte. */
#include "tokenizer_int.h"
#include "fileio.h"
#include "util.h"

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
    size_t len;
    char *buf = fileio_read_all(path, TOK_MAX_FILE, &len, err, errcap);
    struct tokenizer *t = NULL;
    if (!buf)
        return NULL;
    if (len == 0)
        util_errf(err, errcap, "%s: empty file", path);
    else
        t = tokenizer_load_mem(buf, len, path, encoding, err, errcap);
    free(buf);
    return t;
}
