/* api_shape: the fast path must answer exactly what api_parse_event would,
 * or decline.  Every accepted event is checked against a full parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_shape.h"
#include "json.h"

#define NTOK 1024
static jsmntok_t toks[NTOK];

static void learn(struct api_shape *s, enum api_kind k, const char *ev)
{
    struct api_event e;
    assert_int_equal(api_parse_event(k, ev, strlen(ev), &e, toks, NTOK), 0);
    api_shape_learn(s, ev, strlen(ev), &e);
}

static void assert_slice_same(const char *a, size_t an, const char *b, size_t bn)
{
    assert_int_equal(a == NULL, b == NULL);
    assert_int_equal(an, bn);
    if (an)
        assert_memory_equal(a, b, an);
}

/* Every field, texts by content. */
static void assert_same_event(const struct api_event *fast, const struct api_event *full)
{
    assert_int_equal(fast->content, full->content);
    assert_int_equal(fast->reasoning, full->reasoning);
    assert_int_equal(fast->tool, full->tool);
    assert_int_equal(fast->tool_calls, full->tool_calls);
    assert_int_equal(fast->done, full->done);
    assert_int_equal(fast->error, full->error);
    assert_int_equal(fast->finish, full->finish);
    assert_slice_same(fast->text, fast->text_len, full->text, full->text_len);
    assert_slice_same(fast->errmsg, fast->errmsg_len, full->errmsg, full->errmsg_len);
    assert_slice_same(fast->errtype, fast->errtype_len, full->errtype, full->errtype_len);
    assert_slice_same(fast->finish_reason, fast->finish_reason_len, full->finish_reason,
                      full->finish_reason_len);
    assert_int_equal(fast->completion_tokens, full->completion_tokens);
    assert_int_equal(fast->prompt_tokens, full->prompt_tokens);
    assert_int_equal(fast->reasoning_tokens, full->reasoning_tokens);
    assert_int_equal(fast->event_tokens, full->event_tokens);
    assert_int_equal(fast->eval_tokens, full->eval_tokens);
    assert_int_equal(fast->eval_duration_ns, full->eval_duration_ns);
    assert_int_equal(fast->prompt_eval_tokens, full->prompt_eval_tokens);
    assert_int_equal(fast->prompt_eval_duration_ns, full->prompt_eval_duration_ns);
    assert_int_equal(fast->cached_tokens, full->cached_tokens);
    assert_int_equal(fast->total_duration_ns, full->total_duration_ns);
    assert_int_equal(fast->load_duration_ns, full->load_duration_ns);
}

/* Matches and agrees with the full parse, or does not match at all. */
static int check_n(const struct api_shape *s, enum api_kind k, const char *ev, size_t n)
{
    struct api_event fast, full;
    int m = api_shape_match(s, ev, n, &fast);
    int rc = api_parse_event(k, ev, n, &full, toks, NTOK);
    if (!m)
        return 0;
    assert_int_equal(rc, 0);
    assert_same_event(&fast, &full);
    return 1;
}

static int check(const struct api_shape *s, enum api_kind k, const char *ev)
{
    return check_n(s, k, ev, strlen(ev));
}

/* What conn.c does with each event: the shape, else a full parse and a
 * lesson.  Returns 1 when the shape answered (checked against the parse). */
static int feed_n(struct api_shape *s, enum api_kind k, const char *ev, size_t n)
{
    struct api_event e;
    if (check_n(s, k, ev, n))
        return 1;
    if (api_parse_event(k, ev, n, &e, toks, NTOK) == 0)
        api_shape_learn(s, ev, n, &e);
    return 0;
}

static int feed(struct api_shape *s, enum api_kind k, const char *ev)
{
    return feed_n(s, k, ev, strlen(ev));
}

static int matches(const struct api_shape *s, const char *ev)
{
    struct api_event e;
    return api_shape_match(s, ev, strlen(ev), &e);
}

#define VLLM(content) "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"," \
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"},\"logprobs\":null,\"finish_reason\":null}]}"

static void test_size(void **state)
{
    (void)state;
    /* One per connection: stream memory must stay small. */
    assert_true(sizeof(struct api_shape) <= 400);
}

static void test_vllm_content(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    assert_int_equal(check(&s, API_OPENAI_CHAT, VLLM("Hi")), 0);   /* nothing learned yet */
    learn(&s, API_OPENAI_CHAT, VLLM("Hi"));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM(" there")));
    /* Empty text is declined (another key's text could then count). */
    assert_int_equal(check(&s, API_OPENAI_CHAT, VLLM("")), 0);
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("a \\\"quoted\\\" \\\\ \\n \\u00e9")));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("\xc3\xa9t\xc3\xa9")));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("digits 0123 in the text")));
}

static void test_declines(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    learn(&s, API_OPENAI_CHAT, VLLM("Hi"));
    const char *no[] = {
        /* a finish chunk, a usage chunk, an error: other bytes around */
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],"
        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}",
        "{\"error\": {\"message\": \"boom\"}}",
        /* text that would change the structure */
        VLLM("x\"},\"finish_reason\":\"stop\",\"y\":{\"z\":\""),
        VLLM("bad escape \\q"),
        VLLM("short unicode \\u12"),
        VLLM("control \x01 char"),
        VLLM("trailing backslash \\"),
        /* exact digits: nothing has varied yet */
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}",
        "[DONE]",
        "",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(matches(&s, no[i]), 0);
}

static void test_final_events_never_learned(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    /* Ollama's final line. */
    const char *fin = "{\"model\":\"m\",\"created_at\":\"t\",\"response\":\"x\",\"done\":true,\"eval_count\":3}";
    learn(&s, API_OLLAMA_GENERATE, fin);
    assert_int_equal(matches(&s, fin), 0);
    /* A finish_reason chunk with text, even twice and with changing
     * digits, never becomes a shape; it leaves the one learned alone. */
    learn(&s, API_OPENAI_CHAT, VLLM("Hi"));
    const char *f1 = "{\"created\":1,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";
    const char *f2 = "{\"created\":2,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\"},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";
    for (int i = 0; i < 3; i++) {
        assert_int_equal(feed(&s, API_OPENAI_CHAT, f1), 0);
        assert_int_equal(feed(&s, API_OPENAI_CHAT, f2), 0);
    }
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("still")));
}

static void test_reasoning_and_ollama_chat(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    learn(&s, API_OPENAI_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\"}}]}");
    assert_true(check(&s, API_OPENAI_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"more\"}}]}"));
    api_shape_reset(&s);
    learn(&s, API_OLLAMA_CHAT, "{\"model\":\"m\",\"created_at\":\"2024\",\"message\":{\"role\":\"assistant\",\"content\":\"a\"},\"done\":false}");
    assert_true(check(&s, API_OLLAMA_CHAT, "{\"model\":\"m\",\"created_at\":\"2024\",\"message\":{\"role\":\"assistant\",\"content\":\"bcd\"},\"done\":false}"));
}

/* Tool-call argument deltas are learned like content, with their kind; the
 * delta that begins a call (its name) is never learned.  vLLM's reasoning
 * count in continuous usage follows its own run of digits. */
#define TOOLD(args) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0," \
    "\"function\":{\"arguments\":\"" args "\"}}]},\"finish_reason\":null}]}"
static void test_tool_calls_and_reasoning_usage(void **state)
{
    (void)state;
    struct api_shape s;
    struct api_event ev;
    const char *start = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                        "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                        "\"arguments\":\"\"}}]},\"finish_reason\":null}]}";
    api_shape_reset(&s);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, start), 0);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, start), 0);   /* a call's start: never learned */
    assert_int_equal(feed(&s, API_OPENAI_CHAT, TOOLD("{\\\"city\\\"")), 0);
    assert_true(check(&s, API_OPENAI_CHAT, TOOLD(": \\\"Paris\\\"}")));
    assert_int_equal(api_shape_match(&s, TOOLD("x"), strlen(TOOLD("x")), &ev), 1);
    assert_true(ev.tool);
    assert_false(ev.reasoning);
    assert_int_equal(ev.tool_calls, 0);
    /* Content of the same stream does not match the tool's template. */
    assert_int_equal(check(&s, API_OPENAI_CHAT, VLLM("text")), 0);

    api_shape_reset(&s);
#define RUSAGE(text, n, r) "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"" text "\"}}],\"usage\":" \
    "{\"prompt_tokens\":5,\"completion_tokens\":" n ",\"completion_tokens_details\":{\"reasoning_tokens\":" r "}}}"
    assert_int_equal(feed(&s, API_OPENAI_CHAT, RUSAGE("a", "1", "1")), 0);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, RUSAGE("b", "2", "2")), 0);
    assert_true(feed(&s, API_OPENAI_CHAT, RUSAGE("c", "3", "3")));
    assert_int_equal(api_shape_match(&s, RUSAGE("d", "40", "39"), strlen(RUSAGE("d", "40", "39")), &ev), 1);
    assert_int_equal(ev.completion_tokens, 40);
    assert_int_equal(ev.reasoning_tokens, 39);
    assert_true(ev.reasoning);
    assert_true(check(&s, API_OPENAI_CHAT, RUSAGE("e", "41", "7")));
#undef RUSAGE
}

/* Content next to reasoning: with the content empty, the parse takes the
 * reasoning; the shape must not claim "no text". */
static void test_empty_text_with_other_text(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    learn(&s, API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"a\",\"reasoning_content\":\"r\"}}]}");
    assert_true(check(&s, API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"b\",\"reasoning_content\":\"r\"}}]}"));
    assert_int_equal(check(&s, API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"\",\"reasoning_content\":\"r\"}}]}"), 0);
}

/* Ollama /api/generate lines: created_at changes on every line, and Go's
 * RFC3339Nano drops trailing zeros, so its digit count changes too. */
static void test_ollama_created_at(void **state)
{
    (void)state;
    static const char *const stamps[] = {
        "2026-11-23T10:00:00.123456789Z", "2026-11-23T10:00:00.12345679Z", "2026-11-23T10:00:00.2Z",
        "2026-11-23T10:00:00.98765Z", "2026-11-23T10:00:01.000000001Z", "2026-11-23T10:00:09.5Z",
        "2026-11-23T10:00:10.1234Z", "2026-11-23T10:01:00.77Z", "2026-11-23T10:59:59.999999999Z",
        "2026-11-23T11:00:00.1Z", "2026-11-24T00:00:00.3Z", "2026-12-01T00:00:00.30000001Z",
    };
    static const char *const texts[] = { "The", " 2", " cats", "\\n", " \\u00e9t\\u00e9", "." };
    char line[512];
    struct api_shape s;

    for (int chat = 0; chat < 2; chat++) {
        enum api_kind k = chat ? API_OLLAMA_CHAT : API_OLLAMA_GENERATE;
        int hits = 0, n = 0;
        api_shape_reset(&s);
        for (int round = 0; round < 4; round++) {
            for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++, n++) {
                const char *t = texts[(size_t)n % (sizeof texts / sizeof texts[0])];
                if (chat)
                    snprintf(line, sizeof line, "{\"model\":\"llama3.2:1b\",\"created_at\":\"%s\",\"message\":"
                             "{\"role\":\"assistant\",\"content\":\"%s\"},\"done\":false}", stamps[i], t);
                else
                    snprintf(line, sizeof line, "{\"model\":\"llama3.2:1b\",\"created_at\":\"%s\","
                             "\"response\":\"%s\",\"done\":false}", stamps[i], t);
                hits += feed(&s, k, line);
            }
        }
        /* The first line is learned as it is, the second shows which
         * runs change; from then on every line matches. */
        assert_int_equal(hits, n - 2);
        /* Still exact: the model name, the separators, the keys. */
        snprintf(line, sizeof line, "{\"model\":\"llama3.2:3b\",\"created_at\":\"2026-11-23T10:00:00.1Z\","
                 "\"response\":\"x\",\"done\":false}");
        assert_int_equal(matches(&s, line), 0);
        snprintf(line, sizeof line, "{\"model\":\"llama3.2:1b\",\"created_at\":\"2026-11-23T10:00:00Z\","
                 "\"response\":\"x\",\"done\":false}");
        assert_int_equal(matches(&s, line), 0);
        /* Go's final line (done, counts) never matches. */
        snprintf(line, sizeof line, "{\"model\":\"llama3.2:1b\",\"created_at\":\"2026-11-23T10:00:00.1Z\","
                 "\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"eval_count\":12}");
        assert_int_equal(feed(&s, k, line), 0);
    }
}

/* Ollama lines that carry counts before the last one (eval_count on
 * every line): the counts come from their digits. */
static void test_ollama_counts(void **state)
{
    (void)state;
    struct api_shape s;
    char line[512];
    int hits = 0;

    api_shape_reset(&s);
    for (int i = 1; i <= 200; i++) {
        struct api_event e;
        snprintf(line, sizeof line, "{\"model\":\"m\",\"created_at\":\"2026-11-23T10:00:%02d.%dZ\",\"message\":"
                 "{\"role\":\"assistant\",\"content\":\"x\"},\"done\":false,\"eval_count\":%d,\"eval_duration\":%d}",
                 i / 10, 123456 + 7 * i, i, 1000 * i);
        int m = feed(&s, API_OLLAMA_CHAT, line);
        hits += m;
        if (m) {
            assert_int_equal(api_shape_match(&s, line, strlen(line), &e), 1);
            assert_int_equal(e.completion_tokens, i);
            assert_int_equal(e.eval_duration_ns, 1000 * i);
        }
    }
    assert_true(hits >= 196);
}

static void usage_chunk(char *buf, size_t cap, long created, const char *text, long prompt, long total,
                        long completion)
{
    snprintf(buf, cap, "{\"id\":\"chatcmpl-8f3a2b1c9d0e4f5a\",\"object\":\"chat.completion.chunk\","
             "\"created\":%ld,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[{\"index\":0,"
             "\"delta\":{\"content\":\"%s\"},\"logprobs\":null,\"finish_reason\":null}],"
             "\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld,\"completion_tokens\":%ld}}",
             created, text, prompt, total, completion);
}

/* vLLM with stream_options.continuous_usage_stats: every chunk carries
 * usage; completion_tokens and prompt_tokens must come out of the digits
 * exactly as the parse reads them. */
static void test_vllm_continuous_usage(void **state)
{
    (void)state;
    static const long prompts[] = { 12, 7, 1, 100, 999, 123456789012 };
    char ev[1024];
    struct api_shape s;

    for (size_t p = 0; p < sizeof prompts / sizeof prompts[0]; p++) {
        int hits = 0, n = 0;
        api_shape_reset(&s);
        for (long i = 1; i <= 1200; i++, n++) {
            struct api_event fast;
            usage_chunk(ev, sizeof ev, 1732000000 + i / 400, i % 3 ? " tok" : "en", prompts[p],
                        prompts[p] + i, i);
            int m = feed(&s, API_OPENAI_CHAT, ev);
            hits += m;
            if (m) {
                assert_int_equal(api_shape_match(&s, ev, strlen(ev), &fast), 1);
                assert_int_equal(fast.completion_tokens, i);
                assert_int_equal(fast.prompt_tokens, prompts[p]);
            }
        }
        /* The first chunk is kept, the second shows which runs change
         * and where the counts are, and `created` ticks once. */
        assert_int_equal(hits, n - 3);
    }
    /* A new prompt length on the same shape: the count is read, not kept. */
    usage_chunk(ev, sizeof ev, 1732000001, "x", 4096, 5000, 904);
    assert_true(check(&s, API_OPENAI_CHAT, ev));
    usage_chunk(ev, sizeof ev, 1732000001, "x", 0, 5000, 0);
    assert_true(check(&s, API_OPENAI_CHAT, ev));
}

/* A learned usage shape, for the negative cases below. */
static void learn_usage(struct api_shape *s)
{
    char ev[1024];
    api_shape_reset(s);
    for (long i = 1; i <= 3; i++) {
        usage_chunk(ev, sizeof ev, 1732000000, "a", 12, 12 + i, i);
        feed(s, API_OPENAI_CHAT, ev);
    }
    usage_chunk(ev, sizeof ev, 1732000000, "a", 12, 16, 4);
    assert_true(matches(s, ev));
}

static void test_usage_declines(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[1024];
    learn_usage(&s);
    const char *pre = "{\"id\":\"chatcmpl-8f3a2b1c9d0e4f5a\",\"object\":\"chat.completion.chunk\","
                      "\"created\":1732000000,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[{\"index\":0,"
                      "\"delta\":{\"content\":\"a\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":";
    static const char *const no[] = {
        /* leading zeros are not JSON numbers */
        "{\"prompt_tokens\":12,\"total_tokens\":012,\"completion_tokens\":5}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":05}}",
        "{\"prompt_tokens\":00,\"total_tokens\":17,\"completion_tokens\":5}}",
        /* digits must be there */
        "{\"prompt_tokens\":12,\"total_tokens\":,\"completion_tokens\":5}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":}}",
        /* other number forms: the parse would read 5.0 or -5 differently */
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":5.0}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":-5}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":5e0}}",
        /* beyond int64: the parse leaves the field unset */
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":9223372036854775808}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":99999999999999999999999}}",
        /* a non-digit byte changed */
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokenz\":5}}",
        "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":5 }}",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(ev, sizeof ev, "%s%s", pre, no[i]);
        assert_int_equal(check(&s, API_OPENAI_CHAT, ev), 0);
    }
    /* The largest int64 is read as the parse reads it. */
    snprintf(ev, sizeof ev, "%s%s", pre, "{\"prompt_tokens\":9223372036854775807,\"total_tokens\":1,\"completion_tokens\":0}}");
    assert_true(check(&s, API_OPENAI_CHAT, ev));
    /* Every digit, one at a time: only the usage runs changed while the
     * shape was learned (the id, created, the model and index did not),
     * so only they may vary. */
    usage_chunk(ev, sizeof ev, 1732000000, "a", 12, 16, 4);
    const char *usage = strstr(ev, "\"usage\"");
    for (size_t i = 0; ev[i]; i++) {
        if (ev[i] < '0' || ev[i] > '9')
            continue;
        char save = ev[i];
        ev[i] = save == '9' ? '8' : (char)(save + 1);
        assert_int_equal(check(&s, API_OPENAI_CHAT, ev), ev + i > usage);
        ev[i] = save;
    }
    assert_true(matches(&s, ev));
    snprintf(ev, sizeof ev, "{\"id\":\"chatcmpl-8f3a2b1c9d0e4f5b\"%s", pre + strlen("{\"id\":\"chatcmpl-8f3a2b1c9d0e4f5a\""));
    snprintf(ev + strlen(ev), sizeof ev - strlen(ev), "{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":5}}");
    assert_int_equal(matches(&s, ev), 0);
}

/* Digits of a \u escape stay exact even in a string whose other digits
 * vary: a shorter or longer run would break the escape. */
static void test_unicode_escape_stays(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u00e9-1\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"), 0);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u00e9-2\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}"), 0);
    assert_true(check(&s, API_OPENAI_CHAT, "{\"id\":\"\\u00e9-345\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}"));
    assert_int_equal(matches(&s, "{\"id\":\"\\u00e8-3\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}"), 0);
    assert_int_equal(matches(&s, "{\"id\":\"\\u0e9-3\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}"), 0);
    assert_int_equal(matches(&s, "{\"id\":\"\\u100e9-3\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}"), 0);
    /* Escape digits that change between events: never a variable run. */
    api_shape_reset(&s);
    feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u0031\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}");
    feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u0032\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}");
    assert_int_equal(feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u0033\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"), 0);
    assert_int_equal(feed(&s, API_OPENAI_CHAT, "{\"id\":\"\\u0034\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"), 0);
}

/* Keys with digits stay exact, and a count that is not a plain integer
 * (llama.cpp's timings in milliseconds) keeps the stream on the parse. */
static void test_unmappable_runs(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[512];
    int hits = 0;

    api_shape_reset(&s);
    for (int i = 0; i < 50; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"prompt_n\":5,"
                 "\"prompt_ms\":1.5,\"predicted_n\":%d,\"predicted_ms\":%d.%d}}", i + 1, 20 * i + 3, i % 10);
        hits += feed(&s, API_OPENAI_CHAT, ev);
    }
    assert_int_equal(hits, 0);
    api_shape_reset(&s);
    feed(&s, API_OPENAI_CHAT, "{\"k1\":0,\"choices\":[{\"delta\":{\"content\":\"t\"}}]}");
    feed(&s, API_OPENAI_CHAT, "{\"k2\":0,\"choices\":[{\"delta\":{\"content\":\"t\"}}]}");
    assert_int_equal(feed(&s, API_OPENAI_CHAT, "{\"k3\":0,\"choices\":[{\"delta\":{\"content\":\"t\"}}]}"), 0);
    /* A count that is a float: the parse truncates; never read from digits. */
    api_shape_reset(&s);
    hits = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"usage\":{\"completion_tokens\":%d.0}}", i + 1);
        hits += feed(&s, API_OPENAI_CHAT, ev);
    }
    assert_int_equal(hits, 0);
    /* A negative count is a value too (-1 alone means absent). */
    api_shape_reset(&s);
    hits = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"usage\":{\"prompt_tokens\":-2,"
                 "\"completion_tokens\":%d}}", i + 1);
        hits += feed(&s, API_OPENAI_CHAT, ev);
    }
    assert_int_equal(hits, 0);
    /* llama.cpp's native events carry a tokens array: never a shape. */
    api_shape_reset(&s);
    hits = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(ev, sizeof ev, "{\"index\":0,\"content\":\" series\",\"tokens\":[%d],\"stop\":false,"
                 "\"id_slot\":-1,\"tokens_predicted\":%d,\"tokens_evaluated\":5}", 3000 + i, i + 1);
        hits += feed(&s, API_OPENAI_COMPLETIONS, ev);
    }
    assert_int_equal(hits, 0);
}

/* A number the parse reads only in a range: where it changes outside the
 * range (milliseconds beyond 9.2e12 give no duration), trying nearby
 * values shows no effect, but it must not become a variable run. */
static void test_number_out_of_range_stays(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[512];

    api_shape_reset(&s);
    for (int i = 0; i < 5; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":%lld}}",
                 6666666666666663LL + i);
        feed(&s, API_OPENAI_CHAT, ev);
    }
    snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":3}}");
    assert_int_equal(check(&s, API_OPENAI_CHAT, ev), 0);
    snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":1e99}}");
    feed(&s, API_OPENAI_CHAT, ev);
    snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":1e98}}");
    feed(&s, API_OPENAI_CHAT, ev);
    snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":1e2}}");
    assert_int_equal(check(&s, API_OPENAI_CHAT, ev), 0);
    /* Negative milliseconds are not taken, but -0 is. */
    api_shape_reset(&s);
    for (int i = 1; i < 6; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":-%d}}", i);
        feed(&s, API_OPENAI_CHAT, ev);
    }
    snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_ms\":-0}}");
    assert_int_equal(check(&s, API_OPENAI_CHAT, ev), 0);
}

/* llama.cpp chunks whose `created` ticks, and the native event without
 * the tokens array: digits that do not matter vary. */
static void test_ticking_created(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[512];
    int hits = 0;

    api_shape_reset(&s);
    for (int i = 0; i < 100; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"w%d\"}}],"
                 "\"created\":%d,\"id\":\"chatcmpl-RFzTVnI4dN5OXdVwYS0cjSVTeAxqMGxs\",\"model\":\"tiny\","
                 "\"system_fingerprint\":\"b4748-c392e5094\",\"object\":\"chat.completion.chunk\"}",
                 i, 1795456674 + i / 10);
        hits += feed(&s, API_OPENAI_CHAT, ev);
    }
    assert_true(hits >= 97);
}

/* A count whose value other numbers share: only the run the parse copies
 * is read, and a first event with counts never matches on its own. */
static void test_counts_found_among_equal_values(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[512];

    api_shape_reset(&s);
    snprintf(ev, sizeof ev, "{\"created\":5,\"n\":[5,5.5],\"choices\":[{\"index\":5,\"delta\":{\"content\":\"a\"}}],"
             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"x\":\"5\"}}");
    assert_int_equal(feed(&s, API_OPENAI_CHAT, ev), 0);
    assert_int_equal(matches(&s, ev), 0);   /* waiting for a second event */
    snprintf(ev, sizeof ev, "{\"created\":5,\"n\":[5,5.5],\"choices\":[{\"index\":5,\"delta\":{\"content\":\"b\"}}],"
             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"x\":\"5\"}}");
    assert_int_equal(feed(&s, API_OPENAI_CHAT, ev), 0);
    for (int p = 1; p < 300; p += 37) {
        for (int i = 7; i < 2000; i += 191) {
            struct api_event e;
            snprintf(ev, sizeof ev, "{\"created\":5,\"n\":[5,5.5],\"choices\":[{\"index\":5,\"delta\":{\"content\":\"c\"}}],"
                     "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"x\":\"5\"}}", p, i);
            assert_true(check(&s, API_OPENAI_CHAT, ev));
            assert_int_equal(api_shape_match(&s, ev, strlen(ev), &e), 1);
            assert_int_equal(e.prompt_tokens, p);
            assert_int_equal(e.completion_tokens, i);
        }
    }
    /* The other fives never changed: they stay exact. */
    snprintf(ev, sizeof ev, "{\"created\":6,\"n\":[5,5.5],\"choices\":[{\"index\":5,\"delta\":{\"content\":\"c\"}}],"
             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"x\":\"5\"}}");
    assert_int_equal(matches(&s, ev), 0);
}

/* Two runs with the same value where the parse takes one or the other
 * (usage outranks timings, unless usage is out of int64): the counts
 * must be read from the run the parse reads, whatever the values. */
static void test_counts_with_two_sources(void **state)
{
    (void)state;
    static const char *const usage[] = { "9223372036854775808", "9223372036854775808", "9223372036854775808",
                                         "2", "3", "4", "5", "6" };
    struct api_shape s;
    char ev[512];

    for (int k = 0; k < 3; k++) {
        enum api_kind kind = k == 0 ? API_OPENAI_CHAT : k == 1 ? API_OPENAI_COMPLETIONS : API_AUTO;
        api_shape_reset(&s);
        for (int i = 0; i < 8; i++) {
            snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"usage\":{\"completion_tokens\":%s},"
                     "\"timings\":{\"predicted_n\":%d,\"prompt_n\":9}}", usage[i], i < 3 ? 0 : i - 1);
            feed(&s, kind, ev);
        }
        for (int i = 0; i < 50; i++) {
            snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"usage\":{\"completion_tokens\":%d},"
                     "\"timings\":{\"predicted_n\":%d,\"prompt_n\":9}}", i % 7, i % 5);
            feed(&s, kind, ev);   /* checked against the parse when it matches */
        }
    }
}

/* A stream that cannot match is let pass cheaply, but a new shape after
 * it is still learned soon. */
static void test_unusable_then_new_shape(void **state)
{
    (void)state;
    struct api_shape s;
    char ev[512];
    int first = -1;

    api_shape_reset(&s);
    for (int i = 0; i < 40; i++) {
        snprintf(ev, sizeof ev, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"predicted_n\":%d,"
                 "\"predicted_ms\":%d.5}}", i + 1, 3 * i + 1);
        assert_int_equal(feed(&s, API_OPENAI_CHAT, ev), 0);
    }
    for (int i = 0; i < 40; i++) {
        if (feed(&s, API_OPENAI_CHAT, VLLM("plain")) && first < 0)
            first = i;
    }
    assert_true(first >= 1 && first <= 17);
}

/* Events built from a few real shapes, mutated at random: digit changes
 * (value and length), inserted and deleted digits, and other bytes
 * changed.  Whatever the shape accepts must be what the parse reads. */
static void test_random_agreement(void **state)
{
    (void)state;
    static const struct { enum api_kind k; const char *ev; } base[] = {
        { API_OPENAI_CHAT, VLLM("seed") },
        { API_OPENAI_CHAT, "{\"id\":\"chatcmpl-1\",\"created\":1732000000,\"choices\":[{\"index\":0,"
                           "\"delta\":{\"content\":\"a1\"},\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":12,"
                           "\"total_tokens\":30,\"completion_tokens\":18}}" },
        { API_OLLAMA_GENERATE, "{\"model\":\"qwen2.5:7b\",\"created_at\":\"2026-11-23T10:00:00.123456789Z\","
                               "\"response\":\"tok\",\"done\":false}" },
        { API_OLLAMA_CHAT, "{\"model\":\"m\",\"created_at\":\"2026-11-23T10:00:00.1Z\",\"message\":{\"role\":"
                           "\"assistant\",\"content\":\"x\",\"thinking\":\"\"},\"done\":false,\"eval_count\":7,"
                           "\"eval_duration\":123456}" },
        { API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"prompt_n\":5,"
                           "\"prompt_ms\":1.5,\"predicted_n\":7,\"predicted_ms\":10}}" },
        { API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"timings\":{\"prompt_n\":5,"
                           "\"predicted_n\":7}}" },
        { API_AUTO, "{\"x\":-12.5e-3,\"y\":[1,2,0.25],\"s\":\"\\u00e9 10\",\"choices\":[{\"delta\":"
                    "{\"reasoning_content\":\"r\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3}}" },
        { API_OPENAI_COMPLETIONS, "{\"choices\":[{\"text\":\"9\",\"index\":0}],\"created\":7,\"usage\":null}" },
        { API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],\"usage\":{\"completion_tokens\":2},"
                           "\"timings\":{\"predicted_n\":2,\"prompt_n\":9,\"predicted_ms\":-6}}" },
        { API_OPENAI_CHAT, TOOLD("{\\\"a\\\": 12") },
        { API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"c9\",\"function\":"
                           "{\"name\":\"f2\",\"arguments\":\"\"}}]}}]}" },
        { API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"r1\"}}],\"usage\":{\"completion_tokens\":"
                           "12,\"completion_tokens_details\":{\"reasoning_tokens\":11}}}" },
        { API_OLLAMA_CHAT, "{\"model\":\"m\",\"created_at\":\"2026-11-23T10:00:00.1Z\",\"message\":{\"role\":"
                           "\"assistant\",\"content\":\"\",\"thinking\":\"hm 3\"},\"done\":false}" },
        { API_OLLAMA_CHAT, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
                           "[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"P1\"}}}]},\"done\":false}" },
    };
    /* Whole runs of digits become other numbers: zero, large, beyond
     * int64, with a leading zero, a fraction or an exponent. */
    static const char *const numbers[] = { "0", "1", "7", "42", "007", "1000003", "9223372036854775807",
                                           "9223372036854775808", "123456789012345678901234", "1.5", "2e3",
                                           "9200000000000", "6666666666666663" };
    static const char junk[] = "09a\"\\{}[],:.-e ";
    srand(7);
    long accepted = 0;
    for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
        struct api_shape s;
        api_shape_reset(&s);
        for (int iter = 0; iter < 6000; iter++) {
            char ev[600];
            size_t n = strlen(base[b].ev);
            memcpy(ev, base[b].ev, n + 1);
            int muts = rand() % 4;
            for (int m = 0; m < muts && n > 2 && n < sizeof ev - 32; m++) {
                size_t at = (size_t)rand() % n;
                int what = rand() % 12;
                if (what >= 10) {
                    /* a whole run of digits: another number */
                    const char *num = numbers[rand() % (int)(sizeof numbers / sizeof numbers[0])];
                    size_t e, k = strlen(num);
                    while (at < n && (ev[at] < '0' || ev[at] > '9'))
                        at++;
                    while (at > 0 && ev[at - 1] >= '0' && ev[at - 1] <= '9')
                        at--;
                    for (e = at; e < n && ev[e] >= '0' && ev[e] <= '9'; e++)
                        ;
                    if (at == n)
                        continue;
                    memmove(ev + at + k, ev + e, n - e + 1);
                    memcpy(ev + at, num, k);
                    n = n - (e - at) + k;
                } else if (what < 6) {
                    /* a digit: another value, or one more, or one fewer */
                    while (at < n && (ev[at] < '0' || ev[at] > '9'))
                        at++;
                    if (at == n)
                        continue;
                    if (what < 4) {
                        ev[at] = (char)('0' + rand() % 10);
                    } else if (what == 4) {
                        memmove(ev + at + 1, ev + at, n - at + 1);
                        ev[at] = (char)('0' + rand() % 10);
                        n++;
                    } else {
                        memmove(ev + at, ev + at + 1, n - at);
                        n--;
                    }
                } else if (what < 9) {
                    ev[at] = junk[rand() % (int)(sizeof junk - 1)];
                } else {
                    memmove(ev + at, ev + at + 1, n - at);
                    n--;
                }
            }
            accepted += feed_n(&s, base[b].k, ev, n);
        }
    }
    assert_true(accepted > 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_vllm_content),
        cmocka_unit_test(test_declines),
        cmocka_unit_test(test_final_events_never_learned),
        cmocka_unit_test(test_reasoning_and_ollama_chat),
        cmocka_unit_test(test_tool_calls_and_reasoning_usage),
        cmocka_unit_test(test_empty_text_with_other_text),
        cmocka_unit_test(test_ollama_created_at),
        cmocka_unit_test(test_ollama_counts),
        cmocka_unit_test(test_vllm_continuous_usage),
        cmocka_unit_test(test_usage_declines),
        cmocka_unit_test(test_unicode_escape_stays),
        cmocka_unit_test(test_unmappable_runs),
        cmocka_unit_test(test_number_out_of_range_stays),
        cmocka_unit_test(test_ticking_created),
        cmocka_unit_test(test_counts_found_among_equal_values),
        cmocka_unit_test(test_counts_with_two_sources),
        cmocka_unit_test(test_unusable_then_new_shape),
        cmocka_unit_test(test_random_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
