/* cJSON helpers for reading documents. */
#include "jdoc.h"
#include "fileio.h"

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

void jdoc_add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

void jdoc_sort(cJSON *array, int (*cmp)(const void *, const void *))
{
    int n = cJSON_GetArraySize(array);
    cJSON **items = n > 1 ? malloc(sizeof *items * (size_t)n) : NULL;
    if (!items)
        return;
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemFromArray(array, 0);
    qsort(items, (size_t)n, sizeof *items, cmp);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(array, items[i]);
    free(items);
}

cJSON *jdoc_read_file(const char *path, char *err, size_t errcap)
{
    size_t len;
    char *buf = fileio_read_all(path, (size_t)1 << 30, &len, err, errcap);
    if (!buf)
        return NULL;
    cJSON *j = cJSON_Parse(buf);
    if (!j)
        snprintf(err, errcap, "%s: not valid JSON (near byte %ld)", path,
                 cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - buf) : 0L);
    free(buf);
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
