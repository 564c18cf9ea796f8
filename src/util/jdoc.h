#ifndef LLMLOAD_JDOC_H
#define LLMLOAD_JDOC_H
/* Reading result documents (files, not the hot path): small cJSON helpers
 * every layer that reads documents shares. */
#include <stddef.h>

struct cJSON;

/* The string value of o[key], or NULL when absent or not a string. */
const char *jdoc_str(const struct cJSON *o, const char *key);
/* The number value of o[key], or NaN when absent or not a number. */
double jdoc_num(const struct cJSON *o, const char *key);

/* Adds o[key] = v, or null when v is not finite (JSON has no NaN). */
void jdoc_add_num(struct cJSON *o, const char *key, double v);

/* Sorts the items of array in place with qsort's cmp, which is given
 * pointers to the items' `const cJSON *`.  Left as it was when out of
 * memory. */
void jdoc_sort(struct cJSON *array, int (*cmp)(const void *, const void *));

/* Reads and parses the JSON file at path (at most 1 GiB).  NULL with a
 * one-line err naming the path: cannot open, read error, too large, or
 * not valid JSON (with the byte offset). */
struct cJSON *jdoc_read_file(const char *path, char *err, size_t errcap);

/* The name a document goes by: its file name without the directory and a
 * ".json" ending ("runs/base.json" -> "base"), into buf. */
void jdoc_stem(const char *path, char *buf, size_t cap);

#endif
