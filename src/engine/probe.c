/* Probing a server before (or instead of) a run: is it up, which protocol,
 * which version, which models.  Blocking; used by `check` and `compare`. */
#include "probe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jdoc.h"
#include "target.h"

#define CHECK_BODY_MAX (256 * 1024)

/* Where the model list lives: Ollama's /api/tags, or the /v1/models next to
 * the OpenAI-style base path ("/v1" of "http://h:8000/v1/chat/completions"). */
static void models_path(const struct target *t, char *buf, size_t cap)
{
    const char *path = api_family(t->api)->models_path;
    const char *v1 = strstr(t->base_path, "/v1");
    if (v1 && !strncmp(path, "/v1/", 4))
        snprintf(buf, cap, "%.*s%s", (int)(v1 - t->base_path), t->base_path, path);
    else
        snprintf(buf, cap, "%s", path);
}

/* GET path and parse the body as JSON; NULL when anything fails. */
static cJSON *get_json(const struct target *t, const char *path, uint64_t timeout_ns,
                       char *err, size_t errcap)
{
    char *body = malloc(CHECK_BODY_MAX);
    int status = 0;
    cJSON *j = NULL;
    if (!body) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (target_http_get(t, path, timeout_ns, &status, body, CHECK_BODY_MAX, err, errcap) < 0)
        goto out;
    if (status != 200) {
        snprintf(err, errcap, "GET %s: HTTP %d", path, status);
        goto out;
    }
    if (!(j = cJSON_Parse(body)))
        snprintf(err, errcap, "GET %s: the body is not JSON", path);
out:
    free(body);
    return j;
}

/* Probes url.  Returns a new object {"url","up","protocol","api","version",
 * "models":[...],"error"}, or NULL on allocation failure.  *usage is set when
 * the URL itself is malformed (a usage error, not a down server). */
cJSON *target_probe(const char *url, enum api_kind api, uint64_t timeout_ns, int *usage)
{
    struct target t;
    char err[512] = "";
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    *usage = 0;
    cJSON_AddStringToObject(o, "url", url);
    int rc = target_resolve(&t, url, api, timeout_ns, err, sizeof err);
    if (rc < 0) {
        *usage = rc == -1;
        cJSON_AddBoolToObject(o, "up", 0);
        cJSON_AddStringToObject(o, "error", err);
        return o;
    }
    const struct api_family *fam = api_family(t.api);
    cJSON_AddBoolToObject(o, "up", 1);
    cJSON_AddStringToObject(o, "protocol", fam->protocol);
    cJSON_AddStringToObject(o, "api", api_name(t.api));
    cJSON_AddStringToObject(o, "address", t.addr_text);

    /* Version: Ollama's /api/version; vLLM and SGLang answer /version.  A
     * server without one is still up. */
    char verr[256];
    cJSON *v = get_json(&t, fam->version_path, timeout_ns, verr, sizeof verr);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(v, "version");
    if (cJSON_IsString(ver))
        cJSON_AddStringToObject(o, "version", ver->valuestring);
    else
        cJSON_AddNullToObject(o, "version");
    cJSON_Delete(v);

    char path[600], merr[256] = "";
    models_path(&t, path, sizeof path);
    cJSON *m = get_json(&t, path, timeout_ns, merr, sizeof merr);
    cJSON *models = cJSON_AddArrayToObject(o, "models");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(m, fam->models_list);
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, fam->model_name);
        if (cJSON_IsString(n))
            cJSON_AddItemToArray(models, cJSON_CreateString(n->valuestring));
    }
    cJSON_Delete(m);
    if (merr[0])
        cJSON_AddStringToObject(o, "models_error", merr);
    cJSON_AddNullToObject(o, "error");
    return o;
}

/* "up, openai (openai-chat), version 0.6.1, models: a, b" or "DOWN: why". */
void target_probe_print(FILE *f, const char *name, const cJSON *info)
{
    fprintf(f, "%s: ", name);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "up"))) {
        fprintf(f, "down: %s\n", jdoc_str(info, "error") ? jdoc_str(info, "error") : "unreachable");
        return;
    }
    const char *ver = jdoc_str(info, "version");
    fprintf(f, "up, protocol %s (%s), version %s, models: ", jdoc_str(info, "protocol"),
            jdoc_str(info, "api"), ver ? ver : "unknown");
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(info, "models");
    const cJSON *m;
    int first = 1;
    cJSON_ArrayForEach(m, models) {
        fprintf(f, "%s%s", first ? "" : ", ", m->valuestring);
        first = 0;
    }
    if (first)
        fprintf(f, "none listed%s%s", jdoc_str(info, "models_error") ? ": " : "",
                jdoc_str(info, "models_error") ? jdoc_str(info, "models_error") : "");
    fputc('\n', f);
}

