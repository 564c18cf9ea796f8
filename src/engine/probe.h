#ifndef LLMLOAD_PROBE_H
#define LLMLOAD_PROBE_H
/* Probing a server: reachability, protocol, version and models. */
#include <stdint.h>
#include <stdio.h>
#include "api.h"

struct cJSON;

/* Probes url, sending net's key and headers (net NULL: none, no proxy)
 * on every request, through net's proxy, trusting as net->tls says.
 * Returns a new object {"url","up","tls","protocol","api","address",
 * "version","version_from","models":[...],"models_error","unauthorized",
 * "error"}, or NULL on
 * allocation failure.  "unauthorized" is true when the model list answered
 * 401 or 403.  What the server sent (versions, model names) has every
 * secret redacted (secret.h).  The version comes from the family's version
 * endpoint, else llama.cpp's /props build_info, else the system_fingerprint
 * of a one-token generation with the first model listed.  An https URL
 * gets one bare TLS handshake before any request: "tls" says the version,
 * how the server was trusted, and "error_class" (tls_verify,
 * tls_handshake) when it refused; null for http.  *usage is set
 * when the URL itself is malformed (a usage error, not a down server). */
struct target_net;
struct cJSON *target_probe(const char *url, enum api_kind api, const struct target_net *net,
                           uint64_t timeout_ns, int *usage);

struct target;
/* The first model the resolved target lists (/api/tags, /v1/models) into
 * out: 0, or -1 with err (no list: its status or failure; an empty one). */
int target_first_model(const struct target *t, uint64_t timeout_ns, char *out, size_t cap,
                       char *err, size_t errcap);

/* "NAME: up, protocol openai (openai-chat), version 0.6.1, models: a, b",
 * "NAME: up, ..., unauthorized: why" or "NAME: down: why". */
void target_probe_print(FILE *f, const char *name, const struct cJSON *info);

#endif
