/* `llmload sweep`: one parameter over a list of levels, a full run per
 * level, the knee, and the SLO search (--find-max).  The flag handling and
 * the level loop are shared with `compare` through sweep.h. */
#include "sweep.h"
#include "workload.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "engine.h"
#include "gate.h"
#include "prompts.h"
#include "report.h"
#include "units.h"

static const char *const param_names[SWEEP__N] = {
    "concurrency", "rate", "temperature", "max-tokens", "prompt-set"
};

const char *sweep_param_name(enum sweep_param p)
{
    return p < SWEEP__N ? param_names[p] : "?";
}

/* The flags that name a sweepable parameter, with the run parser's aliases. */
static int param_of_flag(const char *name, enum sweep_param *p)
{
    static const struct { const char *flag; enum sweep_param p; } tab[] = {
        { "--concurrency", SWEEP_CONCURRENCY }, { "-c", SWEEP_CONCURRENCY },
        { "--rate", SWEEP_RATE }, { "-r", SWEEP_RATE },
        { "--temperature", SWEEP_TEMPERATURE },
        { "--max-tokens", SWEEP_MAX_TOKENS }, { "--tokens", SWEEP_MAX_TOKENS },
        { "--prompt-set", SWEEP_PROMPT_SET },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(name, tab[i].flag)) {
            *p = tab[i].p;
            return 1;
        }
    return 0;
}

/* ---- flags ------------------------------------------------------------------ */

/* The flags only sweep and compare know, offered to cli_run_parse as extras. */
static const char *const sweep_flags[] = {
    "--knee-threshold", "--slo", "--find-max", "--find-max-start", "--find-max-limit",
    "--find-max-step", "--target",
};

struct extra_ctx { struct sweep_opts *o; int compare; };

static int x_takes_value(void *ud, const char *flag)
{
    struct extra_ctx *x = ud;
    for (size_t i = 0; i < sizeof sweep_flags / sizeof sweep_flags[0]; i++)
        if (!strcmp(flag, sweep_flags[i]))
            return (!strcmp(flag, "--target") && !x->compare) ? -1 : 1;
    return -1;
}

static int parse_positive(const char *flag, const char *v, double *out, char *err, size_t cap)
{
    if (units_parse_double(v, out) < 0 || *out <= 0) {
        snprintf(err, cap, "%s %s: must be a number > 0", flag, v);
        return -1;
    }
    return 1;
}

static int x_opt(void *ud, const char *flag, const char *v, char *err, size_t cap)
{
    struct extra_ctx *x = ud;
    struct sweep_opts *o = x->o;
    if (!strcmp(flag, "--knee-threshold")) {
        double t;
        if (units_parse_fraction(v, &t) < 0 || t <= 0 || t > 10) {
            snprintf(err, cap, "%s %s: a relative gain such as 10%% or 0.1", flag, v);
            return -1;
        }
        o->threshold = t;
        return 1;
    }
    if (!strcmp(flag, "--slo")) {
        if (o->nslo == SWEEP_MAX_SLO) {
            snprintf(err, cap, "%s: at most %d SLOs", flag, SWEEP_MAX_SLO);
            return -1;
        }
        char gerr[768];
        if (gate_expr_parse(v, &o->slo[o->nslo], gerr, sizeof gerr) < 0) {
            snprintf(err, cap, "%s '%s': %s", flag, v, gerr);
            return -1;
        }
        o->nslo++;
        return 1;
    }
    if (!strcmp(flag, "--find-max")) {
        if (!strcmp(v, "concurrency"))
            o->param = SWEEP_CONCURRENCY;
        else if (!strcmp(v, "rate"))
            o->param = SWEEP_RATE;
        else {
            snprintf(err, cap, "%s %s: unknown parameter (concurrency or rate)", flag, v);
            return -1;
        }
        o->find_max = 1;
        return 1;
    }
    if (!strcmp(flag, "--find-max-start"))
        return parse_positive(flag, v, &o->fm.start, err, cap);
    if (!strcmp(flag, "--find-max-limit"))
        return parse_positive(flag, v, &o->fm.limit, err, cap);
    if (!strcmp(flag, "--find-max-step"))
        return parse_positive(flag, v, &o->fm.step, err, cap);
    if (!strcmp(flag, "--target") && x->compare) {
        if (o->ntargets == SWEEP_MAX_TARGETS) {
            snprintf(err, cap, "%s: at most %d targets", flag, SWEEP_MAX_TARGETS);
            return -1;
        }
        const char *eq = strchr(v, '=');
        const char *url = eq ? eq + 1 : v;
        const char *colon = strstr(v, "://");
        /* NAME=URL; a bare URL is named by itself.  An '=' inside the URL's
         * query does not make a name. */
        if (eq && colon && colon < eq)
            url = v, eq = NULL;
        size_t nlen = eq ? (size_t)(eq - v) : strlen(url);
        if ((eq && nlen == 0) || !*url) {
            snprintf(err, cap, "%s %s: expected NAME=URL", flag, v);
            return -1;
        }
        char *name = malloc(nlen + 1);
        if (!name) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        memcpy(name, eq ? v : url, nlen);
        name[nlen] = '\0';
        for (size_t i = 0; i < o->ntargets; i++)
            if (!strcmp(o->targets[i].name, name)) {
                snprintf(err, cap, "%s %s: the name '%s' is used twice", flag, v, name);
                free(name);
                return -1;
            }
        o->targets[o->ntargets].name = name;
        o->targets[o->ntargets].url = url;
        o->ntargets++;
        return 1;
    }
    return 0;
}

static void x_help(void *ud, FILE *f)
{
    struct extra_ctx *x = ud;
    sweep_help_flags(f, x->compare);
}

void sweep_help_flags(FILE *f, int compare)
{
    fprintf(f,
        "sweep levels (one parameter; a comma-separated list makes it the swept one):\n"
        "  -c, --concurrency LIST     e.g. 1,2,5,10,20 (the default sweep)\n"
        "  -r, --rate LIST            open loop, requests/s, e.g. 1,2,4,8 (-c caps in-flight)\n"
        "  --temperature LIST         e.g. 0,0.3,0.7,1.0,1.5\n"
        "  --max-tokens LIST          e.g. 64,128,256\n"
        "  --prompt-set LIST          prompts (or the built-in sets tiny,short,...), one per level\n"
        "  --knee-threshold F         a step gaining less throughput than F is the knee (default 10%%)\n"
        "  --slo EXPR                 service level, e.g. 'p99(ttft)<=500ms' (repeatable; all must hold)\n"
        "  --find-max concurrency|rate  search the largest level meeting every --slo\n"
        "  --find-max-start X         first level of the search (default 1)\n"
        "  --find-max-limit X         never try above X (default 1024 for concurrency, 10000 for rate)\n"
        "  --find-max-step X          resolution of the search (default 1, or 5%% of a rate)\n"
        "  --json FILE                the sweep document: levels[] of full summaries, knee\n"
        "  --csv FILE                 one row per level\n");
    if (compare)
        fprintf(f,
            "  --target NAME=URL          a server to compare (repeatable, at least two)\n");
}

/* Splits "--flag=value" and "-cVALUE" like cli_run_parse does. */
static void split_flag(const char *arg, char *name, size_t cap, const char **val)
{
    const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    *val = NULL;
    if (eq) {
        snprintf(name, cap, "%.*s", (int)(eq - arg), arg);
        *val = eq + 1;
    } else if (arg[0] == '-' && arg[1] && arg[1] != '-' && arg[2]) {
        snprintf(name, cap, "%.2s", arg);
        *val = arg + 2;
    } else {
        snprintf(name, cap, "%s", arg);
    }
}

static int parse_names(struct sweep_opts *o, const char *list, char *err, size_t cap)
{
    free(o->prompt_list);
    o->prompt_list = strdup(list);
    if (!o->prompt_list) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    char *p = o->prompt_list;
    size_t n = 0;
    for (int item = 1;; item++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p) {
            snprintf(err, cap, "--prompt-set %s: item %d is empty", list, item);
            return -1;
        }
        if (n == KNEE_MAX_LEVELS) {
            snprintf(err, cap, "--prompt-set: more than %d levels", KNEE_MAX_LEVELS);
            return -1;
        }
        o->names[n] = p;
        o->levels[n] = (double)n;
        /* A built-in set's name stands for its first prompt, so every level
         * of a length sweep asks the same question at its own length. */
        enum prompt_set ps;
        if (prompts_set_from_name(p, &ps) == 0 && !(o->prompts[n] = prompts_build(ps, 0))) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    o->nlevels = n;
    return 0;
}

static int parse_levels(struct sweep_opts *o, const char *flag, const char *list,
                        char *err, size_t cap)
{
    if (o->param == SWEEP_PROMPT_SET)
        return parse_names(o, list, err, cap);
    int integer = o->param == SWEEP_CONCURRENCY || o->param == SWEEP_MAX_TOKENS;
    int positive = o->param != SWEEP_TEMPERATURE;
    char lerr[160];
    int n = knee_list_parse(list, integer, positive, o->levels, KNEE_MAX_LEVELS, lerr, sizeof lerr);
    if (n < 0) {
        snprintf(err, cap, "%s %s: %s", flag, list, lerr);
        return -1;
    }
    double hi = o->levels[n - 1];
    double max = o->param == SWEEP_CONCURRENCY ? 1e6 : o->param == SWEEP_TEMPERATURE ? 100
               : o->param == SWEEP_MAX_TOKENS ? 1e7 : 1e9;
    if (hi > max) {
        snprintf(err, cap, "%s %s: %g is above the largest allowed value %g", flag, list, hi, max);
        return -1;
    }
    o->nlevels = (size_t)n;
    return 0;
}

int sweep_opts_parse(struct sweep_opts *o, int argc, char **argv, int compare,
                     char *err, size_t errcap)
{
    memset(o, 0, sizeof *o);
    gate_opts_init(&o->gate);
    o->threshold = 0.10;
    o->argv = calloc(3 * (size_t)argc + 1, sizeof *o->argv);   /* room for --rate 1 */
    if (!o->argv) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int n = 0, i = 1;
    o->argv[n++] = argv[0];
    /* `compare a.json b.json ...`: result files come first. */
    while (compare && i < argc && argv[i][0] != '-') {
        if (o->nfiles == SWEEP_MAX_TARGETS) {
            snprintf(err, errcap, "at most %d result files", SWEEP_MAX_TARGETS);
            return -1;
        }
        o->files[o->nfiles++] = argv[i++];
    }
    /* Take out the level lists before the run parser sees them: for it,
     * -c and --rate take one number. */
    const char *list = NULL, *single_c = NULL;
    char list_flag[80] = "";      /* the list's flag as given, for messages */
    int have_list = 0, find_rate = 0;
    enum sweep_param list_param = SWEEP_CONCURRENCY;
    for (; i < argc; i++) {
        char name[64];
        const char *val;
        enum sweep_param p;
        split_flag(argv[i], name, sizeof name, &val);
        if (!strcmp(name, "--warmup"))
            o->warmup_given = 1;
        if (!strcmp(name, "--find-max") && ((val && !strcmp(val, "rate")) ||
                                            (!val && i + 1 < argc && !strcmp(argv[i + 1], "rate"))))
            find_rate = 1;
        if (!strcmp(name, "--raw")) {
            snprintf(err, errcap, "--raw is not available in %s (use run for per-request files)",
                     compare ? "compare" : "sweep");
            return -1;
        }
        if (argv[i][0] != '-' || !param_of_flag(name, &p)) {
            o->argv[n++] = argv[i];
            continue;
        }
        int sep = !val;
        if (sep) {
            if (i + 1 >= argc) {
                snprintf(err, errcap, "%s needs a value", name);
                return -1;
            }
            val = argv[i + 1];
        }
        if (p == SWEEP_PROMPT_SET || strchr(val, ',')) {
            if (have_list && list_param != p) {
                snprintf(err, errcap, "%s %s: only one parameter can be swept (--%s already has a list)",
                         name, val, param_names[list_param]);
                return -1;
            }
            have_list = 1;
            list_param = p;
            list = val;
            snprintf(list_flag, sizeof list_flag, "%s%s", argv[i][1] == '-' ? "--" : "",
                     argv[i][1] == '-' ? param_names[p] : name);
            i += sep;
            /* The run parser checks that --arrival comes with a rate; each
             * level sets the real one. */
            if (p == SWEEP_RATE) {
                o->argv[n++] = (char *)"--rate";
                o->argv[n++] = (char *)"1";
            }
            continue;
        }
        if (p == SWEEP_CONCURRENCY)
            single_c = val;
        o->argv[n++] = argv[i];
        if (sep)
            o->argv[n++] = argv[++i];
    }
    if (find_rate) {
        o->argv[n++] = (char *)"--rate";     /* as for a rate list, above */
        o->argv[n++] = (char *)"1";
    }
    o->argv[n] = NULL;

    struct extra_ctx xc = { o, compare };
    struct cli_extra extra[2] = { { x_takes_value, x_opt, x_help, &xc }, cli_gate_extra(&o->gate) };
    if (cli_run_parse(&o->rc, n, o->argv, 1, extra, 2, err, errcap) < 0)
        return -1;
    /* Baselines compare one benchmark with another; a sweep has many
     * levels, so they stay with `run`. */
    if (o->gate.baseline_path || o->gate.save_baseline_path || o->gate.regress_given ||
        o->gate.repeat > 1) {
        snprintf(err, errcap, "--baseline, --max-regression, --save-baseline and --repeat are for "
                 "llmload run; %s takes --assert, --junit and --markdown",
                 compare ? "compare" : "sweep");
        return -1;
    }
    if (gate_check_files(&o->gate, err, errcap) < 0)
        return -1;
    if (o->rc.help)
        return 0;
    struct run_config *c = &o->rc.cfg;
    /* --json and --csv are the sweep's own files, not each run's. */
    o->json_path = c->json_path;
    o->csv_path = c->csv_path;
    c->json_path = c->csv_path = c->raw_path = NULL;

    if (o->find_max) {
        if (have_list) {
            if (list_param == o->param)
                snprintf(err, errcap, "--find-max %s chooses the levels itself: drop the list of --%s",
                         param_names[o->param], param_names[o->param]);
            else
                snprintf(err, errcap, "--find-max %s cannot be combined with a list for --%s",
                         param_names[o->param], param_names[list_param]);
            return -1;
        }
        if (o->nslo == 0) {
            snprintf(err, errcap, "--find-max %s needs at least one --slo", param_names[o->param]);
            return -1;
        }
        o->fm.integer = o->param == SWEEP_CONCURRENCY;
        if (o->fm.start <= 0)
            o->fm.start = 1;
        if (o->fm.limit <= 0)
            o->fm.limit = o->param == SWEEP_CONCURRENCY ? 1024 : 10000;
        if (o->fm.integer && (o->fm.start != floor(o->fm.start) || o->fm.limit != floor(o->fm.limit))) {
            snprintf(err, errcap, "--find-max concurrency: --find-max-start and --find-max-limit must be whole numbers");
            return -1;
        }
        if (o->fm.start > o->fm.limit) {
            snprintf(err, errcap, "--find-max-start %g is above --find-max-limit %g", o->fm.start, o->fm.limit);
            return -1;
        }
    } else if (have_list) {
        o->param = list_param;
        if (parse_levels(o, list_flag, list, err, errcap) < 0)
            return -1;
    } else {
        o->param = SWEEP_CONCURRENCY;
        if (parse_levels(o, "--concurrency", single_c ? single_c : "1,2,5,10,20", err, errcap) < 0)
            return -1;
    }
    if (compare && o->nfiles && o->ntargets) {
        snprintf(err, errcap, "give either result files or --target flags, not both");
        return -1;
    }
    if (compare && o->nfiles == 0 && o->ntargets == 0) {
        snprintf(err, errcap, "nothing to compare: give --target NAME=URL (twice or more) or result files");
        return -1;
    }
    if (compare && o->nfiles == 1) {
        snprintf(err, errcap, "one result file: give at least two to compare");
        return -1;
    }
    if (compare && o->ntargets && c->url[0]) {
        snprintf(err, errcap, "--url %s: compare takes --target NAME=URL instead", c->url);
        return -1;
    }
    return 0;
}

void sweep_opts_free(struct sweep_opts *o)
{
    for (size_t i = 0; i < o->nslo; i++)
        gate_expr_free(o->slo[i]);
    for (size_t i = 0; i < o->ntargets; i++)
        free(o->targets[i].name);
    for (size_t i = 0; i < KNEE_MAX_LEVELS; i++)
        free(o->prompts[i]);
    workload_free(o->rc.cfg.workload);
    gate_opts_free(&o->gate);
    free(o->argv);
    free(o->prompt_list);
    memset(o, 0, sizeof *o);
}

/* ---- running levels ------------------------------------------------------------ */

/* The run config of one level. */
static void level_config(const struct sweep_opts *o, size_t idx, double level,
                         struct run_config *c)
{
    *c = o->rc.cfg;
    switch (o->param) {
    case SWEEP_CONCURRENCY: c->concurrency = (uint32_t)level; break;
    case SWEEP_RATE:        c->rate = level; break;
    case SWEEP_TEMPERATURE: c->temperature = level; break;
    case SWEEP_MAX_TOKENS:  c->max_tokens = (int64_t)level; break;
    case SWEEP_PROMPT_SET:  c->prompt = o->prompts[idx] ? o->prompts[idx] : o->names[idx]; break;
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
    if (o->param == SWEEP_PROMPT_SET)
        snprintf(buf, cap, "%s", o->names[idx]);
    else
        snprintf(buf, cap, "%g", level);
    return buf;
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
    level_text(o, idx, level, lab, sizeof lab);
    if (engine_interrupted()) {
        x->status = SWEEP_INTERRUPTED;
        return 1;
    }
    /* A prompt-set level gets a workload of its own (its prompt, with the
     * run's nonce and other workload flags); other levels share one. */
    struct workload *lw = NULL;
    if (o->param == SWEEP_PROMPT_SET) {
        struct workload_opts wo = o->rc.wopts;
        wo.prompt = c.prompt;
        wo.prompt_set = -1;
        if (!(lw = workload_open(&wo, c.schedule_seed, x->err, x->errcap)))
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
    int rc = engine_run(&c, &st, NULL, eerr, sizeof eerr);
    workload_free(lw);
    if (rc < 0) {
        snprintf(x->down, sizeof x->down, "at %s %s: %s", param_names[o->param], lab, eerr);
        run_stats_free(&st);
        x->status = SWEEP_DOWN;
        return 1;
    }
    cJSON *summary = report_summary_json(&st);
    cJSON *entry = cJSON_CreateObject();
    if (!summary || !entry) {
        cJSON_Delete(summary);
        cJSON_Delete(entry);
        run_stats_free(&st);
        snprintf(x->err, x->errcap, "out of memory");
        return -1;
    }
    if (o->param == SWEEP_PROMPT_SET) {
        cJSON_AddStringToObject(entry, "level", o->names[idx]);
        cJSON_AddNumberToObject(entry, "index", (double)idx);
    } else {
        cJSON_AddNumberToObject(entry, "level", level);
    }
    if (o->nslo)
        cJSON_AddBoolToObject(entry, "slo_ok", slo_check(o, summary));
    cJSON_AddItemToObject(entry, "summary", summary);
    cJSON_AddItemToArray(x->levels, entry);
    *summary_out = summary;

    if (x->log) {
        char b1[32], b2[32];
        double p95 = NAN;
        const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(summary, "e2e");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e2e, "p95");
        if (cJSON_IsNumber(v))
            p95 = v->valuedouble;
        double wall = run_stats_wall_s(&st);
        fprintf(x->log, "%s%s%s %s: %s tok/s, p95 %s, %llu/%llu ok%s\n",
                x->label, *x->label ? ": " : "", param_names[o->param], lab,
                wall > 0 ? (snprintf(b1, sizeof b1, "%.1f", (double)st.output_tokens / wall), b1) : "-",
                isfinite(p95) ? units_fmt_seconds(p95, b2, sizeof b2) : "-",
                (unsigned long long)st.ok, (unsigned long long)st.requests,
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

static int findmax_eval(void *ud, double level, int *ok)
{
    struct sweep_ctx *x = ud;
    const cJSON *summary = NULL;
    int rc = run_level(x, 0, level, &summary);
    if (rc != 0)
        return rc < 0 ? -1 : -2;
    *ok = slo_check(x->o, summary);
    return 0;
}

static int cmp_level(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double lx = cJSON_GetObjectItemCaseSensitive(x, "level")->valuedouble;
    double ly = cJSON_GetObjectItemCaseSensitive(y, "level")->valuedouble;
    return (lx > ly) - (lx < ly);
}

/* The find-max levels in level order (they were run in search order), so
 * the table and the knee read left to right. */
static void sort_levels(cJSON *levels)
{
    int n = cJSON_GetArraySize(levels);
    if (n < 2)
        return;
    cJSON **items = malloc(sizeof *items * (size_t)n);
    if (!items)
        return;
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemFromArray(levels, 0);
    qsort(items, (size_t)n, sizeof *items, cmp_level);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(levels, items[i]);
    free(items);
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
    cJSON *t = cJSON_AddArrayToObject(f, "tried");
    for (size_t i = 0; t && i < r->ntried; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "level", r->tried[i].level);
        cJSON_AddBoolToObject(e, "ok", r->tried[i].ok);
        cJSON_AddItemToArray(t, e);
    }
    return f;
}

/* The knee of the levels run so far, with the SLO verdicts. */
static cJSON *sweep_knee(const struct sweep_opts *o, const cJSON *levels)
{
    struct knee_point pts[KNEE_MAX_LEVELS];
    const char *names[KNEE_MAX_LEVELS];
    int n = knee_points_from_levels(levels, pts, KNEE_MAX_LEVELS);
    if (n <= 0)
        return cJSON_CreateNull();
    int i = 0;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        if (i >= n)
            break;
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(lv, "slo_ok");
        pts[i].slo_ok = cJSON_IsBool(ok) ? cJSON_IsTrue(ok) : -1;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
        names[i] = cJSON_IsString(l) ? l->valuestring : "";
        i++;
    }
    char slo[512] = "";
    for (size_t k = 0; k < o->nslo; k++) {
        size_t len = strlen(slo);
        snprintf(slo + len, sizeof slo - len, "%s%s", k ? " and " : "", o->slo[k]->text);
    }
    /* Throughput saturates with load; across temperatures, lengths or
     * prompts a flat throughput is no knee, so only the SLO counts there. */
    if (o->param != SWEEP_CONCURRENCY && o->param != SWEEP_RATE)
        for (int j = 0; j < n; j++)
            pts[j].tps = NAN;
    struct knee k;
    knee_detect(pts, (size_t)n, o->threshold, &k);
    return knee_to_json(&k, pts, (size_t)n, param_names[o->param],
                        o->param == SWEEP_PROMPT_SET ? names : NULL, o->threshold,
                        o->nslo ? slo : NULL);
}

cJSON *sweep_execute(struct sweep_opts *o, const char *label, FILE *log,
                     enum sweep_status *status, char *err, size_t errcap)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    const struct run_config *c = &o->rc.cfg;
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

    struct sweep_ctx x = { o, label ? label : "", log, NULL, SWEEP_DONE, "", err, errcap };
    x.levels = cJSON_AddArrayToObject(doc, "levels");
    if (!x.levels) {
        cJSON_Delete(doc);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    int rc = 0;
    if (o->find_max) {
        struct knee_findmax r;
        rc = knee_findmax_run(&o->fm, findmax_eval, &x, &r);
        sort_levels(x.levels);
        cJSON *f = findmax_json(o, &r);
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
    if (x.status == SWEEP_DOWN)
        cJSON_AddStringToObject(doc, "error", x.down);
    else
        cJSON_AddNullToObject(doc, "error");
    cJSON_AddBoolToObject(doc, "interrupted", x.status == SWEEP_INTERRUPTED);
    *status = x.status;
    return doc;
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
        fprintf(f, "largest %s meeting every SLO (", param);
        const cJSON *s;
        int first = 1;
        cJSON_ArrayForEach(s, slo) {
            fprintf(f, "%s%s", first ? "" : ", ", s->valuestring);
            first = 0;
        }
        if (cJSON_IsNumber(max))
            fprintf(f, "): %g%s\n", max->valuedouble,
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fm, "at_limit"))
                        ? " (the search limit: the true maximum may be higher)" : "");
        else
            fprintf(f, "): none, even the smallest level tried fails\n");
        fprintf(f, "levels tried:");
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fm, "tried"))
            fprintf(f, " %g %s", cJSON_GetObjectItemCaseSensitive(t, "level")->valuedouble,
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "ok")) ? "ok" : "fail");
        fputc('\n', f);
    } else {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "knee");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(k, "text");
        if (cJSON_IsString(text))
            fprintf(f, "knee: %s\n", text->valuestring);
        else if (cJSON_GetArraySize(levels) > 1 && cJSON_IsString(p) &&
                 (!strcmp(p->valuestring, "concurrency") || !strcmp(p->valuestring, "rate")))
            fprintf(f, "knee: none (throughput grows at every step)\n");
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    if (cJSON_IsString(e))
        fprintf(f, "stopped early: the target went down %s\n", e->valuestring);
}

int sweep_write_csv(const char *path, const cJSON *doc, char *err, size_t errcap)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errcap, "--csv %s: %s", path, strerror(errno));
        return -1;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "parameter");
    int rc = knee_csv_write(f, cJSON_IsString(p) ? p->valuestring : "level",
                            cJSON_GetObjectItemCaseSensitive(doc, "levels"));
    if (fclose(f) != 0 || rc < 0) {
        snprintf(err, errcap, "--csv %s: write failed", path);
        return -1;
    }
    return 0;
}

/* ---- llmload sweep ---------------------------------------------------------------- */

static void sweep_usage(FILE *f)
{
    fprintf(f, "usage: llmload sweep [--url URL --model NAME] [--concurrency 1,2,5,10,20 | --rate LIST |\n"
               "                     --temperature LIST | --max-tokens LIST | --prompt-set LIST]\n"
               "                     [--slo EXPR] [--find-max concurrency|rate] [run options]\n\n"
               "Runs one full benchmark (with warm-up) per level of one parameter, prints a table\n"
               "with one row per level, and names the knee: the last level whose step up still\n"
               "gained --knee-threshold throughput, or the last one meeting every --slo.\n"
               "Without --url the built-in simulator is benchmarked (shape it with --mock-arg).\n\n");
    sweep_help_flags(f, 0);
    fprintf(f, "\nrun options (each level is a run with these):\n");
    cli_run_help_flags(f);
    fprintf(f, "\nExit codes: 0 ok, 2 usage error, 3 the sweep could not be done, 4 interrupted.\n");
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep_opts o;
    char err[1024];
    int code = EXIT_OK;
    if (sweep_opts_parse(&o, argc, argv, 0, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_opts_free(&o);
        return EXIT_USAGE;
    }
    if (o.rc.help) {
        sweep_usage(stdout);
        sweep_opts_free(&o);
        return EXIT_OK;
    }
    if (cli_run_validate(&o.rc, err, sizeof err) < 0 ||
        (o.json_path && report_check_writable(o.json_path, err, sizeof err) < 0) ||
        (o.csv_path && report_check_writable(o.csv_path, err, sizeof err) < 0) ||
        (o.param != SWEEP_PROMPT_SET && cli_run_open_workload(&o.rc, err, sizeof err) < 0)) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_opts_free(&o);
        return EXIT_USAGE;
    }
    pid_t mock = cli_run_start_mock(&o.rc, err, sizeof err);
    if (mock < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_opts_free(&o);
        return EXIT_RUN;
    }
    if (mock > 0 && !o.rc.cfg.quiet)
        fprintf(stderr, "no --url given: sweeping the built-in simulator at %s\n", o.rc.cfg.url);
    enum sweep_status st = SWEEP_DONE;
    engine_catch_signals();
    cJSON *doc = sweep_execute(&o, "", o.rc.cfg.quiet ? NULL : stderr, &st, err, sizeof err);
    cli_run_stop_mock(mock);
    if (!doc) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_opts_free(&o);
        return EXIT_RUN;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "levels")) > 0)
        sweep_print(stdout, doc);
    if (o.json_path && report_write_json(o.json_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        code = EXIT_RUN;
    }
    if (o.csv_path && sweep_write_csv(o.csv_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        code = EXIT_RUN;
    }
    if (st == SWEEP_DONE && code == EXIT_OK && o.gate.n_asserts) {
        const cJSON *one = doc;
        code = sweep_gate_check(&o, NULL, &one, 1, stdout, err, sizeof err);
        if (code >= EXIT_USAGE)
            fprintf(stderr, "llmload sweep: %s\n", err);
    }
    if (st == SWEEP_INTERRUPTED)
        code = EXIT_INTERRUPTED;
    else if (st == SWEEP_DOWN) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
        fprintf(stderr, "llmload sweep: the target went down %s\n",
                cJSON_IsString(e) ? e->valuestring : "");
        code = EXIT_RUN;
    }
    cJSON_Delete(doc);
    sweep_opts_free(&o);
    return code;
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
