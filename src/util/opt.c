/* Command-line options: the parser and the generated help (opt.h). */
#include "opt.h"

#include <stdint.h>
#include <string.h>

#include "util.h"

#define OPT_COL 26      /* width of the left column of the help */
#define OPT_NAME_MAX 64

const struct opt opt_help_entry = { 0, "--help", { "-h" }, NULL, "this help" };

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

const struct opt *opt_lookup(const struct opt_cmd *cmd, const char *flag, size_t *table)
{
    if (names_flag(&opt_help_entry, flag))
        return &opt_help_entry;
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

int opt_parse(const struct opt_cmd *cmd, void *const *ud, int argc, char **argv, int first,
              const char **args, size_t *nargs, char *err, size_t errcap)
{
    size_t nargs_local = 0;
    if (!nargs)
        nargs = &nargs_local;
    *nargs = 0;
    int flags_done = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (flags_done || a[0] != '-' || !a[1]) {
            if (positional(cmd, a, args, nargs, err, errcap) < 0)
                return OPT_ERROR;
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
        if (nl >= sizeof name)
            return unknown(cmd, a, err, errcap);
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (a[nl])
            val = a[nl] == '=' && a[1] == '-' ? a + nl + 1 : a + nl;
        if (names_flag(&opt_help_entry, name))
            return value_ok(&opt_help_entry, name, val, err, errcap) ? OPT_HELP : OPT_ERROR;
        size_t k = 0;
        const struct opt *o = find_from(cmd, name, &k);
        if (!o)
            return unknown(cmd, a[1] == '-' ? name : a, err, errcap);
        const struct opt_omit *m = omitted(cmd, o);
        if (m) {
            util_errf(err, errcap, "%s is not a flag of llmload %s (%s)", name, cmd->name, m->why);
            return OPT_ERROR;
        }
        if (o->meta && !val && i + 1 < argc)
            val = argv[++i];
        if (!value_ok(o, name, val, err, errcap))
            return OPT_ERROR;
        for (;;) {
            if (errcap)
                err[0] = '\0';
            int r = cmd->tables[k]->apply(ud[k], o, name, val, err, errcap);
            if (r > 0)
                break;
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
    return OPT_OK;
}

const struct opt *opt_next(const struct opt_cmd *cmd, struct opt_iter *it)
{
    for (; cmd->tables[it->table]; it->table++, it->entry = 0) {
        const struct opt_table *t = cmd->tables[it->table];
        for (; it->entry < t->n; it->entry++) {
            const struct opt *o = &t->opts[it->entry];
            if (!o->name) {
                /* --help closes the first section that holds flags. */
                if (o->id == OPT_ID_SECTION && it->flags_seen && !it->help_done) {
                    it->help_done = 1;
                    return &opt_help_entry;
                }
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
    if (!it->help_done) {
        it->help_done = 1;
        return &opt_help_entry;
    }
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
