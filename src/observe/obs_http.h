#ifndef LLMLOAD_OBS_HTTP_H
#define LLMLOAD_OBS_HTTP_H
/* The run's /metrics endpoint (--prometheus ADDR): a tiny HTTP/1.1 server
 * on the run's own libuv loop.
 *
 * It is bounded so that a scraper cannot disturb the measurement: a few
 * connections at a time (more are closed at once), small requests, a
 * deadline per connection, one answer per connection and then the close.
 * GET or HEAD /metrics is answered with the provider's exposition (in
 * OpenMetrics when the Accept header asks for it); any other path is 404,
 * any other method 405.
 *
 * Its handles never keep the loop alive: the run ends when its requests
 * do, whether or not a scraper is connected. */
#include <stddef.h>
#include <stdio.h>

#include <uv.h>

#include "obs_expo.h"

/* Writes the current exposition in fmt to out; called on the loop, once
 * per scrape.  0, or -1 to answer 500. */
typedef int (*obs_provider_fn)(void *ud, FILE *out, enum obs_format fmt);

#define OBS_HTTP_MAX_CONNS 4
#define OBS_HTTP_MAX_REQUEST 8192       /* bytes of request line and headers */
#define OBS_HTTP_TIMEOUT_MS 5000        /* from accept to the end of the answer */

struct obs_http;

/* Listens on addr (obs_listen_addr's forms; port 0 lets the kernel pick).
 * NULL with a one-line err when the address is bad or cannot be bound. */
struct obs_http *obs_http_start(uv_loop_t *loop, const char *addr, obs_provider_fn fn,
                                void *ud, char *err, size_t errcap);

/* The bound port (the kernel's pick for port 0). */
int obs_http_port(const struct obs_http *h);

/* Scrapes answered (200), for tests and the run's report. */
unsigned long obs_http_scrapes(const struct obs_http *h);

/* Closes the listener and every connection; the struct is freed once their
 * handles have closed, so the loop must run again (as it does when the
 * engine closes its own handles).  NULL is a no-op. */
void obs_http_stop(struct obs_http *h);

#endif
