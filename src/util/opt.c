/* Command-line options: the parser and the generated help (opt.h). */
#include "opt.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "color.h"
#include "fileio.h"
#include "util.h"

#define OPT_COL 26      /* width of the left column of the help */
#define OPT_NAME_MAX 64

#define OPT_CONFIG_MAX ((size_t)16 << 20)   /* a config file larger than this is a mistake */

const struct opt opt_help_entry = { 0, "--help", { "-h" }, NULL, "this help" };
const struct opt opt_version_entry = { 0, "--version", { "-V" }, NULL, "print llmload's version and exit" };
const struct opt opt_color_entry = {
    0, "--color", { NULL }, "WHEN",
    "colour the terminal output: auto (default: on a terminal,\nunless NO_COLOR is set), always or never" };
const struct opt opt_config_entry = {
    0, "--config", { NULL }, "FILE",
    "read flags from a JSON file: {\"concurrency\": 8, ...}\n(flags and LLMLOAD_* variables override it)" };
const struct opt *const opt_builtin_entries[] = {
    &opt_help_entry, &opt_version_entry, &opt_color_entry, &opt_config_entry, NULL,
};

static int is_short(const char *s)
{
    return s[0] == '-' && s[1] && s[1] != '-' && !s[2];
}

static int names_flag(const struct opt *o, const char *flag)
{
    if (!o->name)
        return 0;
    if (!strcmp(o->name, flag))
        return 1;
    for (size_t i = 0; i < OPT_ALIASES && o->alias[i]; i++)
        if (!strcmp(o->alias[i], flag))
            return 1;
    return 0;
}

const struct opt *opt_table_find(const struct opt_table *t, const char *flag)
{
    for (size_t i = 0; i < t->n; i++)
        if (names_flag(&t->opts[i], flag))
            return &t->opts[i];
    return NULL;
}

/* The first entry naming flag in the tables from *table on, refused or not. */
static const struct opt *find_from(const struct opt_cmd *cmd, const char *flag, size_t *table)
{
    for (size_t k = *table; cmd->tables[k]; k++) {
        const struct opt *o = opt_table_find(cmd->tables[k], flag);
        if (o) {
            *table = k;
            return o;
        }
    }
    return NULL;
}

static const struct opt_omit *omitted(const struct opt_cmd *cmd, const struct opt *o)
{
    for (const struct opt_omit *m = cmd->omit; m && m->name; m++)
        if (!strcmp(m->name, o->name))
            return m;
    return NULL;
}

static const struct opt *builtin(const char *flag)
{
    for (size_t i = 0; opt_builtin_entries[i]; i++)
        if (names_flag(opt_builtin_entries[i], flag))
            return opt_builtin_entries[i];
    return NULL;
}

const struct opt *opt_lookup(const struct opt_cmd *cmd, const char *flag, size_t *table)
{
    const struct opt *b = builtin(flag);
    if (b)
        return b;
    size_t k = 0;
    const struct opt *o = find_from(cmd, flag, &k);
    if (!o || omitted(cmd, o))
        return NULL;
    if (table)
        *table = k;
    return o;
}

/* 1 when o is the entry cmd uses for its name: no earlier table names the
 * flag and the command does not refuse it. */
static int owns(const struct opt_cmd *cmd, size_t table, const struct opt *o)
{
    size_t k;
    return opt_lookup(cmd, o->name, &k) == o && k == table;
}

/* The nearest spelling cmd accepts to typed, or NULL when none is close.
 * Short flags are never suggested: every one-letter typo is one away. */
static const char *suggest(const struct opt_cmd *cmd, const char *typed)
{
    const char *t = typed + strspn(typed, "-");
    size_t tl = strlen(t);
    if (tl < 2)
        return NULL;
    size_t limit = tl <= 3 ? 1 : tl <= 6 ? 2 : 3, bestd = limit + 1;
    const char *best = NULL;
    struct opt_iter it = { 0 };
    for (const struct opt *o; (o = opt_next(cmd, &it)); ) {
        for (size_t i = 0; o->name && i <= OPT_ALIASES; i++) {
            const char *s = i == 0 ? o->name : o->alias[i - 1];
            if (!s || is_short(s))
                continue;
            const char *c = s + strspn(s, "-");
            size_t d = util_edit_distance(t, c);
            if (tl >= 4 && !strncmp(c, t, tl) && d > 1)
                d = 1;      /* the start of a name: --concur */
            if (d < bestd && strcmp(s, typed)) {
                best = s;
                bestd = d;
            }
        }
    }
    return best;
}

/* The value check shared by opt_parse and opt_apply1. */
static int value_ok(const struct opt *o, const char *flag, const char *value, char *err, size_t errcap)
{
    if (o->meta && !value) {
        util_errf(err, errcap, "%s needs a value (%s)", flag, o->meta);
        return 0;
    }
    if (!o->meta && value) {
        util_errf(err, errcap, "%s takes no value (got '%s')", flag, value);
        return 0;
    }
    return 1;
}

int opt_apply1(const struct opt_table *t, void *ud, const char *flag, const char *value,
               char *err, size_t errcap)
{
    const struct opt *o = opt_table_find(t, flag);
    if (!o)
        return 0;
    if (!value_ok(o, flag, value, err, errcap))
        return -1;
    return t->apply(ud, o, flag, value, err, errcap);
}

static int unknown(const struct opt_cmd *cmd, const char *typed, char *err, size_t errcap)
{
    const char *s = suggest(cmd, typed);
    if (s)
        util_errf(err, errcap, "unknown flag '%s'; did you mean %s?", typed, s);
    else
        util_errf(err, errcap, "unknown flag '%s' (see llmload %s --help)", typed, cmd->name);
    return OPT_ERROR;
}

static int positional(const struct opt_cmd *cmd, const char *a, const char **args, size_t *nargs,
                      char *err, size_t errcap)
{
    if (!cmd->args) {
        util_errf(err, errcap, "unexpected argument '%s' (llmload %s takes only flags; see --help)",
                  a, cmd->name);
        return OPT_ERROR;
    }
    if (*nargs == cmd->max_args) {
        if (cmd->max_args == 1)
            util_errf(err, errcap, "unexpected argument '%s': give one %s at most (quote it)",
                      a, cmd->args);
        else
            util_errf(err, errcap, "unexpected argument '%s': give %zu %s at most",
                      a, cmd->max_args, cmd->args);
        return OPT_ERROR;
    }
    args[(*nargs)++] = a;
    return OPT_OK;
}

/* Applies the value of a flag that cmd->tables[k] owns (o), passing it on
 * to the next table naming the flag when a handler declines it. */
static int apply_flag(const struct opt_cmd *cmd, void *const *ud, size_t k, const struct opt *o,
                      const char *name, const char *val, char *err, size_t errcap)
{
    if (!value_ok(o, name, val, err, errcap))
        return OPT_ERROR;
    for (;;) {
        if (errcap)
            err[0] = '\0';
        int r = cmd->tables[k]->apply(ud[k], o, name, val, err, errcap);
        if (r > 0)
            return OPT_OK;
        if (r < 0) {
            if (errcap && !err[0])
                util_errf(err, errcap, "%s %s: bad value", name, val ? val : "");
            return OPT_ERROR;
        }
        /* Declined: the next table that knows the flag, with the same
         * arity, gets it. */
        k++;
        o = find_from(cmd, name, &k);
        if (!o || omitted(cmd, o) || !o->meta != !val)
            return unknown(cmd, name, err, errcap);
    }
}

/* The built-in flags that take effect as they are met.  OPT_OK to go on,
 * OPT_HELP / OPT_VERSION to stop, OPT_ERROR with err. */
static int apply_builtin(const struct opt *o, const char *name, const char *val, char *err, size_t errcap)
{
    if (!value_ok(o, name, val, err, errcap))
        return OPT_ERROR;
    if (o == &opt_help_entry)
        return OPT_HELP;
    if (o == &opt_version_entry)
        return OPT_VERSION;
    if (o == &opt_color_entry) {
        int m = color_parse(val);
        if (m < 0) {
            util_errf(err, errcap, "%s %s: give auto, always or never", name, val);
            return OPT_ERROR;
        }
        color_set((enum color_mode)m);
    }
    return OPT_OK;      /* --config was read before the flags */
}

char *opt_env_name(const struct opt *o, char *buf, size_t cap)
{
    const char *n = o->name + strspn(o->name, "-");
    size_t len = strlen(n);
    if (cap < sizeof "LLMLOAD_" + len)
        return NULL;
    memcpy(buf, "LLMLOAD_", 8);
    for (size_t i = 0; i <= len; i++)
        buf[8 + i] = n[i] == '-' ? '_' : (char)toupper((unsigned char)n[i]);
    return buf;
}

/* The value LLMLOAD_<NAME> gives flag o, or NULL when it is unset or empty
 * (an empty variable is how a shell unsets a setting for one command). */
static const char *env_value(const struct opt *o, char *name, size_t cap)
{
    if (o == &opt_help_entry || o == &opt_version_entry || o == &opt_config_entry ||
        !opt_env_name(o, name, cap))
        return NULL;
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* What the command line says before anything is applied: which flags it
 * gives (their owning entries, so the environment and the config file
 * leave those alone), its --config, and whether it asks for --help or
 * --version (then neither is read: help must work with a broken setting).
 * Unknown flags and missing values are left for the parse to report. */
struct given {
    const struct opt **flags;
    size_t n;
    const char *config;
    int stop;
};

static int given_has(const struct given *g, const struct opt *o)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->flags[i] == o)
            return 1;
    return 0;
}

static void scan_given(const struct opt_cmd *cmd, int argc, char **argv, int first, struct given *g)
{
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1])
            continue;
        if (!strcmp(a, "--") && cmd->args)
            return;
        char name[OPT_NAME_MAX];
        size_t nl = a[1] == '-' ? strcspn(a, "=") : 2;
        if (nl >= sizeof name)
            continue;
        memcpy(name, a, nl);
        name[nl] = '\0';
        const struct opt *o = opt_lookup(cmd, name, NULL);
        if (!o)
            continue;
        const char *val = a[nl] ? a + nl + (a[nl] == '=' && a[1] == '-') : NULL;
        if (o->meta && !val && i + 1 < argc)
            val = argv[++i];
        if (o == &opt_help_entry || o == &opt_version_entry)
            g->stop = 1;
        else if (o == &opt_config_entry)
            g->config = val;
        g->flags[g->n++] = o;
    }
}

/* Applies a flag given by the environment or the config file: where says
 * which ("LLMLOAD_CONCURRENCY", "ci.json: key 'concurrency'") for err. */
static int apply_setting(const struct opt_cmd *cmd, void *const *ud, const struct opt *o,
                         const char *val, const char *where, char *err, size_t errcap)
{
    char why[1024];
    size_t k = 0;
    int r;
    if (opt_lookup(cmd, o->name, &k) != o)
        return OPT_OK;
    r = o == &opt_color_entry ? apply_builtin(o, o->name, val, why, sizeof why)
                              : apply_flag(cmd, ud, k, o, o->name, val, why, sizeof why);
    if (r == OPT_ERROR)
        util_errf(err, errcap, "%s: %s", where, why);
    return r;
}

/* "1", "true", "yes", "on" give a flag that takes no value; "0", "false",
 * "no", "off" leave it out.  1, 0, or -1 for anything else. */
static int env_bool(const char *v)
{
    static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i]))
            return 1;
        if (!strcmp(v, no[i]))
            return 0;
    }
    return -1;
}

static int apply_env(const struct opt_cmd *cmd, void *const *ud, const struct given *g,
                     char *err, size_t errcap)
{
    struct opt_iter it = { 0 };
    char name[OPT_NAME_MAX + 16];
    for (const struct opt *o; (o = opt_next(cmd, &it)); ) {
        const char *v = o->name && !given_has(g, o) ? env_value(o, name, sizeof name) : NULL;
        if (!v)
            continue;
        if (!o->meta) {
            int b = env_bool(v);
            if (b < 0) {
                util_errf(err, errcap, "%s=%s: %s takes no value; give 1 or 0", name, v, o->name);
                return OPT_ERROR;
            }
            if (!b)
                continue;
            v = NULL;
        }
        if (apply_setting(cmd, ud, o, v, name, err, errcap) == OPT_ERROR)
            return OPT_ERROR;
    }
    return OPT_OK;
}

/* Handlers keep the value strings they are given, as they keep argv's, so
 * a config file's values live as long as the process: held here, they are
 * reachable to the end (never a leak) and never freed under a handler. */
struct kept {
    struct kept *next;
    char s[];
};
static struct kept *kept_values;

static const char *keep(const char *s)
{
    size_t n = strlen(s) + 1;
    struct kept *k = malloc(sizeof *k + n);
    if (!k)
        return NULL;
    memcpy(k->s, s, n);
    k->next = kept_values;
    kept_values = k;
    return k->s;
}

/* One value of a config key: a string as it is, a number as its decimal
 * form, true/false for a flag that takes no value (false leaves it out). */
static int apply_config_value(const struct opt_cmd *cmd, void *const *ud, const struct opt *o,
                              const cJSON *v, const char *where, char *err, size_t errcap)
{
    char num[64];
    const char *val;
    if (cJSON_IsString(v)) {
        val = v->valuestring;
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -1e15 && d < 1e15)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        val = num;
    } else if (cJSON_IsBool(v)) {
        if (o->meta)
            val = cJSON_IsTrue(v) ? "true" : "false";
        else if (cJSON_IsTrue(v))
            val = NULL;
        else
            return OPT_OK;
    } else if (cJSON_IsNull(v)) {
        return OPT_OK;
    } else {
        util_errf(err, errcap, "%s: give a string, a number, true/false or a list of them", where);
        return OPT_ERROR;
    }
    if (val && !(val = keep(val))) {
        util_errf(err, errcap, "%s: out of memory", where);
        return OPT_ERROR;
    }
    return apply_setting(cmd, ud, o, val, where, err, errcap);
}

static int apply_config(const struct opt_cmd *cmd, void *const *ud, const struct given *g,
                        char *err, size_t errcap)
{
    size_t len;
    char why[1024], where[OPT_NAME_MAX * 2 + 512], flag[OPT_NAME_MAX + 3], env[OPT_NAME_MAX + 16];
    int rc = OPT_ERROR;
    char *text = fileio_read_all(g->config, OPT_CONFIG_MAX, &len, why, sizeof why);
    if (!text) {
        util_errf(err, errcap, "--config %s", why);
        return OPT_ERROR;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(doc)) {
        util_errf(err, errcap, "--config %s: not a JSON object of flags ({\"concurrency\": 8, ...})",
                  g->config);
        goto out;
    }
    for (const cJSON *kv = doc->child; kv; kv = kv->next) {
        const char *key = kv->string;
        snprintf(where, sizeof where, "--config %s: key '%.64s'", g->config, key);
        const struct opt *o = NULL;
        if (strlen(key) < OPT_NAME_MAX && key[0] != '-') {
            snprintf(flag, sizeof flag, "--%s", key);
            o = opt_lookup(cmd, flag, NULL);
        }
        if (!o) {
            util_errf(err, errcap, "%s: unknown key (llmload %s has no flag --%.64s)", where, cmd->name, key);
            goto out;
        }
        if (o == &opt_help_entry || o == &opt_version_entry || o == &opt_config_entry) {
            util_errf(err, errcap, "%s: not a setting a config file can hold", where);
            goto out;
        }
        /* The command line and the environment outrank the file. */
        if (given_has(g, o) || env_value(o, env, sizeof env))
            continue;
        if (cJSON_IsArray(kv)) {
            for (const cJSON *v = kv->child; v; v = v->next)
                if (apply_config_value(cmd, ud, o, v, where, err, errcap) == OPT_ERROR)
                    goto out;
        } else if (apply_config_value(cmd, ud, o, kv, where, err, errcap) == OPT_ERROR) {
            goto out;
        }
    }
    rc = OPT_OK;
out:
    cJSON_Delete(doc);
    free(text);
    return rc;
}

int opt_parse(const struct opt_cmd *cmd, void *const *ud, int argc, char **argv, int first,
              const char **args, size_t *nargs, char *err, size_t errcap)
{
    size_t nargs_local = 0;
    if (!nargs)
        nargs = &nargs_local;
    *nargs = 0;
    struct given g = { 0 };
    int flags_done = 0, rc = OPT_ERROR;
    if (argc > first && !(g.flags = calloc((size_t)(argc - first), sizeof *g.flags))) {
        util_errf(err, errcap, "out of memory");
        return OPT_ERROR;
    }
    scan_given(cmd, argc, argv, first, &g);
    /* Lowest precedence first, so each source replaces the one below. */
    if (!g.stop && ((g.config && apply_config(cmd, ud, &g, err, errcap) < 0) ||
                    apply_env(cmd, ud, &g, err, errcap) < 0))
        goto out;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (flags_done || a[0] != '-' || !a[1]) {
            if (positional(cmd, a, args, nargs, err, errcap) < 0)
                goto out;
            continue;
        }
        if (!strcmp(a, "--") && cmd->args) {
            flags_done = 1;
            continue;
        }
        /* --flag=value, --flag value, -cVALUE, -c VALUE */
        char name[OPT_NAME_MAX];
        const char *val = NULL;
        size_t nl = a[1] == '-' ? strcspn(a, "=") : 2;
        if (nl >= sizeof name) {
            unknown(cmd, a, err, errcap);
            goto out;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (a[nl])
            val = a[nl] == '=' && a[1] == '-' ? a + nl + 1 : a + nl;
        const struct opt *o = builtin(name);
        size_t k = 0;
        if (!o && !(o = find_from(cmd, name, &k))) {
            unknown(cmd, a[1] == '-' ? name : a, err, errcap);
            goto out;
        }
        const struct opt_omit *m = omitted(cmd, o);
        if (m) {
            util_errf(err, errcap, "%s is not a flag of llmload %s (%s)", name, cmd->name, m->why);
            goto out;
        }
        if (o->meta && !val && i + 1 < argc)
            val = argv[++i];
        int r = builtin(name) ? apply_builtin(o, name, val, err, errcap)
                              : apply_flag(cmd, ud, k, o, name, val, err, errcap);
        if (r != OPT_OK) {
            rc = r;
            goto out;
        }
    }
    rc = OPT_OK;
out:
    free(g.flags);
    return rc;
}

const struct opt *opt_next(const struct opt_cmd *cmd, struct opt_iter *it)
{
    for (; cmd->tables[it->table]; it->table++, it->entry = 0) {
        const struct opt_table *t = cmd->tables[it->table];
        for (; it->entry < t->n; it->entry++) {
            const struct opt *o = &t->opts[it->entry];
            if (!o->name) {
                /* The built-in flags close the first section that holds
                 * flags. */
                if (o->id == OPT_ID_SECTION && it->flags_seen && opt_builtin_entries[it->builtins_done])
                    return opt_builtin_entries[it->builtins_done++];
                it->entry++;
                return o;
            }
            if (!owns(cmd, it->table, o))
                continue;
            it->flags_seen = 1;
            it->entry++;
            return o;
        }
    }
    if (opt_builtin_entries[it->builtins_done])
        return opt_builtin_entries[it->builtins_done++];
    return NULL;
}

/* Text with '\n' between lines; each line after the first starts at
 * column indent. */
static void put_lines(FILE *f, const char *text, int indent)
{
    for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
        fprintf(f, "%.*s\n%*s", (int)(nl - text), text, indent, "");
    fprintf(f, "%s\n", text);
}

static void put_entry(FILE *f, const struct opt *o)
{
    if (o->id == OPT_ID_SECTION && !o->name) {
        fprintf(f, "\n%s:\n", o->help);
        return;
    }
    if (!o->name) {
        fprintf(f, "  ");
        put_lines(f, o->help, 2);
        return;
    }
    /* Left column: the short spellings, the name, the value's placeholder. */
    char left[128];
    size_t n = 0;
    for (size_t i = 0; i < OPT_ALIASES && o->alias[i]; i++)
        if (is_short(o->alias[i]))
            n += (size_t)snprintf(left + n, sizeof left - n, "%s, ", o->alias[i]);
    snprintf(left + n, sizeof left - n, "%s%s%s", o->name, o->meta ? " " : "", o->meta ? o->meta : "");
    if (strlen(left) > OPT_COL)
        fprintf(f, "  %s\n  %-*s ", left, OPT_COL, "");
    else
        fprintf(f, "  %-*s ", OPT_COL, left);
    put_lines(f, o->help, OPT_COL + 3);
    /* Long aliases (--host, --base-url) get a line of their own. */
    n = 0;
    left[0] = '\0';
    int nlong = 0;
    for (size_t i = 0; i < OPT_ALIASES && o->alias[i]; i++)
        if (!is_short(o->alias[i])) {
            n += (size_t)snprintf(left + n, sizeof left - n, "%s%s", nlong ? ", " : "", o->alias[i]);
            nlong++;
        }
    if (nlong)
        fprintf(f, "  %-*s %s of %s\n", OPT_COL, left, nlong > 1 ? "aliases" : "alias", o->name);
}

void opt_help_table(FILE *f, const struct opt_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        put_entry(f, &t->opts[i]);
}

void opt_help(FILE *f, const struct opt_cmd *cmd)
{
    fprintf(f, "usage: ");
    put_lines(f, cmd->usage, 7);
    if (cmd->about)
        fprintf(f, "\n%s\n", cmd->about);
    struct opt_iter it = { 0 };
    int first = 1;
    for (const struct opt *o; (o = opt_next(cmd, &it)); first = 0) {
        if (first && o->name)
            fprintf(f, "\noptions:\n");
        put_entry(f, o);
    }
    if (cmd->epilog)
        fprintf(f, "\n%s\n", cmd->epilog);
    if (cmd->epilog_fn)
        cmd->epilog_fn(f);
}
