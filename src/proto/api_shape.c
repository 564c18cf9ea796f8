/* api_shape: the fast path of api_parse_event (api_shape.h explains it).
 * It never interprets JSON itself: what a digit means is learned from
 * api_parse_event's own readings of the event. */
#include <stddef.h>
#include <string.h>

#include "api_impl.h"
#include "api_shape.h"

/* The count fields a variable run can carry, as bits of
 * api_shape_run.fields.  event_tokens, an array's length, is not one. */
static const size_t count_off[] = {
    offsetof(struct api_event, completion_tokens),
    offsetof(struct api_event, prompt_tokens),
    offsetof(struct api_event, reasoning_tokens),
    offsetof(struct api_event, eval_tokens),
    offsetof(struct api_event, eval_duration_ns),
    offsetof(struct api_event, prompt_eval_tokens),
    offsetof(struct api_event, prompt_eval_duration_ns),
    offsetof(struct api_event, cached_tokens),
    offsetof(struct api_event, total_duration_ns),
    offsetof(struct api_event, load_duration_ns),
};
#define NCOUNT ((int)(sizeof count_off / sizeof count_off[0]))
_Static_assert(sizeof count_off / sizeof count_off[0] <= 16, "api_shape_run.fields has 16 bits");
_Static_assert(API_SHAPE_MAX < 1024, "api_shape_run.at has 10 bits");

static int64_t count_get(const struct api_event *ev, int f)
{
    int64_t v;

    memcpy(&v, (const char *)ev + count_off[f], sizeof v);
    return v;
}

static void count_set(struct api_event *ev, int f, int64_t v)
{
    memcpy((char *)ev + count_off[f], &v, sizeof v);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value of n > 0 digits; -1 when it exceeds int64, where json_int64
 * gives up too. */
static int digits_value(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;

    /* 18 digits always fit: no overflow test on the hot path. */
    for (size_t i = 0; i < n; i++) {
        int d = p[i] - '0';
        if (i >= 18 && v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* api_shape.state: matches; learned from an event with counts, waiting
 * for a second one of the same shape; learned only to recognise the next
 * events of a shape that cannot match. */
enum { SHAPE_USABLE, SHAPE_PENDING, SHAPE_UNUSABLE };
/* api_shape.kind: what the text of the learned event was. */
enum { SHAPE_REASONING = 1, SHAPE_TOOL = 2 };

void api_shape_reset(struct api_shape *s)
{
    s->pre = s->post = 0;
    s->nruns = s->npre = 0;
    s->kind = 0;
    s->state = SHAPE_USABLE;
    s->skip = 0;
}

/* ---- matching (the hot path) ---- */

static int hexdig(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of the JSON string body at p, up to its closing quote; -1
 * when there is no closing quote or the body has a control character or
 * an invalid escape. */
static long string_body(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"')
            return (long)i;
        if (c < 0x20)
            return -1;
        if (c != '\\')
            continue;
        if (++i >= n)
            return -1;
        switch (p[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            break;
        case 'u':
            if (i + 4 >= n || !hexdig(p[i + 1]) || !hexdig(p[i + 2]) || !hexdig(p[i + 3]) ||
                !hexdig(p[i + 4]))
                return -1;
            i += 4;
            break;
        default:
            return -1;
        }
    }
    return -1;
}

/* Matches the template t[0..tn), with the variable runs r[0..nr) (their
 * `at` counted from tbase), against d from i on; the values of the runs
 * that carry counts go to val[].  Returns the end of the match in d, or
 * (size_t)-1.  A template never has a digit next to a variable run (runs
 * are maximal), so taking every digit there is the only way to match. */
static size_t seg_match(const char *t, size_t tn, const struct api_shape_run *r, int nr, size_t tbase,
                        const char *d, size_t len, size_t i, int64_t *val)
{
    size_t j = 0;

    for (int k = 0; k < nr; k++) {
        size_t seg = r[k].at - tbase - j, s0;

        if (len - i < seg || memcmp(d + i, t + j, seg) != 0)
            return (size_t)-1;
        i += seg;
        j += seg;
        s0 = i;
        while (i < len && is_digit(d[i]))
            i++;
        /* JSON has no leading zeros (012): the full parse might still
         * take such a number, but it is no longer the event learned. */
        if (i == s0 || (r[k].number && d[s0] == '0' && i - s0 > 1))
            return (size_t)-1;
        if (r[k].fields && digits_value(d + s0, i - s0, &val[k]) < 0)
            return (size_t)-1;
    }
    if (len - i < tn - j || memcmp(d + i, t + j, tn - j) != 0)
        return (size_t)-1;
    return i + tn - j;
}

int api_shape_match(const struct api_shape *s, const char *data, size_t len, struct api_event *ev)
{
    int64_t val[API_SHAPE_RUNS];
    size_t i, e;
    long n;

    if (s->pre == 0 || s->state != SHAPE_USABLE)
        return 0;
    /* Plain chunks have no variable runs: two memcmp, as fast as can be. */
    if (s->npre == 0)
        i = len >= s->pre && memcmp(data, s->b, s->pre) == 0 ? s->pre : (size_t)-1;
    else
        i = seg_match(s->b, s->pre, s->run, s->npre, 0, data, len, 0, val);
    if (i == (size_t)-1)
        return 0;
    /* Empty text is declined: another key's text (reasoning_content next
     * to an empty content) may then be the event's text. */
    n = string_body(data + i, len - i);
    if (n <= 0)
        return 0;
    e = i + (size_t)n;
    if (s->nruns == s->npre) {
        if (len - e != s->post || memcmp(data + e, s->b + s->pre, s->post) != 0)
            return 0;
    } else if (seg_match(s->b + s->pre, s->post, s->run + s->npre, s->nruns - s->npre, s->pre,
                         data, len, e, val + s->npre) != len) {
        return 0;
    }
    api_event_clear(ev);
    ev->text = data + i;
    ev->text_len = (size_t)n;
    ev->content = 1;
    ev->reasoning = s->kind & SHAPE_REASONING ? 1 : 0;
    ev->tool = s->kind & SHAPE_TOOL ? 1 : 0;
    for (int k = 0; k < s->nruns; k++)
        for (unsigned m = s->run[k].fields, f = 0; m; m >>= 1, f++)
            if (m & 1)
                count_set(ev, (int)f, val[k]);
    return 1;
}

/* ---- learning ---- */

/* A digit run of a learned event that could be variable: one in a string
 * value outside \u escapes, or in a valid JSON number.  Digits in keys,
 * escapes and other primitives are never candidates, so they stay. */
struct cand {
    uint16_t off, len;      /* in the event */
    uint16_t tok;           /* the string or number it is part of */
    uint8_t number;         /* a number's integer part */
    uint8_t whole;          /* ... and the whole number (no sign, fraction, exponent) */
    uint8_t want;           /* changed since the last event of this shape */
    uint8_t var;            /* variable in the shape being learned */
    uint16_t fields;        /* count fields it carries, when var */
    uint32_t trial;         /* find_counts: the value it is given */
};
#define MAX_CANDS 64

/* Where a new event differs from the learned template in a digit run, or
 * has digits where the template has a variable run (old: 1 + its index). */
struct mark { uint32_t off; uint8_t old; };
#define MAX_MARKS 64

/* Room to parse copies of a learned event with some runs replaced.
 * Tokens: no elision, so an event that fits parses as it would with the
 * caller's larger array. */
#define SCRATCH_BYTES 2048
#define SCRATCH_TOKENS 256
struct scratch {
    char buf[SCRATCH_BYTES];
    jsmntok_t t[SCRATCH_TOKENS];
    struct api_event out[API__COUNT];
    const struct api_adapter *reading[API__COUNT];
    int nreadings;
    unsigned kinds;         /* the readings that read the learned event as given */
};

/* The shape never knows its stream's kind: it parses with every reading
 * (api_readings: OpenAI, Ollama, both), and every test must hold for each
 * one that agrees with the event. */
static int parse_kinds(const char *data, size_t len, struct scratch *x)
{
    int n = 0;
    int rc = api_tokenize_event(&data, &len, &x->out[0], x->t, SCRATCH_TOKENS, 0, &n);

    if (rc < 0)
        return -1;
    for (int b = 1; b < x->nreadings; b++)
        x->out[b] = x->out[0];
    for (int b = 0; rc > 0 && b < x->nreadings; b++)
        api_interpret(x->reading[b], data, x->t, n, &x->out[b]);
    return 0;
}

static int slice_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return (a == NULL) == (b == NULL) && an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Where two events differ: bit f for count field f, EV_OTHER for anything
 * else.  Texts are compared by content: they are in different buffers. */
#define EV_OTHER (1u << NCOUNT)
static unsigned ev_diff(const struct api_event *a, const struct api_event *b)
{
    unsigned d = 0;

    if (a->content != b->content || a->reasoning != b->reasoning || a->tool != b->tool ||
        a->tool_calls != b->tool_calls || a->done != b->done || a->error != b->error || a->finish != b->finish || a->event_tokens != b->event_tokens ||
        !slice_eq(a->text, a->text_len, b->text, b->text_len) ||
        !slice_eq(a->errmsg, a->errmsg_len, b->errmsg, b->errmsg_len) ||
        !slice_eq(a->errtype, a->errtype_len, b->errtype, b->errtype_len) ||
        !slice_eq(a->finish_reason, a->finish_reason_len, b->finish_reason, b->finish_reason_len))
        d |= EV_OTHER;
    for (int f = 0; f < NCOUNT; f++)
        if (count_get(a, f) != count_get(b, f))
            d |= 1u << f;
    return d;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where jsmn (strict) ends a primitive; a quote or a brace inside one is
 * part of it, so the lexer below agrees with jsmn on where strings are. */
static int ends_primitive(char c)
{
    return is_ws(c) || c == ',' || c == ']' || c == '}' || c == ':';
}

static int add_cand(struct cand *c, int *nc, size_t off, size_t len, unsigned tok, int number, int whole)
{
    if (*nc >= MAX_CANDS)
        return -1;
    c[*nc] = (struct cand){ .off = (uint16_t)off, .len = (uint16_t)len, .tok = (uint16_t)tok,
                            .number = (uint8_t)number, .whole = (uint8_t)whole };
    (*nc)++;
    return 0;
}

/* The run of one or more digits at d[*p..e): its start and length, and *p
 * moved past it.  0 when there is no digit at *p. */
static int take_digits(const char *d, size_t *p, size_t e, size_t *at, size_t *n)
{
    size_t s = *p;
    while (*p < e && is_digit(d[*p]))
        (*p)++;
    *at = s;
    *n = *p - s;
    return *n > 0;
}

/* The digit runs of the primitive d[i..e) when it is a JSON number
 * (-?int(.frac)?([eE][+-]?exp)?): any digits may replace the fraction or
 * exponent digits, any without a leading zero the integer part.  Anything
 * else (012, 1.2.3) adds none.  -1 when c is full. */
static int lex_number(const char *d, size_t i, size_t e, unsigned tok, struct cand *c, int *nc)
{
    size_t at[3], n[3], p = i, s;
    int k = 0, neg = 0;

    if (p < e && d[p] == '-') {
        neg = 1;
        p++;
    }
    s = p;
    if (p < e && d[p] == '0')
        p++;
    else if (p < e && d[p] >= '1' && d[p] <= '9')
        while (p < e && is_digit(d[p]))
            p++;
    else
        return 0;
    at[k] = s;
    n[k++] = p - s;
    if (p < e && d[p] == '.') {
        p++;
        if (!take_digits(d, &p, e, &at[k], &n[k]))
            return 0;
        k++;
    }
    if (p < e && (d[p] == 'e' || d[p] == 'E')) {
        p++;
        if (p < e && (d[p] == '+' || d[p] == '-'))
            p++;
        if (!take_digits(d, &p, e, &at[k], &n[k]))
            return 0;
        k++;
    }
    if (p != e)
        return 0;
    for (int r = 0; r < k; r++)
        if (add_cand(c, nc, at[r], n[r], tok, r == 0, r == 0 && k == 1 && !neg) < 0)
            return -1;
    return 0;
}

/* The candidate runs of d[0..len) (a JSON object jsmn accepted) outside
 * the text at [tp, tp+tl).  Replacing a run of digits by another never
 * moves a token boundary for jsmn: digits are not delimiters, quotes or
 * backslashes.  Only inside \uXXXX could a longer or shorter run break
 * the escape.  Returns the count, or -1 when there are more than
 * MAX_CANDS or the text is not a whole string. */
static int lex_runs(const char *d, size_t len, size_t tp, size_t tl, struct cand *c)
{
    unsigned tok = 0;
    size_t i = 0;
    int nc = 0;

    while (i < len) {
        char ch = d[i];

        if (ch == '"' && i + 1 == tp) {
            i = tp + tl;
            if (i >= len || d[i] != '"')
                return -1;
            i++;
        } else if (ch == '"') {
            size_t hex_end = 0, j;
            int first = nc;

            for (i++; i < len && d[i] != '"';) {
                if (d[i] == '\\') {
                    if (i + 1 < len && d[i + 1] == 'u')
                        hex_end = i + 6;
                    i += 2;
                } else if (is_digit(d[i])) {
                    size_t r = i;
                    while (i < len && is_digit(d[i]))
                        i++;
                    if (r >= hex_end && add_cand(c, &nc, r, i - r, tok, 0, 0) < 0)
                        return -1;
                } else {
                    i++;
                }
            }
            if (i >= len)
                return -1;
            i++;
            /* A key with other digits is another key: keep it. */
            for (j = i; j < len && is_ws(d[j]); j++)
                ;
            if (j < len && d[j] == ':')
                nc = first;
        } else if (is_ws(ch) || ch == '{' || ch == '}' || ch == '[' || ch == ']' || ch == ':' ||
                   ch == ',') {
            i++;
            continue;
        } else {
            size_t e = i;
            while (e < len && !ends_primitive(d[e]))
                e++;
            if (lex_number(d, i, e, tok, c, &nc) < 0)
                return -1;
            i = e;
        }
        tok++;
    }
    return nc;
}

/* Compares the template of one side of the text (t[0..tn), runs r[0..nr)
 * with `at` counted from tbase, the first being run[rbase]) with d[i..to),
 * recording marks.  Returns 0, or -1 when they differ outside digits.
 * Marks past MAX_MARKS are counted, not kept. */
static int walk_seg(const char *t, size_t tn, const struct api_shape_run *r, int nr, size_t tbase,
                    int rbase, const char *d, size_t i, size_t to, struct mark *mk, int *nm)
{
    size_t j = 0;
    int k = 0;

    for (;;) {
        size_t stop = k < nr ? r[k].at - tbase : tn, e = j, s0;
        int old = 0, changed = 1;

        /* Bytes up to the next digit or variable run: one memcmp. */
        while (e < stop && !is_digit(t[e]))
            e++;
        if (to - i < e - j || memcmp(d + i, t + j, e - j) != 0)
            return -1;
        i += e - j;
        j = e;
        if (j == tn && k == nr)
            break;
        s0 = i;
        while (i < to && is_digit(d[i]))
            i++;
        if (i == s0)
            return -1;
        if (j == stop && k < nr) {
            old = rbase + k + 1;
            k++;
        } else {
            while (j < tn && is_digit(t[j]))
                j++;
            changed = j - e != i - s0 || memcmp(t + e, d + s0, i - s0) != 0;
        }
        if (changed && (*nm)++ < MAX_MARKS)
            mk[*nm - 1] = (struct mark){ .off = (uint32_t)s0, .old = (uint8_t)old };
    }
    return i == to ? 0 : -1;
}

/* Marks of d against s's template: their count, or -1 when the two differ
 * other than in digits. */
static int walk(const struct api_shape *s, const char *d, size_t len, size_t tp, size_t tl,
                struct mark *mk)
{
    int nm = 0;

    if (s->pre == 0 ||
        walk_seg(s->b, s->pre, s->run, s->npre, 0, 0, d, 0, tp, mk, &nm) < 0 ||
        walk_seg(s->b + s->pre, s->post, s->run + s->npre, s->nruns - s->npre, s->pre, s->npre,
                 d, tp + tl, len, mk, &nm) < 0)
        return -1;
    return nm;
}

/* Writes the decimal digits of c->trial to out (at most 10); returns
 * their count. */
static size_t put_trial(const struct cand *c, char *out)
{
    char tmp[12];
    size_t k = 0;
    uint32_t v = c->trial;

    do
        tmp[k++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    return k;
}

static int has_count(const struct api_event *ev, unsigned counts, int64_t v)
{
    for (int f = 0; f < NCOUNT; f++)
        if ((counts >> f & 1) && count_get(ev, f) == v)
            return 1;
    return 0;
}

/* Parses d with each candidate in sel replaced by its trial value (no
 * leading zero, so still the same JSON), for each of the kinds in
 * x->kinds, and compares with ev where the count fields of those
 * candidates take their trial values.  Returns the differences, EV_OTHER
 * when the copy does not fit or does not parse; x->out keeps the parses. */
static unsigned try_runs(const char *d, size_t len, const struct cand *c, int nc, uint64_t sel,
                         const struct api_event *ev, struct scratch *x)
{
    struct api_event want = *ev;
    size_t i = 0, o = 0;
    unsigned diff = 0;

    for (int k = 0; k < nc; k++) {
        size_t seg;

        if (!(sel >> k & 1))
            continue;
        seg = c[k].off - i;
        if (SCRATCH_BYTES - o < seg + 10)
            return EV_OTHER;
        memcpy(x->buf + o, d + i, seg);
        o += seg;
        o += put_trial(&c[k], x->buf + o);
        i = c[k].off + c[k].len;
        for (int f = 0; f < NCOUNT; f++)
            if (c[k].fields >> f & 1)
                count_set(&want, f, c[k].trial);
    }
    if (SCRATCH_BYTES - o < len - i)
        return EV_OTHER;
    memcpy(x->buf + o, d + i, len - i);
    if (parse_kinds(x->buf, o + len - i, x) < 0)
        return EV_OTHER;
    for (int b = 0; b < x->nreadings; b++)
        if (x->kinds >> b & 1)
            diff |= ev_diff(&x->out[b], &want);
    return diff;
}

/* Gives each candidate in sel a trial value of its own, from `from` on
 * (step apart), never the run's own value nor one in avoid (count fields
 * of ev; 0: none), so that every field that copies a run tells which. */
static void set_trials(const char *d, struct cand *c, int nc, uint64_t sel, uint32_t from,
                       uint32_t step, const struct api_event *ev, unsigned avoid)
{
    uint32_t next = from;
    int64_t v;

    for (int k = 0; k < nc; k++) {
        if (!(sel >> k & 1))
            continue;
        while ((digits_value(d + c[k].off, c[k].len, &v) == 0 && v == next) ||
               has_count(ev, avoid, next))
            next += step;
        c[k].trial = next;
        next += step;
    }
}

/* Finds which whole numbers the counts not read yet (counts) copy: every
 * whole number holding the value of one of them is changed at once to a
 * value of its own that no count has, and a count that then holds a
 * candidate's value copies it.  Sets var and fields of those; returns the
 * counts found, or -1 when the change did anything else. */
static int find_counts(const char *d, size_t len, struct cand *c, int nc, unsigned counts,
                       const struct api_event *ev, struct scratch *x)
{
    uint64_t sel = 0;
    unsigned diff, found = 0;
    int64_t v;
    int b0 = __builtin_ctz(x->kinds);   /* a reading that agrees (kinds is not 0) */

    for (int k = 0; k < nc; k++)
        if (!c[k].var && c[k].whole && digits_value(d + c[k].off, c[k].len, &v) == 0 &&
            has_count(ev, counts, v))
            sel |= (uint64_t)1 << k;
    if (!sel)
        return 0;
    set_trials(d, c, nc, sel, 1000003, 7919, ev, (1u << NCOUNT) - 1);
    diff = try_runs(d, len, c, nc, sel, ev, x);
    if (diff & EV_OTHER)
        return -1;
    for (int f = 0; f < NCOUNT; f++) {
        int by = -1;

        if (!(diff >> f & 1))
            continue;
        for (int k = 0; k < nc && by < 0; k++)
            if ((sel >> k & 1) && count_get(&x->out[b0], f) == c[k].trial)
                by = k;
        /* A count that moved to no candidate's value does not copy one;
         * and it must have held the value of the one it copies. */
        if (by < 0 || digits_value(d + c[by].off, c[by].len, &v) < 0 || count_get(ev, f) != v)
            return -1;
        for (int b = b0 + 1; b < x->nreadings; b++)
            if ((x->kinds >> b & 1) && count_get(&x->out[b], f) != c[by].trial)
                return -1;
        c[by].var = 1;
        c[by].fields |= (uint16_t)(1u << f);
        found |= 1u << f;
    }
    return (int)found;
}

/* Decides which candidates become variable runs (var, fields).  mk/nm are
 * the marks against the last template of the same shape (nm 0 when there
 * was none).  Returns 0; -1 when the event's shape cannot match events
 * like it (a run that changed cannot vary, or a count cannot be read
 * from a run); -2 when the event is too large or has too many runs to
 * tell. */
static int generalise(const struct api_shape *old, const char *d, size_t len, size_t tp, size_t tl,
                      const struct api_event *ev, const struct mark *mk, int nm,
                      struct cand *c, int *pnc, struct scratch *x)
{
    unsigned counts = 0, have = 0;
    uint64_t all = 0;
    int nc, nvar = 0, found;

    *pnc = 0;
    if (ev->event_tokens != -1)
        return -1;
    if (nm > MAX_MARKS || len + API_SHAPE_RUNS * 20 > SCRATCH_BYTES)
        return -2;
    nc = lex_runs(d, len, tp, tl, c);
    if (nc < 0)
        return -2;
    *pnc = nc;
    /* -1 is "absent" (and the match leaves a field at -1); any other
     * value, -2 too, must come from a run. */
    for (int f = 0; f < NCOUNT; f++)
        if (count_get(ev, f) != -1)
            counts |= 1u << f;

    /* The runs that changed, with the rest of their string or number
     * (a timestamp's seconds tick now, its minutes later), and the
     * variable runs of the last template, which keep what they carry. */
    for (int m = 0, k = 0; m < nm; m++) {
        while (k < nc && c[k].off < mk[m].off)
            k++;
        if (k == nc || c[k].off != mk[m].off)
            return -1;
        if (mk[m].old) {
            const struct api_shape_run *r = &old->run[mk[m].old - 1];
            int64_t v = 0;
            if (r->number != c[k].number || (r->fields && !c[k].whole))
                return -1;
            c[k].var = 1;
            c[k].fields = r->fields;
            if (r->fields && digits_value(d + c[k].off, c[k].len, &v) < 0)
                return -1;
            for (int f = 0; f < NCOUNT; f++)
                if ((r->fields >> f & 1) && count_get(ev, f) != v)
                    return -1;
            have |= r->fields;
        } else {
            c[k].want = 1;
        }
    }
    for (int k = 0; k < nc; k++)
        for (int j = 0; c[k].want && j < nc; j++)
            if (c[j].tok == c[k].tok && !c[j].var)
                c[j].want = 1;

    /* Each count not read yet needs a whole number of its value: without
     * one, no parse is worth doing (llama.cpp's milliseconds). */
    for (int f = 0; f < NCOUNT; f++) {
        int64_t value = count_get(ev, f), v = 0;
        int any = 0;
        if (!((counts & ~have) >> f & 1))
            continue;
        for (int k = 0; k < nc && !any; k++)
            any = !c[k].var && c[k].whole && digits_value(d + c[k].off, c[k].len, &v) == 0 && v == value;
        if (!any)
            return -1;
    }

    /* Which readings of the event (OpenAI, Ollama, both) agree with ev. */
    x->nreadings = api_readings(x->reading);
    if (parse_kinds(d, len, x) < 0)
        return -2;
    x->kinds = 0;
    for (int b = 0; b < x->nreadings; b++)
        if (ev_diff(&x->out[b], ev) == 0)
            x->kinds |= 1u << b;
    if (!x->kinds)
        return -2;

    if (counts & ~have) {
        found = find_counts(d, len, c, nc, counts & ~have, ev, x);
        if (found < 0)
            return -1;
        have |= (unsigned)found;
        if (counts & ~have)
            return -1;
    }
    for (int k = 0; k < nc; k++) {
        c[k].var |= c[k].want;
        if (c[k].var) {
            all |= (uint64_t)1 << k;
            nvar++;
        }
    }
    if (nvar > API_SHAPE_RUNS)
        return -2;
    /* All variable runs changed at once, each to a value of its own,
     * large and then small, and then all to zero: the runs that changed
     * must not matter, each count must follow its own run and no other,
     * and no two runs may interact.  Adapters read numbers only within a
     * range (llama.cpp's predicted_ms from 0, -0 included, to 9.2e12):
     * these values are inside it, so a run that was outside when learned
     * (-6, 1e99) is not taken for one that does not matter. */
    if (!all)
        return 0;
    set_trials(d, c, nc, all, 1000003, 7919, ev, 0);
    if (try_runs(d, len, c, nc, all, ev, x))
        return -1;
    set_trials(d, c, nc, all, 2, 1, ev, 0);
    if (try_runs(d, len, c, nc, all, ev, x))
        return -1;
    for (int k = 0; k < nc; k++)
        c[k].trial = 0;
    if (try_runs(d, len, c, nc, all, ev, x))
        return -1;
    return 0;
}

/* Copies d[from..to) to s->b at o, leaving out the digits of the
 * variable candidates from *k on and recording them as runs. */
static size_t store_range(struct api_shape *s, size_t o, const char *d, size_t from, size_t to,
                          const struct cand *c, int nc, int *k)
{
    for (; *k < nc && c[*k].off < to; (*k)++) {
        size_t seg = c[*k].off - from;

        if (!c[*k].var)
            continue;
        memcpy(s->b + o, d + from, seg);
        o += seg;
        s->run[s->nruns++] = (struct api_shape_run){ .at = (uint16_t)o, .number = c[*k].number,
                                                     .fields = c[*k].fields };
        from = c[*k].off + c[*k].len;
    }
    memcpy(s->b + o, d + from, to - from);
    return o + to - from;
}

static unsigned event_kind(const struct api_event *ev)
{
    return (ev->reasoning ? SHAPE_REASONING : 0) | (ev->tool ? SHAPE_TOOL : 0);
}

/* Keeps d as s's template, without the digits of the variable candidates
 * of c (NULL: none).  s is reset when it does not fit. */
static void store(struct api_shape *s, const char *d, size_t len, size_t tp, size_t tl,
                  const struct cand *c, int nc, unsigned kind, int state)
{
    size_t o, need = len - tl;
    int k = 0;

    for (int j = 0; j < nc; j++)
        need -= c[j].var ? c[j].len : 0;
    if (need > API_SHAPE_MAX) {
        api_shape_reset(s);
        return;
    }
    s->nruns = 0;
    o = store_range(s, 0, d, 0, tp, c, nc, &k);
    s->pre = (uint16_t)o;
    s->npre = s->nruns;
    s->post = (uint16_t)(store_range(s, o, d, tp + tl, len, c, nc, &k) - o);
    s->kind = (uint8_t)kind;
    s->state = (uint8_t)state;
    s->skip = 0;
}

/* Events of an unusable shape let pass between two comparisons. */
#define UNUSABLE_SKIP 15

void api_shape_learn(struct api_shape *s, const char *data, size_t len, const struct api_event *ev)
{
    struct mark mk[MAX_MARKS];
    struct cand c[MAX_CANDS];
    struct scratch x;
    int nm, nc = 0, diff = 0, counts = 0, rc;

    /* The event that begins a tool call is not plain content: it comes
     * once a call, and its count is no digit run. */
    if (!ev->content || ev->done || ev->error || ev->finish || ev->errmsg || ev->errtype ||
        ev->finish_reason || ev->tool_calls)
        return;
    if (s->state == SHAPE_UNUSABLE && s->skip > 0) {
        s->skip--;
        return;
    }
    if (!ev->text || ev->text < data || ev->text_len > (size_t)(data + len - ev->text)) {
        api_shape_reset(s);
        return;
    }
    size_t tp = (size_t)(ev->text - data), tl = ev->text_len, post = len - tp - tl;
    /* The text must be a JSON string's body: a quote on each side.  The
     * size limit is checked when storing: variable digits are not kept. */
    if (tp == 0 || post == 0 || data[tp - 1] != '"' || data[tp + tl] != '"') {
        api_shape_reset(s);
        return;
    }
    counts = ev->event_tokens != -1;
    for (int f = 0; f < NCOUNT; f++)
        counts |= count_get(ev, f) != -1;
    nm = walk(s, data, len, tp, tl, mk);
    if (nm < 0) {
        /* A new shape, kept as it is.  With counts it cannot match before
         * a second event shows which runs change. */
        store(s, data, len, tp, tl, NULL, 0, event_kind(ev), counts ? SHAPE_PENDING : SHAPE_USABLE);
        return;
    }
    if (s->state == SHAPE_UNUSABLE) {
        /* The same shape again: no parse could help, and even the
         * comparison costs a fifth of a parse, so the next events of an
         * unusable stream (llama.cpp's timings_per_token) are let pass.
         * A new shape is still learned within UNUSABLE_SKIP + 1 events. */
        s->skip = UNUSABLE_SKIP;
        return;
    }
    for (int m = 0; m < nm && m < MAX_MARKS; m++)
        diff |= !mk[m].old;
    if (s->state == SHAPE_USABLE && !diff && nm <= MAX_MARKS)
        return;   /* only the text or a variable run's digits failed: the shape stands */
    rc = generalise(s, data, len, tp, tl, ev, mk, nm, c, &nc, &x);
    if (rc == 0)
        store(s, data, len, tp, tl, c, nc, event_kind(ev), SHAPE_USABLE);
    else   /* as is: it still matches when nothing had to vary */
        store(s, data, len, tp, tl, NULL, 0, event_kind(ev),
              rc == -1 || counts ? SHAPE_UNUSABLE : SHAPE_USABLE);
}
