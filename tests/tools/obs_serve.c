/* obs_serve: src/observe's listener, pusher and monitor on a loop of their
 * own, for the e2e tests with a real Prometheus, Pushgateway and simulator
 * (tests/e2e/test_observe.py) until the engine runs them during a run.
 *
 *   obs_serve RESULT.json [--sweep PARAM=VALUE] [--push URL --push-interval MS]
 *     serves the document's exposition; prints the /metrics URL on its first
 *     line, serves until SIGTERM or SIGINT;
 *   obs_serve --monitor TARGET_URL SAMPLES INTERVAL_MS [--ollama]
 *     samples every source for a target and prints the monitor section (JSON)
 *     and then the terminal summary. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "jdoc.h"
#include "obs_doc.h"
#include "obs_http.h"
#include "obs_monitor.h"
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

struct mon {
    struct obs_monitor *m;
    uv_timer_t t;
    long left;
};

static void mon_tick(uv_timer_t *t)
{
    struct mon *x = t->data;
    obs_monitor_sample(x->m, NAN);
    if (--x->left == 0) {
        obs_monitor_stop(x->m);
        uv_close((uv_handle_t *)t, NULL);
    }
}

static int monitor(int argc, char **argv)
{
    struct mon x = { 0 };
    uv_loop_t *loop = uv_default_loop();
    if (argc < 5) {
        fprintf(stderr, "usage: obs_serve --monitor TARGET_URL SAMPLES INTERVAL_MS [--ollama]\n");
        return 2;
    }
    uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
    long every = strtol(argv[4], NULL, 10);
    struct obs_monitor_cfg cfg = { .sources = OBS_SRC_ALL, .target_url = argv[2],
                                   .target_ollama = argc > 5 && !strcmp(argv[5], "--ollama"),
                                   .loop_idle_metrics = 1,
                                   .interval_ms = (uint64_t)(every > 0 ? every : 1000) };
    x.left = strtol(argv[3], NULL, 10);
    x.m = obs_monitor_new(loop, &cfg);
    if (!x.m || x.left < 1)
        return 2;
    uv_timer_init(loop, &x.t);
    x.t.data = &x;
    uv_timer_start(&x.t, mon_tick, 0, cfg.interval_ms);
    uv_run(loop, UV_RUN_DEFAULT);
    cJSON *j = obs_monitor_json(x.m, 0);
    char *text = cJSON_PrintUnformatted(j);
    printf("%s\n", text);
    obs_monitor_print(x.m, stdout, 0);
    free(text);
    cJSON_Delete(j);
    obs_monitor_free(x.m);
    uv_loop_close(loop);
    return 0;
}

int main(int argc, char **argv)
{
    static struct serve s;
    if (argc > 1 && !strcmp(argv[1], "--monitor"))
        return monitor(argc, argv);
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
