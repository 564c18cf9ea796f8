/* libFuzzer target: a whole HTTP response through a connection's reading
 * path (conn.c: llhttp and its callbacks, the header handling, interim
 * responses, inflating, the SSE/NDJSON decoders, the adapters, the end-of-
 * stream rules, the overlong stop and the clamps), fed in one piece and
 * again cut at points the input chooses.  What does not depend on the cuts
 * must not change: the error class, the status, the content events, the
 * server's counts and the generated text.
 *
 * Input: byte 0 chooses the API (bits 0-1), the shape fast path (bit 2)
 * and how many cuts follow (bits 3-7, 0..31); then one byte per cut, the
 * gap from the previous cut minus one; the rest is the response.  The
 * connection has no socket: bytes enter through conn_input, as a
 * transport would hand them over.  Each piece is copied to its own
 * allocation, so ASan catches any read past a read's end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fuzz_cuts.h"

#define NTOK 1024

static const enum api_kind kinds[4] = {
    API_OPENAI_CHAT, API_OPENAI_COMPLETIONS, API_OLLAMA_GENERATE, API_OLLAMA_CHAT,
};

struct outcome {
    enum err_class err;
    int status;
    uint64_t events;
    int64_t server_tokens, in_tokens, eval_count;
    int implausible;
    char *text; size_t text_len;
};

static struct {
    int ready;
    uv_loop_t loop;
    struct conn_env env;
    struct conn c;
    char rbuf[16];
    jsmntok_t toks[NTOK];
    int done;
    struct outcome out;
} F;

static void on_done(void *ud, struct conn *c, int keep)
{
    (void)ud;
    F.done++;
    F.out.err = c->rec.err;
    F.out.status = c->rec.status;
    F.out.events = c->rec.events;
    F.out.server_tokens = c->rec.server_tokens;
    F.out.in_tokens = c->rec.in_tokens;
    F.out.eval_count = c->rec.eval_count;
    F.out.implausible = c->rec.implausible;
    F.out.text_len = c->text_len;
    F.out.text = NULL;
    if (c->text_len && (F.out.text = malloc(c->text_len)))
        memcpy(F.out.text, c->text, c->text_len);
    if (keep)
        conn_close(c);
}

static void on_closed(void *ud, struct conn *c) { (void)ud; (void)c; }
static void on_lost(void *ud, struct conn *c) { (void)ud; (void)c; abort(); }

static void setup(void)
{
    if (F.ready)
        return;
    if (uv_loop_init(&F.loop) != 0)
        abort();
    F.env = (struct conn_env){
        .loop = &F.loop, .request_timeout_ns = 10000000000ull, .collect_text = 1,
        .overlong_factor = 4, .rbuf = F.rbuf, .rbuf_len = sizeof F.rbuf, .toks = F.toks,
        .ntoks = NTOK, .t0 = uv_hrtime(),
        .on = { .done = on_done, .closed = on_closed, .lost = on_lost },
    };
    if (conn_init(&F.c, &F.env, 0) < 0)
        abort();
    F.ready = 1;
}

/* One request answered by resp[0..n), cut before each of cuts[0..ncuts). */
static struct outcome run(const uint8_t *resp, size_t n, const size_t *cuts, size_t ncuts)
{
    req_record_reset(&F.c.rec);
    F.c.max_tokens = 16;   /* so that overlong and the clamps can be reached */
    F.done = 0;
    conn_start_unsent(&F.c);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && !F.done; i++) {
        size_t to = i < ncuts && cuts[i] < n ? cuts[i] : n;
        if (to <= at && i < ncuts)
            continue;
        char *piece = malloc(to > at ? to - at : 1);
        if (!piece)
            abort();
        memcpy(piece, resp + at, to - at);
        if (to > at)
            conn_input(&F.c, (ssize_t)(to - at), piece, uv_hrtime());
        free(piece);
        at = to;
    }
    if (!F.done)
        conn_input(&F.c, UV_EOF, NULL, uv_hrtime());
    if (F.done != 1 || F.c.state != CONN_FREE)
        abort();
    return F.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    F.env.api = kinds[data[0] & 3];
    F.env.fast_path = (data[0] >> 2) & 1;
    size_t ncuts = data[0] >> 3, cuts[32], n;
    const uint8_t *resp;
    if (fuzz_cuts(data, size, ncuts, cuts, 32, &resp, &n) < 0)
        return 0;

    struct outcome whole = run(resp, n, NULL, 0);
    struct outcome cut = run(resp, n, cuts, ncuts);
    if (whole.err != cut.err || whole.status != cut.status || whole.events != cut.events ||
        whole.server_tokens != cut.server_tokens || whole.in_tokens != cut.in_tokens ||
        whole.eval_count != cut.eval_count || whole.implausible != cut.implausible ||
        whole.text_len != cut.text_len ||
        (whole.text_len && (!whole.text || !cut.text ||
                            memcmp(whole.text, cut.text, whole.text_len) != 0)))
        abort();
    if (whole.err == ERR_NONE && (whole.status < 200 || whole.status > 299 || whole.events == 0))
        abort();   /* a success is a 2xx that carried text */
    free(whole.text);
    free(cut.text);
    return 0;
}
