/* Figure definitions from known documents: the series, marks and axis
 * ranges every renderer draws, the per-request reduction, the text report's
 * numbers, and the HTML escapers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fig.h"
#include "render_int.h"

#define near(got, want, tol) near_at(got, want, tol, __LINE__)
static void near_at(double got, double want, double tol, int line)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("line %d: got %.9g, want %.9g (+-%g)", line, got, want, tol);
}

static cJSON *parse(const char *text)
{
    cJSON *d = cJSON_Parse(text);
    assert_non_null(d);
    return d;
}

static const struct figure *find(const struct rreport *r, const char *id)
{
    const struct figure *f = figset_find(&r->figs, id);
    if (!f)
        fail_msg("no figure '%s'", id);
    return f;
}

static const struct fig_mark *mark_with(const struct figure *f, enum fig_mark_kind k, const char *label)
{
    for (size_t i = 0; i < f->nmarks; i++)
        if (f->marks[i].kind == k && f->marks[i].label && strstr(f->marks[i].label, label))
            return &f->marks[i];
    fail_msg("figure '%s' has no mark '%s'", f->id, label);
    return NULL;
}

/* ---- axes ---- */

static void test_nice_range(void **state)
{
    (void)state;
    double lo, hi, step;
    fig_nice_range(0, 47.3, &lo, &hi, &step);
    near(lo, 0, 0);
    near(hi, 50, 1e-9);
    near(step, 10, 1e-9);
    fig_nice_range(1.16, 4.99, &lo, &hi, &step);
    near(step, 0.5, 1e-12);
    near(lo, 1, 1e-12);
    near(hi, 5, 1e-12);
    /* One value: a range around it, from 0 for a positive one. */
    fig_nice_range(3, 3, &lo, &hi, &step);
    assert_true(lo <= 1.5 && hi >= 4.5 && step > 0);
    fig_nice_range(0, 0, &lo, &hi, &step);
    assert_true(lo == 0 && hi >= 1);
    fig_nice_range(NAN, NAN, &lo, &hi, &step);
    assert_true(isfinite(lo) && isfinite(hi) && hi > lo);
}

static void test_time_unit(void **state)
{
    (void)state;
    const char *u;
    double f;
    fig_time_unit(0.0049, &u, &f);
    assert_string_equal(u, "ms");
    near(f, 1e3, 0);
    fig_time_unit(0.0005, &u, &f);
    near(f, 1e6, 0);
    fig_time_unit(12, &u, &f);
    assert_string_equal(u, "s");
}

/* ---- a sweep ---- */

static const char sweep_doc[] =
    "{\"schema\":\"llmload.sweep/1\",\"parameter\":\"concurrency\","
    "\"target\":{\"name\":\"\",\"url\":\"http://127.0.0.1:1\",\"model\":\"m\"},"
    "\"config\":{\"model\":\"m\",\"url\":\"http://127.0.0.1:1\"},"
    "\"environment\":{\"start_time\":\"2025-01-31T12:34:56.789Z\",\"llmload_version\":\"0.1.0\"},"
    "\"slo\":[\"p95(ttft)<=500ms\",\"error_rate<=10%\"],"
    "\"levels\":["
    "{\"level\":1,\"slo_ok\":true,\"summary\":{\"requests\":10,\"ok\":10,\"output_tps\":100,\"rps\":1,"
    "  \"ttft\":{\"mean\":0.1,\"p95\":0.12,\"p99\":0.13},\"e2e\":{\"mean\":1,\"p95\":1.1,\"p99\":1.2}}},"
    "{\"level\":2,\"slo_ok\":true,\"summary\":{\"requests\":10,\"ok\":10,\"output_tps\":200,\"rps\":2,"
    "  \"ttft\":{\"mean\":0.1,\"p95\":0.12,\"p99\":0.14},\"e2e\":{\"mean\":1,\"p95\":1.1,\"p99\":1.2}}},"
    "{\"level\":4,\"slo_ok\":true,\"summary\":{\"requests\":10,\"ok\":10,\"output_tps\":390,\"rps\":3.9,"
    "  \"ttft\":{\"mean\":0.2,\"p95\":0.3,\"p99\":0.35},\"e2e\":{\"mean\":1,\"p95\":1.2,\"p99\":1.3}}},"
    "{\"level\":8,\"slo_ok\":false,\"summary\":{\"requests\":10,\"ok\":9,\"output_tps\":400,\"rps\":4,"
    "  \"ttft\":{\"mean\":0.5,\"p95\":0.6,\"p99\":0.65},\"e2e\":{\"mean\":2,\"p95\":2.2,\"p99\":2.4}}}],"
    "\"knee\":{\"parameter\":\"concurrency\",\"level\":4,\"reason\":\"throughput\","
    "\"text\":\"throughput saturates at concurrency 4\"}}";

static void test_sweep_figures(void **state)
{
    (void)state;
    cJSON *doc = parse(sweep_doc);
    struct render_input in = { doc, "a", NULL };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r.nsec, 1);
    assert_string_equal(r.sec[0].title, "Sweep of concurrency: a");

    const struct figure *f = find(&r, "throughput");
    assert_true(f->main);
    assert_int_equal(f->nseries, 1);
    assert_int_equal(f->series[0].n, 4);
    static const double xs[] = { 1, 2, 4, 8 }, ys[] = { 100, 200, 390, 400 };
    for (size_t i = 0; i < 4; i++) {
        near(f->series[0].x[i], xs[i], 0);
        near(f->series[0].y[i], ys[i], 0);
    }
    assert_string_equal(f->x.label, "concurrency (requests in flight)");
    assert_string_equal(f->y.label, "output tokens/s");
    near(f->x.min, 0, 0);
    near(f->x.max, 8, 1e-9);
    near(f->y.min, 0, 0);
    near(f->y.max, 400, 1e-9);
    near(f->y.step, 50, 1e-9);
    near(mark_with(f, MARK_X, "knee")->v, 4, 0);
    assert_string_equal(f->footer, "model m at http://127.0.0.1:1, 2025-01-31 12:34 UTC \xc2\xb7 llmload 0.1.0");

    /* Latency in ms (the E2E p99 of the first level is 1.2 s), with the SLO. */
    f = find(&r, "ttft");
    assert_string_equal(f->y.label, "TTFT (ms)");
    assert_int_equal(f->nseries, 3);
    assert_string_equal(f->series[1].label, "p95");
    near(f->series[1].y[3], 600, 1e-9);
    near(mark_with(f, MARK_Y, "SLO p95(ttft)<=500ms")->v, 500, 1e-9);
    near(f->y.max, 700, 1e-9);

    f = find(&r, "success");
    near(f->series[0].y[3], 90, 1e-9);
    near(mark_with(f, MARK_Y, "error_rate<=10%")->v, 90, 1e-9);
    render_report_free(&r);
    cJSON_Delete(doc);
}

static void test_sweeps_overlaid_and_prompt_sets(void **state)
{
    (void)state;
    cJSON *a = parse(sweep_doc), *b = parse(sweep_doc);
    struct render_input in[2] = { { a, "one", NULL }, { b, "two", NULL } };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(in, 2, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r.nsec, 1);
    const struct figure *f = find(&r, "e2e");
    assert_int_equal(f->nseries, 6);                  /* mean, p95, p99 of each */
    assert_string_equal(f->series[4].label, "two p95");
    assert_int_equal(f->series[4].color, fig_color(1));
    assert_int_equal(f->series[4].dashed, 1);
    render_report_free(&r);

    /* --prompt-set: categories, and the prompt-length impact chart. */
    cJSON_ReplaceItemInObject(b, "parameter", cJSON_CreateString("prompt-set"));
    cJSON *lv;
    int i = 0;
    static const char *const names[] = { "tiny", "short", "a rather long prompt about many things", "x" };
    cJSON_ArrayForEach(lv, cJSON_GetObjectItem(b, "levels")) {
        cJSON_ReplaceItemInObject(lv, "level", cJSON_CreateString(names[i]));
        cJSON_AddNumberToObject(lv, "index", i);
        cJSON *sum = cJSON_GetObjectItem(lv, "summary");
        cJSON_AddNumberToObject(sum, "input_tokens", 10.0 * (i + 1) * cJSON_GetObjectItem(sum, "ok")->valuedouble);
        i++;
    }
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b, "knee"), "level", cJSON_CreateNull());
    assert_int_equal(render_build(&in[1], 1, NULL, &r, err, sizeof err), 0);
    f = find(&r, "throughput");
    assert_int_equal(f->x.ncats, 4);
    assert_string_equal(f->x.cats[0], "tiny");
    assert_string_equal(f->x.cats[2], "a rather long prompt...");
    near(f->x.min, -0.5, 0);
    near(f->x.max, 3.5, 0);
    near(f->series[0].x[2], 2, 0);
    f = find(&r, "prompt_length_impact");
    near(f->series[0].x[1], 20, 1e-9);                  /* input tokens per request */
    near(f->series[0].y[1], 100, 1e-9);                 /* mean TTFT, ms */
    render_report_free(&r);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* ---- a compare ---- */

static void test_compare_winners(void **state)
{
    (void)state;
    char *text = NULL;
    cJSON *sw = parse(sweep_doc);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", "llmload.compare/1");
    cJSON_AddStringToObject(doc, "parameter", "concurrency");
    cJSON *targets = cJSON_AddArrayToObject(doc, "targets");
    for (int k = 0; k < 2; k++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", k ? "vllm" : "ollama");
        cJSON_AddItemToObject(t, "sweep", cJSON_Duplicate(sw, 1));
        cJSON_AddItemToArray(targets, t);
    }
    cJSON *levels = cJSON_AddArrayToObject(doc, "levels");
    cJSON *l = parse("{\"level\":2,\"output_tps\":{\"ollama\":200,\"vllm\":210},\"winner\":\"vllm\",\"speedup\":1.05}");
    cJSON_AddItemToArray(levels, l);
    /* A level whose leaders are within noise of each other has no winner. */
    cJSON_AddItemToArray(levels, parse("{\"level\":4,\"output_tps\":{\"ollama\":400,\"vllm\":402},\"winner\":null,"
                                       "\"tied\":[\"ollama\",\"vllm\"],\"speedup\":1.005}"));
    cJSON_AddItemToObject(doc, "recommendation", parse("{\"target\":\"vllm\",\"text\":\"recommend vllm: wins 3 of 4 criteria\","
                                                       "\"reasons\":[\"throughput under load: vllm\"]}"));
    struct render_input in = { doc, "cmp", NULL };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    assert_string_equal(r.sec[0].title, "Compare of concurrency: ollama, vllm");
    const struct figure *f = find(&r, "throughput");
    assert_int_equal(f->nseries, 2);
    assert_string_equal(f->series[1].label, "vllm");
    const struct fig_mark *m = mark_with(f, MARK_POINT, "winner vllm (1.05x)");
    near(m->v, 2, 0);
    near(m->v2, 210, 0);
    assert_int_equal(m->color, fig_color(1));
    size_t stars = 0;
    for (size_t i = 0; i < f->nmarks; i++)
        stars += f->marks[i].kind == MARK_POINT;
    assert_int_equal(stars, 1);
    assert_string_equal(f->note, "recommend vllm: wins 3 of 4 criteria");

    /* The text report carries the winner and the reasons. */
    size_t len;
    FILE *mf = open_memstream(&text, &len);
    assert_int_equal(render_text(mf, &r, err, sizeof err), 0);
    fclose(mf);
    assert_non_null(strstr(text, "Winner per level"));
    assert_non_null(strstr(text, "  2      vllm      1.05x"));
    assert_non_null(strstr(text, "  4      tie       1.00x"));
    assert_non_null(strstr(text, "    - throughput under load: vllm"));
    assert_non_null(strstr(text, "ollama: TTFT p99 grew 5.0x from 1 to 8 users while throughput grew 4.0x: "
                                 "the server queues beyond 4 users"));
    free(text);
    render_report_free(&r);
    cJSON_Delete(doc);
    cJSON_Delete(sw);
}

/* ---- a run: distributions from the histograms ---- */

static cJSON *run_doc_with_exact(int n)
{
    /* TTFT samples 1..n ms, exact. */
    cJSON *doc = parse("{\"schema\":\"llmload.result/1\",\"config\":{\"model\":\"m\",\"rate\":0},"
                       "\"environment\":{},\"summary\":{\"requests\":100,\"ok\":100,\"failed\":0,"
                       "\"ttft\":{\"n\":100,\"p50\":0.05,\"p95\":0.095,\"p99\":0.099}},\"histograms\":{}}");
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "format", "llmload.hist/1");
    cJSON_AddNumberToObject(h, "count", n);
    cJSON *ex = cJSON_AddArrayToObject(h, "exact");
    for (int i = 1; i <= n; i++)
        cJSON_AddItemToArray(ex, cJSON_CreateNumber(i * 1e6));
    cJSON_AddItemToObject(cJSON_GetObjectItem(doc, "histograms"), "ttft_ns", h);
    return doc;
}

static void test_run_distributions(void **state)
{
    (void)state;
    cJSON *doc = run_doc_with_exact(100);
    struct render_input in = { doc, "r", NULL };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    /* No ITL, TPOT or E2E samples and no --raw: only the TTFT figures. */
    assert_int_equal(r.figs.sec[0].nfigs, 2);
    const struct figure *cdf = find(&r, "ttft_cdf");
    assert_true(cdf->main);
    assert_string_equal(cdf->x.label, "TTFT (ms)");
    const struct fig_series *s = &cdf->series[0];
    /* Exact samples: one point per sample, 50% of them at or below 50 ms. */
    assert_int_equal(s->n, 100);
    near(s->x[49], 50, 1e-9);
    near(s->y[49], 50, 1e-9);
    near(s->y[s->n - 1], 100, 0);
    near(s->x[s->n - 1], 100, 1e-9);
    near(mark_with(cdf, MARK_X, "p95 95.0 ms")->v, 95, 1e-9);
    near(cdf->x.max, 100, 1e-9);
    near(cdf->y.max, 100, 1e-9);

    /* The histogram: bins of 2.5 ms up to p99.9 (100 ms): [0, 2.5) holds 1
     * and 2 ms, [2.5, 5) 3 and 4, [5, 7.5) 5, 6 and 7 ..., the last bin
     * [97.5, 100] 98, 99 and 100: 100% in all. */
    const struct figure *h = find(&r, "ttft_hist");
    double sum = 0;
    for (size_t i = 0; i < h->series[0].n; i++)
        if (isfinite(h->series[0].y[i])) {
            sum += h->series[0].y[i];
            near(h->series[0].y[i], i == 0 ? 2 : i == 39 ? 3 : i % 2 ? 2 : 3, 1e-9);
        }
    near(sum, 100, 1e-6);
    near(h->series[0].x[1] - h->series[0].x[0], 2.5, 1e-9);
    render_report_free(&r);
    cJSON_Delete(doc);
}

/* The server's own timings join the latency table where it reported
 * them; a run without them shows no such rows. */
static void test_run_server_timings_text(void **state)
{
    (void)state;
    cJSON *doc = parse("{\"schema\":\"llmload.result/1\",\"config\":{\"model\":\"m\",\"rate\":0},"
                       "\"environment\":{},\"summary\":{\"requests\":2,\"ok\":2,\"failed\":0,"
                       "\"ttft\":{\"n\":2,\"min\":0.01,\"mean\":0.015,\"p50\":0.01,\"p90\":0.02,"
                       "\"p95\":0.02,\"p99\":0.02,\"max\":0.02},"
                       "\"server\":{\"prefill\":{\"n\":2,\"min\":0.004,\"mean\":0.006,\"p50\":0.004,"
                       "\"p90\":0.008,\"p95\":0.008,\"p99\":0.008,\"max\":0.008},"
                       "\"load\":{\"n\":0,\"min\":null}}},\"histograms\":{}}");
    struct render_input in = { doc, "r", NULL };
    struct rreport r;
    char err[256], *text = NULL;
    size_t len;
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    FILE *mf = open_memstream(&text, &len);
    assert_int_equal(render_text(mf, &r, err, sizeof err), 0);
    fclose(mf);
    if (!strstr(text, "  server prefill  2  4.00 ms  6.00 ms  4.00 ms  8.00 ms"))
        fail_msg("%s", text);
    assert_null(strstr(text, "server load"));
    free(text);
    render_report_free(&r);
    cJSON_Delete(doc);
}

/* ---- a run: the per-request figures from a --raw file ---- */

static void test_raw_figures(void **state)
{
    (void)state;
    char path[] = "/tmp/llmload-test-raw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    /* Completion order; one warm-up, one failure, event times (skipped)
     * before keys that are read. */
    fputs("{\"index\":0,\"warmup\":true,\"scheduled_s\":0,\"start_s\":0,\"first_token_s\":0.1,"
          "\"last_token_s\":0.2,\"end_s\":0.2,\"ok\":true,\"error\":null,\"output_tokens\":10}\n"
          "{\"index\":2,\"warmup\":false,\"scheduled_s\":1,\"start_s\":1,\"first_token_s\":null,"
          "\"last_token_s\":null,\"end_s\":1.5,\"ok\":false,\"error\":\"timeout_ttft\",\"output_tokens\":null}\n"
          "{\"index\":1,\"warmup\":false,\"scheduled_s\":0.5,\"start_s\":0.5,\"first_token_s\":1,"
          "\"events_s\":[0.5,1.5],\"last_token_s\":2,\"end_s\":2,\"ok\":true,\"error\":null,"
          "\"output_tokens\":100}\n", f);
    fclose(f);
    struct raw_data raw;
    char err[256];
    assert_int_equal(raw_load(path, &raw, err, sizeof err), 0);
    assert_int_equal(raw.n, 2);                         /* the warm-up is left out */
    near(raw.req[0].start, 0.5, 0);                     /* in start order */
    near(raw.req[0].end, 2, 0);
    near(raw.req[0].tokens, 100, 0);
    assert_int_equal(raw.nclasses, 1);
    assert_string_equal(raw.classes[0], "timeout_ttft");
    assert_int_equal(raw.req[1].cls, 0);
    raw_free(&raw);

    cJSON *doc = parse("{\"schema\":\"llmload.result/1\",\"config\":{\"model\":\"m\",\"rate\":0},"
                       "\"summary\":{\"requests\":2,\"ok\":1,\"failed\":1}}");
    struct render_input in = { doc, "r", path };
    struct rreport r;
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    const struct figure *tl = find(&r, "timeline");
    assert_int_equal(tl->nseries, 3);
    assert_string_equal(tl->series[2].label, "failed: timeout_ttft");
    assert_int_equal(tl->series[0].n, 2);               /* start -> first token */
    near(tl->series[0].x[1], 1, 0);
    near(tl->series[1].x[1], 2, 0);                     /* first token -> end */
    near(tl->series[2].x[0], 1, 0);
    near(tl->series[2].y[0], 2, 0);                     /* the second request to start */

    /* Bins of 0.1 s; every token counted once. */
    const struct figure *tok = find(&r, "tokens_over_time");
    double w = tok->series[0].x[1] - tok->series[0].x[0], sum = 0;
    near(w, 0.1, 1e-12);
    for (size_t i = 0; i < tok->series[0].n; i++)
        sum += tok->series[0].y[i] * w;
    near(sum, 100, 1e-6);
    near(tok->series[0].y[12], 100, 1e-6);              /* 100 tokens over 1 s */
    const struct figure *fl = find(&r, "in_flight");
    near(fl->series[0].y[12], 2, 1e-9);                 /* 1.2-1.3 s: both requests */
    const struct figure *er = find(&r, "errors_over_time");
    near(er->series[0].y[15], 10, 1e-9);                /* 1 error in a 0.1 s bin */
    assert_null(figset_find(&r.figs, "offered_vs_achieved"));   /* closed loop */
    render_report_free(&r);
    cJSON_Delete(doc);
    unlink(path);
}

/* ---- a repeated run ---- */

static void test_repeat(void **state)
{
    (void)state;
    cJSON *doc = parse("{\"schema\":\"llmload.baseline/1\",\"runs\":3,\"config\":{\"model\":\"m\"},"
                       "\"summary\":{},\"run_summaries\":[{\"output_tps\":10,\"error_rate\":0},"
                       "{\"output_tps\":12,\"error_rate\":0.01},{\"output_tps\":11,\"error_rate\":0}]}");
    struct render_input in = { doc, "b", NULL };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), 0);
    assert_string_equal(r.sec[0].title, "Repeated run: b (3 runs)");
    const struct figure *f = find(&r, "repeat_output_tps");
    assert_int_equal(f->series[0].style, FIG_POINTS);
    near(f->series[0].x[2], 3, 0);
    near(f->series[0].y[1], 12, 0);
    near(mark_with(f, MARK_Y, "median")->v, 11, 0);
    const struct fig_mark *ci = mark_with(f, MARK_BAND_Y, "95% CI");
    assert_true(ci->v >= 10 && ci->v <= 11 && ci->v2 >= 11 && ci->v2 <= 12);
    f = find(&r, "repeat_error_rate");
    near(f->series[0].y[1], 1, 1e-12);                  /* in % */
    assert_null(figset_find(&r.figs, "repeat_ttft_p95"));   /* no values */
    render_report_free(&r);
    cJSON_Delete(doc);

    /* The K result documents of `run --repeat K` make the same section. */
    cJSON *a = parse("{\"schema\":\"llmload.result/1\",\"summary\":{\"output_tps\":10}}");
    cJSON *b = parse("{\"schema\":\"llmload.result/1\",\"summary\":{\"output_tps\":14}}");
    struct render_input two[2] = { { a, "k1", NULL }, { b, "k2", NULL } };
    struct render_opts o = { .repeat = 1 };
    assert_int_equal(render_build(two, 2, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.nsec, 1);
    assert_string_equal(r.sec[0].title, "Repeated run: k1 (2 runs)");
    near(mark_with(find(&r, "repeat_output_tps"), MARK_Y, "median")->v, 12, 0);
    render_report_free(&r);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_unknown_schema(void **state)
{
    (void)state;
    cJSON *doc = parse("{\"schema\":\"other/1\"}");
    struct render_input in = { doc, "x.json", NULL };
    struct rreport r;
    char err[256];
    assert_int_equal(render_build(&in, 1, NULL, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "x.json: not an llmload document (schema other/1"));
    cJSON_Delete(doc);
}

/* ---- escaping ---- */

static char *escaped(void (*fn)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    fn(f, s);
    fclose(f);
    return buf;
}

static void test_escape(void **state)
{
    (void)state;
    char *h = escaped(render_html_text, "<img src=x onerror=\"a('&')\">");
    assert_string_equal(h, "&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;");
    free(h);
    char *j = escaped(render_js_string, "</script><!--\"\\\n\xe2\x80\xa8\xe2\x80\xa9\x01'&");
    /* '<' is enough to keep "</script>" and "<!--" from ending the element. */
    assert_string_equal(j, "\"\\u003c/script>\\u003c!--\\\"\\\\\\n\\u2028\\u2029\\u0001'&\"");
    /* What it wrote is JSON that reads back as the original. */
    cJSON *v = cJSON_Parse(j);
    assert_non_null(v);
    assert_string_equal(v->valuestring, "</script><!--\"\\\n\xe2\x80\xa8\xe2\x80\xa9\x01'&");
    cJSON_Delete(v);
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_range),
        cmocka_unit_test(test_time_unit),
        cmocka_unit_test(test_sweep_figures),
        cmocka_unit_test(test_sweeps_overlaid_and_prompt_sets),
        cmocka_unit_test(test_compare_winners),
        cmocka_unit_test(test_run_distributions),
        cmocka_unit_test(test_run_server_timings_text),
        cmocka_unit_test(test_raw_figures),
        cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_unknown_schema),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
