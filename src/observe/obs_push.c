/* Pushgateway pushes (obs_push.h). */
#include "obs_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void obs_push_cfg_init(struct obs_push_cfg *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->job, sizeof c->job, "llmload");
}

int obs_push_label_add(struct obs_push_cfg *c, const char *kv, char *err, size_t errcap)
{
    const char *eq = strchr(kv, '=');
    size_t nlen = eq ? (size_t)(eq - kv) : 0;
    struct obs_push_label lb;
    if (!eq || nlen == 0 || nlen >= sizeof lb.name) {
        snprintf(err, errcap, "%s: expected NAME=VALUE", kv);
        return -1;
    }
    memcpy(lb.name, kv, nlen);
    lb.name[nlen] = '\0';
    if (!obs_label_name_ok(lb.name)) {
        snprintf(err, errcap, "%s: '%s' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no __)",
                 kv, lb.name);
        return -1;
    }
    if (!strcmp(lb.name, "job")) {
        snprintf(err, errcap, "%s: the job is set by --push-job", kv);
        return -1;
    }
    if (strlen(eq + 1) >= sizeof lb.value) {
        snprintf(err, errcap, "%s: value longer than %zu bytes", kv, sizeof lb.value - 1);
        return -1;
    }
    snprintf(lb.value, sizeof lb.value, "%s", eq + 1);
    for (size_t i = 0; i < c->nlabels; i++)
        if (!strcmp(c->labels[i].name, lb.name)) {
            c->labels[i] = lb;
            return 0;
        }
    if (c->nlabels == OBS_PUSH_LABELS_MAX) {
        snprintf(err, errcap, "%s: more than %d grouping labels", kv, OBS_PUSH_LABELS_MAX);
        return -1;
    }
    c->labels[c->nlabels++] = lb;
    return 0;
}

static int plain(const char *v)
{
    if (!*v)
        return 0;
    for (const char *p = v; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_' || ch == '~'))
            return 0;
    }
    return 1;
}

/* Appends "/name/value" or "/name@base64/VALUE" to buf at *o. */
static int put_segment(char *buf, size_t cap, size_t *o, const char *name, const char *v)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int n;
    if (plain(v)) {
        n = snprintf(buf + *o, cap - *o, "/%s/%s", name, v);
        if (n < 0 || (size_t)n >= cap - *o)
            return -1;
        *o += (size_t)n;
        return 0;
    }
    n = snprintf(buf + *o, cap - *o, "/%s@base64/", name);
    if (n < 0 || (size_t)n >= cap - *o)
        return -1;
    *o += (size_t)n;
    const unsigned char *p = (const unsigned char *)v;
    size_t len = strlen(v);
    if (len == 0) {             /* the API's spelling of an empty value */
        if (*o + 2 > cap)
            return -1;
        buf[(*o)++] = '=';
        buf[*o] = '\0';
        return 0;
    }
    for (size_t i = 0; i < len; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        char q[4] = { b64[x >> 18 & 63], b64[x >> 12 & 63],
                      i + 1 < len ? b64[x >> 6 & 63] : '=', i + 2 < len ? b64[x & 63] : '=' };
        if (*o + 5 > cap)
            return -1;
        memcpy(buf + *o, q, 4);
        *o += 4;
    }
    buf[*o] = '\0';
    return 0;
}

int obs_push_path(const struct obs_push_cfg *c, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/metrics", c->url.path);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    size_t o = (size_t)n;
    if (put_segment(buf, cap, &o, "job", c->job) < 0)
        return -1;
    for (size_t i = 0; i < c->nlabels; i++)
        if (put_segment(buf, cap, &o, c->labels[i].name, c->labels[i].value) < 0)
            return -1;
    return 0;
}

void obs_push_strip_labels(const struct obs_push_cfg *c, struct obs_labels *l)
{
    for (size_t i = 0; i < c->nlabels; i++) {
        const char *n = c->labels[i].name;
        if (!strcmp(n, "target"))
            l->target = NULL;
        else if (!strcmp(n, "model"))
            l->model = NULL;
        else if (!strcmp(n, "api"))
            l->api = NULL;
        else if (!strcmp(n, "run_id"))
            l->run_id = NULL;
    }
}

/* The request of a push; path must hold the obs_push_path. */
static int push_req(const struct obs_push_cfg *c, const char *body, size_t len, char *path,
                    size_t pcap, struct obs_fetch_req *rq)
{
    if (obs_push_path(c, path, pcap) < 0)
        return -1;
    *rq = (struct obs_fetch_req){
        .url = &c->url, .method = c->replace ? "PUT" : "POST", .path = path,
        .ctype = OBS_CT_PROMETHEUS, .body = body, .len = len,
        .timeout_ms = OBS_PUSH_TIMEOUT_MS, .max_body = 65536,
    };
    return 0;
}

/* The gateway's verdict: 2xx is a success; otherwise err gets the status
 * and the first line of its answer (it says what it refused). */
static int verdict(const struct obs_push_cfg *c, int status, const char *body, size_t len,
                   char *err, size_t errcap)
{
    if (status >= 200 && status < 300)
        return 0;
    size_t n = 0;
    while (n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
        n++;
    snprintf(err, errcap, "push to %.100s:%s: HTTP %d%s%.*s", c->url.host, c->url.port, status,
             n ? ": " : "", (int)n, body ? body : "");
    return -1;
}

int obs_push_sync(const struct obs_push_cfg *c, const char *body, size_t len, char *err,
                  size_t errcap)
{
    char path[4096], e[256];
    struct obs_fetch_req rq;
    int status;
    char *resp = NULL;
    size_t rlen = 0;
    if (push_req(c, body, len, path, sizeof path, &rq) < 0) {
        snprintf(err, errcap, "push: the grouping labels make too long a path");
        return -1;
    }
    if (obs_fetch_sync(&rq, &status, &resp, &rlen, e, sizeof e) < 0) {
        snprintf(err, errcap, "push to %.100s:%s: %.200s", c->url.host, c->url.port, e);
        return -1;
    }
    int rc = verdict(c, status, resp, rlen, err, errcap);
    free(resp);
    return rc;
}

/* --- interval pushes -------------------------------------------------------- */

struct obs_pusher {
    uv_timer_t timer;
    const struct obs_push_cfg *cfg;
    obs_provider_fn fn;
    void *ud;
    struct obs_fetch *inflight;
    struct obs_pusher_stats st;
    char path[4096];
};

static void pushed(void *ud, int status, const char *body, size_t len, const char *err)
{
    struct obs_pusher *p = ud;
    p->inflight = NULL;
    if (err) {
        snprintf(p->st.last_error, sizeof p->st.last_error, "push to %.100s:%s: %.200s",
                 p->cfg->url.host, p->cfg->url.port, err);
        p->st.failed++;
    } else if (verdict(p->cfg, status, body, len, p->st.last_error,
                       sizeof p->st.last_error) < 0) {
        p->st.failed++;
    } else {
        p->st.last_error[0] = '\0';
        p->st.pushed++;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct obs_pusher *p = t->data;
    struct obs_fetch_req rq;
    char *body = NULL;
    size_t len = 0;
    if (p->inflight) {
        p->st.skipped++;
        return;
    }
    FILE *f = open_memstream(&body, &len);
    int rc = f ? p->fn(p->ud, f, OBS_FMT_PROMETHEUS) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    /* the exchange copies the body into its request */
    if (rc < 0 || push_req(p->cfg, body, len, p->path, sizeof p->path, &rq) < 0 ||
        !(p->inflight = obs_fetch_start(t->loop, &rq, pushed, p))) {
        snprintf(p->st.last_error, sizeof p->st.last_error, "push: cannot prepare the body");
        p->st.failed++;
    }
    free(body);
}

struct obs_pusher *obs_pusher_start(uv_loop_t *loop, const struct obs_push_cfg *c,
                                    uint64_t interval_ms, obs_provider_fn fn, void *ud)
{
    struct obs_pusher *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = c;
    p->fn = fn;
    p->ud = ud;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_unref((uv_handle_t *)&p->timer);
    uv_timer_start(&p->timer, on_tick, interval_ms, interval_ms);
    return p;
}

void obs_pusher_stats(const struct obs_pusher *p, struct obs_pusher_stats *out)
{
    *out = p->st;
}

static void pusher_closed(uv_handle_t *h)
{
    free(h->data);
}

void obs_pusher_stop(struct obs_pusher *p)
{
    if (!p)
        return;
    if (p->inflight)
        obs_fetch_cancel(p->inflight);
    p->inflight = NULL;
    uv_close((uv_handle_t *)&p->timer, pusher_closed);
}
