/* Arrival processes (schedule.h).
 *
 * The PRNG and the variates are written here by hand on purpose: no
 * packaged C library offers a small, seedable generator with gamma
 * variates under a permissive licence, and a benchmark's schedule must be
 * reproducible from its seed on every machine and libc (rand_r() and
 * drand48() differ between platforms and have poor low bits).
 *
 *   splitmix64       seeds the state (util/rng.h)
 *   xoshiro256**     the generator (Blackman and Vigna 2018)
 *   Marsaglia-Tsang  gamma variates for shape >= 1 (ACM TOMS 26(3), 2000),
 *                    with the U^(1/k) boost for shape < 1
 *   Marsaglia polar  the normal variates Marsaglia-Tsang needs */
#include "schedule.h"
#include "rng.h"

#include <math.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double schedule_uniform(struct schedule *s)
{
    /* The top 53 bits, centred in their interval, so the result is never 0
     * (log(0) in the exponential) nor 1. */
    return ((double)(xoshiro_next(s->rng) >> 11) + 0.5) * 0x1.0p-53;
}

static double sched_normal(struct schedule *s)
{
    double u, v, q;
    do {
        u = 2.0 * schedule_uniform(s) - 1.0;
        v = 2.0 * schedule_uniform(s) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    /* The second variate of the pair is dropped: keeping it would make the
     * state larger for a saving nobody measures at request rates. */
    return u * sqrt(-2.0 * log(q) / q);
}

double schedule_gamma(struct schedule *s, double shape)
{
    if (shape < 1.0) {
        /* Gamma(k) = Gamma(k + 1) * U^(1/k) for k < 1 (Marsaglia-Tsang, sec. 6). */
        double g = schedule_gamma(s, shape + 1.0);
        return g * pow(schedule_uniform(s), 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = sched_normal(s);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = schedule_uniform(s);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

void schedule_init(struct schedule *s, enum arrival a, double rate, double burstiness,
                   uint64_t seed, uint64_t ramp_up_ns)
{
    memset(s, 0, sizeof *s);
    s->arrival = a;
    s->rate = (isfinite(rate) && rate > 0) ? rate : 0;
    s->shape = (isfinite(burstiness) && burstiness > 0) ? burstiness : 1.0;
    s->ramp_s = (double)ramp_up_ns * 1e-9;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = rng_splitmix64(&x);
}

/* Time in seconds at which the integrated rate reaches u expected arrivals:
 * the inverse of Lambda(t) described in schedule.h. */
static double sched_time_of(const struct schedule *s, double u)
{
    double T = s->ramp_s, R = s->rate;
    if (T > 0) {
        if (u < R * T / 2)
            return sqrt(2.0 * T * u / R);
        return T / 2 + u / R;
    }
    return u / R;
}

uint64_t schedule_next(struct schedule *s)
{
    if (s->arrival == ARRIVAL_CLOSED || s->rate <= 0)
        return 0;
    double gap;
    switch (s->arrival) {
    case ARRIVAL_CONSTANT: gap = 1.0; break;
    case ARRIVAL_GAMMA:    gap = schedule_gamma(s, s->shape) / s->shape; break;
    case ARRIVAL_POISSON:
    default:               gap = -log(schedule_uniform(s)); break;
    }
    s->work += gap;
    double ns = sched_time_of(s, s->work) * 1e9;
    uint64_t t;
    if (!(ns < 1.8e19))          /* also catches NaN */
        t = UINT64_MAX;
    else
        t = (uint64_t)(ns + 0.5);
    if (t < s->last_ns)          /* rounding can never move time backwards */
        t = s->last_ns;
    s->last_ns = t;
    return t;
}

double schedule_ramp_fraction(uint64_t ramp_up_ns, uint64_t t_ns)
{
    if (ramp_up_ns == 0 || t_ns >= ramp_up_ns)
        return 1.0;
    return (double)t_ns / (double)ramp_up_ns;
}

const char *schedule_arrival_name(enum arrival a)
{
    switch (a) {
    case ARRIVAL_POISSON:  return "poisson";
    case ARRIVAL_CONSTANT: return "constant";
    case ARRIVAL_GAMMA:    return "gamma";
    case ARRIVAL_CLOSED:
    default:               return "closed";
    }
}

int schedule_arrival_parse(const char *str, enum arrival *out)
{
    static const struct { const char *name; enum arrival a; } names[] = {
        { "poisson", ARRIVAL_POISSON }, { "constant", ARRIVAL_CONSTANT },
        { "gamma", ARRIVAL_GAMMA }, { "closed", ARRIVAL_CLOSED },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(str, names[i].name)) {
            *out = names[i].a;
            return 0;
        }
    return -1;
}
