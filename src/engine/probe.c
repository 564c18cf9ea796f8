/* Probing a server before (or instead of) a run: is it up, which protocol,
 * which version, which models.  Blocking; used by `check` and `compare`. */
#include "probe.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jdoc.h"
#include "result.h"
#include "secret.h"
#include "target.h"
#include "tls.h"

#define CHECK_BODY_MAX (256 * 1024)

/* A path next to the URL's own base: the part before its "/v1" (a proxy's
 * prefix), then path ("/v1/models", "/props"). */
static void beside_base(const struct target *t, const char *path, char *buf, size_t cap)
{
    const char *v1 = strstr(t->base_path, "/v1");
    if (v1)
        snprintf(buf, cap, "%.*s%s", (int)(v1 - t->base_path), t->base_path, path);
    else
        snprintf(buf, cap, "%s", path);
}

/* Where the model list lives: Ollama's /api/tags, or the /v1/models next to
 * the OpenAI-style base path ("/v1" of "http://h:8000/v1/chat/completions"). */
static void models_path(const struct target *t, char *buf, size_t cap)
{
    const char *path = api_family(t->api)->models_path;
    if (!strncmp(path, "/v1/", 4))
        beside_base(t, path, buf, cap);
    else
        snprintf(buf, cap, "%s", path);
}

/* A string the server sent, into o: what it shows of a secret (a model
 * "name" echoing the key) is redacted first. */
static void add_server_string(cJSON *o, const char *key, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return;
    secret_redact(c);
    if (cJSON_IsArray(o))
        cJSON_AddItemToArray(o, cJSON_CreateString(c));
    else
        cJSON_AddStringToObject(o, key, c);
    free(c);
}

/* GET path and parse the body as JSON; NULL when anything fails (*status:
 * the HTTP status, 0 when there was none). */
static cJSON *get_json(const struct target *t, const char *path, uint64_t timeout_ns,
                       int *status, char *err, size_t errcap)
{
    char *body = malloc(CHECK_BODY_MAX);
    cJSON *j = NULL;
    *status = 0;
    if (!body) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (target_http_get(t, path, timeout_ns, status, body, CHECK_BODY_MAX, err, errcap) < 0)
        goto out;
    if (*status != 200) {
        snprintf(err, errcap, "GET %s: HTTP %d", path, *status);
        goto out;
    }
    if (!(j = cJSON_Parse(body)))
        snprintf(err, errcap, "GET %s: the body is not JSON", path);
out:
    free(body);
    return j;
}

/* The names of the models the target lists, into the array models
 * (redacted); *status is the list's HTTP status (0: none), err why there
 * is no list. */
static void list_models(const struct target *t, uint64_t timeout_ns, cJSON *models, int *status,
                        char *err, size_t errcap)
{
    const struct api_family *fam = api_family(t->api);
    char path[600];
    models_path(t, path, sizeof path);
    cJSON *m = get_json(t, path, timeout_ns, status, err, errcap);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, fam->models_list)) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, fam->model_name);
        if (cJSON_IsString(n))
            add_server_string(models, NULL, n->valuestring);
    }
    cJSON_Delete(m);
}

int target_first_model(const struct target *t, uint64_t timeout_ns, char *out, size_t cap,
                       char *err, size_t errcap)
{
    int status, rc = -1;
    cJSON *models = cJSON_CreateArray();
    err[0] = '\0';
    if (!models) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    list_models(t, timeout_ns, models, &status, err, errcap);
    const cJSON *first = cJSON_GetArrayItem(models, 0);
    if (cJSON_IsString(first) && first->valuestring[0] && strlen(first->valuestring) < cap) {
        snprintf(out, cap, "%s", first->valuestring);
        rc = 0;
    } else if (!err[0]) {
        snprintf(err, errcap, "the server lists no model");
    }
    cJSON_Delete(models);
    return rc;
}

/* An OpenAI server without /version: the system_fingerprint of a chunk
 * (llama.cpp's is its build, "b4748-c392e5094"), from a one-token
 * generation of model.  A string to free, or NULL. */
static char *chunk_fingerprint(const struct target *t, const char *model, uint64_t timeout_ns)
{
    struct api_request r = { .model = model, .prompt = "Hi", .max_tokens = 1, .temperature = NAN,
                             .seed = -1, .stream = 1 };
    char req[1024], err[256], *out = NULL;
    long n = api_build_body(t->api, &r, req, sizeof req);
    char *body = malloc(CHECK_BODY_MAX);
    int status = 0;
    if (n < 0 || !body ||
        target_http_post(t, t->path, req, (size_t)n, timeout_ns, &status, body, CHECK_BODY_MAX,
                         err, sizeof err) < 0 || status != 200)
        goto out;
    for (char *line = body; line && !out; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "data:", 5))
            continue;
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        cJSON *ev = cJSON_Parse(line + 5);
        const char *fp = jdoc_str(ev, "system_fingerprint");
        if (fp && *fp)
            out = strdup(fp);
        cJSON_Delete(ev);
        if (end)
            *end = '\n';
    }
out:
    free(body);
    return out;
}

/* The server's version, and where it was read, into o: the family's
 * version endpoint (Ollama's /api/version; vLLM and SGLang answer
 * /version), else llama.cpp's /props build_info, else a chunk's
 * system_fingerprint.  A server without any is still up. */
static void probe_version(const struct target *t, cJSON *o, const char *model, uint64_t timeout_ns)
{
    const struct api_family *fam = api_family(t->api);
    char verr[256], path[600];
    int status;
    cJSON *v = get_json(t, fam->version_path, timeout_ns, &status, verr, sizeof verr);
    const char *ver = jdoc_str(v, "version"), *from = fam->version_path;
    char *fp = NULL;
    cJSON *props = NULL;
    if (!ver && !api_is_ollama(t->api)) {
        beside_base(t, "/props", path, sizeof path);
        props = get_json(t, path, timeout_ns, &status, verr, sizeof verr);
        ver = jdoc_str(props, "build_info");
        from = "/props build_info";
    }
    if (!ver && !api_is_ollama(t->api) && model) {
        ver = fp = chunk_fingerprint(t, model, timeout_ns);
        from = "system_fingerprint";
    }
    if (ver) {
        add_server_string(o, "version", ver);
        cJSON_AddStringToObject(o, "version_from", from);
    } else {
        cJSON_AddNullToObject(o, "version");
    }
    free(fp);
    cJSON_Delete(props);
    cJSON_Delete(v);
}

/* "tls" of an https target: how it was trusted (as a run's config.tls
 * says), the version negotiated, and the error class of a refused
 * handshake; null for http. */
static void probe_tls(cJSON *o, const struct target *t, const struct tls_opts *opts)
{
    if (!t->https) {
        cJSON_AddNullToObject(o, "tls");
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, "tls");
    if (!x)
        return;
    if (t->tls_version[0])
        cJSON_AddStringToObject(x, "version", t->tls_version);
    else
        cJSON_AddNullToObject(x, "version");
    cJSON_AddBoolToObject(x, "insecure", opts && opts->insecure);
    if (opts && opts->cacert)
        cJSON_AddStringToObject(x, "cacert", opts->cacert);
    else
        cJSON_AddNullToObject(x, "cacert");
    cJSON_AddBoolToObject(x, "client_cert", opts && opts->cert);
    if (t->tls_fail)
        cJSON_AddStringToObject(x, "error_class", err_class_name(t->tls_fail == TLS_FAIL_VERIFY ? ERR_TLS_VERIFY
                                                                                             : ERR_TLS_HANDSHAKE));
    else
        cJSON_AddNullToObject(x, "error_class");
}

/* Probes url (target_probe in probe.h). */
cJSON *target_probe(const char *url, enum api_kind api, const struct target_net *net, uint64_t timeout_ns,
                    int *usage)
{
    struct target t;
    char err[512] = "";
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    *usage = 0;
    cJSON_AddStringToObject(o, "url", url);
    /* https: one bare handshake first, so a refused certificate is said
     * as such (and classed), not as whichever request met it first. */
    struct target_net hello = { .proxy = "" };
    if (net)
        hello = *net;
    hello.tls_hello = 1;
    int rc = target_resolve_net(&t, url, api, &hello, timeout_ns, err, sizeof err);
    if (rc != -1)
        probe_tls(o, &t, hello.tls);
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
    if (t.via)
        cJSON_AddStringToObject(o, "proxy", t.proxy.shown);

    /* The models first: the version may need one to ask a chunk. */
    char merr[256] = "";
    int status;
    cJSON *models = cJSON_CreateArray();
    list_models(&t, timeout_ns, models, &status, merr, sizeof merr);
    int unauthorized = status == 401 || status == 403;
    const cJSON *first = cJSON_GetArrayItem(models, 0);
    probe_version(&t, o, unauthorized || !first ? NULL : first->valuestring, timeout_ns);
    cJSON_AddItemToObject(o, "models", models);
    if (merr[0])
        cJSON_AddStringToObject(o, "models_error", merr);
    cJSON_AddBoolToObject(o, "unauthorized", unauthorized);
    cJSON_AddNullToObject(o, "error");
    return o;
}

/* "up, protocol openai (openai-chat), version 0.6.1, models: a, b", with
 * "unauthorized: why" when the server refused the key (or its absence),
 * or "down: why". */
void target_probe_print(FILE *f, const char *name, const cJSON *info)
{
    fprintf(f, "%s: ", name);
    const cJSON *tls = cJSON_GetObjectItemCaseSensitive(info, "tls");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "up"))) {
        const char *cls = jdoc_str(tls, "error_class");
        fprintf(f, "down: %s", jdoc_str(info, "error") ? jdoc_str(info, "error") : "unreachable");
        if (cls)
            fprintf(f, " (%s)", cls);
        fputc('\n', f);
        return;
    }
    const char *ver = jdoc_str(info, "version"), *from = jdoc_str(info, "version_from");
    fprintf(f, "up, protocol %s (%s), version %s", jdoc_str(info, "protocol"), jdoc_str(info, "api"),
            ver ? ver : "unknown");
    if (ver && from && strcmp(from, "/version") && strcmp(from, "/api/version"))
        fprintf(f, " (%s)", from);
    if (cJSON_IsObject(tls)) {
        const char *v = jdoc_str(tls, "version");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tls, "insecure")))
            fprintf(f, ", %s INSECURE: certificate and name NOT verified (--insecure)", v ? v : "TLS");
        else
            fprintf(f, ", %s verified", v ? v : "TLS");
    }
    const char *merr = jdoc_str(info, "models_error");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "unauthorized"))) {
        fprintf(f, ", unauthorized: %s (give the key with --api-key-file, --api-key or "
                "$OPENAI_API_KEY)\n", merr ? merr : "the key was refused");
        return;
    }
    fprintf(f, ", models: ");
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(info, "models");
    const cJSON *m;
    int first = 1;
    cJSON_ArrayForEach(m, models) {
        fprintf(f, "%s%s", first ? "" : ", ", m->valuestring);
        first = 0;
    }
    if (first)
        fprintf(f, "none listed%s%s", merr ? ": " : "", merr ? merr : "");
    fputc('\n', f);
}
