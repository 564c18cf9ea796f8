/* The /metrics listener (obs_http.h): a handler on the shared small server
 * (obs_httpd.c), which owns the connections, the parsing and the bounds. */
#include "obs_http.h"

#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "obs_httpd.h"
#include "obs_net.h"

struct obs_http {
    struct obs_httpd *srv;
    obs_provider_fn fn;
    void *ud;
    unsigned long scrapes;
};

static void answer(void *ud, struct obs_hconn *c, const struct obs_hreq *r)
{
    struct obs_http *h = ud;
    if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
        obs_hrespond_text(c, 405, "Allow: GET, HEAD\r\n", "only GET and HEAD\n");
        return;
    }
    if (strcmp(r->path, "/metrics")) {
        obs_hrespond_text(c, 404, NULL, "not found: the metrics are at /metrics\n");
        return;
    }
    enum obs_format fmt = strstr(r->accept, "application/openmetrics-text")
                              ? OBS_FMT_OPENMETRICS : OBS_FMT_PROMETHEUS;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    int rc = f ? h->fn(h->ud, f, fmt) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc < 0 || !text) {
        obs_hrespond_text(c, 500, NULL, "cannot write the metrics\n");
    } else {
        h->scrapes++;
        obs_hrespond(c, 200, obs_content_type(fmt), NULL, text, tlen);
    }
    free(text);
}

struct obs_http *obs_http_start(uv_loop_t *loop, const char *addr, obs_provider_fn fn,
                                void *ud, char *err, size_t errcap)
{
    /* A scraper sends no body; one that does stays within the request
     * bound, as before the server was shared. */
    static const struct obs_httpd_cfg cfg = {
        .max_conns = OBS_HTTP_MAX_CONNS, .max_head = OBS_HTTP_MAX_REQUEST,
        .max_body = OBS_HTTP_MAX_REQUEST, .timeout_ms = OBS_HTTP_TIMEOUT_MS, .unref = 1,
    };
    struct sockaddr_storage ss;
    if (obs_listen_addr(addr, &ss, err, errcap) < 0)
        return NULL;
    struct obs_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errcap, "%s: out of memory", addr);
        return NULL;
    }
    h->fn = fn;
    h->ud = ud;
    char why[256];
    if (!(h->srv = obs_httpd_start(loop, &ss, &cfg, answer, h, why, sizeof why))) {
        snprintf(err, errcap, "%s: %s", addr, why);
        free(h);
        return NULL;
    }
    return h;
}

int obs_http_port(const struct obs_http *h)
{
    return obs_httpd_port(h->srv);
}

unsigned long obs_http_scrapes(const struct obs_http *h)
{
    return h->scrapes;
}

void obs_http_stop(struct obs_http *h)
{
    if (!h)
        return;
    /* The server closes every connection now, so the handler (and h) is
     * not called again; it frees itself once its handles have closed. */
    obs_httpd_stop(h->srv);
    free(h);
}
