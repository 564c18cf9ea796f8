/* Run requests (serve_run.h). */
#include "serve_run.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util.h"

int serve_run_arg(struct serve_run_args *a, const char *fmt, ...)
{
    if (a->argc >= SERVE_RUN_MAX_ARGS)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&a->argv[a->argc], fmt, ap);
    va_end(ap);
    if (r < 0) {
        a->argv[a->argc] = NULL;
        return -1;
    }
    a->argv[++a->argc] = NULL;
    return 0;
}

void serve_run_args_free(struct serve_run_args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
    a->argv[0] = NULL;
}

/* An integer field in [lo, hi] (def when absent).  0, or -1 with err. */
static int get_int(const cJSON *body, const char *key, long def, long lo, long hi,
                   const char *limit, long *out, char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
        snprintf(err, errcap, "%s: not an integer", key);
        return -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        snprintf(err, errcap, "%s %.0f: outside %ld..%ld%s%s", key, v->valuedouble, lo, hi,
                 limit ? " (the server's " : "", limit ? limit : "");
        if (limit)
            strncat(err, ")", errcap - strlen(err) - 1);
        return -1;
    }
    *out = (long)v->valuedouble;
    return 0;
}

int serve_run_model_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-@+", *s))
            return 0;
    return 1;
}

static const char *const known_keys[] = {
    "targets", "prompt", "prompts", "model", "models", "max_tokens", "levels", "requests", "slo",
};

/* An SLO expression as `--slo` reads it ('p95(ttft)<=500ms', 'ttft<=1s,itl_max<=200ms'):
 * the child judges its grammar; here only its alphabet and length. */
static int slo_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_()<>=.,% ", *s))
            return 0;
    return 1;
}

int serve_run_parse(const struct serve_opts *o, const char *body, const char *json_path,
                    const char *csv_path, struct serve_run_args *a, char *err, size_t errcap)
{
    memset(a, 0, sizeof *a);
    cJSON *j = cJSON_Parse(body);
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errcap, "the body is not a JSON object");
        goto out;
    }
    /* Unknown fields are refused, not ignored: a "url" must never look
     * accepted. */
    for (const cJSON *f = j->child; f; f = f->next) {
        size_t k = 0;
        while (k < sizeof known_keys / sizeof known_keys[0] && strcmp(f->string, known_keys[k]))
            k++;
        if (k == sizeof known_keys / sizeof known_keys[0]) {
            snprintf(err, errcap, "unknown field \"%.64s\": targets are named, not given by URL",
                     f->string);
            goto out;
        }
    }
    if (serve_run_arg(a, "compare") < 0)
        goto oom;

    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(j, "targets");
    if (tg && !cJSON_IsArray(tg)) {
        snprintf(err, errcap, "targets: not a list of names");
        goto out;
    }
    if (!tg) {
        for (size_t i = 0; i < o->ntargets; i++)
            a->targets[a->ntargets++] = i;
    } else {
        const cJSON *t;
        cJSON_ArrayForEach(t, tg) {
            size_t i = 0;
            while (cJSON_IsString(t) && i < o->ntargets && strcmp(t->valuestring, o->targets[i].name))
                i++;
            if (!cJSON_IsString(t) || i == o->ntargets) {
                snprintf(err, errcap, "targets: \"%.64s\" is not a target of this server",
                         cJSON_IsString(t) ? t->valuestring : "?");
                goto out;
            }
            for (size_t k = 0; k < a->ntargets; k++)
                if (a->targets[k] == i) {
                    snprintf(err, errcap, "targets: \"%.64s\" given twice", t->valuestring);
                    goto out;
                }
            a->targets[a->ntargets++] = i;
        }
    }
    if (a->ntargets < 2) {
        snprintf(err, errcap, "targets: a comparison needs at least two");
        goto out;
    }
    /* A model per target: the body's, else the operator's @MODEL, else
     * the run's --model or the target's first (compare decides). */
    const cJSON *mm = cJSON_GetObjectItemCaseSensitive(j, "models");
    if (mm && !cJSON_IsObject(mm)) {
        snprintf(err, errcap, "models: not an object of target name to model");
        goto out;
    }
    for (const cJSON *m = mm ? mm->child : NULL; m; m = m->next) {
        size_t k = 0;
        while (k < a->ntargets && strcmp(m->string, o->targets[a->targets[k]].name))
            k++;
        if (k == a->ntargets) {
            snprintf(err, errcap, "models: \"%.64s\" is not a target of this run", m->string);
            goto out;
        }
        if (!cJSON_IsString(m) || !serve_run_model_ok(m->valuestring)) {
            snprintf(err, errcap, "models: %.64s: not a model name", m->string);
            goto out;
        }
    }
    for (size_t k = 0; k < a->ntargets; k++) {
        const struct serve_target *t = &o->targets[a->targets[k]];
        const cJSON *m = mm ? cJSON_GetObjectItemCaseSensitive(mm, t->name) : NULL;
        const char *model = m ? m->valuestring : t->model;
        if (serve_run_arg(a, "--target=%s=%s%s%s", t->name, t->url, *model ? "@" : "", model) < 0)
            goto oom;
    }

    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "prompt");
    if (pr && (!cJSON_IsString(pr) || !*pr->valuestring || strlen(pr->valuestring) > SERVE_RUN_MAX_PROMPT)) {
        snprintf(err, errcap, "prompt: not a text of 1 to %d bytes", SERVE_RUN_MAX_PROMPT);
        goto out;
    }
    if (pr && serve_run_arg(a, "--prompt=%s", pr->valuestring) < 0)
        goto oom;
    /* An allowed file, by name: the path is the operator's, never the body's. */
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "prompts");
    if (ps) {
        size_t i = 0;
        while (cJSON_IsString(ps) && i < o->nsources && strcmp(ps->valuestring, o->sources[i].name))
            i++;
        if (!cJSON_IsString(ps) || i == o->nsources) {
            snprintf(err, errcap, "prompts: \"%.64s\" is not a prompt file or dataset this server allows",
                     cJSON_IsString(ps) ? ps->valuestring : "?");
            goto out;
        }
        if (pr) {
            snprintf(err, errcap, "prompt and prompts: give one of them");
            goto out;
        }
        if (serve_run_arg(a, "%s=%s", o->sources[i].flag, o->sources[i].path) < 0)
            goto oom;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (md && (!cJSON_IsString(md) || !serve_run_model_ok(md->valuestring))) {
        snprintf(err, errcap, "model: not a model name");
        goto out;
    }
    if (md && serve_run_arg(a, "--model=%s", md->valuestring) < 0)
        goto oom;

    const cJSON *slo = cJSON_GetObjectItemCaseSensitive(j, "slo");
    if (slo && (!cJSON_IsString(slo) || !slo_ok(slo->valuestring))) {
        snprintf(err, errcap, "slo: not an SLO expression (e.g. p95(ttft)<=500ms)");
        goto out;
    }
    if (slo && serve_run_arg(a, "--slo=%s", slo->valuestring) < 0)
        goto oom;

    long mt, reqs;
    char lim[64];
    if (get_int(j, "max_tokens", 128, 1, 8192, NULL, &mt, err, errcap) < 0)
        goto out;
    snprintf(lim, sizeof lim, "--max-requests %u", o->max_requests);
    if (get_int(j, "requests", o->max_requests < 20 ? o->max_requests : 20, 1,
                (long)o->max_requests, lim, &reqs, err, errcap) < 0)
        goto out;
    if (serve_run_arg(a, "--max-tokens=%ld", mt) < 0 || serve_run_arg(a, "--requests=%ld", reqs) < 0)
        goto oom;

    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(j, "levels");
    char levels[256] = "";
    if (!lv) {
        /* The default sweep, cut at the operator's limit. */
        static const unsigned def[] = { 1, 2, 5, 10, 20 };
        for (size_t i = 0; i < sizeof def / sizeof def[0] && def[i] <= o->max_concurrency; i++)
            snprintf(levels + strlen(levels), sizeof levels - strlen(levels), "%s%u",
                     i ? "," : "", def[i]);
    } else {
        if (!cJSON_IsArray(lv) || cJSON_GetArraySize(lv) < 1 ||
            cJSON_GetArraySize(lv) > SERVE_RUN_MAX_LEVELS) {
            snprintf(err, errcap, "levels: not a list of 1 to %d concurrencies", SERVE_RUN_MAX_LEVELS);
            goto out;
        }
        const cJSON *l;
        cJSON_ArrayForEach(l, lv) {
            if (!cJSON_IsNumber(l) || l->valuedouble != floor(l->valuedouble) || l->valuedouble < 1) {
                snprintf(err, errcap, "levels: each a whole number >= 1");
                goto out;
            }
            if (l->valuedouble > o->max_concurrency) {
                snprintf(err, errcap, "levels: %.0f is above the server's --max-concurrency %u",
                         l->valuedouble, o->max_concurrency);
                goto out;
            }
            snprintf(levels + strlen(levels), sizeof levels - strlen(levels), "%s%.0f",
                     l == lv->child ? "" : ",", l->valuedouble);
        }
    }
    if (!levels[0]) {
        snprintf(err, errcap, "levels: none within the server's --max-concurrency %u", o->max_concurrency);
        goto out;
    }
    if (serve_run_arg(a, "--concurrency=%s", levels) < 0 ||
        serve_run_arg(a, "--json=%s", json_path) < 0 || serve_run_arg(a, "--csv=%s", csv_path) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errcap, "out of memory");
out:
    if (rc < 0)
        serve_run_args_free(a);
    cJSON_Delete(j);
    return rc;
}
