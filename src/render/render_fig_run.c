/* The figures of runs: latency distributions from the result document's
 * histograms, and the per-request figures from the --raw file (timeline,
 * throughput, requests in flight, errors, offered vs achieved rate, queue
 * time).  Several runs are overlaid, one colour each. */
#include "render_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "jdoc.h"

/* ---- distribution tables ---- */

/* A distribution as points of its CDF: q[i] (in the figure's unit) and the
 * share p[i] (%) of samples at or below it.  From the exact samples while
 * a histogram keeps them, else from percentiles of its buckets on a grid
 * that is fine in the tail, where the figures and the reader look. */
#define NGRID 260
struct qtab {
    double *p, *q;
    size_t n;
};

static size_t quantile_grid(double *p)
{
    size_t n = 0;
    for (int i = 0; i < 190; i++)
        p[n++] = i * 0.5;
    for (int i = 0; i < 50; i++)
        p[n++] = 95 + i * 0.1;
    for (int i = 0; i < 19; i++)
        p[n++] = 99.9 + i * 0.005;
    p[n++] = 100;
    return n;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 0, 1 when the histogram is empty or malformed, -1 out of memory. */
static int quantiles(const cJSON *h, double scale, struct qtab *t)
{
    double count = jdoc_num(h, "count");
    if (!(count > 0))
        return 1;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(h, "exact");
    int nex = cJSON_IsArray(ex) ? cJSON_GetArraySize(ex) : 0;
    size_t n = nex > 0 && (double)nex == count ? (size_t)nex : NGRID;
    if (!(t->p = malloc(n * sizeof *t->p)) || !(t->q = malloc(n * sizeof *t->q)))
        return -1;
    t->n = n;
    if (n == (size_t)nex) {
        size_t k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ex)
            t->q[k++] = (cJSON_IsNumber(it) ? it->valuedouble : 0) * scale;
        qsort(t->q, n, sizeof *t->q, cmp_dbl);
        for (size_t i = 0; i < n; i++)
            t->p[i] = 100.0 * (double)(i + 1) / (double)n;
        return 0;
    }
    struct hist *hh = hist_from_json(h);
    if (!hh)
        return 1;
    t->n = quantile_grid(t->p);
    for (size_t i = 0; i < t->n; i++)
        t->q[i] = (double)hist_percentile(hh, t->p[i]) * scale;
    hist_free(hh);
    return 0;
}

/* Share of samples <= x, in %. */
static double cdf_at(const struct qtab *t, double x)
{
    x += fabs(x) * 1e-12;   /* the unit conversion's last bit must not move a sample out */
    if (x < t->q[0])
        return 0;
    size_t lo = 0, hi = t->n - 1;
    if (x >= t->q[hi])
        return 100;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (t->q[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return t->p[lo];
}

/* The value at percentile pct. */
static double quantile_at(const struct qtab *t, double pct)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->p[i] >= pct - 1e-9)
            return t->q[i];
    return t->q[t->n - 1];
}

const char *fig_footer_of(const struct rsec *s, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < s->nsrc && k < 3 && len < cap; k++) {
        const struct rsrc *r = &s->src[k];
        const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(r->doc, "target");
        const char *model = jdoc_str(r->config, "model");
        const char *url = jdoc_str(r->config, "url");
        if (!model || !*model)
            model = jdoc_str(tgt, "model");
        if (!url || !*url)
            url = jdoc_str(tgt, "url");
        const char *date = jdoc_str(r->env, "start_time");
        len += (size_t)snprintf(buf + len, cap - len, "%s%s%smodel %s%s%s",
                                k ? "; " : "", s->nsrc > 1 ? r->name : "", s->nsrc > 1 ? ": " : "",
                                model && *model ? model : "?",
                                url && *url ? " at " : "", url && *url ? url : "");
        if (date && strlen(date) >= 16 && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, ", %.10s %.5s UTC", date, date + 11);
    }
    if (s->nsrc > 3 && len < cap)
        snprintf(buf + len, cap - len, "; and %zu more", s->nsrc - 3);
    const char *ver = NULL;
    for (size_t k = 0; k < s->nsrc && !ver; k++)
        ver = jdoc_str(s->src[k].env, "llmload_version");
    len = strlen(buf);
    if (ver && len < cap)
        snprintf(buf + len, cap - len, " \xc2\xb7 llmload %s", ver);
    return buf;
}

static const char *label_of(const struct rsec *s, size_t k, const char *what, char *buf, size_t cap)
{
    if (s->nsrc == 1)
        snprintf(buf, cap, "%s", what);
    else
        snprintf(buf, cap, "%s %s", s->src[k].name, what);
    return buf;
}

/* ---- distributions ---- */

struct dist {
    const char *key, *hkey, *name, *title;
};

static const struct dist dists[] = {
    { "ttft", "ttft_ns", "TTFT", "Time to first token" },
    { "itl", "itl_ns", "ITL", "Inter-token latency" },
    { "tpot", "tpot_ns", "TPOT", "Time per output token" },
    { "e2e", "e2e_ns", "E2E", "End-to-end latency" },
    { "queue_time", "queue_time_ns", "queue time", "Queue time (open loop)" },
};

static int dist_figures(const struct rsec *s, const struct dist *d, int main_cdf,
                        const char *footer, struct fig_section *out)
{
    const char *uname;
    double uf, ref = NAN;
    for (size_t k = 0; k < s->nsrc && !isfinite(ref); k++)
        ref = rsum_num(cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "summary"), d->key, "p99");
    if (!isfinite(ref))
        return 0;   /* no samples in any run (e.g. TPOT of a non-streamed run) */
    fig_time_unit(ref, &uname, &uf);
    char id[64], title[128], xl[64], lab[256];
    snprintf(xl, sizeof xl, "%s (%s)", d->name, uname);

    struct qtab *tabs = calloc(s->nsrc, sizeof *tabs);
    int *have = calloc(s->nsrc, sizeof *have);
    int rc = -1;
    if (!tabs || !have)
        goto out;
    double hi = 0, lo = INFINITY;
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *hs = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "histograms");
        int q = quantiles(cJSON_GetObjectItemCaseSensitive(hs, d->hkey), 1e-9 * uf, &tabs[k]);
        if (q < 0)
            goto out;
        if ((have[k] = q == 0)) {
            /* The histogram ends at p99.9: one slow request must not squeeze
             * every other bar into the first bin. */
            hi = fmax(hi, quantile_at(&tabs[k], 99.9));
            lo = fmin(lo, tabs[k].q[0]);
        }
    }
    if (!isfinite(lo)) {
        rc = 0;
        goto out;
    }

    snprintf(id, sizeof id, "%s_cdf", d->key);
    snprintf(title, sizeof title, "%s: cumulative distribution", d->title);
    struct figure *cdf = fig_new(id, title, xl, "requests at or below (%)");
    snprintf(id, sizeof id, "%s_hist", d->key);
    snprintf(title, sizeof title, "%s: histogram", d->title);
    struct figure *hist = fig_new(id, title, xl, "share of samples (%)");
    if (!cdf || !hist) {
        fig_free(cdf);
        fig_free(hist);
        goto out;
    }
    cdf->main = main_cdf;
    if (fig_set_footer(cdf, footer) < 0 || fig_set_footer(hist, footer) < 0 ||
        fig_set_note(hist, "x axis up to p99.9; the marks are the run's percentiles") < 0)
        goto fail;
    double bmin, bmax, bw;
    fig_nice_range(lo, hi, &bmin, &bmax, &bw);
    bw /= 8;    /* about 40 bins over the range */
    for (size_t k = 0; k < s->nsrc; k++) {
        if (!have[k])
            continue;
        unsigned col = fig_color(k);
        struct fig_series *c = fig_series_add(cdf, label_of(s, k, d->name, lab, sizeof lab), FIG_LINE, col);
        if (!c)
            goto fail;
        for (size_t i = 0; i < tabs[k].n; i++)
            if (fig_point(c, tabs[k].q[i], tabs[k].p[i]) < 0)
                goto fail;
        struct fig_series *h = fig_series_add(hist, lab, FIG_STEP, col);
        if (!h)
            goto fail;
        double prev = cdf_at(&tabs[k], bmin - bw * 1e-9);
        for (double e = bmin; e < bmax - bw * 0.5; e += bw) {
            /* Bins hold [e, e + bw), the last one its right edge too. */
            int last = e + bw * 1.5 >= bmax;
            double cur = cdf_at(&tabs[k], last ? bmax : e + bw * (1 - 1e-9));
            if (fig_point(h, e, cur - prev) < 0)
                goto fail;
            prev = cur;
        }
        if (fig_point(h, bmax, NAN) < 0)
            goto fail;
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "summary");
        static const char *const ps[] = { "p50", "p95", "p99" };
        for (size_t i = 0; i < 3; i++) {
            double v = rsum_num(sum, d->key, ps[i]) * uf;
            char ml[300], vb[32];
            snprintf(ml, sizeof ml, "%s%s%s %s %s", s->nsrc > 1 ? s->src[k].name : "",
                     s->nsrc > 1 ? " " : "", ps[i], rfmt_num(v, vb, sizeof vb), uname);
            if (fig_mark_add(cdf, MARK_X, v, 0, col, ml) < 0 ||
                (v <= bmax && fig_mark_add(hist, MARK_X, v, 0, col, ml) < 0))
                goto fail;
        }
    }
    if (fig_section_add(out, cdf) < 0) {
        fig_free(hist);
        goto out;
    }
    rc = fig_section_add(out, hist);
    goto out;
fail:
    fig_free(cdf);
    fig_free(hist);
out:
    for (size_t k = 0; tabs && k < s->nsrc; k++) {
        free(tabs[k].p);
        free(tabs[k].q);
    }
    free(tabs);
    free(have);
    return rc;
}

/* ---- per-request figures ---- */

struct bins {
    double w;           /* width, s */
    size_t n;
};

/* Adds amount spread evenly over [a, b] to v (an instant lands in its bin). */
static void spread(const struct bins *b, double *v, double a, double e, double amount)
{
    if (!isfinite(a) || !isfinite(e) || e < a)
        return;
    size_t i = (size_t)(a / b->w), j = (size_t)(e / b->w);
    if (i >= b->n)
        i = b->n - 1;
    if (j >= b->n)
        j = b->n - 1;
    if (i == j || e == a) {
        v[i] += amount;
        return;
    }
    double rate = amount / (e - a);
    v[i] += rate * ((double)(i + 1) * b->w - a);
    for (size_t k = i + 1; k < j; k++)
        v[k] += rate * b->w;
    v[j] += rate * (e - (double)j * b->w);
}

static void point_at(const struct bins *b, double *v, double t, double amount)
{
    if (!isfinite(t) || t < 0)
        return;
    size_t i = (size_t)(t / b->w);
    v[i < b->n ? i : b->n - 1] += amount;
}

/* One line per run over the bins: values / divisor. */
static int add_binned(struct figure *f, const char *label, unsigned col, const struct bins *b,
                      const double *v, double divisor)
{
    struct fig_series *s = fig_series_add(f, label, FIG_LINE, col);
    if (!s)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (fig_point(s, ((double)i + 0.5) * b->w, v[i] / divisor) < 0)
            return -1;
    return 0;
}

#define TIMELINE_MAX 2000

static int timeline(const struct rsec *s, size_t k, const char *footer, struct fig_section *out)
{
    const struct raw_data *r = s->src[k].raw;
    char id[32], title[300], lab[300];
    if (k)
        snprintf(id, sizeof id, "timeline_%zu", k + 1);
    else
        snprintf(id, sizeof id, "timeline");
    snprintf(title, sizeof title, "Requests over time%s%s", s->nsrc > 1 ? ": " : "",
             s->nsrc > 1 ? s->src[k].name : "");
    struct figure *f = fig_new(id, title, "time since the start (s)", "request (in start order)");
    if (!f)
        return -1;
    f->main = k == 0;
    size_t stride = (r->n + TIMELINE_MAX - 1) / TIMELINE_MAX;
    if (stride > 1) {
        snprintf(lab, sizeof lab, "every %zu%s request of %zu drawn", stride,
                 stride % 10 == 1 && stride % 100 != 11 ? "st" : stride % 10 == 2 && stride % 100 != 12 ? "nd"
                 : stride % 10 == 3 && stride % 100 != 13 ? "rd" : "th", r->n);
        if (fig_set_note(f, lab) < 0)
            goto fail;
    }
    struct fig_series *wait = fig_series_add(f, "waiting for the first token", FIG_SEGMENTS, 0x9ecae1);
    struct fig_series *gen = fig_series_add(f, "streaming (ok)", FIG_SEGMENTS, 0x009e73);
    if (!wait || !gen || fig_set_footer(f, footer) < 0)
        goto fail;
    size_t first_err = f->nseries;
    for (size_t c = 0; c < r->nclasses; c++) {
        snprintf(lab, sizeof lab, "failed: %s", r->classes[c]);
        if (!fig_series_add(f, lab, FIG_SEGMENTS, fig_color(c + 1)))
            goto fail;
    }
    for (size_t i = 0; i < r->n; i += stride) {
        const struct raw_req *q = &r->req[i];
        double y = (double)(i + 1);
        int rc = 0;
        if (!q->ok) {
            struct fig_series *e = &f->series[first_err + (size_t)q->cls];
            rc = fig_point(e, q->start, y) | fig_point(e, q->end, y);
        } else if (isfinite(q->first)) {
            wait = &f->series[0];
            gen = &f->series[1];
            rc = fig_point(wait, q->start, y) | fig_point(wait, q->first, y) |
                 fig_point(gen, q->first, y) | fig_point(gen, q->end, y);
        } else {
            gen = &f->series[1];
            rc = fig_point(gen, q->start, y) | fig_point(gen, q->end, y);
        }
        if (rc < 0)
            goto fail;
    }
    return fig_section_add(out, f);
fail:
    fig_free(f);
    return -1;
}

static int per_request(const struct rsec *s, const char *footer, struct fig_section *out)
{
    double tmax = 0;
    int open = 0, any = 0, errs = 0;
    for (size_t k = 0; k < s->nsrc; k++) {
        const struct raw_data *r = s->src[k].raw;
        if (!r || !r->n)
            continue;
        any = 1;
        errs |= r->nclasses > 0;
        open |= jdoc_num(s->src[k].config, "rate") > 0;
        for (size_t i = 0; i < r->n; i++)
            tmax = fmax(tmax, r->req[i].end);
    }
    if (!any)
        return 0;
    for (size_t k = 0; k < s->nsrc; k++)
        if (s->src[k].raw && s->src[k].raw->n && timeline(s, k, footer, out) < 0)
            return -1;

    struct bins b;
    double lo, hi;
    fig_nice_range(0, tmax > 0 ? tmax : 1, &lo, &hi, &b.w);
    b.w /= 5;    /* 20 to 50 bins: enough requests in each for a steady rate */
    b.n = (size_t)ceil(tmax / b.w);
    if (b.n == 0)
        b.n = 1;

    enum { F_TOK, F_REQ, F_FLIGHT, F_ERR, F_RATE, F_QUEUE, NF };
    static const char *const ids[NF] = { "tokens_over_time", "requests_over_time", "in_flight",
                                         "errors_over_time", "offered_vs_achieved", "queue_over_time" };
    static const char *const titles[NF] = { "Output throughput over time", "Requests per second over time",
                                            "Requests in flight", "Errors over time by class",
                                            "Offered vs achieved rate", "Queue time over time" };
    static const char *const ylabels[NF] = { "output tokens/s", "requests/s", "requests in flight (mean)",
                                             "errors/s", "requests/s", "queue time (ms)" };
    struct figure *f[NF] = { 0 };
    double *v = calloc(b.n * 4, sizeof *v);
    int rc = -1;
    if (!v)
        goto out;
    for (int i = 0; i < NF; i++) {
        if ((i == F_ERR && !errs) || (i >= F_RATE && !open))
            continue;
        if (!(f[i] = fig_new(ids[i], titles[i], "time since the start (s)", ylabels[i])) ||
            fig_set_footer(f[i], footer) < 0)
            goto out;
    }
    f[F_TOK]->main = 1;
    if (fig_set_note(f[F_TOK], "each request's tokens spread over its first to last token") < 0)
        goto out;
    char lab[300];
    for (size_t k = 0; k < s->nsrc; k++) {
        const struct raw_data *r = s->src[k].raw;
        if (!r || !r->n)
            continue;
        unsigned col = fig_color(k);
        double *a = v, *c = v + b.n, *d = v + 2 * b.n, *e = v + 3 * b.n;
        memset(v, 0, b.n * 4 * sizeof *v);
        for (size_t i = 0; i < r->n; i++) {
            const struct raw_req *q = &r->req[i];
            if (q->ok)
                spread(&b, a, isfinite(q->first) ? q->first : q->start,
                       isfinite(q->last) ? q->last : q->end, q->tokens);
            point_at(&b, q->ok ? c : d, q->end, 1);
            spread(&b, e, q->start, q->end, q->end - q->start);
        }
        if (add_binned(f[F_TOK], label_of(s, k, "output tokens/s", lab, sizeof lab), col, &b, a, b.w) < 0 ||
            add_binned(f[F_REQ], label_of(s, k, "completed ok", lab, sizeof lab), col, &b, c, b.w) < 0 ||
            (r->nclasses && add_binned(f[F_REQ], label_of(s, k, "failed", lab, sizeof lab),
                                       s->nsrc > 1 ? col : 0xd55e00, &b, d, b.w) < 0) ||
            add_binned(f[F_FLIGHT], label_of(s, k, "in flight", lab, sizeof lab), col, &b, e, b.w) < 0)
            goto out;
        if (s->nsrc > 1 && r->nclasses)
            f[F_REQ]->series[f[F_REQ]->nseries - 1].dashed = 1;
        for (size_t cl = 0; cl < r->nclasses && f[F_ERR]; cl++) {
            memset(a, 0, b.n * sizeof *a);
            for (size_t i = 0; i < r->n; i++)
                if (r->req[i].cls == (int)cl)
                    point_at(&b, a, r->req[i].end, 1);
            if (add_binned(f[F_ERR], label_of(s, k, r->classes[cl], lab, sizeof lab),
                           s->nsrc > 1 ? col : fig_color(cl + 1), &b, a, b.w) < 0)
                goto out;
        }
        if (f[F_RATE] && jdoc_num(s->src[k].config, "rate") > 0) {
            memset(v, 0, b.n * 4 * sizeof *v);
            for (size_t i = 0; i < r->n; i++) {
                const struct raw_req *q = &r->req[i];
                point_at(&b, a, q->sched, 1);
                point_at(&b, c, q->start, 1);
                if (isfinite(q->sched) && q->start >= q->sched) {
                    size_t bi = (size_t)(q->sched / b.w);
                    bi = bi < b.n ? bi : b.n - 1;
                    d[bi] += (q->start - q->sched) * 1e3;
                    e[bi] += 1;
                }
            }
            if (add_binned(f[F_RATE], label_of(s, k, "offered (scheduled)", lab, sizeof lab), col, &b, a, b.w) < 0 ||
                add_binned(f[F_RATE], label_of(s, k, "achieved (sent)", lab, sizeof lab),
                           s->nsrc > 1 ? col : fig_color(1), &b, c, b.w) < 0)
                goto out;
            if (s->nsrc > 1)
                f[F_RATE]->series[f[F_RATE]->nseries - 1].dashed = 1;
            for (size_t i = 0; i < b.n; i++)
                d[i] = e[i] > 0 ? d[i] / e[i] : NAN;
            if (add_binned(f[F_QUEUE], label_of(s, k, "mean queue time", lab, sizeof lab), col, &b, d, 1) < 0)
                goto out;
        }
    }
    rc = 0;
    for (int i = 0; i < NF; i++) {
        if (f[i] && fig_section_add(out, f[i]) < 0)
            rc = -1;
        f[i] = NULL;
    }
out:
    for (int i = 0; i < NF; i++)
        fig_free(f[i]);
    free(v);
    return rc;
}

/* ---- the resource monitor (docs/observability.md): its time series ----- */

/* One series of a run's "monitor" section as a line over time: the sum of
 * the named series times scale (NaN where one is missing).  0 when the
 * document has none of them. */
static int monitor_line(struct figure *f, const char *label, unsigned col, const cJSON *mon,
                        const char *const *names, size_t nnames, double scale)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(mon, "t");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(mon, "series");
    const cJSON *arr[4];
    size_t n = (size_t)cJSON_GetArraySize(t);
    for (size_t j = 0; j < nnames; j++)
        if (!cJSON_IsArray(arr[j] = cJSON_GetObjectItemCaseSensitive(series, names[j])))
            return 0;
    struct fig_series *fs = fig_series_add(f, label, FIG_LINE, col);
    if (!fs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        for (size_t j = 0; j < nnames; j++) {
            const cJSON *x = cJSON_GetArrayItem(arr[j], (int)i);
            v += cJSON_IsNumber(x) ? x->valuedouble : NAN;
        }
        const cJSON *ti = cJSON_GetArrayItem(t, (int)i);
        if (cJSON_IsNumber(ti) && isfinite(v) && fig_point(fs, ti->valuedouble, v * scale) < 0)
            return -1;
    }
    return 1;
}

/* CPU of the client and the server, the system's busy and stolen CPU, and
 * memory, over time: what the machine was doing while it measured. */
static int monitor_figures(const struct rsec *s, const char *footer, struct fig_section *out)
{
    enum { M_CPU, M_SYS, M_MEM, NM };
    static const char *const ids[NM] = { "cpu_over_time", "system_cpu_over_time", "memory_over_time" };
    static const char *const titles[NM] = { "CPU of the client and the server", "System CPU and steal",
                                            "Memory (RSS)" };
    static const char *const ylabels[NM] = { "CPU (% of one CPU)", "CPU (% of all CPUs)", "RSS (MiB)" };
    static const char *const cu[] = { "client_cpu_user", "client_cpu_system" };
    static const char *const su[] = { "server_cpu_user", "server_cpu_system" };
    static const char *const busy[] = { "system_cpu_user", "system_cpu_system", "system_cpu_iowait",
                                        "system_cpu_irq" };
    static const char *const steal[] = { "system_cpu_steal" };
    static const char *const crss[] = { "client_rss_bytes" };
    static const char *const srss[] = { "server_rss_bytes" };
    struct figure *f[NM] = { 0 };
    int got[NM] = { 0 }, rc = -1;
    char lab[300];
    for (int i = 0; i < NM; i++)
        if (!(f[i] = fig_new(ids[i], titles[i], "time since the start (s)", ylabels[i])) ||
            fig_set_footer(f[i], footer) < 0)
            goto out;
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *mon = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "monitor");
        if (!cJSON_IsObject(mon))
            continue;
        unsigned c1 = s->nsrc > 1 ? fig_color(k) : fig_color(0);
        unsigned c2 = s->nsrc > 1 ? fig_color(k) : fig_color(1);
        int r[6];
        r[0] = monitor_line(f[M_CPU], label_of(s, k, "client", lab, sizeof lab), c1, mon, cu, 2, 100);
        r[1] = monitor_line(f[M_CPU], label_of(s, k, "server", lab, sizeof lab), c2, mon, su, 2, 100);
        r[2] = monitor_line(f[M_SYS], label_of(s, k, "busy", lab, sizeof lab), c1, mon, busy, 4, 100);
        r[3] = monitor_line(f[M_SYS], label_of(s, k, "steal", lab, sizeof lab), c2, mon, steal, 1, 100);
        r[4] = monitor_line(f[M_MEM], label_of(s, k, "client", lab, sizeof lab), c1, mon, crss, 1,
                            1.0 / 1048576);
        r[5] = monitor_line(f[M_MEM], label_of(s, k, "server", lab, sizeof lab), c2, mon, srss, 1,
                            1.0 / 1048576);
        for (int i = 0; i < 6; i++) {
            if (r[i] < 0)
                goto out;
            got[i / 2] |= r[i] > 0;
        }
        if (s->nsrc > 1)
            for (int i = 0; i < NM; i++)
                if (f[i]->nseries > 1)
                    f[i]->series[f[i]->nseries - 1].dashed = 1;
    }
    rc = 0;
    for (int i = 0; i < NM; i++) {
        if (!got[i])
            continue;
        if (fig_section_add(out, f[i]) < 0)   /* it takes f[i], even on error */
            rc = -1;
        f[i] = NULL;
    }
out:
    for (int i = 0; i < NM; i++)
        fig_free(f[i]);
    return rc;
}

int fig_build_run(const struct rsec *s, struct fig_section *out)
{
    char footer[1024];
    fig_footer_of(s, footer, sizeof footer);
    int raw = 0;
    for (size_t k = 0; k < s->nsrc; k++)
        raw |= s->src[k].raw && s->src[k].raw->n;
    for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++) {
        int open = 0;
        for (size_t k = 0; k < s->nsrc; k++)
            open |= jdoc_num(s->src[k].config, "rate") > 0;
        if (!strcmp(dists[i].key, "queue_time") && !open)
            continue;
        /* The overview: TTFT and E2E always; ITL too when there is no
         * per-request file to show the timeline instead. */
        int main_cdf = i == 0 || i == 3 || (i == 1 && !raw);
        if (dist_figures(s, &dists[i], main_cdf, footer, out) < 0)
            return -1;
    }
    if (per_request(s, footer, out) < 0)
        return -1;
    return monitor_figures(s, footer, out);
}
