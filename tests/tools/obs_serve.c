/* obs_serve: the /metrics listener and the interval pusher of src/observe
 * on a loop of their own, serving a saved result document, for the e2e
 * tests with a real Prometheus and Pushgateway (tests/e2e/test_observe.py)
 * until the engine serves them during a run.
 *
 *   obs_serve RESULT.json [--sweep PARAM=VALUE] [--push URL --push-interval MS]
 *
 * Prints the /metrics URL on its first line, serves until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "jdoc.h"
#include "obs_doc.h"
#include "obs_http.h"
#include "obs_push.h"

struct serve {
    struct obs_doc doc;
    struct obs_http *http;
    struct obs_pusher *pusher;
    uv_signal_t sigterm, sigint;
    struct obs_push_cfg push;
    unsigned long scrapes;
    struct obs_pusher_stats pst;
};

static int provide(void *ud, FILE *out, enum obs_format fmt)
{
    struct serve *s = ud;
    return obs_expo_write(out, &s->doc.live, fmt);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    (void)signum;
    s->scrapes = obs_http_scrapes(s->http);
    if (s->pusher)
        obs_pusher_stats(s->pusher, &s->pst);
    obs_http_stop(s->http);
    obs_pusher_stop(s->pusher);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
}

int main(int argc, char **argv)
{
    static struct serve s;
    char err[512];
    const char *push = NULL;
    long interval = 0;
    char *sweep = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: obs_serve RESULT.json [--sweep P=V] [--push URL --push-interval MS]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--push"))
            push = argv[i + 1];
        else if (!strcmp(argv[i], "--push-interval"))
            interval = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--sweep"))
            sweep = argv[i + 1];
    }
    cJSON *doc = jdoc_read_file(argv[1], err, sizeof err);
    if (!doc || obs_doc_load(&s.doc, doc, err, sizeof err) < 0) {
        fprintf(stderr, "obs_serve: %s\n", err);
        return 2;
    }
    if (sweep && strchr(sweep, '=')) {
        *strchr(sweep, '=') = '\0';
        s.doc.live.sweep_param = sweep;
        s.doc.live.sweep_level = strtod(sweep + strlen(sweep) + 1, NULL);
    }
    uv_loop_t *loop = uv_default_loop();
    s.http = obs_http_start(loop, "127.0.0.1:0", provide, &s, err, sizeof err);
    if (!s.http) {
        fprintf(stderr, "obs_serve: %s\n", err);
        return 1;
    }
    if (push) {
        obs_push_cfg_init(&s.push);
        if (obs_url_parse(push, &s.push.url, err, sizeof err) < 0) {
            fprintf(stderr, "obs_serve: %s\n", err);
            return 2;
        }
        s.pusher = obs_pusher_start(loop, &s.push, interval > 0 ? (uint64_t)interval : 1000,
                                    provide, &s);
    }
    uv_signal_init(loop, &s.sigterm);
    uv_signal_init(loop, &s.sigint);
    s.sigterm.data = s.sigint.data = &s;
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    printf("http://127.0.0.1:%d/metrics\n", obs_http_port(s.http));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    /* the tests read this line */
    fprintf(stderr, "obs_serve: %lu scrapes, %lu pushed, %lu push failures%s%s\n", s.scrapes,
            s.pst.pushed, s.pst.failed, s.pst.last_error[0] ? ": " : "", s.pst.last_error);
    uv_loop_close(loop);
    obs_doc_free(&s.doc);
    cJSON_Delete(doc);
    return 0;
}
