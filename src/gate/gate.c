/* The regression gate: assertion expressions, gate flags, and the evaluation
 * of K result documents against assertions and a baseline. */
#include "gate.h"
#include "gate_int.h"
#include "baseline.h"
#include "exitcode.h"
#include "result.h"
#include "units.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 47 || lb > 47)
        return 99;
    size_t d[48][48];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

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
        dist[i] = edit_distance(name, cand[i]);
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

static int op_holds(enum gate_op op, double a, double b)
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

static void expr_ref(const struct gate_expr *e, struct gate_ref *ref)
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
    expr_ref(e, &ref);
    if (gate_ref_get(&ref, summary, measured) < 0)
        return -1;
    *pass = op_holds(e->op, *measured, e->limit);
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

/* ---- options ----------------------------------------------------------------- */

static const struct {
    const char *flag, *arg, *help;
} gate_flags[] = {
    { "--assert", "EXPR", "fail (exit 1) unless EXPR holds, e.g. 'p95(ttft) < 500ms' (repeatable)" },
    { "--baseline", "FILE", "compare with a saved result or baseline (docs/ci.md)" },
    { "--max-regression", "SPEC", "tolerances vs the baseline, e.g. 'p95(ttft)=10%,output_tps=5%'" },
    { "--repeat", "K", "run K times; the median decides, with a bootstrap 95% CI (default 1)" },
    { "--save-baseline", "FILE", "write this result as a baseline meant to be committed" },
    { "--junit", "FILE", "write the checks as JUnit XML" },
    { "--markdown", "FILE", "write a Markdown summary (GitHub job summary, MR comment)" },
};
#define N_GATE_FLAGS (sizeof gate_flags / sizeof gate_flags[0])

void gate_opts_init(struct gate_opts *g)
{
    memset(g, 0, sizeof *g);
    g->repeat = 1;
}

void gate_opts_free(struct gate_opts *g)
{
    for (size_t i = 0; i < g->n_asserts; i++)
        gate_expr_free(g->asserts[i]);
    free(g->asserts);
    free(g->regress);
    free(g->baseline_path);
    baseline_free(g->baseline);
    free(g->save_baseline_path);
    free(g->junit_path);
    free(g->markdown_path);
    gate_opts_init(g);
}

int gate_flag_takes_value(const char *flag)
{
    for (size_t i = 0; i < N_GATE_FLAGS; i++)
        if (!strcmp(flag, gate_flags[i].flag))
            return 1;
    return 0;
}

void gate_help(FILE *f)
{
    fprintf(f, "\nregression gate (docs/ci.md):\n");
    for (size_t i = 0; i < N_GATE_FLAGS; i++) {
        char left[40];
        snprintf(left, sizeof left, "%s %s", gate_flags[i].flag, gate_flags[i].arg);
        fprintf(f, "  %-26s %s\n", left, gate_flags[i].help);
    }
    fprintf(f, "  exit codes: 0 passed, 1 a check failed, 2 usage, 3 run not done, 4 interrupted\n");
}

int gate_repeat(const struct gate_opts *g)
{
    return g->repeat > 0 ? g->repeat : 1;
}

int gate_active(const struct gate_opts *g)
{
    return g->n_asserts || g->baseline_path || g->regress_given || g->save_baseline_path ||
           g->junit_path || g->markdown_path || g->repeat > 1;
}

static int set_path(char **dst, const char *flag, const char *value, char *err, size_t errcap)
{
    if (!value || !*value) {
        snprintf(err, errcap, "%s: needs a file name", flag);
        return -1;
    }
    char *p = strdup(value);
    if (!p) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    free(*dst);
    *dst = p;
    return 1;
}

int gate_opt(struct gate_opts *g, const char *flag, const char *value, char *err, size_t errcap)
{
    char sub[1024];
    if (!gate_flag_takes_value(flag))
        return 0;
    if (!value) {
        snprintf(err, errcap, "%s: needs a value", flag);
        return -1;
    }
    if (!strcmp(flag, "--assert")) {
        struct gate_expr *e;
        if (gate_expr_parse(value, &e, sub, sizeof sub) < 0) {
            snprintf(err, errcap, "--assert: %s", sub);
            return -1;
        }
        struct gate_expr **na = realloc(g->asserts, (g->n_asserts + 1) * sizeof *na);
        if (!na) {
            gate_expr_free(e);
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        g->asserts = na;
        g->asserts[g->n_asserts++] = e;
        return 1;
    }
    if (!strcmp(flag, "--max-regression")) {
        if (gate_regress_parse(value, &g->regress, &g->n_regress, sub, sizeof sub) < 0) {
            snprintf(err, errcap, "--max-regression: %s", sub);
            return -1;
        }
        g->regress_given = 1;
        return 1;
    }
    if (!strcmp(flag, "--repeat")) {
        uint64_t k;
        if (units_parse_count(value, &k) < 0 || k < 1 || k > 1000) {
            snprintf(err, errcap, "--repeat: '%s' is not a whole number of runs from 1 to 1000", value);
            return -1;
        }
        g->repeat = (int)k;
        return 1;
    }
    if (!strcmp(flag, "--baseline"))
        return set_path(&g->baseline_path, flag, value, err, errcap);
    if (!strcmp(flag, "--save-baseline"))
        return set_path(&g->save_baseline_path, flag, value, err, errcap);
    if (!strcmp(flag, "--junit"))
        return set_path(&g->junit_path, flag, value, err, errcap);
    return set_path(&g->markdown_path, flag, value, err, errcap);
}

/* Whether path can be written: an existing regular file we may write, or a
 * new name in a directory we may write.  Nothing is created here, so a run
 * refused later leaves no empty report behind. */
static int check_writable(const char *flag, const char *path, char *err, size_t errcap)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errcap, "%s %s: is a directory", flag, path);
            return -1;
        }
        if (access(path, W_OK) < 0) {
            snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "%s %s: directory %s does not exist", flag, path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, errcap, "%s %s: cannot create files in %s: %s", flag, path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

int gate_check_files(struct gate_opts *g, char *err, size_t errcap)
{
    if (g->regress_given && !g->baseline_path) {
        snprintf(err, errcap, "--max-regression needs --baseline FILE to compare with");
        return -1;
    }
    if (g->baseline_path && !g->baseline) {
        if (baseline_load(g->baseline_path, &g->baseline, err, errcap) < 0)
            return -1;
    }
    if (g->baseline_path && !g->regress_given && !g->n_regress) {
        if (gate_regress_parse(GATE_DEFAULT_REGRESSION, &g->regress, &g->n_regress, err, errcap) < 0)
            return -1;
    }
    if (g->junit_path && check_writable("--junit", g->junit_path, err, errcap) < 0)
        return -1;
    if (g->markdown_path && check_writable("--markdown", g->markdown_path, err, errcap) < 0)
        return -1;
    if (g->save_baseline_path &&
        check_writable("--save-baseline", g->save_baseline_path, err, errcap) < 0)
        return -1;
    return 0;
}

int gate_check_config(const struct gate_opts *g, const struct cJSON *config,
                      char *err, size_t errcap)
{
    char diff[2048];
    if (!g->baseline)
        return 0;
    if (baseline_config_diff(g->baseline->config, config, diff, sizeof diff) > 0) {
        snprintf(err, errcap,
                 "baseline %s was made with a different workload: %s "
                 "(run with the baseline's settings, or make a new baseline with --save-baseline)",
                 g->baseline->path, diff);
        return -1;
    }
    return 0;
}

/* ---- evaluation ---------------------------------------------------------------- */

/* The values of ref in each summary that has one: NaN-free, *nv of them. */
static double *collect(const struct gate_ref *ref, const cJSON *const *sums, size_t n, size_t *nv)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    *nv = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (gate_ref_get(ref, sums[i], &v[*nv]) == 0)
            (*nv)++;
    return v;
}

static void fmt_change(double c, int relative, enum gate_kind k, char *buf, size_t cap)
{
    if (isinf(c))
        snprintf(buf, cap, "%s", c > 0 ? "+inf%" : "-inf%");
    else if (relative)
        snprintf(buf, cap, "%+.1f%%", c * 100);
    else {
        char v[32];
        gate_value_fmt(k, fabs(c), v, sizeof v);
        snprintf(buf, cap, "%s%s", c < 0 ? "-" : "+", v);
    }
}

static int eval_assert(const struct gate_expr *e, const cJSON *const *sums, size_t n,
                       struct gate_check *c)
{
    struct gate_ref ref;
    size_t nv;
    char m[48], l[48], lo[48], hi[48];
    expr_ref(e, &ref);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", e->text);
    c->kind = e->kind;
    c->op = e->op;
    c->limit = e->limit;
    double *v = collect(&ref, sums, n, &nv);
    if (!v)
        return -1;
    gate_value_fmt(c->kind, c->limit, l, sizeof l);
    if (!nv) {
        c->measured = c->lo = c->hi = NAN;
        c->status = GATE_FAIL;
        snprintf(c->message, sizeof c->message, "no value measured (no samples), limit %s %s",
                 gate_op_str(c->op), l);
        free(v);
        return 0;
    }
    c->measured = baseline_median(v, nv);
    if (baseline_boot_median_ci(v, nv, BASELINE_BOOT_SEED, &c->lo, &c->hi) < 0) {
        free(v);
        return -1;
    }
    free(v);
    c->status = op_holds(c->op, c->measured, c->limit) ? GATE_PASS : GATE_FAIL;
    gate_value_fmt(c->kind, c->measured, m, sizeof m);
    if (n > 1)
        snprintf(c->message, sizeof c->message, "measured %s (95%% CI %s .. %s), limit %s %s",
                 m, gate_value_fmt(c->kind, c->lo, lo, sizeof lo),
                 gate_value_fmt(c->kind, c->hi, hi, sizeof hi), gate_op_str(c->op), l);
    else
        snprintf(c->message, sizeof c->message, "measured %s, limit %s %s", m, gate_op_str(c->op), l);
    if (nv < n) {
        size_t len = strlen(c->message);
        snprintf(c->message + len, sizeof c->message - len, " (%zu of %zu runs had no value)", n - nv, n);
    }
    return 0;
}

static int eval_regress(const struct gate_regress *r, const cJSON *const *sums, size_t n,
                        const struct baseline *b, struct gate_check *c)
{
    size_t nc, nb;
    char bv[48], ch[48], lo[48], hi[48], tol[48];
    memset(c, 0, sizeof *c);
    c->is_regress = 1;
    gate_ref_name(&r->ref, c->name, sizeof c->name);
    c->kind = r->ref.kind;
    c->tol = r->tol;
    c->relative = r->relative;
    c->dir = r->ref.dir;
    double *cur = collect(&r->ref, sums, n, &nc);
    double *base = collect(&r->ref, b->summaries, b->n, &nb);
    if (!cur || !base) {
        free(cur);
        free(base);
        return -1;
    }
    if (c->relative)
        snprintf(tol, sizeof tol, "%.1f%%", c->tol * 100);
    else
        gate_value_fmt(c->kind, c->tol, tol, sizeof tol);
    const char *worse = c->dir == GATE_DIR_UP ? "+" : c->dir == GATE_DIR_DOWN ? "-" : "+/-";
    c->measured = nc ? baseline_median(cur, nc) : NAN;
    c->base = nb ? baseline_median(base, nb) : NAN;
    if (!nb) {
        c->status = GATE_SKIP;
        c->change = c->change_lo = c->change_hi = c->lo = c->hi = NAN;
        snprintf(c->message, sizeof c->message, "the baseline has no value for %s", c->name);
        goto done;
    }
    gate_value_fmt(c->kind, c->base, bv, sizeof bv);
    if (!nc) {
        c->status = GATE_FAIL;
        c->change = c->change_lo = c->change_hi = c->lo = c->hi = NAN;
        snprintf(c->message, sizeof c->message, "no value measured (baseline %s)", bv);
        goto done;
    }
    if (baseline_boot_median_ci(cur, nc, BASELINE_BOOT_SEED, &c->lo, &c->hi) < 0 ||
        baseline_boot_change(cur, nc, base, nb, c->relative, BASELINE_BOOT_SEED,
                             &c->change, &c->change_lo, &c->change_hi) < 0) {
        free(cur);
        free(base);
        return -1;
    }
    /* Worse means beyond the tolerance in the metric's bad direction.  The
     * gate fails only when the whole interval is beyond it: a point estimate
     * beyond it with an interval that is not could be noise. */
    int point_bad, all_bad;
    if (c->dir == GATE_DIR_UP) {
        point_bad = c->change > c->tol;
        all_bad = c->change_lo > c->tol;
    } else if (c->dir == GATE_DIR_DOWN) {
        point_bad = c->change < -c->tol;
        all_bad = c->change_hi < -c->tol;
    } else {
        point_bad = fabs(c->change) > c->tol;
        all_bad = c->change_lo > c->tol || c->change_hi < -c->tol;
    }
    c->status = all_bad ? GATE_FAIL : point_bad ? GATE_NOISE : GATE_PASS;
    fmt_change(c->change, c->relative, c->kind, ch, sizeof ch);
    fmt_change(c->change_lo, c->relative, c->kind, lo, sizeof lo);
    fmt_change(c->change_hi, c->relative, c->kind, hi, sizeof hi);
    {
        char m[48];
        gate_value_fmt(c->kind, c->measured, m, sizeof m);
        if (n > 1 || b->n > 1)
            snprintf(c->message, sizeof c->message,
                     "%s vs baseline %s: %s (95%% CI %s .. %s), tolerance %s%s%s",
                     m, bv, ch, lo, hi, worse, tol,
                     c->status == GATE_NOISE ? ", within noise" : "");
        else
            snprintf(c->message, sizeof c->message, "%s vs baseline %s: %s, tolerance %s%s",
                     m, bv, ch, worse, tol);
    }
done:
    free(cur);
    free(base);
    return 0;
}

static const char *doc_version(const cJSON *doc)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(env, "llmload_version");
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(env, "version");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int gate_evaluate(const struct gate_opts *g, struct cJSON *const *results, size_t n,
                  FILE *out, char *err, size_t errcap)
{
    int code = EXIT_OK;
    const cJSON **sums = NULL;
    struct gate_outcome o;
    memset(&o, 0, sizeof o);
    if (!n) {
        snprintf(err, errcap, "no run completed");
        return EXIT_RUN;
    }
    sums = calloc(n, sizeof *sums);
    if (!sums) {
        snprintf(err, errcap, "out of memory");
        return EXIT_RUN;
    }
    for (size_t i = 0; i < n; i++) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(results[i], "interrupted"))) {
            snprintf(err, errcap, "run %zu of %zu was interrupted: no check evaluated, no baseline saved",
                     i + 1, n);
            code = EXIT_INTERRUPTED;
            goto out;
        }
        sums[i] = cJSON_GetObjectItemCaseSensitive(results[i], "summary");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(sums[i], "ok");
        if (!cJSON_IsObject(sums[i]) || !cJSON_IsNumber(ok)) {
            snprintf(err, errcap, "run %zu of %zu: the result has no summary", i + 1, n);
            code = EXIT_RUN;
            goto out;
        }
        if (ok->valuedouble <= 0) {
            snprintf(err, errcap, "run %zu of %zu: every request failed; nothing to check", i + 1, n);
            code = EXIT_RUN;
            goto out;
        }
    }
    if (g->baseline &&
        gate_check_config(g, cJSON_GetObjectItemCaseSensitive(results[0], "config"), err, errcap) < 0) {
        code = EXIT_USAGE;
        goto out;
    }
    o.runs = n;
    o.baseline_path = g->baseline ? g->baseline->path : NULL;
    o.baseline_runs = g->baseline ? g->baseline->n : 0;
    o.version = doc_version(results[0]);
    for (size_t i = 0; i < n; i++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(sums[i], "duration_s");
        if (cJSON_IsNumber(d) && d->valuedouble > 0)
            o.time_s += d->valuedouble;
    }
    size_t nreg = g->baseline ? g->n_regress : 0;
    o.checks = calloc(g->n_asserts + nreg + 1, sizeof *o.checks);
    o.median = baseline_median_summary(sums, n);
    if (!o.checks || !o.median) {
        snprintf(err, errcap, "out of memory");
        code = EXIT_RUN;
        goto out;
    }
    for (size_t i = 0; i < g->n_asserts; i++) {
        if (eval_assert(g->asserts[i], sums, n, &o.checks[o.n]) < 0) {
            snprintf(err, errcap, "out of memory");
            code = EXIT_RUN;
            goto out;
        }
        o.n++;
    }
    for (size_t i = 0; i < nreg; i++) {
        if (eval_regress(&g->regress[i], sums, n, g->baseline, &o.checks[o.n]) < 0) {
            snprintf(err, errcap, "out of memory");
            code = EXIT_RUN;
            goto out;
        }
        o.n++;
    }
    for (size_t i = 0; i < o.n; i++)
        if (o.checks[i].status == GATE_FAIL)
            o.failed++;
    gate_report_text(out, &o);
    code = o.failed ? EXIT_CHECK : EXIT_OK;
    /* Reports are written whatever the checks said: a failing build is when
     * CI needs them most. */
    if (g->junit_path && gate_report_junit(g->junit_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->markdown_path &&
        gate_report_markdown(g->markdown_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->save_baseline_path) {
        if (baseline_save(g->save_baseline_path, results, n, err, errcap) < 0)
            code = EXIT_USAGE;
        else if (out)
            fprintf(out, "baseline saved to %s (%zu run%s)\n", g->save_baseline_path, n, n == 1 ? "" : "s");
    }
out:
    if (code == EXIT_RUN && g->junit_path) {
        char e2[256];
        (void)gate_report_junit_error(g->junit_path, err, e2, sizeof e2);
    }
    cJSON_Delete(o.median);
    free(o.checks);
    free(sums);
    return code;
}

void gate_run_failed(const struct gate_opts *g, const char *what)
{
    char e[256];
    if (g->junit_path)
        (void)gate_report_junit_error(g->junit_path, what, e, sizeof e);
}

int gate_evaluate_levels(const struct gate_opts *g, const char *const *labels,
                         const struct cJSON *const *summaries, size_t n,
                         FILE *out, char *err, size_t errcap)
{
    struct gate_outcome o;
    memset(&o, 0, sizeof o);
    if (!n) {
        snprintf(err, errcap, "no level completed; nothing to check");
        if (g->junit_path) {
            char e2[256];
            (void)gate_report_junit_error(g->junit_path, err, e2, sizeof e2);
        }
        return EXIT_RUN;
    }
    o.checks = calloc(n * g->n_asserts + 1, sizeof *o.checks);
    /* The overview of the Markdown report shows the last level. */
    o.median = cJSON_Duplicate(summaries[n - 1], 1);
    if (!o.checks || !o.median) {
        free(o.checks);
        cJSON_Delete(o.median);
        snprintf(err, errcap, "out of memory");
        return EXIT_RUN;
    }
    o.runs = 1;   /* each level is one run: no medians, no intervals */
    for (size_t l = 0; l < n; l++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(summaries[l], "duration_s");
        if (cJSON_IsNumber(d) && d->valuedouble > 0)
            o.time_s += d->valuedouble;
        for (size_t i = 0; i < g->n_asserts; i++) {
            struct gate_check *c = &o.checks[o.n];
            if (eval_assert(g->asserts[i], &summaries[l], 1, c) < 0) {
                free(o.checks);
                cJSON_Delete(o.median);
                snprintf(err, errcap, "out of memory");
                return EXIT_RUN;
            }
            char name[sizeof c->name];
            snprintf(name, sizeof name, "%s: %s", labels[l], g->asserts[i]->text);
            memcpy(c->name, name, sizeof c->name);
            if (c->status == GATE_FAIL)
                o.failed++;
            o.n++;
        }
    }
    gate_report_text(out, &o);
    int code = o.failed ? EXIT_CHECK : EXIT_OK;
    if (g->junit_path && gate_report_junit(g->junit_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->markdown_path &&
        gate_report_markdown(g->markdown_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    free(o.checks);
    cJSON_Delete(o.median);
    return code;
}
