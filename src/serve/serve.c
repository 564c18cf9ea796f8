/* `llmload serve` (serve.h): the loop, the routes, the targets' checks,
 * the built-in simulators and the run's child process. */
#include "serve.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <llhttp.h>
#include <uv.h>

#include "fileio.h"
#include "jdoc.h"
#include "obs_expo.h"
#include "obs_net.h"
#include "probe.h"
#include "target.h"
#include "secret.h"
#include "obs_httpd.h"
#include "serve_relay.h"
#include "serve_run.h"
#include "serve_sec.h"

#ifndef CHARTJS_PATH
#define CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#endif

extern const unsigned char serve_page_html[];     /* serve_page.c, made from page.html */
extern const size_t serve_page_html_len;

#define PROBE_TIMEOUT_NS 2000000000ull
#define LINE_MAX_BYTES 2048

struct serve;

/* A target and its latest check; the check runs on libuv's thread pool
 * (target_probe blocks), one at a time per target. */
struct starget {
    struct serve *s;
    size_t idx;
    uv_work_t work;
    int probing;
    cJSON *info, *next_info;        /* next_info: written by the worker only */
};

/* A child process whose output lines we read (a simulator's address, a
 * run's progress). */
struct child {
    struct serve *s;
    uv_process_t proc;
    uv_pipe_t out, err;
    int running, open;
    char line[LINE_MAX_BYTES];
    size_t line_len;
    void (*on_line)(struct child *ch, const char *line);
    void (*on_exit)(struct child *ch, int64_t status, int sig);
};

struct serve {
    struct serve_opts o;
    uv_loop_t *loop;
    struct obs_httpd *http;
    struct sockaddr_storage ss;
    uv_signal_t sigint, sigterm;
    uv_timer_t probe_timer, run_timer;
    char exe[4096];
    char results[4096];
    struct starget targets[SERVE_MAX_TARGETS];
    struct child mocks[2];
    size_t nmocks, mocks_ready;
    struct child run, report;
    int run_active, run_cancelled;
    char run_id[64];
    char push_secret[40];           /* the path the run's child pushes its metrics to */
    unsigned long runs_total;
    struct serve_relay relay;       /* the run's latest push of each (target, level) */
    unsigned long relay_dropped;
    char *chartjs;
    size_t chartjs_len;
    int stopping, rc;
    char *err;
    size_t errcap;
};

/* An error answer {"error":msg}; msg is our own text, quote-free. */
static void serve_error(struct obs_hconn *c, int status, const char *msg)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
    obs_hrespond(c, status, "application/json", NULL, body,
                 n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
}

/* --- options ---------------------------------------------------------------- */

void serve_opts_init(struct serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8089";
    o->max_concurrency = 64;
    o->max_requests = 200;
    o->max_duration_ns = 30ull * 60 * 1000000000ull;
    o->probe_interval_ns = 3000000000ull;
}

int serve_opts_add_target(struct serve_opts *o, const char *spec, char *err, size_t errcap)
{
    const char *eq = strchr(spec, '=');
    size_t nl = eq ? (size_t)(eq - spec) : 0;
    if (!eq || nl == 0 || nl >= sizeof o->targets[0].name) {
        snprintf(err, errcap, "%s: not NAME=URL", spec);
        return -1;
    }
    for (size_t i = 0; i < nl; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", spec[i])) {
            snprintf(err, errcap, "%s: a name is letters, digits, '.', '_' and '-'", spec);
            return -1;
        }
    if (strncmp(eq + 1, "http://", 7) && strncmp(eq + 1, "https://", 8)) {
        snprintf(err, errcap, "%s: the URL must start with http:// or https://", spec);
        return -1;
    }
    const char *at = target_model_at(eq + 1);
    size_t ul = at ? (size_t)(at - eq - 1) : strlen(eq + 1);
    if (ul >= sizeof o->targets[0].url) {
        snprintf(err, errcap, "%s: URL too long", spec);
        return -1;
    }
    if (at && !serve_run_model_ok(at + 1)) {
        snprintf(err, errcap, "%s: the model after '@' is not a model name", spec);
        return -1;
    }
    if (o->ntargets == SERVE_MAX_TARGETS) {
        snprintf(err, errcap, "more than %d targets", SERVE_MAX_TARGETS);
        return -1;
    }
    for (size_t i = 0; i < o->ntargets; i++)
        if (strlen(o->targets[i].name) == nl && !strncmp(o->targets[i].name, spec, nl)) {
            snprintf(err, errcap, "%s: the name is given twice", spec);
            return -1;
        }
    struct serve_target *t = &o->targets[o->ntargets++];
    snprintf(t->name, sizeof t->name, "%.*s", (int)nl, spec);
    snprintf(t->url, sizeof t->url, "%.*s", (int)ul, eq + 1);
    snprintf(t->model, sizeof t->model, "%s", at ? at + 1 : "");
    return 0;
}

int serve_opts_add_source(struct serve_opts *o, const char *flag, const char *path,
                          char *err, size_t errcap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!*base || strlen(base) >= sizeof o->sources[0].name) {
        snprintf(err, errcap, "%s: not a file name of 1 to %zu bytes", path, sizeof o->sources[0].name - 1);
        return -1;
    }
    if (access(path, R_OK) < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (o->nsources == SERVE_MAX_SOURCES) {
        snprintf(err, errcap, "more than %d prompt files and datasets", SERVE_MAX_SOURCES);
        return -1;
    }
    for (size_t i = 0; i < o->nsources; i++)
        if (!strcmp(o->sources[i].name, base)) {
            snprintf(err, errcap, "%s: another allowed file is named %s too (the page knows them "
                     "by name)", path, base);
            return -1;
        }
    struct serve_source *src = &o->sources[o->nsources++];
    snprintf(src->name, sizeof src->name, "%s", base);
    src->flag = flag;
    src->path = path;
    return 0;
}

int serve_opts_check(const struct serve_opts *o, char *err, size_t errcap)
{
    struct sockaddr_storage ss;
    char e[256];
    if (obs_listen_addr(o->listen, &ss, e, sizeof e) < 0) {
        snprintf(err, errcap, "--listen %s: %s", o->listen, e);
        return -1;
    }
    for (const char *p = o->token; *p; p++)
        if (*p <= ' ' || *p > '~' || strchr("&%;\"\\", *p)) {
            snprintf(err, errcap, "the token: printable ASCII without spaces, &, %%, ;, \" or \\");
            return -1;
        }
    if (*o->token && strlen(o->token) < 16) {
        snprintf(err, errcap, "the token: at least 16 characters");
        return -1;
    }
    if (!serve_sec_loopback(&ss) && !*o->token) {
        snprintf(err, errcap, "--listen %s is not a loopback address: give --token or --token-file "
                 "(every request must then carry it)", o->listen);
        return -1;
    }
    if (o->max_concurrency == 0 || o->max_requests == 0 || o->max_duration_ns == 0) {
        snprintf(err, errcap, "--max-concurrency, --max-requests and --max-duration must be > 0");
        return -1;
    }
    return 0;
}

/* --- child processes -------------------------------------------------------- */

static void child_handle_closed(uv_handle_t *h)
{
    struct child *ch = h->data;
    ch->open--;
}

static void child_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    static char buf[4096];       /* the loop is one thread; a read is consumed at once */
    (void)hint;
    *b = uv_buf_init(buf, sizeof buf);
}

/* Splits the output into lines (a progress line ends in '\r' too); a
 * line longer than the buffer is cut. */
static void child_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct child *ch = st->data;
    if (n < 0) {
        uv_read_stop(st);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char ch_ = b->base[i];
        if (ch_ == '\n' || ch_ == '\r') {
            ch->line[ch->line_len] = '\0';
            if (ch->line_len && ch->on_line)
                ch->on_line(ch, ch->line);
            ch->line_len = 0;
        } else if (ch->line_len < sizeof ch->line - 1) {
            ch->line[ch->line_len++] = ch_;
        }
    }
}

static void child_exited(uv_process_t *p, int64_t status, int sig)
{
    struct child *ch = p->data;
    ch->running = 0;
    if (ch->on_exit)
        ch->on_exit(ch, status, sig);
    uv_close((uv_handle_t *)&ch->proc, child_handle_closed);
}

/* Starts exe with args (args[0] the subcommand), its stdout and stderr
 * read line by line.  0, or -1 with err. */
static int child_start(struct serve *s, struct child *ch, char **args, char *err, size_t errcap)
{
    char *argv[SERVE_RUN_MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = s->exe;
    for (; args[n - 1] && n < SERVE_RUN_MAX_ARGS + 1; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    ch->s = s;
    ch->line_len = 0;
    uv_pipe_init(s->loop, &ch->out, 0);
    uv_pipe_init(s->loop, &ch->err, 0);
    ch->out.data = ch->err.data = ch->proc.data = ch;
    ch->open = 3;
    uv_stdio_container_t io[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->out },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->err },
    };
    uv_process_options_t po = {
        .exit_cb = child_exited, .file = s->exe, .args = argv, .stdio = io, .stdio_count = 3,
    };
    int rc = uv_spawn(s->loop, &ch->proc, &po);
    if (rc < 0) {
        snprintf(err, errcap, "cannot start %s: %s", s->exe, uv_strerror(rc));
        ch->open = 2;
        uv_close((uv_handle_t *)&ch->out, child_handle_closed);
        uv_close((uv_handle_t *)&ch->err, child_handle_closed);
        uv_close((uv_handle_t *)&ch->proc, NULL);
        return -1;
    }
    ch->running = 1;
    uv_read_start((uv_stream_t *)&ch->out, child_alloc, child_read);
    uv_read_start((uv_stream_t *)&ch->err, child_alloc, child_read);
    return 0;
}

/* The pipes close when the child has exited and said everything. */
static void child_close_pipes(struct child *ch)
{
    if (!uv_is_closing((uv_handle_t *)&ch->out))
        uv_close((uv_handle_t *)&ch->out, child_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&ch->err))
        uv_close((uv_handle_t *)&ch->err, child_handle_closed);
}

/* --- shutdown --------------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* The last step of a stop: the simulators die with the dashboard. */
static void serve_stopped(struct serve *s)
{
    for (size_t i = 0; i < s->nmocks; i++)
        if (s->mocks[i].running)
            uv_process_kill(&s->mocks[i].proc, SIGTERM);
    uv_stop(s->loop);
}

static void serve_stop(struct serve *s)
{
    /* A second signal does not wait for the run any longer. */
    if (s->stopping) {
        uv_stop(s->loop);
        return;
    }
    s->stopping = 1;
    /* The run keeps what it measured (compare's Ctrl-C) and the loop waits
     * for it to write its files (run_exit finishes the stop then). */
    obs_httpd_stop(s->http);
    s->http = NULL;
    uv_timer_stop(&s->probe_timer);
    if (s->run.running)
        uv_process_kill(&s->run.proc, SIGINT);
    else
        serve_stopped(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    serve_stop(h->data);
}

/* --- targets ---------------------------------------------------------------- */

static void probe_work(uv_work_t *w)
{
    struct starget *t = w->data;
    int usage;
    /* The key compare uses by default, so a check and a run agree. */
    const char *key = getenv("OPENAI_API_KEY");
    /* A dashboard's check goes straight to the target: the proxy settings
     * of the environment are for runs ("" is no proxy). */
    struct target_net net = { .api_key = key && *key ? key : NULL, .proxy = "" };
    t->next_info = target_probe(t->s->o.targets[t->idx].url, API_AUTO, &net, PROBE_TIMEOUT_NS, &usage);
}

static void probe_done(uv_work_t *w, int status)
{
    struct starget *t = w->data;
    (void)status;
    t->probing = 0;
    if (t->next_info) {
        cJSON_Delete(t->info);
        t->info = t->next_info;
        t->next_info = NULL;
    }
}

static void probe_all(uv_timer_t *tm)
{
    struct serve *s = tm->data;
    /* No check during a run: its requests would be load the run did not
     * ask for (the dots keep their last state). */
    if (s->run_active)
        return;
    for (size_t i = 0; i < s->o.ntargets; i++) {
        struct starget *t = &s->targets[i];
        if (t->probing || s->stopping)
            continue;
        t->s = s;
        t->idx = i;
        t->work.data = t;
        if (uv_queue_work(s->loop, &t->work, probe_work, probe_done) == 0)
            t->probing = 1;
    }
}

static int target_up(const struct starget *t)
{
    return t->info && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t->info, "up")) &&
           !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t->info, "unauthorized"));
}

static cJSON *targets_json(struct serve *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < s->o.ntargets; i++) {
        const struct starget *t = &s->targets[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->o.targets[i].name);
        cJSON_AddStringToObject(o, "url", s->o.targets[i].url);
        cJSON_AddStringToObject(o, "model", s->o.targets[i].model);
        cJSON_AddStringToObject(o, "status", !t->info ? "unknown" : target_up(t) ? "up" : "down");
        if (t->info) {
            const char *keys[] = { "protocol", "api", "version", "error" };
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->info, keys[k]);
                if (cJSON_IsString(v))
                    cJSON_AddStringToObject(o, keys[k], v->valuestring);
            }
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(t->info, "models");
            cJSON_AddItemToObject(o, "models", m ? cJSON_Duplicate(m, 1) : cJSON_CreateArray());
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* --- the run ---------------------------------------------------------------- */

static void sse_json(struct serve *s, const char *event, cJSON *data)
{
    char *t = cJSON_PrintUnformatted(data);
    if (t && s->http)
        obs_hsse_broadcast(s->http, event, t);
    free(t);
    cJSON_Delete(data);
}

static void run_line(struct child *ch, const char *line)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", ch->s->run_id);
    cJSON_AddStringToObject(d, "line", line);
    sse_json(ch->s, "log", d);
}

static void report_exit(struct child *ch, int64_t status, int sig)
{
    struct serve *s = ch->s;
    child_close_pipes(ch);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", s->run_id);
    cJSON_AddBoolToObject(d, "html", status == 0 && sig == 0);
    sse_json(s, "report", d);
}

/* The run's HTML report (`llmload report ID.json -o ID.html`), in a child
 * too: drawing it is work the loop must not do. */
static void start_report(struct serve *s)
{
    char in[4200], out[4200], err[256];
    snprintf(in, sizeof in, "%s/%s.json", s->results, s->run_id);
    snprintf(out, sizeof out, "--output=%s/%s.html", s->results, s->run_id);
    char *args[] = { "report", out, "--", in, NULL };
    s->report.on_line = NULL;
    s->report.on_exit = report_exit;
    if (s->report.open || child_start(s, &s->report, args, err, sizeof err) < 0)
        fprintf(stderr, "llmload serve: no HTML report of %s: %s\n", s->run_id,
                s->report.open ? "the last one is still being drawn" : err);
}

static void run_exit(struct child *ch, int64_t status, int sig)
{
    struct serve *s = ch->s;
    uv_timer_stop(&s->run_timer);
    child_close_pipes(ch);
    s->run_active = 0;
    s->push_secret[0] = '\0';
    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/%s.json", s->results, s->run_id);
    cJSON *doc = jdoc_read_file(path, err, sizeof err);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", s->run_id);
    cJSON_AddNumberToObject(d, "exit", sig ? 128 + sig : (double)status);
    cJSON_AddBoolToObject(d, "cancelled", s->run_cancelled);
    cJSON_AddBoolToObject(d, "saved", doc != NULL);
    if (doc && !s->stopping)
        start_report(s);
    if (doc)
        cJSON_AddItemToObject(d, "recommendation",
                              cJSON_DetachItemFromObject(doc, "recommendation"));
    cJSON_Delete(doc);
    sse_json(s, "done", d);
    if (s->stopping)
        serve_stopped(s);
}

static void run_deadline(uv_timer_t *t)
{
    struct serve *s = t->data;
    if (s->run.running) {
        s->run_cancelled = 1;
        uv_process_kill(&s->run.proc, SIGINT);
    }
}

static void start_run(struct serve *s, struct obs_hconn *c, const struct obs_hreq *r)
{
    if (s->run_active || s->run.open) {
        serve_error(c, 409, "a run is already going on: one at a time");
        return;
    }
    char id[64], jpath[4200], cpath[4200], err[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(id, sizeof id, "%Y%m%d-%H%M%S", &tm);
    snprintf(id + n, sizeof id - n, "-%lu", s->runs_total + 1);
    snprintf(jpath, sizeof jpath, "%s/%s.json", s->results, id);
    snprintf(cpath, sizeof cpath, "%s/%s.csv", s->results, id);
    struct serve_run_args a;
    if (serve_run_parse(&s->o, r->body, jpath, cpath, &a, err, sizeof err) < 0) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", err);
        char *t = cJSON_PrintUnformatted(e);
        obs_hrespond(c, 400, "application/json", NULL, t ? t : "{}", t ? strlen(t) : 2);
        free(t);
        cJSON_Delete(e);
        return;
    }
    /* The child pushes its live metrics (every second, and each level's
     * final ones) to a path only it knows: it cannot carry the token. */
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        serve_run_args_free(&a);
        serve_error(c, 500, "no random bytes for the run's push path");
        return;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->push_secret + 2 * i, 3, "%02x", rnd[i]);
    char host[80];
    if (serve_sec_wildcard(&s->ss))
        snprintf(host, sizeof host, "%s", s->ss.ss_family == AF_INET6 ? "[::1]" : "127.0.0.1");
    else
        serve_sec_host_text(&s->ss, host, sizeof host);
    if (serve_run_arg(&a, "--push=http://%s:%d/api/push/%s", host, obs_httpd_port(s->http),
                      s->push_secret) < 0 ||
        serve_run_arg(&a, "--push-interval=1s") < 0) {
        serve_run_args_free(&a);
        serve_error(c, 500, "out of memory");
        return;
    }
    s->run.on_line = run_line;
    s->run.on_exit = run_exit;
    if (child_start(s, &s->run, a.argv, err, sizeof err) < 0) {
        serve_run_args_free(&a);
        serve_error(c, 500, "cannot start the run");
        return;
    }
    serve_run_args_free(&a);
    snprintf(s->run_id, sizeof s->run_id, "%s", id);
    serve_relay_clear(&s->relay);
    s->run_active = 1;
    s->run_cancelled = 0;
    s->runs_total++;
    uv_timer_start(&s->run_timer, run_deadline, s->o.max_duration_ns / 1000000, 0);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", id);
    char *t = cJSON_PrintUnformatted(d);
    if (t)
        obs_hsse_broadcast(s->http, "start", t);
    obs_hrespond(c, 200, "application/json", NULL, t ? t : "{}", t ? strlen(t) : 2);
    free(t);
    cJSON_Delete(d);
}

/* --- history ---------------------------------------------------------------- */

static int id_ok(const char *id, size_t n)
{
    if (n == 0 || n > 60)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", id[i]))
            return 0;
    return 1;
}

static int cmp_str_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

static cJSON *runs_json(struct serve *s)
{
    cJSON *a = cJSON_CreateArray();
    DIR *d = opendir(s->results);
    char *names[512];
    size_t n = 0;
    for (struct dirent *e; d && n < 512 && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json") && id_ok(e->d_name, l - 5))
            names[n++] = strndup(e->d_name, l - 5);
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], cmp_str_desc);
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", names[i]);
        cJSON_AddBoolToObject(o, "running", s->run_active && !strcmp(names[i], s->run_id));
        char html[4200];
        snprintf(html, sizeof html, "%s/%s.html", s->results, names[i]);
        cJSON_AddBoolToObject(o, "html", access(html, R_OK) == 0);
        cJSON_AddItemToArray(a, o);
        free(names[i]);
    }
    return a;
}

static void send_run_file(struct serve *s, struct obs_hconn *c, const char *file)
{
    const char *dot = strrchr(file, '.');
    const char *ctype = NULL;
    if (dot && !strcmp(dot, ".json"))
        ctype = "application/json";
    else if (dot && !strcmp(dot, ".csv"))
        ctype = "text/csv; charset=utf-8";
    else if (dot && !strcmp(dot, ".html"))
        ctype = "text/html; charset=utf-8";     /* an attachment: never rendered here */
    if (!ctype || !id_ok(file, (size_t)(dot - file))) {
        serve_error(c, 404, "no such run");
        return;
    }
    char path[4200], err[256], disp[160];
    snprintf(path, sizeof path, "%s/%s", s->results, file);
    size_t len;
    char *data = fileio_read_all(path, 256u << 20, &len, err, sizeof err);
    if (!data) {
        serve_error(c, 404, "no such run");
        return;
    }
    snprintf(disp, sizeof disp, "Content-Disposition: attachment; filename=\"llmload-%s\"\r\n", file);
    obs_hrespond(c, 200, ctype, disp, data, len);
    free(data);
}

/* --- the run's pushes ------------------------------------------------------ */

/* The value of "/NAME/VALUE" in a push path's grouping labels, into out. */
static void push_label(const char *path, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "/%s/", name);
    const char *p = strstr(path, key);
    out[0] = '\0';
    if (p) {
        p += strlen(key);
        snprintf(out, cap, "%.*s", (int)strcspn(p, "/"), p);
    }
}

/* A number of the sample event, null when the push has none (a
 * percentile before the level's first answer). */
static void add_num(cJSON *d, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(d, key);
    else
        cJSON_AddNumberToObject(d, key, v);
}

/* A push of the run's child (--push): relayed as an SSE "sample". */
static void take_push(struct serve *s, struct obs_hconn *c, const struct obs_hreq *r)
{
    const char *rest = r->path + 10;            /* after "/api/push/" */
    size_t sl = strcspn(rest, "/");
    if (!s->run_active || !s->push_secret[0] || !serve_sec_same(s->push_secret, rest, sl)) {
        serve_error(c, 404, "not found");
        return;
    }
    char target[64], level[32];
    push_label(rest + sl, "target", target, sizeof target);
    push_label(rest + sl, "sweep_level", level, sizeof level);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", s->run_id);
    cJSON_AddStringToObject(d, "target", target);
    cJSON_AddStringToObject(d, "level", level);
    const char *b = r->body;
    add_num(d, "elapsed", fmax(0, serve_relay_sum(b, "llmload_run_elapsed_seconds", NULL)));
    add_num(d, "output_tokens", fmax(0, serve_relay_sum(b, "llmload_output_tokens_total", NULL)));
    add_num(d, "in_flight", fmax(0, serve_relay_sum(b, "llmload_requests_in_flight", NULL)));
    add_num(d, "finished", fmax(0, serve_relay_sum(b, "llmload_run_finished", NULL)));
    /* Within the running level so far: its requests by outcome and its
     * nearest-rank percentiles, as the child computes them. */
    static const char *const ok[] = { "outcome=\"ok\"", NULL }, *const bad[] = { "outcome=\"error\"", NULL };
    double nok = serve_relay_sum(b, "llmload_requests_total", ok);
    double nbad = serve_relay_sum(b, "llmload_requests_total", bad);
    nok = isnan(nok) ? 0 : nok;
    nbad = isnan(nbad) ? 0 : nbad;
    add_num(d, "ok", nok);
    add_num(d, "errors", nbad);
    add_num(d, "success_rate", nok + nbad > 0 ? nok / (nok + nbad) : NAN);
    static const char *const lat[][3] = {
        { "ttft_p95", "metric=\"ttft\"", "percentile=\"95\"" },
        { "ttft_p99", "metric=\"ttft\"", "percentile=\"99\"" },
        { "e2e_p95", "metric=\"e2e\"", "percentile=\"95\"" },
        { "e2e_p99", "metric=\"e2e\"", "percentile=\"99\"" },
    };
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++) {
        const char *want[] = { lat[i][1], lat[i][2], NULL };
        add_num(d, lat[i][0], serve_relay_sum(b, "llmload_latency_percentile_seconds", want));
    }
    sse_json(s, "sample", d);
    /* Kept for /metrics; a group past the bound is only not relayed. */
    if (serve_relay_put(&s->relay, target, level, r->body, r->body_len) < 0)
        s->relay_dropped++;
    obs_hrespond(c, 200, "text/plain", NULL, "", 0);
}

/* --- routes ----------------------------------------------------------------- */

static void send_json(struct obs_hconn *c, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t) {
        serve_error(c, 500, "out of memory");
        return;
    }
    obs_hrespond(c, 200, "application/json", NULL, t, strlen(t));
    free(t);
}

static void send_metrics(struct serve *s, struct obs_hconn *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        serve_error(c, 500, "out of memory");
        return;
    }
    fprintf(f, "# HELP llmload_serve_run_active Whether a run is going on.\n"
               "# TYPE llmload_serve_run_active gauge\nllmload_serve_run_active %d\n"
               "# HELP llmload_serve_runs_total Runs started since the dashboard started.\n"
               "# TYPE llmload_serve_runs_total counter\nllmload_serve_runs_total %lu\n"
               "# HELP llmload_serve_streams Browsers following the live events.\n"
               "# TYPE llmload_serve_streams gauge\nllmload_serve_streams %u\n"
               "# HELP llmload_serve_target_up Whether the last check of the target succeeded.\n"
               "# TYPE llmload_serve_target_up gauge\n",
            s->run_active, s->runs_total, s->http ? obs_httpd_streams(s->http) : 0);
    for (size_t i = 0; i < s->o.ntargets; i++) {
        fputs("llmload_serve_target_up{target=\"", f);
        obs_put_label_value(f, s->o.targets[i].name);
        fprintf(f, "\"} %d\n", target_up(&s->targets[i]));
    }
    fprintf(f, "# HELP llmload_serve_relay_dropped_total Pushes of the run not relayed (too many groups).\n"
               "# TYPE llmload_serve_relay_dropped_total counter\nllmload_serve_relay_dropped_total %lu\n",
            s->relay_dropped);
    /* The latest run's own metrics, as its child pushed them. */
    serve_relay_write(&s->relay, f);
    fclose(f);
    obs_hrespond(c, 200, obs_content_type(OBS_FMT_PROMETHEUS), NULL, text, len);
    free(text);
}

static void send_chartjs(struct serve *s, struct obs_hconn *c)
{
    if (!s->chartjs) {
        const char *path = getenv("LLMLOAD_CHARTJS");
        char err[256];
        s->chartjs = fileio_read_all(path && *path ? path : CHARTJS_PATH, 8u << 20,
                                     &s->chartjs_len, err, sizeof err);
        if (!s->chartjs) {
            serve_error(c, 404, "Chart.js is not installed (apt-get install libjs-chart.js)");
            return;
        }
    }
    obs_hrespond(c, 200, "text/javascript; charset=utf-8", NULL, s->chartjs, s->chartjs_len);
}

static void route(void *ud, struct obs_hconn *c, const struct obs_hreq *r)
{
    struct serve *s = ud;
    const char *p = r->path;
    /* The order matters: a foreign Host is refused before the token is
     * looked at, so a rebound name learns nothing, not even a 401. */
    if (!serve_sec_host_ok(r->host, &s->ss, obs_httpd_port(s->http))) {
        serve_error(c, 421, "wrong Host: use the address the server listens on");
        return;
    }
    /* The child's pushes carry their own secret in the path, not the token. */
    if (r->method == HTTP_POST && !strncmp(p, "/api/push/", 10)) {
        take_push(s, c, r);
        return;
    }
    int from_query;
    if (!serve_sec_token_ok(s->o.token, r->authz, r->cookie, r->query, &from_query)) {
        serve_error(c, 401, "a token is needed: open the URL with ?token=TOKEN once");
        return;
    }
    int get = r->method == HTTP_GET || r->method == HTTP_HEAD;
    int post = r->method == HTTP_POST;
    if (post && !serve_sec_origin_ok(r->origin, r->host)) {
        serve_error(c, 403, "foreign Origin: a POST must come from this page");
        return;
    }
    if (get && !strcmp(p, "/")) {
        char cookie[512] = "";
        if (from_query)
            snprintf(cookie, sizeof cookie, "Set-Cookie: " SERVE_COOKIE "=%s; Path=/; HttpOnly; "
                     "SameSite=Strict\r\n", s->o.token);
        strncat(cookie, "Content-Security-Policy: default-src 'self'; script-src 'self' 'unsafe-inline'; "
                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'\r\n",
                sizeof cookie - strlen(cookie) - 1);
        obs_hrespond(c, 200, "text/html; charset=utf-8", cookie, (const char *)serve_page_html,
                      serve_page_html_len);
    } else if (get && !strcmp(p, "/assets/chart.js")) {
        send_chartjs(s, c);
    } else if (get && !strcmp(p, "/api/targets")) {
        send_json(c, targets_json(s));
    } else if (get && !strcmp(p, "/api/status")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "running", s->run_active);
        cJSON_AddStringToObject(j, "run", s->run_active ? s->run_id : "");
        cJSON_AddNumberToObject(j, "max_concurrency", s->o.max_concurrency);
        cJSON_AddNumberToObject(j, "max_requests", s->o.max_requests);
        cJSON_AddNumberToObject(j, "max_duration_s", (double)(s->o.max_duration_ns / 1000000000ull));
        /* The allowed prompt files and datasets, by name only. */
        cJSON *ps = cJSON_AddArrayToObject(j, "prompts");
        for (size_t i = 0; i < s->o.nsources; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", s->o.sources[i].name);
            cJSON_AddStringToObject(e, "kind", s->o.sources[i].flag + 2);
            cJSON_AddItemToArray(ps, e);
        }
        send_json(c, j);
    } else if (get && !strcmp(p, "/api/events")) {
        obs_hsse_begin(c);
    } else if (get && !strcmp(p, "/api/runs")) {
        send_json(c, runs_json(s));
    } else if (get && !strncmp(p, "/api/runs/", 10)) {
        send_run_file(s, c, p + 10);
    } else if (get && !strcmp(p, "/metrics")) {
        send_metrics(s, c);
    } else if (post && !strcmp(p, "/api/run")) {
        start_run(s, c, r);
    } else if (post && !strcmp(p, "/api/cancel")) {
        if (!s->run.running) {
            serve_error(c, 409, "no run is going on");
            return;
        }
        s->run_cancelled = 1;
        uv_process_kill(&s->run.proc, SIGINT);
        obs_hrespond(c, 200, "application/json", NULL, "{\"cancelled\":true}\n", 18);
    } else if (!get && !post) {
        serve_error(c, 405, "method not allowed");
    } else {
        serve_error(c, 404, "not found");
    }
}

/* --- start ------------------------------------------------------------------ */

static int start_listening(struct serve *s)
{
    static const struct obs_httpd_cfg cfg = {
        .max_conns = 64, .max_head = 16384, .max_body = 65536, .timeout_ms = 10000,
    };
    if (!(s->http = obs_httpd_start(s->loop, &s->ss, &cfg, route, s, s->err, s->errcap)))
        return -1;
    char host[80];
    serve_sec_host_text(&s->ss, host, sizeof host);
    printf("http://%s:%d/\n", host, obs_httpd_port(s->http));
    fflush(stdout);
    uv_timer_start(&s->probe_timer, probe_all, 0, s->o.probe_interval_ns / 1000000);
    return 0;
}

static void mock_line(struct child *ch, const char *line)
{
    struct serve *s = ch->s;
    size_t i = (size_t)(ch - s->mocks);
    if (s->o.targets[i].url[0] || strncmp(line, "http://", 7))
        return;
    snprintf(s->o.targets[i].url, sizeof s->o.targets[i].url, "%s", line);
    if (++s->mocks_ready == s->nmocks && start_listening(s) < 0) {
        s->rc = -1;
        serve_stop(s);
    }
}

static void mock_exit(struct child *ch, int64_t status, int sig)
{
    struct serve *s = ch->s;
    child_close_pipes(ch);
    if (s->mocks_ready < s->nmocks && !s->stopping) {
        snprintf(s->err, s->errcap, "the built-in simulator exited (status %lld, signal %d) before "
                 "it listened", (long long)status, sig);
        s->rc = -1;
        serve_stop(s);
    }
}

/* The built-in simulators: two speeds, so a first comparison has a
 * winner. */
static int start_mocks(struct serve *s)
{
    static const struct { const char *name; const char *rate, *ttft; } prof[2] = {
        { "sim-fast", "--decode-rate=120", "--ttft-base=20ms" },
        { "sim-slow", "--decode-rate=40", "--ttft-base=80ms" },
    };
    for (size_t i = 0; i < 2; i++) {
        char *args[] = { "mock", "--listen=127.0.0.1:0", (char *)prof[i].rate, (char *)prof[i].ttft, NULL };
        snprintf(s->o.targets[i].name, sizeof s->o.targets[i].name, "%s", prof[i].name);
        s->o.targets[i].url[0] = '\0';
        s->mocks[i].on_line = mock_line;
        s->mocks[i].on_exit = mock_exit;
        if (child_start(s, &s->mocks[i], args, s->err, s->errcap) < 0)
            return -1;
        s->nmocks++;
    }
    s->o.ntargets = 2;
    return 0;
}

static int results_dir(struct serve *s)
{
    if (s->o.results_dir)
        snprintf(s->results, sizeof s->results, "%s", s->o.results_dir);
    else if (getenv("XDG_STATE_HOME") && *getenv("XDG_STATE_HOME"))
        snprintf(s->results, sizeof s->results, "%s/llmload/serve", getenv("XDG_STATE_HOME"));
    else if (getenv("HOME"))
        snprintf(s->results, sizeof s->results, "%s/.local/state/llmload/serve", getenv("HOME"));
    else {
        snprintf(s->err, s->errcap, "no --results-dir, and neither XDG_STATE_HOME nor HOME is set");
        return -1;
    }
    /* mkdir -p, private: results can name internal servers. */
    for (char *p = s->results + 1;; p++) {
        if (*p == '/' || !*p) {
            char save = *p;
            *p = '\0';
            int r = mkdir(s->results, 0700);
            *p = save;
            if (r < 0 && errno != EEXIST) {
                snprintf(s->err, s->errcap, "--results-dir %s: %s", s->results, strerror(errno));
                return -1;
            }
            if (!save)
                break;
        }
    }
    return 0;
}

int serve_main(const struct serve_opts *o, char *err, size_t errcap)
{
    struct serve *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    s->o = *o;
    s->err = err;
    s->errcap = errcap;
    err[0] = '\0';
    int rc = -1;
    if (obs_listen_addr(o->listen, &s->ss, err, errcap) < 0 || results_dir(s) < 0)
        goto out;
    size_t elen = sizeof s->exe;
    if (uv_exepath(s->exe, &elen) < 0) {
        snprintf(err, errcap, "cannot find the llmload binary's own path");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Never shown on the page, whatever a server echoes (secret.h). */
    if (secret_add(getenv("OPENAI_API_KEY")) < 0) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    s->loop = uv_default_loop();
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_timer_init(s->loop, &s->probe_timer);
    uv_timer_init(s->loop, &s->run_timer);
    s->probe_timer.data = s->run_timer.data = s;
    if (o->ntargets == 0 ? start_mocks(s) : start_listening(s)) {
        serve_stop(s);
    } else {
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    rc = s->rc;
    if (!err[0] && s->rc == 0)
        rc = 0;
    else if (err[0])
        rc = -1;
    /* Close everything and let the thread pool's checks finish. */
    uv_walk(s->loop, close_walk, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < s->o.ntargets; i++)
        cJSON_Delete(s->targets[i].info);
    serve_relay_clear(&s->relay);
    uv_loop_close(s->loop);
out:
    free(s->chartjs);
    free(s);
    return rc;
}
