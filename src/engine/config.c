/* The defaults of a run's settings, in one place (docs/cli.md lists them). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "rng.h"

uint64_t config_fresh_seed(void)
{
    uint64_t x;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        /* No entropy yet (early boot): the clock and the pid still make
         * two runs differ. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = rng_mix64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
    }
    return x & CONFIG_SEED_MAX;
}

uint64_t config_run_seed(uint64_t base, uint64_t k)
{
    return k ? rng_mix64(base + k * RNG_GOLDEN) & CONFIG_SEED_MAX : base;
}

void config_defaults(struct run_config *c)
{
    memset(c, 0, sizeof *c);
    c->api = API_AUTO;
    c->stream = 1;
    c->prompt = CONFIG_DEFAULT_PROMPT;
    c->max_tokens = 128;
    c->temperature = NAN;
    c->sampling_seed = -1;
    c->concurrency = 32;
    c->workers = 1;
    c->requests = 100;
    c->arrival = ARRIVAL_POISSON;
    c->burstiness = 1.0;
    c->seed = config_fresh_seed();
    c->connect_timeout_ns = 10ull * 1000000000u;
    c->ttft_timeout_ns = 300ull * 1000000000u;
    c->idle_timeout_ns = 60ull * 1000000000u;
    c->request_timeout_ns = 1800ull * 1000000000u;
    c->grace_ns = 30ull * 1000000000u;
    c->overlong_factor = 4;
    const char *key = getenv("OPENAI_API_KEY");
    c->api_key = key && *key ? key : NULL;
}

uint64_t config_shard_part(uint64_t total, uint32_t i, uint32_t n)
{
    if (n <= 1)
        return total;
    return total / n + (i < total % n);
}
