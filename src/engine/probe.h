#ifndef LLMLOAD_PROBE_H
#define LLMLOAD_PROBE_H
/* Probing a server: reachability, protocol, version and models. */
#include <stdint.h>
#include <stdio.h>
#include "api.h"

struct cJSON;

/* Probes url.  Returns a new object {"url","up","protocol","api","version",
 * "models":[...],"error"}, or NULL on allocation failure.  *usage is set when
 * the URL itself is malformed (a usage error, not a down server). */
struct cJSON *target_probe(const char *url, enum api_kind api, uint64_t timeout_ns, int *usage);

/* "NAME: up, protocol openai (openai-chat), version 0.6.1, models: a, b" or
 * "NAME: down: why". */
void target_probe_print(FILE *f, const char *name, const struct cJSON *info);

#endif
