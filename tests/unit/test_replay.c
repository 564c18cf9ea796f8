/* Replays the raw captures of a real llama.cpp server (build b4748, in
 * $LLMLOAD_FIXTURES/llama-server-b4748/) through llhttp in response mode,
 * then the SSE decoder (or the whole body for non-streamed JSON), then the
 * adapter, exactly as the engine does: whole, one byte at a time, and cut
 * at every split point.  Every mode must give the same, exact results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "api.h"
#include "json.h"
#include "sse.h"

enum body_mode { BODY_SSE, BODY_JSON, BODY_OPAQUE };

/* What one capture must yield (values read off the files by hand). */
struct expect {
    const char *file;
    enum api_kind kind;
    enum body_mode mode;
    int http;                    /* 1: a full HTTP response; 0: a bare body */
    int status;
    size_t body_len;             /* de-chunked body bytes */
    int events;                  /* SSE events (-1: not SSE) */
    int content;                 /* events that carry text */
    size_t text_len;             /* unescaped text, bytes */
    const char *text_prefix;
    uint32_t text_crc;           /* CRC-32 of the whole unescaped text */
    int64_t completion_tokens, prompt_tokens, predicted_n, prompt_n;
    int64_t eval_duration_ns;
    const char *finish_reason;
    int done_marker;             /* data: [DONE] seen */
    int stop;                    /* a terminal event (done flag) seen */
};

static const struct expect expects[] = {
    { "chat_stream_raw.txt", API_OPENAI_CHAT, BODY_SSE, 1, 200, 3426, 14, 12, 74,
      " \xd0\xbe\xd0\xba\xd0\xbe\xd0\xbd" "ation\xd1\x82\xd0\xbe\xd0\xbc\xd1\x83ro", 0xd6c633a3u,
      12, 34, 12, 34, 23822000, "length", 1, 1 },
    { "chat_stream_eos_stop_raw.txt", API_OPENAI_CHAT, BODY_SSE, 1, 200, 763, 3, 0, 0,
      "", 0, 1, 29, 1, 1, 61000, "stop", 1, 1 },
    { "v1_completions_stream_raw.txt", API_OPENAI_COMPLETIONS, BODY_SSE, 1, 200, 2439, 10, 8, 50,
      "tagon Window \\< sufficie", 0xb208e7f3u, 8, 5, 8, 5, 5671000, "length", 1, 1 },
    /* Native /completion: no [DONE]; the last event has stop:true. */
    { "completion_native_stream_raw.txt", API_OPENAI_COMPLETIONS, BODY_SSE, 1, 200, 2474, 9, 8, 46,
      " seriesl\xc3\xa0 procedures la", 0x62d743deu, 8, 5, 8, 5, 5023000, "limit", 0, 1 },
    { "chat_nonstream.txt", API_OPENAI_CHAT, BODY_JSON, 1, 200, 581, -1, 1, 34,
      " \xd0\xbe\xd0\xba\xd0\xbe\xd0\xbd" "ation\xd1\x86\xd0\xb5 stick", 0x719b4249u,
      5, 29, 5, 29, 3060000, "length", 0, 0 },
    { "v1_completions_nonstream.txt", API_OPENAI_COMPLETIONS, BODY_JSON, 0, 0, 544, -1, 1, 28,
      "Invstage {},\xc3\xa1ny institu", 0xfc86b368u, 5, 2, 5, 2, 3246000, "length", 0, 0 },
    { "health.txt", API_AUTO, BODY_OPAQUE, 1, 200, 15, -1, 0, 0, NULL, 0, -1, -1, -1, -1, -1, NULL, 0, 0 },
    { "v1_models.txt", API_AUTO, BODY_OPAQUE, 1, 200, 207, -1, 0, 0, NULL, 0, -1, -1, -1, -1, -1, NULL, 0, 0 },
    { "metrics.txt", API_AUTO, BODY_OPAQUE, 0, 0, 1818, -1, 0, 0, NULL, 0, -1, -1, -1, -1, -1, NULL, 0, 0 },
};
#define NEXPECT (sizeof expects / sizeof expects[0])

#define NTOK 1024
static jsmntok_t toks[NTOK];

/* What a replay yields; compared field by field across feed modes. */
struct outcome {
    int status, complete, bad_json, errors;
    size_t body_len;
    int events, content, done_marker, stop, finish;
    char text[4096]; size_t text_len;
    char finish_reason[32];
    int64_t completion_tokens, prompt_tokens, predicted_n, prompt_n, eval_duration_ns;
};

struct replay {
    const struct expect *x;
    struct outcome o;
    struct sse sse;
    char carry[4096];
    char body[8192]; size_t body_len;   /* the whole body, for BODY_JSON */
};

static void take_event(struct replay *r, const struct api_event *ev)
{
    struct outcome *o = &r->o;

    if (ev->content) {
        long n = json_unescape(ev->text, ev->text_len, o->text + o->text_len,
                               sizeof o->text - o->text_len);
        assert_true(n > 0);
        o->text_len += (size_t)n;
        o->content++;
    }
    if (ev->error)
        o->errors++;
    if (ev->done)
        o->stop++;
    if (ev->finish) {
        assert_true(ev->finish_reason_len < sizeof o->finish_reason);
        memcpy(o->finish_reason, ev->finish_reason, ev->finish_reason_len);
        o->finish_reason[ev->finish_reason_len] = '\0';
        o->finish++;
    }
    /* The last value seen wins (usage may come on every chunk). */
    if (ev->completion_tokens >= 0)
        o->completion_tokens = ev->completion_tokens;
    if (ev->prompt_tokens >= 0)
        o->prompt_tokens = ev->prompt_tokens;
    if (ev->eval_tokens >= 0)
        o->predicted_n = ev->eval_tokens;
    if (ev->prompt_eval_tokens >= 0)
        o->prompt_n = ev->prompt_eval_tokens;
    if (ev->eval_duration_ns >= 0)
        o->eval_duration_ns = ev->eval_duration_ns;
}

static int on_sse(void *ud, const struct sse_event *sev)
{
    struct replay *r = ud;
    struct api_event ev;

    r->o.events++;
    if (sev->data_len == 6 && memcmp(sev->data, "[DONE]", 6) == 0)
        r->o.done_marker++;
    if (api_parse_event(r->x->kind, sev->data, sev->data_len, &ev, toks, NTOK) < 0) {
        r->o.bad_json++;
        return 0;
    }
    take_event(r, &ev);
    return 0;
}

static void body_bytes(struct replay *r, const char *at, size_t n)
{
    r->o.body_len += n;
    if (r->x->mode == BODY_SSE) {
        size_t used;
        assert_int_equal(sse_feed(&r->sse, at, n, &used, on_sse, r), SSE_OK);
        assert_int_equal(used, n);
    } else if (r->x->mode == BODY_JSON) {
        assert_true(n <= sizeof r->body - r->body_len);
        memcpy(r->body + r->body_len, at, n);
        r->body_len += n;
    }
}

static void body_end(struct replay *r)
{
    r->o.complete++;
    if (r->x->mode == BODY_SSE) {
        assert_int_equal(sse_finish(&r->sse, on_sse, r), SSE_OK);
    } else if (r->x->mode == BODY_JSON) {
        struct api_event ev;
        if (api_parse_event(r->x->kind, r->body, r->body_len, &ev, toks, NTOK) < 0)
            r->o.bad_json++;
        else
            take_event(r, &ev);
    }
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    body_bytes(p->data, at, n);
    return 0;
}

static int on_complete(llhttp_t *p)
{
    struct replay *r = p->data;

    r->o.status = p->status_code;
    body_end(r);
    return 0;
}

/* Replays data[0..n) cut at each multiple of `step` (n: whole) plus an
 * extra cut at `cut` (0: none). */
static void replay(const struct expect *x, const char *data, size_t n, size_t step, size_t cut,
                   struct replay *r)
{
    llhttp_settings_t settings;
    llhttp_t parser;
    size_t at = 0;

    memset(r, 0, sizeof *r);
    r->x = x;
    r->o.completion_tokens = r->o.prompt_tokens = r->o.predicted_n = r->o.prompt_n = -1;
    r->o.eval_duration_ns = -1;
    sse_init(&r->sse, r->carry, sizeof r->carry);
    llhttp_settings_init(&settings);
    settings.on_body = on_body;
    settings.on_message_complete = on_complete;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = r;
    while (at < n) {
        size_t len = step;
        if (cut > at && cut < at + len)
            len = cut - at;
        if (len > n - at)
            len = n - at;
        if (x->http)
            assert_int_equal(llhttp_execute(&parser, data + at, len), HPE_OK);
        else
            body_bytes(r, data + at, len);
        at += len;
    }
    if (x->http)
        assert_int_equal(llhttp_finish(&parser), HPE_OK);
    else
        body_end(r);
}

static uint32_t crc32(const char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void check(const struct expect *x, const struct outcome *o)
{
    assert_int_equal(o->complete, 1);
    assert_int_equal(o->status, x->status);
    assert_int_equal(o->body_len, x->body_len);
    assert_int_equal(o->bad_json, 0);
    assert_int_equal(o->errors, 0);
    if (x->mode == BODY_OPAQUE) {
        assert_int_equal(o->events, 0);
        return;
    }
    assert_int_equal(o->events, x->mode == BODY_SSE ? x->events : 0);
    assert_int_equal(o->content, x->content);
    assert_int_equal(o->text_len, x->text_len);
    assert_memory_equal(o->text, x->text_prefix, strlen(x->text_prefix));
    if (x->text_len > 0)
        assert_int_equal(crc32(o->text, o->text_len), x->text_crc);
    assert_int_equal(o->completion_tokens, x->completion_tokens);
    assert_int_equal(o->prompt_tokens, x->prompt_tokens);
    assert_int_equal(o->predicted_n, x->predicted_n);
    assert_int_equal(o->prompt_n, x->prompt_n);
    assert_int_equal(o->eval_duration_ns, x->eval_duration_ns);
    assert_int_equal(o->finish, 1);
    assert_string_equal(o->finish_reason, x->finish_reason);
    assert_int_equal(o->done_marker, x->done_marker);
    assert_int_equal(o->stop, x->stop);
}

static char *read_fixture(const char *dir, const char *name, size_t *n)
{
    char path[4096];
    FILE *f;
    char *buf;
    long sz;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    sz = ftell(f);
    assert_true(sz > 0);
    rewind(f);
    buf = malloc((size_t)sz);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return buf;
}

static const char *fixture_dir(void)
{
    static char dir[4096];
    const char *root = getenv("LLMLOAD_FIXTURES");

    if (!root || !*root)
        return NULL;
    snprintf(dir, sizeof dir, "%s/llama-server-b4748", root);
    return dir;
}

/* Every file in the directory has expectations, and every expectation
 * has its file: a new capture cannot go untested. */
static void test_inventory(void **state)
{
    const char *dir = fixture_dir();
    int seen[NEXPECT] = { 0 };
    struct dirent *de;
    DIR *d;

    (void)state;
    if (!dir)
        skip();
    d = opendir(dir);
    if (!d)
        fail_msg("cannot open fixture directory %s", dir);
    while ((de = readdir(d)) != NULL) {
        size_t i;
        if (de->d_name[0] == '.')
            continue;
        for (i = 0; i < NEXPECT && strcmp(expects[i].file, de->d_name) != 0; i++)
            ;
        if (i == NEXPECT) {
            closedir(d);
            fail_msg("fixture %s has no expectations in test_replay.c", de->d_name);
        }
        seen[i]++;
    }
    closedir(d);
    for (size_t i = 0; i < NEXPECT; i++)
        if (seen[i] != 1)
            fail_msg("fixture %s is missing", expects[i].file);
}

static void test_replay_all(void **state)
{
    const char *dir = fixture_dir();
    static struct replay whole, r;

    (void)state;
    if (!dir)
        skip();
    for (size_t i = 0; i < NEXPECT; i++) {
        const struct expect *x = &expects[i];
        size_t n;
        char *data = read_fixture(dir, x->file, &n);

        /* A capture with headers starts with the status line. */
        assert_int_equal(x->http, n > 5 && memcmp(data, "HTTP/", 5) == 0);
        replay(x, data, n, n, 0, &whole);
        check(x, &whole.o);
        replay(x, data, n, 1, 0, &r);
        check(x, &r.o);
        assert_memory_equal(&whole.o, &r.o, sizeof r.o);
        for (size_t cut = 1; cut < n; cut++) {
            replay(x, data, n, n, cut, &r);
            assert_memory_equal(&whole.o, &r.o, sizeof r.o);
        }
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_replay_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
