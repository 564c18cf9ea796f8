/* The renderer's front: sorting documents into sections, building their
 * figures, and handing them to the output chosen by the file name. */
#include "render_int.h"

#include <cairo.h>
#include <cjson/cJSON.h>
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"
#include "jdoc.h"

/* ---- small helpers ---- */

double rsum_num(const cJSON *summary, const char *key, const char *stat)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(summary, key);
    if (stat)
        v = cJSON_GetObjectItemCaseSensitive(v, stat);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const cJSON *rlevel_summary(const cJSON *level)
{
    return cJSON_GetObjectItemCaseSensitive(level, "summary");
}

const char *rlevel_name(const cJSON *level, char *buf, size_t cap)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(level, "level");
    if (cJSON_IsNumber(l))
        snprintf(buf, cap, "%g", l->valuedouble);
    else if (cJSON_IsString(l)) {
        /* A --prompt-set level is a whole prompt: its start names it. */
        size_t n = strlen(l->valuestring);
        if (n < 24)
            snprintf(buf, cap, "%s", l->valuestring);
        else {
            size_t k = 20;
            while (k > 0 && ((unsigned char)l->valuestring[k] & 0xC0) == 0x80)
                k--;   /* never cut a UTF-8 character */
            snprintf(buf, cap, "%.*s...", (int)k, l->valuestring);
        }
    } else
        snprintf(buf, cap, "?");
    return buf;
}

const char *rfmt_num(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, cap, "-");
    else if (a >= 100 || v == 0)
        snprintf(buf, cap, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, cap, "%.1f", v);
    else if (a >= 1)
        snprintf(buf, cap, "%.2f", v);
    else
        snprintf(buf, cap, "%.3g", v);
    return buf;
}

const char *render_raw_beside(const char *json_path, char *buf, size_t cap)
{
    static const char *const tries[] = { ".raw.jsonl", ".jsonl" };
    size_t n = strlen(json_path);
    if (n > 5 && !strcmp(json_path + n - 5, ".json"))
        n -= 5;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        if ((size_t)snprintf(buf, cap, "%.*s%s", (int)n, json_path, tries[i]) >= cap)
            return NULL;
        if (strcmp(buf, json_path) && access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* ---- sections ---- */

void render_report_free(struct rreport *r)
{
    for (size_t i = 0; i < r->nsec; i++) {
        struct rsec *s = &r->sec[i];
        for (size_t k = 0; k < s->nsrc; k++) {
            free(s->src[k].name);
            free(s->src[k].sums);
            raw_free(s->src[k].raw);
            free(s->src[k].raw);
        }
        free(s->src);
        free(s->title);
        free(s->param);
    }
    free(r->sec);
    figset_free(&r->figs);
    memset(r, 0, sizeof *r);
}

static struct rsec *sec_new(struct rreport *r, enum rkind kind, const char *param)
{
    struct rsec *s = fig_grow(&r->sec, r->nsec, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    if (param && !(s->param = strdup(param)))
        return NULL;
    r->nsec++;
    return s;
}

static struct rsec *sec_find(struct rreport *r, enum rkind kind, const char *param)
{
    for (size_t i = 0; i < r->nsec; i++) {
        struct rsec *s = &r->sec[i];
        if (s->kind == kind && !s->compare &&
            (!param || (s->param && !strcmp(s->param, param))))
            return s;
    }
    return sec_new(r, kind, param);
}

static struct rsrc *src_add(struct rsec *s, const cJSON *doc, const char *name)
{
    struct rsrc *n = fig_grow(&s->src, s->nsrc, sizeof *n);
    if (!n)
        return NULL;
    n->doc = doc;
    n->config = cJSON_GetObjectItemCaseSensitive(doc, "config");
    n->env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    if (!(n->name = strdup(name && *name ? name : "run")))
        return NULL;
    s->nsrc++;
    return n;
}

static int load_raw(struct rsrc *src, const char *path, char *err, size_t errcap)
{
    if (!path)
        return 0;
    if (!(src->raw = calloc(1, sizeof *src->raw))) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return raw_load(path, src->raw, err, errcap);
}

/* A summary of each run: one section drawing their spread. */
static int add_repeat(struct rreport *r, const cJSON *doc, const cJSON *runs,
                      const struct render_input *in, size_t n, char *err, size_t errcap)
{
    struct rsec *s = sec_new(r, RK_REPEAT, NULL);
    struct rsrc *src = s ? src_add(s, doc, in[0].name) : NULL;
    size_t k = runs ? (size_t)cJSON_GetArraySize(runs) : n;
    if (!src || !(src->sums = calloc(k ? k : 1, sizeof *src->sums)))
        goto oom;
    if (runs) {
        /* A baseline's run_summaries are summaries; a repeated run's
         * "runs" are whole result documents. */
        const cJSON *it;
        cJSON_ArrayForEach(it, runs) {
            const cJSON *sum = cJSON_GetObjectItemCaseSensitive(it, "summary");
            src->sums[src->nsums++] = cJSON_IsObject(sum) ? sum : it;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            src->sums[src->nsums++] = cJSON_GetObjectItemCaseSensitive(in[i].doc, "summary");
    }
    if (!src->nsums) {
        snprintf(err, errcap, "%s: a baseline without run_summaries", in[0].name);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errcap, "out of memory");
    return -1;
}

static int classify(struct rreport *r, const struct render_input *in, size_t n,
                    const struct render_opts *o, char *err, size_t errcap)
{
    if (o->repeat) {
        for (size_t i = 0; i < n; i++) {
            const char *schema = jdoc_str(in[i].doc, "schema");
            if (!schema || strcmp(schema, "llmload.result/1")) {
                snprintf(err, errcap, "%s: a repeated run is made of llmload.result/1 documents",
                         in[i].name);
                return -1;
            }
        }
        if (add_repeat(r, in[0].doc, NULL, in, n, err, errcap) < 0)
            return -1;
    }
    for (size_t i = 0; i < n && !o->repeat; i++) {
        const cJSON *doc = in[i].doc;
        const char *schema = jdoc_str(doc, "schema");
        struct rsec *s = NULL;
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
        if (schema && !strcmp(schema, "llmload.result/1") && cJSON_GetArraySize(runs) > 1) {
            /* `run --repeat K --json`: the K runs, drawn as a repeated run. */
            if (add_repeat(r, doc, runs, &in[i], 1, err, errcap) < 0)
                return -1;
        } else if (schema && !strcmp(schema, "llmload.result/1")) {
            if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "summary"))) {
                snprintf(err, errcap, "%s: a result without a summary", in[i].name);
                return -1;
            }
            struct rsrc *src;
            if (!(s = sec_find(r, RK_RUN, NULL)) || !(src = src_add(s, doc, in[i].name)))
                goto oom;
            if (load_raw(src, in[i].raw_path, err, errcap) < 0)
                return -1;
        } else if (schema && !strcmp(schema, "llmload.sweep/1")) {
            const char *p = jdoc_str(doc, "parameter");
            if (!p || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "levels"))) {
                snprintf(err, errcap, "%s: malformed sweep (no parameter or levels)", in[i].name);
                return -1;
            }
            if (!(s = sec_find(r, RK_SWEEP, p)) || !src_add(s, doc, in[i].name))
                goto oom;
        } else if (schema && !strcmp(schema, "llmload.compare/1")) {
            const char *p = jdoc_str(doc, "parameter");
            if (!(s = sec_new(r, RK_SWEEP, p ? p : "concurrency")))
                goto oom;
            s->compare = doc;
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "targets")) {
                const cJSON *sw = cJSON_GetObjectItemCaseSensitive(t, "sweep");
                if (cJSON_IsObject(sw) &&
                    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(sw, "levels")) &&
                    !src_add(s, sw, jdoc_str(t, "name")))
                    goto oom;
            }
            if (!s->nsrc) {
                snprintf(err, errcap, "%s: a compare document with no target results", in[i].name);
                return -1;
            }
        } else if (schema && (!strcmp(schema, "llmload.baseline/2") || !strcmp(schema, "llmload.baseline/1"))) {
            if (add_repeat(r, doc, cJSON_GetObjectItemCaseSensitive(doc, "run_summaries"),
                           &in[i], 1, err, errcap) < 0)
                return -1;
        } else {
            snprintf(err, errcap, "%s: not an llmload document (schema %s; expected "
                     "llmload.result/1, llmload.sweep/1, llmload.compare/1 or llmload.baseline/2)",
                     in[i].name, schema ? schema : "missing");
            return -1;
        }
    }
    /* Titles, once every source is known. */
    for (size_t i = 0; i < r->nsec; i++) {
        struct rsec *s = &r->sec[i];
        char t[512];
        size_t len = 0;
        if (s->kind == RK_REPEAT) {
            snprintf(t, sizeof t, "Repeated run: %s (%zu runs)", s->src[0].name, s->src[0].nsums);
            len = sizeof t;
        } else if (s->kind == RK_RUN)
            len = (size_t)snprintf(t, sizeof t, "%s", s->nsrc > 1 ? "Runs:" : "Run:");
        else
            len = (size_t)snprintf(t, sizeof t, "%s of %s:", s->compare ? "Compare" : "Sweep", s->param);
        for (size_t k = 0; k < s->nsrc && len < sizeof t; k++)
            len += (size_t)snprintf(t + len, sizeof t - len, "%s %s", k ? "," : "", s->src[k].name);
        if (!(s->title = strdup(t)))
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errcap, "out of memory");
    return -1;
}

static int build_figures(struct rreport *r, const struct render_opts *o, char *err, size_t errcap)
{
    for (size_t i = 0; i < r->nsec; i++) {
        struct rsec *s = &r->sec[i];
        s->gate_text = o->gate_text;
        struct fig_section *fs = figset_section(&r->figs, s->title);
        int rc = !fs ? -1
                 : s->kind == RK_RUN ? fig_build_run(s, fs)
                 : s->kind == RK_SWEEP ? fig_build_sweep(s, fs)
                 : fig_build_repeat(s, fs);
        if (rc < 0) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- outputs ---- */

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot + 1 : "";
}

static int is_dir_target(const char *out)
{
    struct stat st;
    size_t n = strlen(out);
    return (n && out[n - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
}

int render_tmp_path(const char *path, char *tmp, size_t cap, char *err, size_t errcap)
{
    if ((size_t)snprintf(tmp, cap, "%s.tmp", path) < cap)
        return 0;
    snprintf(err, errcap, "%s: path too long", path);
    return -1;
}

int render_commit(int rc, const char *tmp, const char *path, char *err, size_t errcap)
{
    if (rc == 0 && rename(tmp, path) < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        remove(tmp);
    return rc;
}

/* A text output (HTML, text) into memory, handed whole to fileio: "-" is
 * the standard output as fileio defines it (one "-" per process). */
static int write_stdout(const struct rreport *r,
                        int (*fn)(FILE *, const struct rreport *, char *, size_t),
                        char *err, size_t errcap)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, errcap, "-: %s", strerror(errno));
        return -1;
    }
    int rc = fn(f, r, err, errcap);
    if ((ferror(f) || fclose(f) != 0) && rc == 0) {
        snprintf(err, errcap, "-: out of memory");
        rc = -1;
    }
    if (rc == 0)
        rc = out_write_file("-", buf, len, err, errcap);
    free(buf);
    return rc;
}

/* A text output (HTML, text) through a temporary file and a rename, so a
 * reader never sees half a page. */
static int write_stream(const struct rreport *r, const char *out,
                        int (*fn)(FILE *, const struct rreport *, char *, size_t),
                        char *err, size_t errcap)
{
    char tmp[4096];
    if (!strcmp(out, "-"))
        return write_stdout(r, fn, err, errcap);
    if (render_tmp_path(out, tmp, sizeof tmp, err, errcap) < 0)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errcap, "%s: %s", out, strerror(errno));
        return -1;
    }
    int rc = fn(f, r, err, errcap);
    if (ferror(f) && rc == 0) {
        snprintf(err, errcap, "%s: write failed", out);
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errcap, "%s: %s", out, strerror(errno));
        rc = -1;
    }
    return render_commit(rc, tmp, out, err, errcap);
}

/* Every figure as DIR/<id>.png and DIR/<id>.svg; an id that two sections
 * share gets its section's number in front. */
static int write_dir(const struct rreport *r, const char *dir, char *err, size_t errcap)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errcap, "%s: %s", dir, strerror(errno));
        return -1;
    }
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    for (size_t i = 0; i < r->figs.nsec; i++)
        for (size_t k = 0; k < r->figs.sec[i].nfigs; k++) {
            const struct figure *f = r->figs.sec[i].figs[k];
            int shared = figset_find(&r->figs, f->id) != f;
            for (size_t j = i + 1; j < r->figs.nsec && !shared; j++)
                for (size_t m = 0; m < r->figs.sec[j].nfigs; m++)
                    shared |= !strcmp(r->figs.sec[j].figs[m]->id, f->id);
            static const char *const fmts[] = { "png", "svg" };
            for (size_t e = 0; e < 2; e++) {
                char path[4096];
                if (shared)
                    snprintf(path, sizeof path, "%.*s/%zu_%s.%s", (int)dl, dir, i + 1, f->id, fmts[e]);
                else
                    snprintf(path, sizeof path, "%.*s/%s.%s", (int)dl, dir, f->id, fmts[e]);
                if (render_cairo_figure(f, path, fmts[e], err, errcap) < 0)
                    return -1;
            }
        }
    return 0;
}

int render_build(const struct render_input *in, size_t n, const struct render_opts *opts,
                 struct rreport *r, char *err, size_t errcap)
{
    static const struct render_opts none;
    memset(r, 0, sizeof *r);
    if (!n) {
        snprintf(err, errcap, "no documents to render");
        return -1;
    }
    if (classify(r, in, n, opts ? opts : &none, err, errcap) < 0 ||
        build_figures(r, opts ? opts : &none, err, errcap) < 0) {
        render_report_free(r);
        return -1;
    }
    return 0;
}

int render_write(const struct render_input *in, size_t n, const char *out,
                 const struct render_opts *opts, char *err, size_t errcap)
{
    struct rreport r;
    int to_stdout = !strcmp(out, "-");
    /* "-" has no name to tell its kind: opts->format does (text by default). */
    const char *ext = to_stdout ? (opts && opts->format ? opts->format : "txt") : ext_of(out);
    int dir = !to_stdout && is_dir_target(out);
    if (!dir && strcmp(ext, "html") && strcmp(ext, "png") && strcmp(ext, "svg") &&
        strcmp(ext, "pdf") && strcmp(ext, "txt")) {
        if (to_stdout)
            snprintf(err, errcap, "-: unknown kind of output %s (html, png, svg, pdf, txt)", ext);
        else
            snprintf(err, errcap, "%s: unknown kind of output (.html, .png, .svg, .pdf, .txt, or DIR/)", out);
        return -1;
    }
    if (render_build(in, n, opts, &r, err, errcap) < 0)
        return -1;
    int rc;
    if (dir)
        rc = write_dir(&r, out, err, errcap);
    else if (!strcmp(ext, "txt"))
        rc = write_stream(&r, out, render_text, err, errcap);
    else if (!strcmp(ext, "html"))
        rc = write_stream(&r, out, render_html, err, errcap);
    else if (!strcmp(ext, "pdf"))
        rc = render_cairo_pdf(&r.figs, out, jdoc_str(r.sec[0].src[0].env, "start_time"), err, errcap);
    else
        rc = render_cairo_overview(&r.figs, out, ext, err, errcap);
    render_report_free(&r);
    if (dir || !strcmp(ext, "pdf") || !strcmp(ext, "png") || !strcmp(ext, "svg")) {
        /* Cairo's and fontconfig's font caches live until exit; freeing
         * them here (no cairo object is left) keeps leak checkers quiet
         * for the commands that render at their end, at the price of
         * loading the font cache again for the next picture. */
        cairo_debug_reset_static_data();
        FcFini();
    }
    return rc;
}

int render_files(const struct cJSON *const *docs, size_t n, const char *out, int repeat,
                 char *err, size_t errcap)
{
    struct render_input *in = calloc(n ? n : 1, sizeof *in);
    if (!in) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(docs[i], "config");
        const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(docs[i], "target");
        const char *name = jdoc_str(tgt, "name");
        if (!name || !*name)
            name = jdoc_str(tgt, "model");
        if (!name || !*name)
            name = jdoc_str(cfg, "model");
        const char *raw = jdoc_str(cfg, "raw_path");
        in[i].doc = docs[i];
        in[i].name = name;
        in[i].raw_path = raw && access(raw, R_OK) == 0 && !repeat ? raw : NULL;
    }
    struct render_opts o = { .repeat = repeat };
    int rc = render_write(in, n, out, &o, err, errcap);
    free(in);
    return rc;
}
