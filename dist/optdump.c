/* llmload-options: prints every command and every flag of llmload as one
 * JSON document, read from the same tables the parser and --help use
 * (cli_commands[], opt_next).  dist/gen.py turns it into the man page and
 * the shell completions at build time, so neither can drift from --help.
 * Not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* The text a command's epilog_fn prints, or NULL. */
static char *epilog_text(const struct opt_cmd *c)
{
    if (!c->epilog_fn)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    c->epilog_fn(f);
    fclose(f);
    return buf;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    cJSON_AddItemToObject(o, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

/* The entries of c's --help, in order: headings, notes and flags. */
static cJSON *entries(const struct opt_cmd *c)
{
    cJSON *a = cJSON_CreateArray();
    struct opt_iter it = { 0 };
    for (const struct opt *o; (o = opt_next(c, &it)); ) {
        cJSON *e = cJSON_CreateObject();
        if (!o->name) {
            add_str(e, "kind", o->id == OPT_ID_SECTION ? "section" : "note");
            add_str(e, "text", o->help);
        } else {
            add_str(e, "kind", "flag");
            add_str(e, "name", o->name);
            cJSON *al = cJSON_AddArrayToObject(e, "aliases");
            for (size_t i = 0; i < OPT_ALIASES && o->alias[i]; i++)
                cJSON_AddItemToArray(al, cJSON_CreateString(o->alias[i]));
            add_str(e, "meta", o->meta);
            add_str(e, "help", o->help);
            char env[128];
            add_str(e, "env", opt_env_name(o, env, sizeof env));
        }
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

int main(void)
{
    cJSON *doc = cJSON_CreateObject();
    add_str(doc, "program", "llmload");
    add_str(doc, "version", LLMLOAD_VERSION);
    cJSON *cmds = cJSON_AddArrayToObject(doc, "commands");
    for (const struct cli_command *k = cli_commands; k->spec; k++) {
        const struct opt_cmd *c = k->spec;
        cJSON *o = cJSON_CreateObject();
        add_str(o, "name", c->name);
        add_str(o, "summary", c->summary);
        add_str(o, "usage", c->usage);
        add_str(o, "about", c->about);
        add_str(o, "args", c->args);
        cJSON_AddNumberToObject(o, "max_args", (double)c->max_args);
        add_str(o, "epilog", c->epilog);
        char *more = epilog_text(c);
        add_str(o, "epilog_more", more);
        free(more);
        cJSON_AddItemToObject(o, "entries", entries(c));
        cJSON_AddItemToArray(cmds, o);
    }
    char *s = cJSON_Print(doc);
    int ok = s && puts(s) >= 0 && fflush(stdout) == 0;
    cJSON_free(s);
    cJSON_Delete(doc);
    if (!ok) {
        fprintf(stderr, "llmload-options: cannot write the document\n");
        return 1;
    }
    return 0;
}
