/* cJSON helpers for reading documents. */
#include "jdoc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *jdoc_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double jdoc_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

cJSON *jdoc_read_file(const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    cJSON *j = NULL;
    while (buf) {
        if (len + 1 >= cap) {
            if (cap >= ((size_t)1 << 30)) {
                snprintf(err, errcap, "%s: larger than 1 GiB", path);
                goto out;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - 1 - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (!buf) {
        snprintf(err, errcap, "%s: out of memory", path);
        goto out;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        goto out;
    }
    buf[len] = '\0';
    if (!(j = cJSON_Parse(buf)))
        snprintf(err, errcap, "%s: not valid JSON (near byte %ld)", path,
                 cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - buf) : 0L);
out:
    free(buf);
    fclose(f);
    return j;
}

void jdoc_stem(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".json"))
        n -= 5;
    snprintf(buf, cap, "%.*s", (int)n, b);
}
