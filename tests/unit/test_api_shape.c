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
#include "json.h"

#define NTOK 1024
static jsmntok_t toks[NTOK];

static void learn(struct api_shape *s, enum api_kind k, const char *ev)
{
    struct api_event e;
    assert_int_equal(api_parse_event(k, ev, strlen(ev), &e, toks, NTOK), 0);
    api_shape_learn(s, ev, strlen(ev), &e);
}

/* Matches and agrees with the full parse, or does not match at all. */
static int check(const struct api_shape *s, enum api_kind k, const char *ev)
{
    struct api_event fast, full;
    int m = api_shape_match(s, ev, strlen(ev), &fast);
    int rc = api_parse_event(k, ev, strlen(ev), &full, toks, NTOK);
    if (!m)
        return 0;
    assert_int_equal(rc, 0);
    assert_int_equal(fast.content, full.content);
    assert_int_equal(fast.reasoning, full.reasoning);
    assert_int_equal(fast.done, full.done);
    assert_int_equal(fast.error, full.error);
    assert_int_equal(fast.finish, full.finish);
    assert_int_equal(fast.text_len, full.text_len);
    if (full.text_len)
        assert_memory_equal(fast.text, full.text, full.text_len);
    assert_int_equal(fast.completion_tokens, full.completion_tokens);
    assert_int_equal(fast.prompt_tokens, full.prompt_tokens);
    return 1;
}

#define VLLM(content) "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"," \
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"},\"logprobs\":null,\"finish_reason\":null}]}"

static void test_vllm_content(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    assert_int_equal(check(&s, API_OPENAI_CHAT, VLLM("Hi")), 0);   /* nothing learned yet */
    learn(&s, API_OPENAI_CHAT, VLLM("Hi"));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM(" there")));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("")));               /* empty: no content */
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("a \\\"quoted\\\" \\\\ \\n \\u00e9")));
    assert_true(check(&s, API_OPENAI_CHAT, VLLM("\xc3\xa9t\xc3\xa9")));
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
        "[DONE]",
        "",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        struct api_event e;
        assert_int_equal(api_shape_match(&s, no[i], strlen(no[i]), &e), 0);
    }
}

static void test_not_learned_from_events_with_meaning(void **state)
{
    (void)state;
    struct api_shape s;
    api_shape_reset(&s);
    /* continuous_usage_stats: every chunk carries usage; never learned. */
    const char *ev = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],"
                     "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";
    learn(&s, API_OPENAI_CHAT, ev);
    struct api_event e;
    assert_int_equal(api_shape_match(&s, ev, strlen(ev), &e), 0);
    /* Ollama's final line. */
    const char *fin = "{\"model\":\"m\",\"created_at\":\"t\",\"response\":\"x\",\"done\":true,\"eval_count\":3}";
    learn(&s, API_OLLAMA_GENERATE, fin);
    assert_int_equal(api_shape_match(&s, fin, strlen(fin), &e), 0);
}

static void test_reasoning_and_ollama(void **state)
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

/* Random texts, some valid JSON string bodies and some not: whenever the
 * shape accepts one, the full parse agrees. */
static void test_random_agreement(void **state)
{
    (void)state;
    static const char alphabet[] = "ab \\\"nu0e9/\x01{}:,";
    struct api_shape s;
    api_shape_reset(&s);
    learn(&s, API_OPENAI_CHAT, VLLM("seed"));
    srand(7);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char text[16], ev[512];
        int n = rand() % 12;
        for (int i = 0; i < n; i++)
            text[i] = alphabet[rand() % (sizeof alphabet - 1)];
        text[n] = 0;
        snprintf(ev, sizeof ev, VLLM("%s"), text);
        struct api_event full;
        int m = check(&s, API_OPENAI_CHAT, ev);
        accepted += m;
        if (!m && api_parse_event(API_OPENAI_CHAT, ev, strlen(ev), &full, toks, NTOK) == 0 &&
            full.content && !full.finish && full.completion_tokens < 0) {
            /* Declining is always allowed; nothing to check. */
        }
    }
    assert_true(accepted > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vllm_content),
        cmocka_unit_test(test_declines),
        cmocka_unit_test(test_not_learned_from_events_with_meaning),
        cmocka_unit_test(test_reasoning_and_ollama),
        cmocka_unit_test(test_random_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
