/* The simulator's timing model, request plans and word list: pure functions,
 * no I/O, so unit tests can hold them to the formulas in docs/mock.md. */
#include "mock.h"
#include "rng.h"

#include <math.h>
#include <string.h>

void mock_rng_seed(struct mock_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream number through one splitmix step keeps nearby
     * request numbers from giving correlated sequences. */
    r->s = seed * 0x9e3779b97f4a7c15ull;
    r->s ^= mock_rng_next(&(struct mock_rng){ stream + 0x632be59bd9b4e019ull });
}

uint64_t mock_rng_next(struct mock_rng *r)
{
    return rng_splitmix64(&r->s);
}

double mock_rng_unit(struct mock_rng *r)
{
    return (double)(mock_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t mock_rng_range(struct mock_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo + 1;
    /* The modulo bias is below 2^-40 for the spans used here. */
    return lo + (span ? mock_rng_next(r) % span : mock_rng_next(r));
}

uint64_t mock_prompt_tokens(uint64_t bytes)
{
    return (bytes + 3) / 4;
}

uint64_t mock_ttft_ns(const struct mock_config *c, uint64_t prompt_tokens)
{
    double prefill = (double)prompt_tokens / c->prefill_rate * 1e9;
    return c->ttft_base_ns + (uint64_t)llround(prefill);
}

double mock_batch_tps(const struct mock_config *c, uint32_t batch)
{
    const struct mock_batch_point *p = c->batch_profile;
    size_t n = c->batch_npoints;
    double b = batch < 1 ? 1.0 : (double)batch;
    if (n == 0)
        return 0;
    if (b <= p[0].batch)
        return p[0].tps * b / p[0].batch;
    for (size_t i = 1; i < n; i++)
        if (b <= p[i].batch) {
            double f = (b - p[i - 1].batch) / (double)(p[i].batch - p[i - 1].batch);
            return p[i - 1].tps + f * (p[i].tps - p[i - 1].tps);
        }
    return p[n - 1].tps;
}

uint64_t mock_token_interval_ns(const struct mock_config *c, uint32_t batch)
{
    double b = batch < 1 ? 1.0 : (double)batch;
    double rate = c->batch_npoints ? mock_batch_tps(c, batch) / b
                                   : c->decode_rate / (1.0 + c->batch_slowdown * (b - 1.0));
    double ns = 1e9 / rate;
    if (ns < 1.0)
        return 1;
    if (ns > 1e15)
        return 1000000000000000ull;
    return (uint64_t)llround(ns);
}

uint64_t mock_reasoning_tokens(const struct mock_config *c, enum mock_api api, uint64_t tokens)
{
    if (api == MOCK_API_OAI_COMPLETIONS || tokens < 2)
        return 0;
    return c->reasoning_tokens < tokens ? c->reasoning_tokens : tokens - 1;
}

void mock_plan_request(const struct mock_config *c, uint64_t seq, uint64_t max_tokens,
                       uint64_t min_tokens, int ignore_eos, struct mock_plan *p)
{
    struct mock_rng r;
    mock_rng_seed(&r, c->seed, seq);
    memset(p, 0, sizeof *p);
    if (max_tokens < 1)
        max_tokens = 1;
    p->tokens = max_tokens;
    p->text_seed = mock_rng_next(&r);

    /* Always draw the same number of values, so a plan does not shift when
     * one fraction changes. */
    double ufault = mock_rng_unit(&r);
    uint64_t fault_pos = mock_rng_next(&r);
    double ueos = mock_rng_unit(&r);
    uint64_t eos_pos = mock_rng_next(&r);

    /* Early stop: vLLM's min_tokens suppresses EOS before that many tokens,
     * and ignore_eos suppresses it altogether. */
    uint64_t lo = min_tokens > 1 ? min_tokens : 1;
    if (!ignore_eos && ueos < c->eos_fraction && lo < max_tokens) {
        p->tokens = lo + eos_pos % (max_tokens - lo);
        p->stop = 1;
    }

    double acc = 0;
    for (int k = 1; k < MOCK_FAULT_COUNT; k++) {
        acc += c->fault[k];
        if (c->fault[k] > 0 && ufault < acc) {
            p->fault = (enum mock_fault)k;
            break;
        }
    }
    /* Mid-stream faults happen after at least one token and, when there is
     * room, before the last one, so they are truly mid-stream. */
    uint64_t hi = p->tokens > 1 ? p->tokens - 1 : 1;
    p->fault_at = 1 + fault_pos % hi;
}

/* Common English words, all plain ASCII so no JSON escaping is needed. */
static const char *const words[MOCK_NWORDS] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
    "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
    "but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
    "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
    "so", "no", "she", "other", "its", "may", "these", "what", "them", "than", "some",
    "him", "time", "into", "only", "do", "could", "new", "about", "two", "then",
    "first", "also", "any", "like", "our", "over", "such", "out", "should", "years",
    "people", "most", "many", "where", "after", "how", "made", "between", "through",
    "work", "each", "state", "well", "those", "way", "even", "because", "before",
    "both", "life", "did", "must", "used", "under", "much", "being", "same", "world",
    "very", "water", "light", "model", "token", "server", "stream", "latency", "batch",
    "queue", "request", "answer", "question", "system", "number", "small", "large",
    "early", "late", "fast", "slow", "simple", "clear", "true", "open", "close", "test",
    "value", "rate", "data", "event", "line", "word", "text", "code", "build", "run",
    "load", "point", "part", "place", "case", "week", "company", "group", "problem",
    "fact", "hand", "eye", "day", "night", "home", "room", "city", "road", "river",
    "tree", "stone", "cloud", "rain", "snow", "wind", "fire", "earth", "sun", "moon",
    "star", "sea", "field", "garden", "house", "door", "window", "table", "chair",
    "book", "paper", "letter", "story", "song", "voice", "music", "color", "green",
    "blue", "red", "white", "black", "bright", "dark", "warm", "cold", "quiet", "loud",
    "short", "long", "high", "low", "near", "far", "often", "always", "never", "again",
    "still", "already", "perhaps", "certain", "general", "public", "private", "local",
    "national", "human", "natural", "social", "plain", "common", "special", "whole",
    "free", "full", "real", "best", "better", "good", "great", "little", "old", "young",
    "right", "left", "next", "last", "own", "another", "every", "several", "few", "less",
    "least", "enough", "together", "within", "without", "around", "across", "along",
    "above", "below",
};

const char *mock_word(uint32_t idx, size_t *len)
{
    const char *w = words[idx % MOCK_NWORDS];
    *len = strlen(w);
    return w;
}
