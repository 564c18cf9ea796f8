/* Assertion expressions of the gate: the metrics a summary holds, the
 * parser (with caret messages and suggestions for unknown names), units,
 * evaluation against one summary, value formatting, and --max-regression
 * specs. */
#include "gate.h"
#include "gate_int.h"
#include "result.h"
#include "units.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the metrics a summary holds ------------------------------------------ */

enum { DIST_NONE = 0, DIST_LATENCY, DIST_TPS, DIST_TPE };

struct metric_def {
    const char *name;
    enum gate_kind kind;
    int dir;
    int dist;
};

/* The summary of "llmload.result/1" (docs/schema.md).  A name missing here
 * cannot be asserted: the check happens before any request is sent, when no
 * summary exists yet, so the table is the contract. */
static const struct metric_def metrics[] = {
    { "requests",         GATE_COUNT,    GATE_DIR_NONE, DIST_NONE },
    { "ok",               GATE_COUNT,    GATE_DIR_DOWN, DIST_NONE },
    { "failed",           GATE_COUNT,    GATE_DIR_UP,   DIST_NONE },
    { "error_rate",       GATE_FRACTION, GATE_DIR_UP,   DIST_NONE },
    { "duration_s",       GATE_SECONDS,  GATE_DIR_NONE, DIST_NONE },
    { "rps",              GATE_REQRATE,  GATE_DIR_DOWN, DIST_NONE },
    { "output_tokens",    GATE_COUNT,    GATE_DIR_NONE, DIST_NONE },
    { "input_tokens",     GATE_COUNT,    GATE_DIR_NONE, DIST_NONE },
    { "output_tps",       GATE_TOKRATE,  GATE_DIR_DOWN, DIST_NONE },
    { "retries",          GATE_COUNT,    GATE_DIR_UP,   DIST_NONE },
    { "late",             GATE_COUNT,    GATE_DIR_UP,   DIST_NONE },
    { "server_eval_rate", GATE_TOKRATE,  GATE_DIR_DOWN, DIST_NONE },
    { "ttft",             GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "ttft_reasoning",   GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "ttft_output",      GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "itl",              GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "tpot",             GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "e2e",              GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "queue_time",       GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "ttft_from_schedule", GATE_SECONDS, GATE_DIR_UP,  DIST_LATENCY },
    { "e2e_from_schedule", GATE_SECONDS,  GATE_DIR_UP,   DIST_LATENCY },
    { "request_tps",      GATE_TOKRATE,  GATE_DIR_DOWN, DIST_TPS },
    { "tokens_per_event", GATE_COUNT,    GATE_DIR_NONE, DIST_TPE },
    { "events",           GATE_COUNT,    GATE_DIR_NONE, DIST_NONE },
    { "warmup_requests",  GATE_COUNT,    GATE_DIR_NONE, DIST_NONE },
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])

/* The error classes: metrics/result.h owns the table (err_class_name);
 * class 0 is "none", not an error. */
#define N_ERR_CLASSES ((size_t)ERR__COUNT - 1)
#define err_class_at(i) err_class_name((enum err_class)((i) + 1))

static const char *const stats_latency[] = { "min", "mean", "p50", "p90", "p95", "p99", "max", "stdev" };
static const char *const stats_tps[] = { "mean", "p05", "p50", "p95" };
static const char *const stats_tpe[] = { "mean", "p50", "max" };

/* The statistics a distribution's object holds (docs/schema.md). */
static const char *const *stats_of(int dist, size_t *n)
{
    switch (dist) {
    case DIST_TPS:
        *n = sizeof stats_tps / sizeof *stats_tps;
        return stats_tps;
    case DIST_TPE:
        *n = sizeof stats_tpe / sizeof *stats_tpe;
        return stats_tpe;
    default:
        *n = sizeof stats_latency / sizeof *stats_latency;
        return stats_latency;
    }
}

static const struct metric_def *metric_find(const char *name)
{
    for (size_t i = 0; i < N_METRICS; i++)
        if (!strcmp(metrics[i].name, name))
            return &metrics[i];
    return NULL;
}

static int stat_valid(int dist, const char *stat)
{
    size_t n;
    const char *const *tab = stats_of(dist, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tab[i], stat))
            return 1;
    return 0;
}

static void stat_list(int dist, char *buf, size_t cap)
{
    size_t n;
    const char *const *tab = stats_of(dist, &n);
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos < cap; i++) {
        int w = snprintf(buf + pos, cap - pos, "%s%s", i ? " " : "", tab[i]);
        if (w < 0)
            break;
        pos += (size_t)w;
    }
}

/* ---- error messages with a caret ------------------------------------------- */

void gate_caret_err(char *err, size_t errcap, const char *text, size_t pos,
                    const char *fmt, ...)
{
    if (!err || !errcap)
        return;
    size_t len = strlen(text), at = 0;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    at = (size_t)w < errcap ? (size_t)w : errcap - 1;
    /* The expression line, with control characters shown as '?' so the
     * caret line below stays aligned with it. */
    const char *indent = "\n    ";
    for (const char *p = indent; *p && at + 1 < errcap; p++)
        err[at++] = *p;
    for (size_t i = 0; i < len && at + 1 < errcap; i++) {
        unsigned char c = (unsigned char)text[i];
        err[at++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
    }
    for (const char *p = indent; *p && at + 1 < errcap; p++)
        err[at++] = *p;
    /* One column per character: UTF-8 continuation bytes take none, and a
     * tab is repeated so the terminal expands it the same way. */
    if (pos > len)
        pos = len;
    for (size_t i = 0; i < pos && at + 1 < errcap; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xc0) == 0x80)
            continue;
        err[at++] = c == '\t' ? '\t' : ' ';
    }
    if (at + 1 < errcap)
        err[at++] = '^';
    err[at] = '\0';
}

/* ---- suggestions for unknown names ---------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), for
 * short names only. */
/* Writes up to 3 of the nearest names to name into buf ("ttft, tpot"), or
 * "" when nothing is near.  A name that contains the typed one (tps ->
 * output_tps) counts as near. */
static void suggest(const char *name, char *buf, size_t cap)
{
    const char *cand[N_METRICS + N_ERR_CLASSES];
    char errnames[N_ERR_CLASSES][32];
    size_t nc = 0;
    for (size_t i = 0; i < N_METRICS; i++)
        cand[nc++] = metrics[i].name;
    for (size_t i = 0; i < N_ERR_CLASSES; i++) {
        snprintf(errnames[i], sizeof errnames[i], "errors.%s", err_class_at(i));
        cand[nc++] = errnames[i];
    }
    size_t dist[N_METRICS + N_ERR_CLASSES];
    size_t len = strlen(name);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (size_t i = 0; i < nc; i++) {
        dist[i] = util_edit_distance(name, cand[i]);
        if (len >= 3 && strstr(cand[i], name) && dist[i] > 1)
            dist[i] = limit;
    }
    buf[0] = '\0';
    size_t pos = 0, shown = 0;
    for (size_t d = 0; d <= limit && shown < 3; d++) {
        for (size_t i = 0; i < nc && shown < 3; i++) {
            if (dist[i] != d)
                continue;
            int w = snprintf(buf + pos, cap - pos, "%s%s", shown ? ", " : "", cand[i]);
            if (w < 0 || (size_t)w >= cap - pos)
                return;
            pos += (size_t)w;
            shown++;
        }
    }
}

static void metric_list(char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_METRICS; i++) {
        int w = snprintf(buf + pos, cap - pos, "%s%s", i ? " " : "", metrics[i].name);
        if (w < 0 || (size_t)w >= cap - pos)
            return;
        pos += (size_t)w;
    }
    snprintf(buf + pos, cap - pos, " errors.CLASS");
}

/* ---- lexer pieces ---------------------------------------------------------- */

static void skip_blank(const char *s, size_t *pos)
{
    while (s[*pos] == ' ' || s[*pos] == '\t')
        (*pos)++;
}

static int ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Copies the identifier at s[*pos] into buf; 0, or -1 when none or too long. */
static int scan_ident(const char *s, size_t *pos, char *buf, size_t cap)
{
    size_t i = *pos, n = 0;
    if (!ident_start(s[i]))
        return -1;
    while (ident_char(s[i])) {
        if (n + 1 >= cap)
            return -1;
        buf[n++] = (char)tolower((unsigned char)s[i]);
        i++;
    }
    buf[n] = '\0';
    *pos = i;
    return 0;
}

const char *gate_ref_name(const struct gate_ref *ref, char *buf, size_t cap)
{
    if (ref->stat[0])
        snprintf(buf, cap, "%s(%s)", ref->stat, ref->metric);
    else
        snprintf(buf, cap, "%s", ref->metric);
    return buf;
}

/* Resolves a metric name (already lower case) at offset at of text. */
static int ref_resolve(const char *text, size_t at, const char *name, const char *stat,
                       struct gate_ref *ref, char *err, size_t errcap)
{
    char list[512], sug[128];
    if (!strncmp(name, "errors.", 7)) {
        for (size_t i = 0; i < N_ERR_CLASSES; i++) {
            if (!strcmp(name + 7, err_class_at(i))) {
                if (stat[0]) {
                    gate_caret_err(err, errcap, text, at,
                                   "%s is a count, not a distribution: write %s without %s(...)",
                                   name, name, stat);
                    return -1;
                }
                snprintf(ref->metric, sizeof ref->metric, "%s", name);
                ref->stat[0] = '\0';
                ref->kind = GATE_COUNT;
                ref->dir = GATE_DIR_UP;
                return 0;
            }
        }
    }
    const struct metric_def *m = metric_find(name);
    if (!m) {
        /* "ttft.p95" and "ttft_p95" are natural guesses: point at the form
         * this grammar uses. */
        const char *sep = strpbrk(name, "._");
        if (sep && !stat[0]) {
            for (size_t i = 0; i < N_METRICS; i++) {
                size_t ml = strlen(metrics[i].name);
                if (metrics[i].dist && !strncmp(name, metrics[i].name, ml) &&
                    (name[ml] == '.' || name[ml] == '_') && stat_valid(metrics[i].dist, name + ml + 1)) {
                    gate_caret_err(err, errcap, text, at, "unknown metric '%s'; did you mean %s(%s)?",
                                   name, name + ml + 1, metrics[i].name);
                    return -1;
                }
            }
        }
        suggest(name, sug, sizeof sug);
        if (sug[0]) {
            gate_caret_err(err, errcap, text, at, "unknown metric '%s'; did you mean %s?", name, sug);
        } else {
            metric_list(list, sizeof list);
            gate_caret_err(err, errcap, text, at, "unknown metric '%s'; valid metrics: %s", name, list);
        }
        return -1;
    }
    if (m->dist && !stat[0]) {
        gate_caret_err(err, errcap, text, at,
                       "%s is a distribution: name a statistic, e.g. p95(%s), p50(%s) or mean(%s)",
                       name, name, name, name);
        return -1;
    }
    if (!m->dist && stat[0]) {
        gate_caret_err(err, errcap, text, at,
                       "%s is a single number, not a distribution: write %s without %s(...)",
                       name, name, stat);
        return -1;
    }
    snprintf(ref->metric, sizeof ref->metric, "%s", name);
    snprintf(ref->stat, sizeof ref->stat, "%s", stat);
    ref->kind = m->kind;
    ref->dir = m->dir;
    return 0;
}

int gate_ref_parse(const char *text, size_t *pos, struct gate_ref *ref, char *err, size_t errcap)
{
    char a[48], b[48], list[128];
    memset(ref, 0, sizeof *ref);
    skip_blank(text, pos);
    size_t at = *pos;
    if (!text[at]) {
        gate_caret_err(err, errcap, text, at, "expected a metric, e.g. p95(ttft) or error_rate");
        return -1;
    }
    if (scan_ident(text, pos, a, sizeof a) < 0) {
        gate_caret_err(err, errcap, text, at, "expected a metric name, e.g. p95(ttft) or error_rate");
        return -1;
    }
    size_t after = *pos;
    skip_blank(text, pos);
    if (text[*pos] != '(') {
        *pos = after;
        return ref_resolve(text, at, a, "", ref, err, errcap);
    }
    /* STAT(METRIC) */
    const char *stat = !strcmp(a, "median") ? "p50" : a;
    (*pos)++;
    skip_blank(text, pos);
    size_t mat = *pos;
    if (scan_ident(text, pos, b, sizeof b) < 0) {
        gate_caret_err(err, errcap, text, mat, "expected a metric name inside %s(...), e.g. %s(ttft)", a, a);
        return -1;
    }
    skip_blank(text, pos);
    if (text[*pos] != ')') {
        gate_caret_err(err, errcap, text, *pos, "expected ')' after %s(%s", a, b);
        return -1;
    }
    (*pos)++;
    const struct metric_def *m = metric_find(b);
    int dist = m && m->dist ? m->dist : DIST_LATENCY;
    if (!stat_valid(DIST_LATENCY, stat) && !stat_valid(DIST_TPS, stat) && !stat_valid(DIST_TPE, stat)) {
        stat_list(dist, list, sizeof list);
        gate_caret_err(err, errcap, text, at, "unknown statistic '%s'; valid: %s", a, list);
        return -1;
    }
    if (m && m->dist && !stat_valid(m->dist, stat)) {
        stat_list(m->dist, list, sizeof list);
        gate_caret_err(err, errcap, text, at, "%s has no statistic '%s'; valid: %s", b, a, list);
        return -1;
    }
    return ref_resolve(text, mat, b, stat, ref, err, errcap);
}

/* A decimal number: [+-]digits[.digits][e[+-]digits].  No hex, inf or nan,
 * which strtod would accept. */
static int scan_number(const char *s, size_t *pos, double *v)
{
    size_t i = *pos, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    if ((s[i] == 'e' || s[i] == 'E') &&
        (isdigit((unsigned char)s[i + 1]) ||
         ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
        i += 2;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    char buf[64];
    size_t n = i - *pos;
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s + *pos, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    *v = strtod(buf, &end);
    if (*end || errno == ERANGE || !isfinite(*v))
        return -1;
    *pos = i;
    return 0;
}

static int unit_char(const char *s, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    return isalpha(c) || c == '%' || c == '/' ||
           (c == 0xc2 && (unsigned char)s[i + 1] == 0xb5) || (c == 0xb5 && i && (unsigned char)s[i - 1] == 0xc2);
}

static const char *units_allowed(enum gate_kind k)
{
    switch (k) {
    case GATE_SECONDS:  return "ns us ms s m h (a bare number is seconds)";
    case GATE_FRACTION: return "% (1% = 0.01) or a bare fraction";
    case GATE_TOKRATE:  return "k M multipliers and tok/s, e.g. 1.5k or 1500 tok/s";
    case GATE_REQRATE:  return "k M multipliers and req/s, e.g. 20 or 20 req/s";
    case GATE_COUNT:    return "k M G multipliers, e.g. 100 or 1k";
    }
    return "";
}

static const char *kind_what(enum gate_kind k)
{
    switch (k) {
    case GATE_SECONDS:  return "a time";
    case GATE_FRACTION: return "a fraction";
    case GATE_TOKRATE:  return "a token rate";
    case GATE_REQRATE:  return "a request rate";
    case GATE_COUNT:    return "a count";
    }
    return "";
}

/* Multiplier of unit u (spaces removed) for kind k; -1 when it does not fit. */
static int unit_mult(enum gate_kind k, const char *u, double *mult)
{
    double m = 1;
    switch (k) {
    case GATE_SECONDS:
        /* units.c's table, in ns; the summary's times are in seconds. */
        if (units_duration_suffix(u, &m) < 0)
            return -1;
        *mult = m / 1e9;
        return 0;
    case GATE_FRACTION:
        if (!strcmp(u, ""))
            m = 1;
        else if (!strcmp(u, "%"))
            m = 0.01;
        else
            return -1;
        *mult = m;
        return 0;
    case GATE_TOKRATE:
    case GATE_REQRATE:
    case GATE_COUNT:
        u += units_count_prefix(u, &m);
        if (!*u || (k != GATE_COUNT && !strcmp(u, "/s")) ||
            (k == GATE_TOKRATE && (!strcmp(u, "tok/s") || !strcmp(u, "tokens/s"))) ||
            (k == GATE_REQRATE && (!strcmp(u, "req/s") || !strcmp(u, "rps")))) {
            *mult = m;
            return 0;
        }
        return -1;
    }
    return -1;
}

int gate_value_parse(const char *text, size_t *pos, const struct gate_ref *ref,
                     int pct_relative, double *v, int *pct, char *err, size_t errcap)
{
    char name[64];
    skip_blank(text, pos);
    size_t at = *pos;
    if (scan_number(text, pos, v) < 0) {
        gate_caret_err(err, errcap, text, at, "expected a number for %s, e.g. %s",
                       gate_ref_name(ref, name, sizeof name),
                       ref->kind == GATE_SECONDS ? "500ms" : ref->kind == GATE_FRACTION ? "1%" : "100");
        return -1;
    }
    /* The unit: letters, %, / and µ, possibly split by blanks ("1k tok/s"). */
    size_t i = *pos, uat;
    char u[32];
    size_t un = 0;
    skip_blank(text, &i);
    uat = i;
    /* Blanks may only follow a lone multiplier, as in "1.5k tok/s". */
    while (unit_char(text, i) || ((text[i] == ' ' || text[i] == '\t') && un == 1 &&
                                  strchr("kKMG", u[0]))) {
        if (text[i] == ' ' || text[i] == '\t') {
            size_t j = i;
            skip_blank(text, &j);
            if (!unit_char(text, j))
                break;
            i = j;
            continue;
        }
        if (un + 1 >= sizeof u) {
            gate_caret_err(err, errcap, text, uat, "unit too long");
            return -1;
        }
        u[un++] = text[i++];
    }
    u[un] = '\0';
    *pct = !strcmp(u, "%");
    double mult;
    if (*pct && pct_relative) {
        mult = 0.01;
    } else if (unit_mult(ref->kind, u, &mult) < 0) {
        gate_caret_err(err, errcap, text, uat, "unit '%s' does not fit %s (%s): use %s",
                       u, gate_ref_name(ref, name, sizeof name), kind_what(ref->kind),
                       units_allowed(ref->kind));
        return -1;
    }
    *v *= mult;
    *pos = un ? i : *pos;
    return 0;
}

/* ---- expressions ------------------------------------------------------------- */

static const char *const op_names[] = { "<", "<=", ">", ">=", "==", "!=" };

const char *gate_op_str(enum gate_op op)
{
    return (unsigned)op < 6 ? op_names[op] : "?";
}

static int scan_op(const char *s, size_t *pos, enum gate_op *op)
{
    const char *p = s + *pos;
    if (p[0] == '<' && p[1] == '=') { *op = GATE_LE; *pos += 2; }
    else if (p[0] == '>' && p[1] == '=') { *op = GATE_GE; *pos += 2; }
    else if (p[0] == '=' && p[1] == '=') { *op = GATE_EQ; *pos += 2; }
    else if (p[0] == '!' && p[1] == '=') { *op = GATE_NE; *pos += 2; }
    else if (p[0] == '<') { *op = GATE_LT; *pos += 1; }
    else if (p[0] == '>') { *op = GATE_GT; *pos += 1; }
    else
        return -1;
    return 0;
}

int gate_expr_parse(const char *text, struct gate_expr **out, char *err, size_t errcap)
{
    struct gate_ref ref;
    size_t pos = 0;
    double v;
    int pct;
    enum gate_op op;
    *out = NULL;
    if (!text)
        text = "";
    if (gate_ref_parse(text, &pos, &ref, err, errcap) < 0)
        return -1;
    skip_blank(text, &pos);
    size_t opat = pos;
    if (scan_op(text, &pos, &op) < 0) {
        char name[64];
        if (text[pos] == '=')
            gate_caret_err(err, errcap, text, opat, "expected a comparison: write == for equality");
        else
            gate_caret_err(err, errcap, text, opat,
                           "expected a comparison after %s: one of < <= > >= == !=",
                           gate_ref_name(&ref, name, sizeof name));
        return -1;
    }
    if (gate_value_parse(text, &pos, &ref, 0, &v, &pct, err, errcap) < 0)
        return -1;
    skip_blank(text, &pos);
    if (text[pos]) {
        gate_caret_err(err, errcap, text, pos, "unexpected text after the value");
        return -1;
    }
    struct gate_expr *e = calloc(1, sizeof *e);
    if (!e || !(e->text = strdup(text))) {
        free(e);
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    memcpy(e->metric, ref.metric, sizeof e->metric);
    memcpy(e->stat, ref.stat, sizeof e->stat);
    e->op = op;
    e->limit = v;
    e->kind = ref.kind;
    *out = e;
    return 0;
}

void gate_expr_free(struct gate_expr *e)
{
    if (!e)
        return;
    free(e->text);
    free(e);
}

int gate_ref_get(const struct gate_ref *ref, const struct cJSON *summary, double *v)
{
    const cJSON *node;
    if (!summary || !cJSON_IsObject(summary))
        return -1;
    if (!strncmp(ref->metric, "errors.", 7)) {
        /* Only classes that happened are listed: an absent class is zero. */
        const cJSON *errs = cJSON_GetObjectItemCaseSensitive(summary, "errors");
        if (!cJSON_IsObject(errs))
            return -1;
        node = cJSON_GetObjectItemCaseSensitive(errs, ref->metric + 7);
        if (!node) {
            *v = 0;
            return 0;
        }
    } else {
        node = cJSON_GetObjectItemCaseSensitive(summary, ref->metric);
        if (ref->stat[0])
            node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, ref->stat) : NULL;
    }
    if (!cJSON_IsNumber(node) || !isfinite(node->valuedouble))
        return -1;
    *v = node->valuedouble;
    return 0;
}

int gate_op_holds(enum gate_op op, double a, double b)
{
    /* == and != on measured doubles: equal within a relative 1e-9, so that
     * a count read back from JSON compares as the integer it is. */
    int eq = fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
    switch (op) {
    case GATE_LT: return a < b && !eq;
    case GATE_LE: return a <= b || eq;
    case GATE_GT: return a > b && !eq;
    case GATE_GE: return a >= b || eq;
    case GATE_EQ: return eq;
    case GATE_NE: return !eq;
    }
    return 0;
}

void gate_expr_ref(const struct gate_expr *e, struct gate_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    memcpy(ref->metric, e->metric, sizeof ref->metric);
    memcpy(ref->stat, e->stat, sizeof ref->stat);
    ref->kind = e->kind;
}

int gate_expr_eval(const struct gate_expr *e, const struct cJSON *summary,
                   double *measured, int *pass)
{
    struct gate_ref ref;
    gate_expr_ref(e, &ref);
    if (gate_ref_get(&ref, summary, measured) < 0)
        return -1;
    *pass = gate_op_holds(e->op, *measured, e->limit);
    return 0;
}

/* A number without exponent notation and without noise digits. */
static void fmt_num(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    if (a >= 1000 || v == floor(v))
        snprintf(buf, cap, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, cap, "%.1f", v);
    else if (a >= 1)
        snprintf(buf, cap, "%.2f", v);
    else if (a >= 0.001)
        snprintf(buf, cap, "%.4g", v);
    else
        snprintf(buf, cap, "%.3g", v);
}

const char *gate_value_fmt(enum gate_kind k, double v, char *buf, size_t cap)
{
    char n[48];
    if (isnan(v)) {
        snprintf(buf, cap, "none");
        return buf;
    }
    switch (k) {
    case GATE_SECONDS:
        units_fmt_seconds(v, buf, cap);
        break;
    case GATE_FRACTION:
        snprintf(buf, cap, "%.2f%%", v * 100);
        break;
    case GATE_TOKRATE:
        fmt_num(v, n, sizeof n);
        snprintf(buf, cap, "%s tok/s", n);
        break;
    case GATE_REQRATE:
        fmt_num(v, n, sizeof n);
        snprintf(buf, cap, "%s req/s", n);
        break;
    case GATE_COUNT:
        fmt_num(v, n, sizeof n);
        snprintf(buf, cap, "%s", n);
        break;
    }
    return buf;
}

/* ---- --max-regression -------------------------------------------------------- */

int gate_regress_parse(const char *spec, struct gate_regress **arr, size_t *n,
                       char *err, size_t errcap)
{
    size_t pos = 0;
    for (;;) {
        struct gate_regress r;
        memset(&r, 0, sizeof r);
        size_t start;
        skip_blank(spec, &pos);
        start = pos;
        if (gate_ref_parse(spec, &pos, &r.ref, err, errcap) < 0)
            return -1;
        skip_blank(spec, &pos);
        if (spec[pos] != '=') {
            char name[64];
            gate_caret_err(err, errcap, spec, pos, "expected '=' and a tolerance after %s, e.g. %s=10%%",
                           gate_ref_name(&r.ref, name, sizeof name), name);
            return -1;
        }
        pos++;
        skip_blank(spec, &pos);
        size_t vat = pos;
        int pct;
        /* error_rate is already a fraction: its "%" is percentage points
         * (error_rate=1% lets it rise from 0.5% to 1.5%), never relative. */
        int relative_ok = r.ref.kind != GATE_FRACTION;
        if (gate_value_parse(spec, &pos, &r.ref, relative_ok, &r.tol, &pct, err, errcap) < 0)
            return -1;
        if (r.tol < 0) {
            gate_caret_err(err, errcap, spec, vat, "a tolerance cannot be negative");
            return -1;
        }
        r.relative = pct && relative_ok;
        size_t end = pos;
        while (end > start && (spec[end - 1] == ' ' || spec[end - 1] == '\t'))
            end--;
        snprintf(r.text, sizeof r.text, "%.*s", (int)(end - start), spec + start);
        skip_blank(spec, &pos);
        if (spec[pos] && spec[pos] != ',') {
            gate_caret_err(err, errcap, spec, pos, "expected ',' or the end after the tolerance");
            return -1;
        }
        size_t i;
        for (i = 0; i < *n; i++)
            if (!strcmp((*arr)[i].ref.metric, r.ref.metric) && !strcmp((*arr)[i].ref.stat, r.ref.stat))
                break;
        if (i == *n) {
            struct gate_regress *na = realloc(*arr, (*n + 1) * sizeof *na);
            if (!na) {
                snprintf(err, errcap, "out of memory");
                return -1;
            }
            *arr = na;
            (*n)++;
        }
        (*arr)[i] = r;
        if (!spec[pos])
            return 0;
        pos++;
    }
}
