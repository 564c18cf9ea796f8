/* The defaults of a run's settings, in one place (docs/cli.md lists them). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void config_defaults(struct run_config *c)
{
    memset(c, 0, sizeof *c);
    c->api = API_AUTO;
    c->stream = 1;
    c->prompt = CONFIG_DEFAULT_PROMPT;
    c->max_tokens = 128;
    c->temperature = NAN;
    c->seed = -1;
    c->concurrency = 32;
    c->requests = 100;
    c->arrival = ARRIVAL_POISSON;
    c->burstiness = 1.0;
    c->schedule_seed = 1;
    c->connect_timeout_ns = 10ull * 1000000000u;
    c->ttft_timeout_ns = 300ull * 1000000000u;
    c->idle_timeout_ns = 60ull * 1000000000u;
    c->request_timeout_ns = 1800ull * 1000000000u;
    c->grace_ns = 30ull * 1000000000u;
    c->overlong_factor = 4;
    const char *key = getenv("OPENAI_API_KEY");
    c->api_key = key && *key ? key : NULL;
}
