#ifndef LLMLOAD_OBS_DOC_H
#define LLMLOAD_OBS_DOC_H
/* A saved result document (llmload.result/1, docs/schema.md) as the
 * exposition's input: `llmload export` writes, and pushes, what a run
 * measured long after it ended. */
#include <stddef.h>

#include "obs_expo.h"

struct cJSON;

/* The live struct of a document, and the histograms it owns.  The label
 * strings point into the document, which must outlive it. */
struct obs_doc {
    struct obs_live live;
    struct hist *h[5];
};

/* Fills d from doc: the summary's counters, config's labels and cap,
 * environment's start time and run_id (the start time when it has none),
 * the "histograms" that are present.  0, or -1 with a one-line err (not a result document, a
 * malformed histogram, out of memory); d is then empty. */
int obs_doc_load(struct obs_doc *d, const struct cJSON *doc, char *err, size_t errcap);
void obs_doc_free(struct obs_doc *d);

/* Unix seconds of an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z", or
 * NaN when s is not one. */
double obs_iso8601_unix(const char *s);

#endif
