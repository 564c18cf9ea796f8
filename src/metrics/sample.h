#ifndef LLMLOAD_SAMPLE_H
#define LLMLOAD_SAMPLE_H
/* A bounded, seeded reservoir of per-request samples (docs/metrics.md,
 * "Per-request samples").  The histograms answer "what was the p95"; a
 * verdict ("is A faster than B", "did this build regress") needs the
 * requests themselves to resample, and a run of any length keeps at most
 * SAMPLE_CAP of them, each equally likely (Vitter's algorithm R).
 *
 * The draw is seeded by SAMPLE_SEED alone, so the same run keeps the same
 * requests.  Exact counters (seen, shed) are kept beside the reservoir. */
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct req_record;

#define SAMPLE_CAP 2000
#define SAMPLE_SEED 0x73616d706c6573ULL   /* "samples" */

/* One request, as the verdicts resample it.  Times in seconds, -1: none. */
struct req_sample {
    float e2e_s, ttft_s, tpot_s;
    float start_s;              /* when it was sent, from the run's start */
    uint32_t out_tokens;        /* 0 for a failed request */
    uint8_t ok;
};

struct req_samples {
    struct req_sample *v;       /* SAMPLE_CAP slots, made at init */
    size_t n;                   /* kept */
    uint64_t seen;              /* measured requests offered */
    uint64_t shed_429, shed_503;/* load shed by the server: exact counts */
    uint64_t rng;
};

/* 0, or -1 when the slots cannot be made. */
int req_samples_init(struct req_samples *s);
void req_samples_free(struct req_samples *s);
/* Offers one finished, measured request. */
void req_samples_add(struct req_samples *s, const struct req_record *r);

/* {"seen","kept","seed","shed_429","shed_503","e2e_s":[],"ttft_s":[],
 *  "tpot_s":[],"output_tokens":[],"ok":[],"start_s":[]} (docs/schema.md).  NULL on
 * allocation failure. */
struct cJSON *req_samples_to_json(const struct req_samples *s);

/* Merging the reservoirs of several processes (the workers of one run,
 * the shards of a distributed one) into one of the union of their
 * requests.  Exact (every request kept) while the union fits in
 * SAMPLE_CAP; past it a uniform sample of the union (sample.c says why).
 * src's start times are moved by src_shift_s (the parts' measured windows
 * began at different moments; the merged start is the earliest); the
 * shed counts add.  The draw is seeded from dst's generator, so the same
 * parts merged in the same order keep the same requests. */
void req_samples_merge(struct req_samples *dst, const struct req_samples *src, double src_shift_s);
/* Moves every kept start time by d seconds. */
void req_samples_shift(struct req_samples *s, double d);

/* s (req_samples_init()ed, empty) from a "samples" object as
 * req_samples_to_json wrote it; a NULL j leaves s empty (a document from
 * before the samples).  0, or -1 with err naming what is wrong. */
int req_samples_from_json(struct req_samples *s, const struct cJSON *j, char *err, size_t errcap);

/* The columns of a "samples" object, borrowed from it: the arrays' items
 * are read through the accessors below.  0, or -1 when j is not a samples
 * object (missing arrays, lengths that differ). */
enum { SAMPLE_E2E, SAMPLE_TTFT, SAMPLE_TPOT, SAMPLE_TOKENS, SAMPLE_OK, SAMPLE_START, SAMPLE_ROUND,
       SAMPLE_NCOLS };
struct sample_view {
    const struct cJSON *col[SAMPLE_NCOLS];  /* the arrays; col[SAMPLE_ROUND] NULL: one round
                                               (compare --rounds adds it) */
    size_t n;
};
int sample_view_of(const struct cJSON *j, struct sample_view *v);
/* Column k of v as doubles (a NaN for a missing value) into out[0..v->n);
 * k is "e2e_s", "ttft_s", "tpot_s", "output_tokens", "ok", "start_s" or
 * "round" (0 for every request without one).  Returns the
 * number written, or -1 for an unknown column. */
long sample_view_column(const struct sample_view *v, const char *k, double *out);

/* Appends the samples object add to into (both "samples" objects, into
 * made by the caller, possibly empty), each of add's requests marked with
 * round r in a "round" column.  0, or -1 on allocation failure or a
 * malformed add. */
int req_samples_json_append(struct cJSON *into, const struct cJSON *add, int r);

/* The time block (0 .. SAMPLE_BLOCKS - 1) of each of v's requests, by
 * when it was sent within its round, into out[0..v->n): requests close in
 * time share the machine's conditions, so the verdicts resample blocks,
 * not requests.  Returns 0, or -1 when v has no start times (a document
 * from before them): each request is then its own block. */
#define SAMPLE_BLOCKS 8
int sample_view_blocks(const struct sample_view *v, int *out);

#endif
