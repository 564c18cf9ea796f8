/* Per-request service levels (slo.h): the limits, their evaluation when a
 * request finishes, the mergeable tally, and the Wilson interval of the
 * attainment. */
#include "slo.h"
#include "result.h"
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[SLO__N] = {
    "ttft", "ttft_output", "tpot", "itl_max", "e2e", "tokens_min"
};

const char *slo_kind_name(enum slo_kind k)
{
    return (unsigned)k < SLO__N ? kind_names[k] : "?";
}

/* Other tools' names for the same limits: vLLM's benchmark (e2el), GuideLLM
 * and AIPerf (time_to_first_token, request_latency).  AIPerf's
 * inter_token_latency is (E2E - TTFT) / (tokens - 1), TPOT here.
 * GuideLLM's time_per_output_token is not an alias: it includes the TTFT
 * (docs/metrics.md, "Same words, other tools"). */
static const struct { const char *name; enum slo_kind kind; } aliases[] = {
    { "time_to_first_token", SLO_TTFT },
    { "inter_token_latency", SLO_TPOT },
    { "e2el", SLO_E2E },
    { "request_latency", SLO_E2E },
    { "tokens", SLO_TOKENS_MIN },
};

static int kind_find(const char *name, size_t len)
{
    for (int k = 0; k < SLO__N; k++)
        if (strlen(kind_names[k]) == len && !strncmp(kind_names[k], name, len))
            return k;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].name) == len && !strncmp(aliases[i].name, name, len))
            return (int)aliases[i].kind;
    return -1;
}

/* A time in the largest unit that keeps it short: "500ms", "1.5s". */
static void fmt_ns(double ns, char *buf, size_t cap)
{
    if (ns >= 1e9)
        snprintf(buf, cap, "%gs", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(buf, cap, "%gms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, cap, "%gus", ns / 1e3);
    else
        snprintf(buf, cap, "%gns", ns);
}

void slo_spec_text(struct slo_spec *spec)
{
    size_t pos = 0;
    spec->text[0] = '\0';
    for (int k = 0; k < SLO__N; k++) {
        const struct slo_limit *l = &spec->lim[k];
        if (!l->set)
            continue;
        char v[32];
        if (k == SLO_TOKENS_MIN)
            snprintf(v, sizeof v, "%.0f", l->value);
        else
            fmt_ns(l->value, v, sizeof v);
        const char *op = k == SLO_TOKENS_MIN ? (l->strict ? ">" : ">=") : (l->strict ? "<" : "<=");
        int w = snprintf(spec->text + pos, sizeof spec->text - pos, "%s%s%s%s",
                         pos ? "," : "", kind_names[k], op, v);
        if (w < 0 || (size_t)w >= sizeof spec->text - pos)
            break;
        pos += (size_t)w;
    }
}

static void spec_set(struct slo_spec *spec, int k, int strict, double value)
{
    if (!spec->lim[k].set)
        spec->n++;
    spec->lim[k].set = 1;
    spec->lim[k].strict = strict;
    spec->lim[k].value = value;
    slo_spec_text(spec);
}

int slo_parse_item(struct slo_spec *spec, const char *item, char *err, size_t errcap)
{
    const char *p = item;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *name = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    size_t nlen = (size_t)(p - name);
    while (*p == ' ' || *p == '\t')
        p++;
    int k = nlen ? kind_find(name, nlen) : -1;
    if (k < 0 || *p == '(')
        return 0;                   /* an aggregate expression, or not ours */
    int ge = 0, strict;
    if (*p == '<' || *p == '>') {
        ge = *p == '>';
        strict = p[1] != '=';
        p += strict ? 1 : 2;
    } else {
        snprintf(err, errcap, "'%s': expected <= or < after %.*s", item, (int)nlen, name);
        return -1;
    }
    if (ge != (k == SLO_TOKENS_MIN)) {
        snprintf(err, errcap, "'%s': %s is %s limit: write %s%s", item, kind_names[k],
                 k == SLO_TOKENS_MIN ? "a lower" : "an upper", kind_names[k],
                 k == SLO_TOKENS_MIN ? ">=N" : "<=TIME");
        return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    char v[64];
    size_t vlen = strlen(p);
    while (vlen && (p[vlen - 1] == ' ' || p[vlen - 1] == '\t'))
        vlen--;
    if (!vlen || vlen >= sizeof v) {
        snprintf(err, errcap, "'%s': expected a %s after the operator", item,
                 k == SLO_TOKENS_MIN ? "token count" : "time, e.g. 500ms");
        return -1;
    }
    memcpy(v, p, vlen);
    v[vlen] = '\0';
    if (k == SLO_TOKENS_MIN) {
        uint64_t n;
        if (units_parse_count(v, &n) < 0 || n > (UINT64_C(1) << 40)) {
            snprintf(err, errcap, "'%s': '%s' is not a token count", item, v);
            return -1;
        }
        spec_set(spec, k, strict, (double)n);
    } else {
        uint64_t ns;
        if (units_parse_duration(v, &ns) < 0 || ns == 0) {
            snprintf(err, errcap, "'%s': '%s' is not a time > 0, e.g. 500ms or 2s", item, v);
            return -1;
        }
        spec_set(spec, k, strict, (double)ns);
    }
    return 1;
}

int slo_parse_vllm(struct slo_spec *spec, const char *s, char *err, size_t errcap)
{
    const char *p = s;
    int items = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *item = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        int len = (int)(p - item);
        const char *colon = memchr(item, ':', (size_t)len);
        if (!colon) {
            snprintf(err, errcap, "'%.*s': expected KEY:MILLISECONDS, e.g. ttft:500", len, item);
            return -1;
        }
        int k = kind_find(item, (size_t)(colon - item));
        char v[32];
        int vlen = len - (int)(colon + 1 - item);
        double ms;
        if (k < 0 || k == SLO_TOKENS_MIN) {
            snprintf(err, errcap, "'%.*s': unknown key (ttft, tpot, e2el)", len, item);
            return -1;
        }
        if (vlen <= 0 || vlen >= (int)sizeof v) {
            snprintf(err, errcap, "'%.*s': expected milliseconds after ':'", len, item);
            return -1;
        }
        memcpy(v, colon + 1, (size_t)vlen);
        v[vlen] = '\0';
        if (units_parse_double(v, &ms) < 0 || ms <= 0 || ms > 1e12) {
            snprintf(err, errcap, "'%.*s': '%s' is not a number of milliseconds > 0", len, item, v);
            return -1;
        }
        spec_set(spec, k, 0, ms * 1e6);
        items++;
    }
    if (!items) {
        snprintf(err, errcap, "expected KEY:MILLISECONDS items, e.g. 'ttft:500 tpot:50'");
        return -1;
    }
    return 0;
}

/* Offset b - a, or -1 when b is before a. */
static double since(uint64_t a, uint64_t b)
{
    return b >= a ? (double)(b - a) : -1;
}

static int over(const struct slo_limit *l, double v)
{
    return l->strict ? v >= l->value : v > l->value;
}

unsigned slo_eval(const struct slo_spec *spec, const struct req_record *r)
{
    unsigned miss = 0;
    /* A user's wait starts when the request arrived (its schedule): in an
     * open loop that includes the time it queued behind the cap. */
    uint64_t from = r->sched_ns <= r->start_ns ? r->sched_ns : r->start_ns;
    const struct slo_limit *l = spec->lim;
    if (l[SLO_TTFT].set && (!r->first_ns || over(&l[SLO_TTFT], since(from, r->first_ns))))
        miss |= 1u << SLO_TTFT;
    if (l[SLO_TTFT_OUTPUT].set) {
        uint64_t t = r->t_first_output ? r->t_first_output : r->first_ns;
        if (!t || over(&l[SLO_TTFT_OUTPUT], since(from, t)))
            miss |= 1u << SLO_TTFT_OUTPUT;
    }
    int64_t tpot;
    if (l[SLO_TPOT].set && (tpot = req_tpot_ns(r)) >= 0 && over(&l[SLO_TPOT], (double)tpot))
        miss |= 1u << SLO_TPOT;
    if (l[SLO_ITL_MAX].set && over(&l[SLO_ITL_MAX], (double)r->itl_max_ns))
        miss |= 1u << SLO_ITL_MAX;
    double e2e = since(from, r->end_ns);
    if (l[SLO_E2E].set && (e2e < 0 || over(&l[SLO_E2E], e2e)))
        miss |= 1u << SLO_E2E;
    if (l[SLO_TOKENS_MIN].set) {
        double v = l[SLO_TOKENS_MIN].value;
        double out = (double)r->out_tokens;
        if (r->out_tokens < 0 || (l[SLO_TOKENS_MIN].strict ? out <= v : out < v))
            miss |= 1u << SLO_TOKENS_MIN;
    }
    return miss;
}

void slo_tally_add(struct slo_tally *t, const struct slo_spec *spec, const struct req_record *r,
                   int aborted)
{
    if (aborted) {
        t->cut++;
        return;
    }
    t->judged++;
    if (r->err != ERR_NONE) {
        t->errors++;
        return;
    }
    unsigned miss = slo_eval(spec, r);
    if (!miss) {
        t->good++;
        if (r->out_tokens > 0)
            t->good_tokens += (uint64_t)r->out_tokens;
        return;
    }
    for (int k = 0; k < SLO__N; k++)
        t->miss[k] += (miss >> k) & 1u;
}

void slo_tally_merge(struct slo_tally *dst, const struct slo_tally *src)
{
    dst->judged += src->judged;
    dst->good += src->good;
    dst->errors += src->errors;
    dst->cut += src->cut;
    dst->good_tokens += src->good_tokens;
    for (int k = 0; k < SLO__N; k++)
        dst->miss[k] += src->miss[k];
}

int slo_binding(const struct slo_spec *spec, const struct slo_tally *t)
{
    int best = -1;
    for (int k = 0; k < SLO__N; k++)
        if (spec->lim[k].set && t->miss[k] > 0 && (best < 0 || t->miss[k] > t->miss[best]))
            best = k;
    return best;
}

void slo_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    double nn = (double)n, p = (double)k / nn, z2 = z * z;
    double den = 1 + z2 / nn;
    double mid = (p + z2 / (2 * nn)) / den;
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / den;
    *lo = k == 0 ? 0 : fmax(0, mid - half);
    *hi = k == n ? 1 : fmin(1, mid + half);
}

void slo_result(const struct slo_spec *spec, const struct slo_tally *t, double wall_s,
                struct slo_result *out)
{
    out->attainment = t->judged ? (double)t->good / (double)t->judged : NAN;
    slo_wilson(t->good, t->judged, SLO_Z95, &out->lo, &out->hi);
    out->goodput_rps = wall_s > 0 ? (double)t->good / wall_s : NAN;
    out->goodput_tps = wall_s > 0 ? (double)t->good_tokens / wall_s : NAN;
    out->binding = slo_binding(spec, t);
}
