/* Sweeps: one parameter over a list of levels, a full run per level, the
 * knee, and the SLO search (--find-max).  The level loop is shared by the
 * `sweep` and `compare` commands through sweep.h. */
#include "sweep.h"
#include "workload.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "exitcode.h"
#include "engine.h"
#include "fileio.h"
#include "jdoc.h"
#include "gate.h"
#include "prompts.h"
#include "report.h"
#include "sample.h"
#include "scale.h"
#include "baseline.h"
#include "units.h"

static const char *const param_names[SWEEP__N] = {
    "concurrency", "rate", "temperature", "max-tokens", "prompt-set", "model"
};

int sweep_param_named(enum sweep_param p)
{
    return p == SWEEP_PROMPT_SET || p == SWEEP_MODEL;
}

const char *sweep_param_name(enum sweep_param p)
{
    return p < SWEEP__N ? param_names[p] : "?";
}

void sweep_opts_free(struct sweep_opts *o)
{
    for (size_t i = 0; i < o->nslo; i++)
        gate_expr_free(o->slo[i]);
    for (size_t i = 0; i < o->ntargets; i++) {
        free(o->targets[i].name);
        free(o->targets[i].url);
        free(o->targets[i].model);
    }
    for (size_t i = 0; i < o->ncosts; i++)
        free(o->costs[i].name);
    for (size_t i = 0; i < KNEE_MAX_LEVELS; i++)
        free(o->prompts[i]);
    gate_opts_free(&o->gate);
    out_close(o->json_out);
    out_close(o->csv_out);
    free(o->prompt_list);
    memset(o, 0, sizeof *o);
}

/* ---- running levels ------------------------------------------------------------ */

/* The run config of one level. */
static void level_config(const struct sweep_opts *o, size_t idx, double level,
                         struct run_config *c)
{
    *c = *o->cfg;
    c->seed = config_run_seed(o->cfg->seed, idx);   /* fresh nonces on every level */
    switch (o->param) {
    case SWEEP_CONCURRENCY: c->concurrency = (uint32_t)level; break;
    case SWEEP_RATE:        c->rate = level; break;
    case SWEEP_TEMPERATURE: c->temperature = level; break;
    case SWEEP_MAX_TOKENS:  c->max_tokens = (int64_t)level; break;
    case SWEEP_PROMPT_SET:  c->prompt = o->prompts[idx] ? o->prompts[idx] : o->names[idx]; break;
    case SWEEP_MODEL:       snprintf(c->model, sizeof c->model, "%s", o->names[idx]); break;
    case SWEEP__N:          break;
    }
    /* Each level is a full run with warm-up: unless --warmup says
     * otherwise, one request per connection of the level (at most 4 for
     * sweeps of other parameters, which keep the concurrency fixed), so
     * connections are open and the server is warm before measuring. */
    if (!o->warmup_given) {
        uint64_t w = c->concurrency;
        if (o->param != SWEEP_CONCURRENCY && w > 4)
            w = 4;
        c->warmup_requests = w ? w : 1;
        c->warmup_ns = 0;
    }
}

/* Every SLO holds on summary; a metric with no samples fails it. */
static int slo_check(const struct sweep_opts *o, const cJSON *summary)
{
    for (size_t i = 0; i < o->nslo; i++) {
        double measured;
        int pass;
        if (gate_expr_eval(o->slo[i], summary, &measured, &pass) < 0 || !pass)
            return 0;
    }
    return 1;
}

static const char *level_text(const struct sweep_opts *o, size_t idx, double level,
                              char *buf, size_t cap)
{
    if (sweep_param_named(o->param))
        snprintf(buf, cap, "%s", o->names[idx]);
    else
        snprintf(buf, cap, "%g", level);
    return buf;
}

cJSON *sweep_open_loop_json(const struct run_stats *s)
{
    double offered, achieved;
    if (run_stats_rates(s, &offered, &achieved) < 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    jdoc_add_num(o, "offered_rate", offered);
    jdoc_add_num(o, "achieved_rate", achieved);
    cJSON_AddNumberToObject(o, "arrivals", (double)s->arrivals);
    cJSON_AddNumberToObject(o, "sent", (double)(s->arrivals - s->unsent));
    cJSON_AddNumberToObject(o, "late", (double)s->late);
    cJSON_AddNumberToObject(o, "unsent", (double)s->unsent);
    return o;
}

/* The state of one sweep_execute call. */
struct sweep_ctx {
    struct sweep_opts *o;
    const char *label;
    FILE *log;
    cJSON *levels;
    enum sweep_status status;
    char down[640];
    char *err; size_t errcap;
    /* find-max: the run at hand ("search", "more", "hold") and, for
     * "more", how many requests it sends. */
    const char *role;
    uint64_t more;
};

/* Runs one level and appends {"level","summary"} to ctx->levels.  Returns
 * 0 with *summary_out borrowed from the array, 1 when the target is down or
 * the run was interrupted (ctx->status says which), -1 on a hard error. */
static int run_level(struct sweep_ctx *x, size_t idx, double level, const cJSON **summary_out)
{
    struct sweep_opts *o = x->o;
    struct run_config c;
    char lab[128];
    level_config(o, idx, level, &c);
    if (x->more && c.requests)
        c.requests = x->more;
    level_text(o, idx, level, lab, sizeof lab);
    if (engine_interrupted()) {
        x->status = SWEEP_INTERRUPTED;
        return 1;
    }
    /* A prompt-set level gets a workload of its own (its prompt, with the
     * run's nonce and other workload flags); other levels share one. */
    struct workload *lw = NULL;
    if (o->param == SWEEP_PROMPT_SET) {
        struct workload_opts wo = *o->wopts;
        wo.prompt = c.prompt;
        wo.prompt_set = -1;
        if (!(lw = workload_open(&wo, c.seed, x->err, x->errcap)))
            return -1;
        c.workload = lw;
        c.workload_desc = workload_describe(lw);
    }
    struct run_stats st;
    if (run_stats_init(&st) < 0) {
        snprintf(x->err, x->errcap, "out of memory");
        workload_free(lw);
        return -1;
    }
    char eerr[256];
    struct engine_hooks h = { 0 };
    struct obs_monitor *mon = NULL;
    h.monitor_out = &mon;
    size_t run_index = (size_t)cJSON_GetArraySize(x->levels);
    if (o->obs.before && o->obs.before(o->obs.ud, &c, &st, x->label, param_names[o->param], lab,
                                       sweep_param_named(o->param) ? (double)idx : level,
                                       run_index, &h, x->err, x->errcap) < 0) {
        workload_free(lw);
        run_stats_free(&st);
        return -1;
    }
    /* In the workers of --workers when given: the level's result is their exact merge. */
    int rc = scale_run(&c, &st, &h, NULL, NULL, eerr, sizeof eerr);
    workload_free(lw);
    if (rc < 0) {
        snprintf(x->down, sizeof x->down, "at %s %s: %s", param_names[o->param], lab, eerr);
        run_stats_free(&st);
        x->status = SWEEP_DOWN;
        return 1;
    }
    cJSON *summary = report_summary_json(&st);
    cJSON *entry = cJSON_CreateObject();
    cJSON *open_loop = sweep_open_loop_json(&st);
    if (!summary || !entry || !open_loop) {
        cJSON_Delete(summary);
        cJSON_Delete(entry);
        cJSON_Delete(open_loop);
        run_stats_free(&st);
        obs_monitor_free(mon);
        snprintf(x->err, x->errcap, "out of memory");
        return -1;
    }
    if (sweep_param_named(o->param)) {
        cJSON_AddStringToObject(entry, "level", o->names[idx]);
        cJSON_AddNumberToObject(entry, "index", (double)idx);
    } else {
        cJSON_AddNumberToObject(entry, "level", level);
    }
    cJSON_AddNumberToObject(entry, "seed", (double)c.seed);   /* --seed repeats the level */
    cJSON_AddStringToObject(entry, "run_id", st.run_id);
    if (x->role)
        cJSON_AddStringToObject(entry, "probe", x->role);
    if (o->nslo)
        cJSON_AddBoolToObject(entry, "slo_ok", slo_check(o, summary));
    if (cJSON_IsNull(open_loop))
        cJSON_Delete(open_loop);
    else
        cJSON_AddItemToObject(entry, "open_loop", open_loop);
    cJSON_AddItemToObject(entry, "summary", summary);
    /* The level's requests, so compare can put an interval on its verdict. */
    cJSON *samples = req_samples_to_json(&st.samples);
    if (samples)
        cJSON_AddItemToObject(entry, "samples", samples);
    cJSON_AddItemToArray(x->levels, entry);
    if (o->obs.after)
        o->obs.after(o->obs.ud, &c, &st, &h, mon, entry);
    obs_monitor_free(mon);
    *summary_out = summary;

    if (x->log) {
        char b1[32], b2[32];
        double p95 = NAN;
        const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(summary, "e2e");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e2e, "p95");
        if (cJSON_IsNumber(v))
            p95 = v->valuedouble;
        double wall = run_stats_wall_s(&st), offered, achieved;
        char rates[160] = "";
        if (run_stats_rates(&st, &offered, &achieved) == 0)
            snprintf(rates, sizeof rates, ", sent %.1f of %.1f req/s offered", achieved, offered);
        if (st.slo.n)
            snprintf(rates + strlen(rates), sizeof rates - strlen(rates), ", %llu/%llu good",
                     (unsigned long long)st.slo_tally.good, (unsigned long long)st.slo_tally.judged);
        fprintf(x->log, "%s%s%s %s: %s tok/s, p95 %s, %llu/%llu ok%s%s\n",
                x->label, *x->label ? ": " : "", param_names[o->param], lab,
                wall > 0 ? (snprintf(b1, sizeof b1, "%.1f", (double)st.output_tokens / wall), b1) : "-",
                isfinite(p95) ? units_fmt_seconds(p95, b2, sizeof b2) : "-",
                (unsigned long long)st.ok, (unsigned long long)st.requests, rates,
                o->nslo ? (slo_check(o, summary) ? ", SLO met" : ", SLO failed") : "");
    }
    /* A level where every request failed to connect means the server went
     * away: the remaining levels would only repeat it. */
    uint64_t conn_fail = st.errors[ERR_CONNECT] + st.errors[ERR_TIMEOUT_CONNECT];
    if (st.interrupted) {
        x->status = SWEEP_INTERRUPTED;
        run_stats_free(&st);
        return 1;
    }
    if (st.requests > 0 && st.ok == 0 && conn_fail == st.failed) {
        const char *sample = st.err_sample[ERR_CONNECT][0] ? st.err_sample[ERR_CONNECT]
                                                           : st.err_sample[ERR_TIMEOUT_CONNECT];
        snprintf(x->down, sizeof x->down, "at %s %s: every request failed to connect%s%s",
                 param_names[o->param], lab, *sample ? ": " : "", sample);
        x->status = SWEEP_DOWN;
        run_stats_free(&st);
        return 1;
    }
    run_stats_free(&st);
    return 0;
}

static int findmax_eval(void *ud, double level, uint64_t more, struct knee_probe *p)
{
    struct sweep_ctx *x = ud;
    const cJSON *summary = NULL;
    const char *role = x->role;
    x->more = more;
    if (more)
        x->role = "more";
    /* Each run its own seed (fresh nonces: a run of more requests at a
     * level must not repeat the prompts a server may have cached). */
    int rc = run_level(x, (size_t)cJSON_GetArraySize(x->levels), level, &summary);
    x->role = role;
    x->more = 0;
    if (rc != 0)
        return rc < 0 ? -1 : -2;
    /* The level's entry is the last one: its open-loop rates. */
    const cJSON *entry = cJSON_GetArrayItem(x->levels, cJSON_GetArraySize(x->levels) - 1);
    const cJSON *slo = cJSON_GetObjectItemCaseSensitive(summary, "slo");
    int ok = slo_check(x->o, summary);
    p->ok = more ? p->ok && ok : ok;
    p->good += (uint64_t)fmax(0, jdoc_num(slo, "good"));
    p->judged += (uint64_t)fmax(0, jdoc_num(slo, "judged"));
    p->saturated |= knee_saturated(summary, cJSON_GetObjectItemCaseSensitive(entry, "open_loop"),
                                   x->o->threshold);
    return 0;
}

/* Past capacity: one run at KNEE_PAST_FACTOR x the capacity found, judged
 * against the run that held it, so a search says what overload does to
 * goodput.  Not run without a capacity, or when the level would be above
 * --find-max-limit (the user's bound on the load).  0 with *out (NULL: not
 * run), 1 when the target went down or the run was interrupted, -1 on a
 * hard error. */
static int findmax_past(struct sweep_ctx *x, const struct knee_findmax *r, cJSON **out)
{
    const struct knee_findmax_opts *fo = &x->o->fm;
    *out = NULL;
    if (isnan(r->best) || !(fo->goodput > 0))
        return 0;
    double level = knee_past_level(r->best, fo->integer);
    if (fo->limit > 0 && level > fo->limit)
        return 0;
    /* The last run at the capacity: the hold. */
    const cJSON *at = NULL, *lv, *summary;
    cJSON_ArrayForEach(lv, x->levels)
        if (jdoc_num(lv, "level") == r->best)
            at = lv;
    x->role = "past";
    int rc = run_level(x, (size_t)cJSON_GetArraySize(x->levels), level, &summary);
    x->role = NULL;
    if (rc != 0)
        return rc;
    const cJSON *past = cJSON_GetArrayItem(x->levels, cJSON_GetArraySize(x->levels) - 1);
    if (!(*out = knee_past_json(at, past, param_names[x->o->param], x->o->threshold))) {
        snprintf(x->err, x->errcap, "out of memory");
        return -1;
    }
    return 0;
}

static int cmp_level(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double lx = cJSON_GetObjectItemCaseSensitive(x, "level")->valuedouble;
    double ly = cJSON_GetObjectItemCaseSensitive(y, "level")->valuedouble;
    return (lx > ly) - (lx < ly);
}

/* One level of the search: {level, ok}, and with a goodput target its
 * tally and interval, whether it was saturated and how many runs it got. */
static cJSON *try_json(const struct sweep_opts *o, const struct knee_try *t)
{
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return NULL;
    cJSON_AddNumberToObject(e, "level", t->level);
    cJSON_AddBoolToObject(e, "ok", t->ok);
    cJSON_AddBoolToObject(e, "saturated", t->saturated);
    if (o->fm.goodput > 0) {
        cJSON_AddNumberToObject(e, "runs", t->runs);
        cJSON_AddNumberToObject(e, "judged", (double)t->judged);
        cJSON_AddNumberToObject(e, "good", (double)t->good);
        jdoc_add_num(e, "attainment", t->judged ? (double)t->good / (double)t->judged : NAN);
        jdoc_add_num(e, "lo", t->lo);
        jdoc_add_num(e, "hi", t->hi);
    }
    return e;
}

static cJSON *findmax_json(const struct sweep_opts *o, const struct knee_findmax *r)
{
    cJSON *f = cJSON_CreateObject();
    if (!f)
        return NULL;
    cJSON_AddStringToObject(f, "parameter", param_names[o->param]);
    if (isnan(r->best))
        cJSON_AddNullToObject(f, "max");
    else
        cJSON_AddNumberToObject(f, "max", r->best);
    if (isnan(r->first_fail))
        cJSON_AddNullToObject(f, "first_fail");
    else
        cJSON_AddNumberToObject(f, "first_fail", r->first_fail);
    cJSON_AddBoolToObject(f, "at_limit", r->at_limit);
    cJSON_AddBoolToObject(f, "exhausted", r->exhausted);
    cJSON_AddNumberToObject(f, "start", o->fm.start);
    cJSON_AddNumberToObject(f, "limit", o->fm.limit);
    if (o->fm.step > 0)
        cJSON_AddNumberToObject(f, "step", o->fm.step);
    else
        cJSON_AddNullToObject(f, "step");
    if (o->fm.goodput > 0) {
        cJSON_AddNumberToObject(f, "goodput_target", o->fm.goodput);
        cJSON_AddNumberToObject(f, "probes", (double)r->ntried);
        cJSON *b = cJSON_AddArrayToObject(f, "bracket");
        if (b) {
            cJSON_AddItemToArray(b, isnan(r->best) ? cJSON_CreateNull() : cJSON_CreateNumber(r->best));
            cJSON_AddItemToArray(b, isnan(r->first_fail) ? cJSON_CreateNull()
                                                         : cJSON_CreateNumber(r->first_fail));
        }
    }
    cJSON *t = cJSON_AddArrayToObject(f, "tried");
    for (size_t i = 0; t && i < r->ntried; i++)
        cJSON_AddItemToArray(t, try_json(o, &r->tried[i]));
    if (r->held)
        cJSON_AddItemToObject(f, "hold", try_json(o, &r->hold));
    else
        cJSON_AddNullToObject(f, "hold");
    return f;
}

/* The knee of the levels run so far, with the SLO verdicts. */
static cJSON *sweep_knee(const struct sweep_opts *o, const cJSON *levels)
{
    char slo[512] = "";
    for (size_t k = 0; k < o->nslo; k++) {
        size_t len = strlen(slo);
        snprintf(slo + len, sizeof slo - len, "%s%s", k ? " and " : "", o->slo[k]->text);
    }
    return knee_of_levels(levels, param_names[o->param], o->threshold, o->nslo ? slo : NULL);
}

cJSON *sweep_execute(struct sweep_opts *o, const char *label, FILE *log,
                     enum sweep_status *status, char *err, size_t errcap)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    const struct run_config *c = o->cfg;
    cJSON_AddStringToObject(doc, "schema", "llmload.sweep/1");
    cJSON_AddStringToObject(doc, "parameter", param_names[o->param]);
    cJSON *t = cJSON_AddObjectToObject(doc, "target");
    cJSON_AddStringToObject(t, "name", label ? label : "");
    cJSON_AddStringToObject(t, "url", c->url);
    cJSON_AddStringToObject(t, "model", c->model);
    cJSON *cfg = report_config_json(c);
    if (cfg)
        cJSON_AddItemToObject(doc, "config", cfg);
    cJSON *env = report_environment_json(NULL);
    if (env)
        cJSON_AddItemToObject(doc, "environment", env);
    cJSON_AddNumberToObject(doc, "threshold", o->threshold);
    cJSON *slo = cJSON_AddArrayToObject(doc, "slo");
    for (size_t i = 0; i < o->nslo; i++)
        cJSON_AddItemToArray(slo, cJSON_CreateString(o->slo[i]->text));
    if (c->slo.n)
        cJSON_AddStringToObject(doc, "slo_per_request", c->slo.text);
    else
        cJSON_AddNullToObject(doc, "slo_per_request");

    struct sweep_ctx x = { o, label ? label : "", log, NULL, SWEEP_DONE, "", err, errcap, NULL, 0 };
    x.levels = cJSON_AddArrayToObject(doc, "levels");
    if (!x.levels) {
        cJSON_Delete(doc);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    int rc = 0;
    if (o->find_max) {
        struct knee_findmax r;
        struct knee_findmax_opts fo = o->fm;
        fo.hold = 0;
        x.role = "search";
        rc = knee_findmax_run(&fo, findmax_eval, &x, &r);
        /* A capacity is confirmed by holding it for one more run. */
        if (rc == 0 && fo.goodput > 0) {
            x.role = "hold";
            rc = knee_findmax_hold(&fo, findmax_eval, &x, &r);
        }
        x.role = NULL;
        cJSON *past = NULL;
        if (rc == 0 && (rc = findmax_past(&x, &r, &past)) == 1)
            rc = -2;
        /* In level order (they were run in search order), so the table and
         * the knee read left to right. */
        jdoc_sort(x.levels, cmp_level);
        cJSON *f = findmax_json(o, &r);
        if (f && fo.goodput > 0)
            cJSON_AddItemToObject(f, "past_capacity", past ? past : cJSON_CreateNull());
        else
            cJSON_Delete(past);
        if (f)
            cJSON_AddItemToObject(doc, "find_max", f);
        if (rc == -2)
            rc = 0;     /* down or interrupted: x.status says which */
    } else {
        for (size_t i = 0; i < o->nlevels && rc == 0; i++) {
            const cJSON *s;
            rc = run_level(&x, i, o->levels[i], &s);
        }
        if (rc == 1)
            rc = 0;
    }
    if (rc < 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    cJSON_AddItemToObject(doc, "knee", sweep_knee(o, x.levels));
    /* Models at the same load: which one to recommend, as compare says it. */
    if (o->param == SWEEP_MODEL) {
        cJSON *rec = compare_model_levels(x.levels, c->concurrency, o->threshold);
        if (rec)
            cJSON_AddItemToObject(doc, "recommendation", rec);
    }
    if (x.status == SWEEP_DOWN)
        cJSON_AddStringToObject(doc, "error", x.down);
    else
        cJSON_AddNullToObject(doc, "error");
    cJSON_AddBoolToObject(doc, "interrupted", x.status == SWEEP_INTERRUPTED);
    *status = x.status;
    return doc;
}

cJSON *sweep_merge_rounds(const struct sweep_opts *o, cJSON *const *docs, size_t k)
{
    cJSON *out = cJSON_Duplicate(docs[0], 1);
    const cJSON **sums = calloc(k ? k : 1, sizeof *sums);
    cJSON *lv;
    if (!out || !sums)
        goto fail;
    cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(out, "levels")) {
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(lv, "level");
        cJSON *pooled = cJSON_CreateObject();
        size_t n = 0;
        if (!pooled || !cJSON_ReplaceItemInObject(lv, "samples", pooled)) {
            cJSON_Delete(pooled);
            goto fail;
        }
        for (size_t r = 0; r < k; r++) {
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(docs[r], "levels")) {
                if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(e, "level"), level, 1))
                    continue;
                const cJSON *sm = cJSON_GetObjectItemCaseSensitive(e, "summary");
                const cJSON *smp = cJSON_GetObjectItemCaseSensitive(e, "samples");
                if (cJSON_IsObject(sm))
                    sums[n++] = sm;
                if (smp && req_samples_json_append(pooled, smp, (int)r) < 0)
                    goto fail;
                break;
            }
        }
        cJSON *med = n ? baseline_median_summary(sums, n) : NULL;
        if (!med || !cJSON_ReplaceItemInObject(lv, "summary", med)) {
            cJSON_Delete(med);
            goto fail;
        }
        cJSON_AddNumberToObject(lv, "rounds", (double)n);
    }
    cJSON_ReplaceItemInObject(out, "knee", sweep_knee(o, cJSON_GetObjectItemCaseSensitive(out, "levels")));
    cJSON_AddNumberToObject(out, "rounds", (double)k);
    free(sums);
    return out;
fail:
    free(sums);
    cJSON_Delete(out);
    return NULL;
}

/* ---- output ------------------------------------------------------------------- */

static int doc_open_loop(const cJSON *doc)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "parameter");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(cfg, "rate");
    return (cJSON_IsString(p) && !strcmp(p->valuestring, "rate")) ||
           (cJSON_IsNumber(rate) && rate->valuedouble > 0);
}

/* " 8 ok" or, with a goodput target, " 8 ok (100/100 good, 96.3-100%)". */
static void print_try(FILE *f, const cJSON *t, int goodput)
{
    fprintf(f, " %g %s", jdoc_num(t, "level"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "ok")) ? "ok" : "fail");
    if (!goodput)
        return;
    double lo = jdoc_num(t, "lo"), hi = jdoc_num(t, "hi");
    fprintf(f, " (%.0f/%.0f good", jdoc_num(t, "good"), jdoc_num(t, "judged"));
    if (isfinite(lo))
        fprintf(f, ", %.1f-%.1f%%", lo * 100, hi * 100);
    if (jdoc_num(t, "runs") > 1)
        fprintf(f, ", %.0f runs", jdoc_num(t, "runs"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "saturated")))
        fprintf(f, ", saturated");
    fputc(')', f);
}

void sweep_print(FILE *f, const cJSON *doc)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "parameter");
    const char *param = cJSON_IsString(p) ? p->valuestring : "level";
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(doc, "levels");
    knee_table_print(f, param, levels, doc_open_loop(doc));
    fputc('\n', f);
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(doc, "find_max");
    if (cJSON_IsObject(fm)) {
        const cJSON *max = cJSON_GetObjectItemCaseSensitive(fm, "max");
        const cJSON *slo = cJSON_GetObjectItemCaseSensitive(doc, "slo");
        const cJSON *per = cJSON_GetObjectItemCaseSensitive(doc, "slo_per_request");
        double target = jdoc_num(fm, "goodput_target");
        fprintf(f, "%s %s meeting ", isfinite(target) ? "capacity: largest" : "largest", param);
        if (isfinite(target))
            fprintf(f, "%s with attainment >= %g%% (95%% lower bound)", cJSON_IsString(per)
                    ? per->valuestring : "?", target * 100);
        else
            fprintf(f, "every SLO");
        const cJSON *s;
        int first = 1;
        cJSON_ArrayForEach(s, slo) {
            fprintf(f, "%s%s", first ? isfinite(target) ? " and (" : " (" : ", ", s->valuestring);
            first = 0;
        }
        fprintf(f, "%s: ", first ? "" : ")");
        if (cJSON_IsNumber(max))
            fprintf(f, "%g%s", max->valuedouble,
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fm, "at_limit"))
                        ? " (the search limit: the true maximum may be higher)" : "");
        else
            fprintf(f, "none, even the smallest level tried fails");
        double ff = jdoc_num(fm, "first_fail");
        if (isfinite(target)) {
            fprintf(f, "; bracket: ");
            if (cJSON_IsNumber(max))
                fprintf(f, "%g meets it, ", max->valuedouble);
            if (isfinite(ff))
                fprintf(f, "%g does not", ff);
            else
                fprintf(f, "no level failed");
            fprintf(f, "; %.0f probes", jdoc_num(fm, "probes"));
        }
        fputc('\n', f);
        fprintf(f, "levels tried:");
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fm, "tried"))
            print_try(f, t, isfinite(target));
        fputc('\n', f);
        const cJSON *hold = cJSON_GetObjectItemCaseSensitive(fm, "hold");
        if (cJSON_IsObject(hold)) {
            fprintf(f, "hold:");
            print_try(f, hold, 1);
            fprintf(f, ": %s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hold, "ok"))
                    ? "confirmed" : "NOT confirmed at this confidence (the capacity is marginal)");
        }
        const cJSON *past = cJSON_GetObjectItemCaseSensitive(fm, "past_capacity");
        const char *pt = jdoc_str(past, "text");
        if (pt)
            fprintf(f, "past capacity: %s\n", pt);
        else if (past && cJSON_IsNumber(max) &&
                 knee_past_level(max->valuedouble, !strcmp(param, "concurrency")) > jdoc_num(fm, "limit"))
            fprintf(f, "past capacity: not probed (%gx %g is above --find-max-limit %g)\n",
                    KNEE_PAST_FACTOR, max->valuedouble, jdoc_num(fm, "limit"));
    } else {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "knee");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(k, "text");
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(doc, "recommendation");
        if (cJSON_IsObject(rec)) {
            const cJSON *r;
            text = cJSON_GetObjectItemCaseSensitive(rec, "text");
            fprintf(f, "%s\n", cJSON_IsString(text) ? text->valuestring : "");
            cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rec, "reasons"))
                if (cJSON_IsString(r))
                    fprintf(f, "  - %s\n", r->valuestring);
        } else if (cJSON_IsString(text)) {
            fprintf(f, "knee: %s\n", text->valuestring);
        }
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    if (cJSON_IsString(e))
        fprintf(f, "stopped early: the target went down %s\n", e->valuestring);
}

/* ---- outputs ----------------------------------------------------------------- */

/* Opens one of the sweep's outputs, naming the flag in a refusal. */
static int open_output(const char *flag, const char *path, struct out_file **out,
                       char *err, size_t errcap)
{
    char why[1024];
    out_close(*out);
    *out = NULL;
    if (path && !(*out = out_open(path, why, sizeof why))) {
        snprintf(err, errcap, "%s: %s", flag, why);
        return -1;
    }
    return 0;
}

int sweep_open_outputs(struct sweep_opts *o, char *err, size_t errcap)
{
    if (open_output("--json", o->json_path, &o->json_out, err, errcap) < 0 ||
        open_output("--csv", o->csv_path, &o->csv_out, err, errcap) < 0)
        return -1;
    return 0;
}

/* What goes into a --csv: one sweep (doc), or compare's targets. */
struct csv_job {
    const cJSON *doc;
    const char *const *names;
    const cJSON *const *sweeps;
    size_t n;
};

/* Renders the CSV in memory, then commits it whole to f. */
static int commit_csv(struct out_file *f, const struct csv_job *j, char *err, size_t errcap)
{
    char *buf = NULL, why[1024];
    size_t len = 0;
    int rc = -1;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j->doc, "parameter");
        rc = j->doc ? knee_csv_write(m, cJSON_IsString(p) ? p->valuestring : "level",
                                     cJSON_GetObjectItemCaseSensitive(j->doc, "levels"))
                    : compare_csv_write(m, j->names, j->sweeps, j->n);
        if (fclose(m) != 0)
            rc = -1;
    }
    if (rc < 0)
        snprintf(err, errcap, "--csv: cannot write %s: out of memory", out_path(f));
    else if ((rc = out_commit(f, buf, len, why, sizeof why)) < 0)
        snprintf(err, errcap, "--csv: %s", why);
    free(buf);
    return rc;
}

int sweep_commit_csv(struct out_file *f, const cJSON *doc, char *err, size_t errcap)
{
    struct csv_job j = { doc, NULL, NULL, 0 };
    return commit_csv(f, &j, err, errcap);
}

int sweep_commit_compare_csv(struct out_file *f, const char *const *names,
                             const cJSON *const *sweeps, size_t n, char *err, size_t errcap)
{
    struct csv_job j = { NULL, names, sweeps, n };
    return commit_csv(f, &j, err, errcap);
}

int sweep_write_csv(const char *path, const cJSON *doc, char *err, size_t errcap)
{
    struct out_file *f = NULL;
    if (open_output("--csv", path, &f, err, errcap) < 0)
        return -1;
    int rc = sweep_commit_csv(f, doc, err, errcap);
    out_close(f);
    return rc;
}

int sweep_gate_check(const struct sweep_opts *o, const char *const *names,
                     const cJSON *const *sweeps, size_t n, FILE *out,
                     char *err, size_t errcap)
{
    if (!o->gate.n_asserts)
        return EXIT_OK;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sweeps[i], "levels"));
    const char **labels = calloc(total + 1, sizeof *labels);
    const cJSON **sums = calloc(total + 1, sizeof *sums);
    char *store = calloc(total + 1, 160);
    int code = EXIT_RUN;
    size_t k = 0;
    if (!labels || !sums || !store) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *param = cJSON_GetObjectItemCaseSensitive(sweeps[i], "parameter");
        const cJSON *lv;
        cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(sweeps[i], "levels")) {
            const cJSON *sum = cJSON_GetObjectItemCaseSensitive(lv, "summary");
            const cJSON *level = cJSON_GetObjectItemCaseSensitive(lv, "level");
            if (!cJSON_IsObject(sum))
                continue;
            char *lab = store + k * 160;
            char lvl[64];
            if (cJSON_IsString(level))
                snprintf(lvl, sizeof lvl, "%s", level->valuestring);
            else
                snprintf(lvl, sizeof lvl, "%g", cJSON_IsNumber(level) ? level->valuedouble : 0.0);
            snprintf(lab, 160, "%s%s%s %s", names ? names[i] : "", names ? " " : "",
                     cJSON_IsString(param) ? param->valuestring : "level", lvl);
            labels[k] = lab;
            sums[k] = sum;
            k++;
        }
    }
    if (out)
        fputc('\n', out);
    code = gate_evaluate_levels(&o->gate, labels, sums, k, out, err, errcap);
out:
    free(labels);
    free(sums);
    free(store);
    return code;
}
