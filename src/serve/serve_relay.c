/* The run's metrics relayed on the dashboard's /metrics (serve_relay.h). */
#include "serve_relay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "obs_expo.h"

void serve_relay_clear(struct serve_relay *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->g[i].body);
    r->n = 0;
}

int serve_relay_put(struct serve_relay *r, const char *target, const char *level,
                    const char *body, size_t len)
{
    size_t i = 0;
    while (i < r->n && (strcmp(r->g[i].target, target) || strcmp(r->g[i].level, level)))
        i++;
    if (i == SERVE_RELAY_MAX_GROUPS)
        return -1;
    char *copy = strndup(body, len);
    if (!copy)
        return -1;
    struct serve_relay_group *g = &r->g[i];
    if (i == r->n) {
        snprintf(g->target, sizeof g->target, "%s", target);
        snprintf(g->level, sizeof g->level, "%s", level);
        g->body = NULL;
        r->n++;
    }
    free(g->body);
    g->body = copy;
    return 0;
}

/* The end of the line at p (its '\n' or the NUL). */
static const char *line_end(const char *p)
{
    const char *e = strchr(p, '\n');
    return e ? e : p + strlen(p);
}

/* The label set of the sample line at l, name nl bytes long: *labels and
 * *llen span what is between the braces ("" when none); returns where the
 * value starts, or NULL when the line is not a sample of that name. */
static const char *sample_of(const char *l, const char *end, size_t nl, const char **labels, size_t *llen)
{
    const char *p = l + nl;
    *labels = p;
    *llen = 0;
    if (p >= end || (*p != '{' && *p != ' '))
        return NULL;
    if (*p == ' ')
        return p + 1;
    /* Quoted values may hold '}' (escaped quotes never end them). */
    int q = 0;
    const char *s = ++p;
    for (; p < end && (q || *p != '}'); p++) {
        if (q && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            q = !q;
    }
    if (p >= end)
        return NULL;
    *labels = s;
    *llen = (size_t)(p - s);
    return p + 1;
}

double serve_relay_sum(const char *text, const char *name, const char *const *want)
{
    double sum = 0;
    int any = 0;
    size_t nl = strlen(name);
    for (const char *l = text; l && *l;) {
        const char *end = line_end(l);
        const char *labels, *v;
        size_t llen;
        if (!strncmp(l, name, nl) && (v = sample_of(l, end, nl, &labels, &llen))) {
            int ok = 1;
            for (size_t k = 0; want && want[k] && ok; k++)
                ok = memmem(labels, llen, want[k], strlen(want[k])) != NULL;
            if (ok) {
                sum += strtod(v, NULL);
                any = 1;
            }
        }
        l = *end ? end + 1 : NULL;
    }
    return any ? sum : NAN;
}

/* A family's stretch of one group's text: its HELP/TYPE lines from start
 * to samples, its samples from samples to end. */
struct block {
    const char *name;
    size_t nl;
    const char *start, *samples, *end;
};

/* The blocks of text, in order; how many (at most cap). */
static size_t blocks_of(const char *text, struct block *b, size_t cap)
{
    size_t n = 0;
    for (const char *l = text; l && *l;) {
        const char *end = line_end(l);
        if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
            const char *name = l + 7;
            size_t nl = strcspn(name, " \n");
            if (n == 0 || b[n - 1].nl != nl || strncmp(b[n - 1].name, name, nl) ||
                b[n - 1].samples != b[n - 1].end) {
                if (n == cap)
                    break;
                b[n++] = (struct block){ name, nl, l, NULL, NULL };
            }
            b[n - 1].samples = b[n - 1].end = *end ? end + 1 : end;
        } else if (n && *l != '#' && end > l) {
            b[n - 1].end = *end ? end + 1 : end;
        }
        l = *end ? end + 1 : NULL;
    }
    return n;
}

static const struct block *find_block(const struct block *b, size_t n, const char *name, size_t nl)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].nl == nl && !strncmp(b[i].name, name, nl))
            return &b[i];
    return NULL;
}

/* The samples of a block with the group's labels first. */
static void put_samples(FILE *f, const struct serve_relay_group *g, const struct block *b)
{
    for (const char *l = b->samples; l < b->end;) {
        const char *end = line_end(l);
        size_t nl = strcspn(l, "{ \n");
        fwrite(l, 1, nl, f);
        fputs("{target=\"", f);
        obs_put_label_value(f, g->target);
        fputc('"', f);
        if (g->level[0]) {
            fputs(",sweep_level=\"", f);
            obs_put_label_value(f, g->level);
            fputc('"', f);
        }
        const char *rest = l + nl;
        if (*rest == '{')
            rest++;
        else
            fputc('}', f);
        if (*rest != '}' && *rest != ' ' && rest < end)
            fputc(',', f);
        fwrite(rest, 1, (size_t)(end - rest), f);
        fputc('\n', f);
        l = *end ? end + 1 : end;
    }
}

void serve_relay_write(const struct serve_relay *r, FILE *f)
{
    static struct block blocks[SERVE_RELAY_MAX_GROUPS][SERVE_RELAY_MAX_FAMILIES];
    size_t nb[SERVE_RELAY_MAX_GROUPS];
    struct { const char *name; size_t nl; } fam[SERVE_RELAY_MAX_FAMILIES];
    size_t nf = 0;
    for (size_t i = 0; i < r->n; i++) {
        nb[i] = blocks_of(r->g[i].body, blocks[i], SERVE_RELAY_MAX_FAMILIES);
        for (size_t k = 0; k < nb[i]; k++) {
            size_t j = 0;
            while (j < nf && (fam[j].nl != blocks[i][k].nl ||
                              strncmp(fam[j].name, blocks[i][k].name, fam[j].nl)))
                j++;
            if (j == nf && nf < SERVE_RELAY_MAX_FAMILIES) {
                fam[nf].name = blocks[i][k].name;
                fam[nf++].nl = blocks[i][k].nl;
            }
        }
    }
    for (size_t j = 0; j < nf; j++) {
        int head = 0;
        for (size_t i = 0; i < r->n; i++) {
            const struct block *b = find_block(blocks[i], nb[i], fam[j].name, fam[j].nl);
            if (!b)
                continue;
            if (!head++)
                fwrite(b->start, 1, (size_t)(b->samples - b->start), f);
            put_samples(f, &r->g[i], b);
        }
    }
}
