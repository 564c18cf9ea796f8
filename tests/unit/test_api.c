/* Tests for the API adapters: request bodies (parsed back with cJSON) and
 * the meaning of events from every server shape of docs/protocols.md, alone
 * and through the SSE / NDJSON decoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "json.h"
#include "ndjson.h"
#include "sse.h"

#define NTOK 1024
static jsmntok_t toks[NTOK];

static struct api_event parse(enum api_kind k, const char *s)
{
    struct api_event ev;

    assert_int_equal(api_parse_event(k, s, strlen(s), &ev, toks, NTOK), 0);
    return ev;
}

static int slice_is(const char *p, size_t n, const char *want)
{
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

#define assert_slice(p, n, want) assert_true(slice_is((p), (n), (want)))

static void test_names(void **state)
{
    enum api_kind k = API_AUTO;

    (void)state;
    for (int i = 0; i < API__COUNT; i++) {
        assert_int_equal(api_from_name(api_name((enum api_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(api_name(API_OPENAI_CHAT), "openai-chat");
    assert_string_equal(api_path(API_OPENAI_CHAT), "/v1/chat/completions");
    assert_string_equal(api_path(API_OPENAI_COMPLETIONS), "/v1/completions");
    assert_string_equal(api_path(API_OLLAMA_GENERATE), "/api/generate");
    assert_string_equal(api_path(API_OLLAMA_CHAT), "/api/chat");
    assert_null(api_path(API_AUTO));
    assert_null(api_path(API__COUNT));
    assert_string_equal(api_name(API__COUNT), "?");
    assert_int_equal(api_from_name("ollama", &k), 0);
    assert_int_equal(k, API_OLLAMA_GENERATE);
    assert_int_equal(api_from_name("openai", &k), 0);
    assert_int_equal(k, API_OPENAI_CHAT);
    k = API_OLLAMA_CHAT;
    assert_int_equal(api_from_name("OpenAI-Chat", &k), -1);
    assert_int_equal(api_from_name("", &k), -1);
    assert_int_equal(api_from_name(NULL, &k), -1);
    assert_int_equal(k, API_OLLAMA_CHAT);
    assert_true(api_is_ollama(API_OLLAMA_CHAT));
    assert_false(api_is_ollama(API_OPENAI_CHAT));
    assert_false(api_is_ollama(API_AUTO));
}

/* What the rest of the program reads from the adapter table. */
static void test_table(void **state)
{
    static const struct { const char *path; enum api_kind kind; } ep[] = {
        { "/v1/chat/completions", API_OPENAI_CHAT },
        { "/openai/deployments/x/chat/completions", API_OPENAI_CHAT },
        { "/v1/completions", API_OPENAI_COMPLETIONS },
        { "/completions", API_OPENAI_COMPLETIONS },
        { "/api/generate", API_OLLAMA_GENERATE },
        { "/proxy/api/chat", API_OLLAMA_CHAT },
        { "/v1", API_AUTO }, { "/api", API_AUTO }, { "", API_AUTO }, { "/chat", API_AUTO },
        { "/v1/chat/completions/", API_AUTO },
        /* llama.cpp's native endpoint takes the completions body. */
        { "/completion", API_OPENAI_COMPLETIONS }, { "/llama/completion", API_OPENAI_COMPLETIONS },
        { "/completion/", API_AUTO },
    };

    (void)state;
    for (size_t i = 0; i < sizeof ep / sizeof ep[0]; i++)
        if (api_from_endpoint(ep[i].path) != ep[i].kind)
            fail_msg("%s: %s", ep[i].path, api_name(api_from_endpoint(ep[i].path)));
    assert_int_equal(api_from_endpoint(NULL), API_AUTO);
    /* Every concrete kind's own path names it. */
    for (int i = 1; i < API__COUNT; i++)
        assert_int_equal(api_from_endpoint(api_path((enum api_kind)i)), i);
    assert_true(api_is_chat(API_OPENAI_CHAT) && api_is_chat(API_OLLAMA_CHAT));
    assert_false(api_is_chat(API_OPENAI_COMPLETIONS) || api_is_chat(API_OLLAMA_GENERATE) ||
                 api_is_chat(API_AUTO));
    assert_string_equal(api_accept(API_OPENAI_CHAT), "text/event-stream");
    assert_string_equal(api_accept(API_OPENAI_COMPLETIONS), "text/event-stream");
    assert_string_equal(api_accept(API_OLLAMA_GENERATE), "application/x-ndjson");
    assert_string_equal(api_accept(API_OLLAMA_CHAT), "application/x-ndjson");
    assert_null(api_accept(API_AUTO));
    assert_null(api_accept(API__COUNT));
    assert_null(api_family(API_AUTO));
    assert_string_equal(api_family(API_OLLAMA_CHAT)->protocol, "ollama");
    assert_string_equal(api_family(API_OLLAMA_GENERATE)->models_path, "/api/tags");
    assert_string_equal(api_family(API_OLLAMA_GENERATE)->version_path, "/api/version");
    assert_string_equal(api_family(API_OPENAI_COMPLETIONS)->protocol, "openai");
    assert_string_equal(api_family(API_OPENAI_CHAT)->models_list, "data");
    assert_string_equal(api_family(API_OPENAI_CHAT)->model_name, "id");
}

/* ---- request bodies ------------------------------------------------------ */

static struct api_request base_req(void)
{
    struct api_request r;

    memset(&r, 0, sizeof r);
    r.model = "llama3.2";
    r.prompt = "Say 'hello, world!' in Korean.";
    r.max_tokens = 128;
    r.min_tokens = 0;
    r.temperature = NAN;
    r.seed = -1;
    r.stream = 1;
    r.include_usage = 1;
    return r;
}

static cJSON *build(enum api_kind k, const struct api_request *r)
{
    static char buf[4096];
    long n = api_build_body(k, r, buf, sizeof buf);
    cJSON *j;

    assert_true(n > 0);
    assert_int_equal((long)strlen(buf), n);
    j = cJSON_ParseWithLength(buf, (size_t)n);
    assert_non_null(j);
    /* Every cap short of the length fails cleanly. */
    for (long cap = 0; cap < n; cap++) {
        char small[4096];
        assert_int_equal(api_build_body(k, r, small, (size_t)cap), -1);
    }
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static int jhas(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

static int jtrue(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void test_body_openai_chat(void **state)
{
    struct api_request r = base_req();
    cJSON *j, *m, *so;
    char buf[512];

    (void)state;
    r.system = "You are terse.";
    r.temperature = 0.7;
    r.seed = 42;
    r.ignore_eos = 1;
    r.min_tokens = 128;
    j = build(API_OPENAI_CHAT, &r);
    assert_string_equal(jstr(j, "model"), "llama3.2");
    m = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(m), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 0), "role"), "system");
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 0), "content"), "You are terse.");
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 1), "role"), "user");
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 1), "content"), r.prompt);
    assert_true(jtrue(j, "stream"));
    so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
    assert_true(jtrue(so, "include_usage"));
    assert_true(jnum(j, "max_tokens") == 128);
    assert_false(jhas(j, "max_completion_tokens"));
    assert_true(jnum(j, "temperature") == 0.7);
    assert_true(jnum(j, "seed") == 42);
    assert_true(jtrue(j, "ignore_eos"));
    assert_true(jnum(j, "min_tokens") == 128);
    assert_false(jhas(j, "prompt"));
    cJSON_Delete(j);
    /* 0.7 is written as 0.7, not as its 17-digit expansion. */
    assert_true(api_build_body(API_OPENAI_CHAT, &r, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"temperature\":0.7,"));

    /* Non-streamed, nothing optional: no stream_options, no extras. */
    r = base_req();
    r.stream = 0;
    r.max_tokens = -1;
    j = build(API_OPENAI_CHAT, &r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "stream")));
    assert_false(jhas(j, "stream_options"));
    assert_false(jhas(j, "max_tokens"));
    assert_false(jhas(j, "temperature"));
    assert_false(jhas(j, "seed"));
    assert_false(jhas(j, "ignore_eos"));
    assert_false(jhas(j, "min_tokens"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "messages")), 1);
    cJSON_Delete(j);
    /* Streaming without include_usage. */
    r = base_req();
    r.include_usage = 0;
    j = build(API_OPENAI_CHAT, &r);
    assert_false(jhas(j, "stream_options"));
    cJSON_Delete(j);
}

static void test_body_messages_and_escaping(void **state)
{
    static const char nasty[] = "q\"uote\\ back\nnl\ttab\x01\x1f \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xf0\x9f\x98\x80";
    struct api_message msgs[3] = {
        { "user", "first" }, { "assistant", nasty }, { NULL, "third" },
    };
    struct api_request r = base_req();
    cJSON *j, *m;

    (void)state;
    r.messages = msgs;
    r.nmessages = 3;
    r.system = "sys";
    r.prompt = NULL;
    j = build(API_OPENAI_CHAT, &r);
    m = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(m), 4);
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 0), "role"), "system");
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 2), "content"), nasty);
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 3), "role"), "user");
    cJSON_Delete(j);
    /* A system message already first is not doubled. */
    msgs[0].role = "system";
    j = build(API_OLLAMA_CHAT, &r);
    m = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(m), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 1), "content"), nasty);
    cJSON_Delete(j);
    /* Single-prompt APIs take the last message when there is no prompt. */
    j = build(API_OLLAMA_GENERATE, &r);
    assert_string_equal(jstr(j, "prompt"), "third");
    cJSON_Delete(j);
    r = base_req();
    r.prompt = nasty;
    r.model = "m\"x";
    j = build(API_OPENAI_COMPLETIONS, &r);
    assert_string_equal(jstr(j, "prompt"), nasty);
    assert_string_equal(jstr(j, "model"), "m\"x");
    cJSON_Delete(j);
}

static void test_body_openai_completions(void **state)
{
    struct api_request r = base_req();
    cJSON *j;

    (void)state;
    r.seed = 0;
    r.temperature = 0;
    r.system = "Be brief.";
    j = build(API_OPENAI_COMPLETIONS, &r);
    assert_string_equal(jstr(j, "model"), "llama3.2");
    assert_string_equal(jstr(j, "prompt"), "Be brief.\n\nSay 'hello, world!' in Korean.");
    assert_false(jhas(j, "messages"));
    assert_true(jtrue(j, "stream"));
    assert_true(jtrue(cJSON_GetObjectItemCaseSensitive(j, "stream_options"), "include_usage"));
    assert_true(jnum(j, "max_tokens") == 128);
    assert_true(jnum(j, "seed") == 0);
    assert_true(jnum(j, "temperature") == 0);
    cJSON_Delete(j);
    r.model = NULL;
    r.system = NULL;
    j = build(API_OPENAI_COMPLETIONS, &r);
    assert_false(jhas(j, "model"));
    assert_string_equal(jstr(j, "prompt"), "Say 'hello, world!' in Korean.");
    cJSON_Delete(j);
}

static void test_body_ollama(void **state)
{
    struct api_request r = base_req();
    cJSON *j, *o, *m;
    char buf[64];

    (void)state;
    r.system = "sys";
    r.temperature = 0.25;
    r.seed = 7;
    r.ignore_eos = 1;
    r.min_tokens = 5;
    j = build(API_OLLAMA_GENERATE, &r);
    assert_string_equal(jstr(j, "model"), "llama3.2");
    assert_string_equal(jstr(j, "prompt"), r.prompt);
    assert_string_equal(jstr(j, "system"), "sys");
    assert_true(jtrue(j, "stream"));
    o = cJSON_GetObjectItemCaseSensitive(j, "options");
    assert_true(jnum(o, "num_predict") == 128);
    assert_true(jnum(o, "temperature") == 0.25);
    assert_true(jnum(o, "seed") == 7);
    assert_false(jhas(j, "max_tokens"));
    assert_false(jhas(j, "stream_options"));
    assert_false(jhas(j, "ignore_eos"));
    cJSON_Delete(j);

    r = base_req();
    r.stream = 0;
    r.max_tokens = -1;
    j = build(API_OLLAMA_CHAT, &r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "stream")));
    assert_false(jhas(j, "options"));
    m = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(m), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(m, 0), "content"), r.prompt);
    cJSON_Delete(j);

    assert_int_equal(api_build_body(API_AUTO, &r, buf, sizeof buf), -1);
    assert_int_equal(api_build_body(API__COUNT, &r, buf, sizeof buf), -1);
}

/* ---- events -------------------------------------------------------------- */

static void test_openai_chunks(void **state)
{
    struct api_event ev;

    (void)state;
    /* The role chunk has "content":"" and does not count. */
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                                "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}");
    assert_false(ev.content);
    assert_false(ev.done);
    assert_false(ev.finish);
    assert_false(ev.error);
    assert_int_equal(ev.completion_tokens, -1);
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\\"x\\\"\"},"
                                "\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"abc\"}");
    assert_true(ev.content);
    assert_false(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "Hi \\\"x\\\"");
    assert_int_equal(ev.completion_tokens, -1);
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}");
    assert_false(ev.content);
    assert_true(ev.finish);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "length");
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}}");
    assert_false(ev.content);
    assert_int_equal(ev.completion_tokens, 12);
    assert_int_equal(ev.prompt_tokens, 9);
    ev = parse(API_OPENAI_CHAT, "[DONE]");
    assert_true(ev.done);
    ev = parse(API_OPENAI_CHAT, "  [DONE]\r\n");
    assert_true(ev.done);
    /* Only the sentinel itself (sse_is_done): anything else that is not
     * JSON is a protocol error, not an end. */
    {
        static const char *const not_done[] = { "[DONE]x", "[DONE] x", "[done]", "[DONE", "[DONE]]" };
        struct api_event e;
        for (size_t i = 0; i < sizeof not_done / sizeof not_done[0]; i++)
            assert_int_equal(api_parse_event(API_OPENAI_CHAT, not_done[i], strlen(not_done[i]), &e,
                                             toks, NTOK), -1);
    }
    /* Legacy completions. */
    ev = parse(API_OPENAI_COMPLETIONS, "{\"object\":\"text_completion\",\"choices\":[{\"text\":\" world\",\"index\":0,"
                                       "\"logprobs\":null,\"finish_reason\":null}]}");
    assert_true(ev.content);
    assert_slice(ev.text, ev.text_len, " world");
    /* A tool-call delta is generated output: its arguments are the text. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}");
    assert_true(ev.content);
    assert_true(ev.tool);
    assert_false(ev.reasoning);
    assert_int_equal(ev.tool_calls, 0);
    assert_slice(ev.text, ev.text_len, "{}");
    /* The first delta of a call: its name, when the arguments are empty. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":"
                                "{\"name\":\"f\",\"arguments\":\"\"}}]}}]}");
    assert_true(ev.tool);
    assert_int_equal(ev.tool_calls, 1);
    assert_slice(ev.text, ev.text_len, "f");
    /* SGLang's "tool_calls": null and an empty array are nothing. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":null,\"tool_calls\":null}}]}");
    assert_false(ev.content);
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}");
    assert_false(ev.content);
    assert_int_equal(ev.tool_calls, 0);
    /* Content in the same delta wins the text; the call is still counted. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"ok\",\"tool_calls\":[{\"function\":"
                                "{\"name\":\"f\"}}]}}]}");
    assert_false(ev.tool);
    assert_int_equal(ev.tool_calls, 1);
    assert_slice(ev.text, ev.text_len, "ok");
    /* The reasoning count of usage (OpenAI, vLLM, DeepSeek). */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[],\"usage\":{\"completion_tokens\":30,\"completion_tokens_details\":"
                                "{\"reasoning_tokens\":12,\"accepted_prediction_tokens\":0}}}");
    assert_int_equal(ev.completion_tokens, 30);
    assert_int_equal(ev.reasoning_tokens, 12);
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[],\"usage\":{\"completion_tokens\":30,\"completion_tokens_details\":null}}");
    assert_int_equal(ev.reasoning_tokens, -1);
}

static void test_reasoning(void **state)
{
    struct api_event ev;

    (void)state;
    /* DeepSeek/llama.cpp/SGLang style. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"think\"}}]}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "think");
    /* vLLM >= late 2025 and Ollama /v1 style. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":null,\"reasoning\":\"hmm\"}}]}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "hmm");
    /* Empty reasoning next to real content: it is content. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"\",\"content\":\"ok\"}}]}");
    assert_true(ev.content);
    assert_false(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "ok");
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"reasoning\":\"\",\"content\":\"\"}}]}");
    assert_false(ev.content);
}

static void test_vllm(void **state)
{
    struct api_event ev;

    (void)state;
    /* continuous_usage_stats: cumulative usage on every chunk. */
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" a b\"},\"logprobs\":null,"
                                "\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":6,\"total_tokens\":9,\"completion_tokens\":3}}");
    assert_true(ev.content);
    assert_int_equal(ev.completion_tokens, 3);
    assert_int_equal(ev.prompt_tokens, 6);
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\",\"stop_reason\":null}]}");
    assert_true(ev.finish);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "stop");
    /* A mid-stream error, dumped by json.dumps (spaces after : and ,). */
    ev = parse(API_OPENAI_CHAT, "{\"error\": {\"object\": \"error\", \"message\": \"Request exceeded \\\"max_model_len\\\"\", "
                                "\"type\": \"BadRequestError\", \"param\": null, \"code\": 400}}");
    assert_true(ev.error);
    assert_false(ev.content);
    assert_slice(ev.errmsg, ev.errmsg_len, "Request exceeded \\\"max_model_len\\\"");
    assert_slice(ev.errtype, ev.errtype_len, "BadRequestError");
    /* The flat error of older versions. */
    ev = parse(API_OPENAI_CHAT, "{\"object\":\"error\",\"message\":\"The model `x` does not exist.\","
                                "\"type\":\"NotFoundError\",\"param\":null,\"code\":404}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "The model `x` does not exist.");
    assert_slice(ev.errtype, ev.errtype_len, "NotFoundError");
    /* "error": null is no error. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"error\":null}");
    assert_false(ev.error);
    assert_true(ev.content);
}

static void test_llamacpp(void **state)
{
    struct api_event ev;

    (void)state;
    /* The final OpenAI-route chunk: usage and timings together. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1,"
                                "\"usage\":{\"completion_tokens\":1,\"prompt_tokens\":29,\"total_tokens\":30},"
                                "\"timings\":{\"cache_n\":28,\"prompt_n\":1,\"prompt_ms\":16.704,\"prompt_per_token_ms\":16.704,"
                                "\"predicted_n\":1,\"predicted_ms\":0.061,\"predicted_per_second\":16393.44}}");
    assert_int_equal(ev.completion_tokens, 1);
    assert_int_equal(ev.prompt_tokens, 29);      /* usage outranks timings.prompt_n */
    assert_int_equal(ev.prompt_eval_tokens, 1);
    assert_int_equal(ev.cached_tokens, 28);
    assert_int_equal(ev.eval_tokens, 1);
    assert_int_equal(ev.eval_duration_ns, 61000);
    assert_int_equal(ev.prompt_eval_duration_ns, 16704000);
    assert_true(ev.finish);
    assert_false(ev.done);
    /* Timings without usage (the newer usage-chunk gating). */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[],\"timings\":{\"prompt_n\":75,\"prompt_ms\":180.025,\"predicted_n\":31,\"predicted_ms\":875.5}}");
    assert_int_equal(ev.completion_tokens, 31);
    assert_int_equal(ev.prompt_tokens, 75);
    assert_int_equal(ev.eval_tokens, 31);
    assert_int_equal(ev.eval_duration_ns, 875500000);
    assert_int_equal(ev.prompt_eval_duration_ns, 180025000);
    assert_int_equal(ev.cached_tokens, -1);
    assert_int_equal(ev.total_duration_ns, -1);
    /* Native /completion. */
    ev = parse(API_OPENAI_COMPLETIONS, "{\"index\":0,\"content\":\" series\",\"tokens\":[3652],\"stop\":false,\"id_slot\":-1,"
                                       "\"tokens_predicted\":1,\"tokens_evaluated\":5}");
    assert_true(ev.content);
    assert_slice(ev.text, ev.text_len, " series");
    assert_int_equal(ev.event_tokens, 1);
    assert_false(ev.done);
    ev = parse(API_OPENAI_COMPLETIONS, "{\"index\":0,\"content\":\"\",\"tokens\":[],\"stop\":true,\"stop_type\":\"limit\","
                                       "\"generation_settings\":{\"stop\":[],\"n_predict\":8},"
                                       "\"timings\":{\"prompt_n\":5,\"prompt_ms\":1.819,\"predicted_n\":8,\"predicted_ms\":5.023}}");
    assert_false(ev.content);
    assert_true(ev.done);
    assert_true(ev.finish);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "limit");
    assert_int_equal(ev.completion_tokens, 8);
    assert_int_equal(ev.event_tokens, 0);
    assert_false(ev.truncated);
    /* The server cut the prompt to its context: said, never hidden. */
    ev = parse(API_OPENAI_COMPLETIONS, "{\"content\":\"\",\"stop\":true,\"stop_type\":\"limit\",\"truncated\":true}");
    assert_true(ev.done);
    assert_true(ev.truncated);
    ev = parse(API_OPENAI_COMPLETIONS, "{\"content\":\"\",\"stop\":true,\"truncated\":false}");
    assert_false(ev.truncated);
    /* The newer in-data error. */
    ev = parse(API_OPENAI_CHAT, "{\"error\":{\"code\":500,\"message\":\"Context size has been exceeded.\",\"type\":\"server_error\"}}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "Context size has been exceeded.");
    assert_slice(ev.errtype, ev.errtype_len, "server_error");
    /* The old `error:` SSE field's value is the bare error object. */
    {
        const char *v = "{\"code\":500,\"message\":\"Input prompt is too big\",\"type\":\"server_error\"}";
        assert_int_equal(api_parse_error(v, strlen(v), &ev, toks, NTOK), 0);
        assert_true(ev.error);
        assert_slice(ev.errmsg, ev.errmsg_len, "Input prompt is too big");
        assert_slice(ev.errtype, ev.errtype_len, "server_error");
        v = "{\"error\":{\"message\":\"wrapped\"}}";
        assert_int_equal(api_parse_error(v, strlen(v), &ev, toks, NTOK), 0);
        assert_slice(ev.errmsg, ev.errmsg_len, "wrapped");
        v = "  not json at all ";
        assert_int_equal(api_parse_error(v, strlen(v), &ev, toks, NTOK), 0);
        assert_true(ev.error);
        assert_slice(ev.errmsg, ev.errmsg_len, "not json at all");
        assert_int_equal(api_parse_error(NULL, 0, &ev, NULL, 0), 0);
        assert_true(ev.error);
        assert_int_equal(ev.errmsg_len, 0);
    }
}

static void test_tgi_sglang(void **state)
{
    struct api_event ev;

    (void)state;
    ev = parse(API_OPENAI_CHAT, "{\"error\":\"Model is overloaded\",\"error_type\":\"overloaded\"}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "Model is overloaded");
    assert_slice(ev.errtype, ev.errtype_len, "overloaded");
    ev = parse(API_OPENAI_CHAT, "{\"error\":{\"message\":\"Input validation error: `inputs` must have less than 4096 tokens\","
                                "\"http_status_code\":422}}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "Input validation error: `inputs` must have less than 4096 tokens");
    assert_null(ev.errtype);
    /* SGLang /v1: reasoning_content and continuous usage. */
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
                                "{\"role\":null,\"content\":null,\"reasoning_content\":\"Let me\",\"tool_calls\":null},"
                                "\"logprobs\":null,\"finish_reason\":null,\"matched_stop\":null}],"
                                "\"usage\":{\"prompt_tokens\":10,\"total_tokens\":12,\"completion_tokens\":2}}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    assert_int_equal(ev.completion_tokens, 2);
    ev = parse(API_OPENAI_CHAT, "{\"error\":{\"message\":\"sglang boom\"}}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "sglang boom");
}

static void test_ollama_lines(void **state)
{
    struct api_event ev;

    (void)state;
    ev = parse(API_OLLAMA_GENERATE, "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\","
                                    "\"response\":\"The\",\"done\":false}");
    assert_true(ev.content);
    assert_slice(ev.text, ev.text_len, "The");
    assert_false(ev.done);
    /* A thinking parser: response empty, thinking carries the text. */
    ev = parse(API_OLLAMA_GENERATE, "{\"model\":\"q\",\"response\":\"\",\"thinking\":\"Hmm\",\"done\":false}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    ev = parse(API_OLLAMA_CHAT, "{\"model\":\"q\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"so\"},\"done\":false}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "so");
    ev = parse(API_OLLAMA_CHAT, "{\"model\":\"q\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}");
    assert_true(ev.content);
    assert_false(ev.reasoning);
    assert_slice(ev.text, ev.text_len, "Hi");
    ev = parse(API_OLLAMA_GENERATE, "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"response\":\"\","
                                    "\"done\":true,\"done_reason\":\"stop\",\"context\":[1,2,3],\"total_duration\":10706818083,"
                                    "\"load_duration\":6338219291,\"prompt_eval_count\":26,\"prompt_eval_duration\":130079000,"
                                    "\"eval_count\":259,\"eval_duration\":4232710000}");
    assert_false(ev.content);
    assert_true(ev.done);
    assert_true(ev.finish);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "stop");
    assert_int_equal(ev.completion_tokens, 259);
    assert_int_equal(ev.prompt_tokens, 26);
    assert_true(ev.total_duration_ns == 10706818083LL);
    assert_true(ev.load_duration_ns == 6338219291LL);
    assert_true(ev.prompt_eval_duration_ns == 130079000LL);
    assert_true(ev.eval_duration_ns == 4232710000LL);
    /* The error line after streaming began, and the load special case. */
    ev = parse(API_OLLAMA_CHAT, "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}");
    assert_true(ev.error);
    assert_slice(ev.errmsg, ev.errmsg_len, "an error was encountered while running the model: unexpected EOF");
    ev = parse(API_OLLAMA_GENERATE, "{\"model\":\"m\",\"created_at\":\"x\",\"response\":\"\",\"done\":true,\"done_reason\":\"load\"}");
    assert_true(ev.done);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "load");
    /* stream:false returns one object with the whole text. */
    ev = parse(API_OLLAMA_GENERATE, "{\"model\":\"m\",\"response\":\"The sky is blue.\",\"done\":true,\"done_reason\":\"stop\","
                                    "\"eval_count\":5,\"eval_duration\":1000,\"total_duration\":5000}");
    assert_true(ev.content);
    assert_true(ev.done);
    assert_int_equal(ev.completion_tokens, 5);
    assert_int_equal(ev.total_duration_ns, 5000);
    /* Ollama /v1/completions: zeroed usage on every chunk (last seen wins). */
    ev = parse(API_OPENAI_COMPLETIONS, "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"a\",\"index\":0,"
                                       "\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}");
    assert_true(ev.content);
    assert_int_equal(ev.completion_tokens, 0);
}

static void test_ollama_huge_context(void **state)
{
    size_t cap = 50000 * 8 + 1024, n = 0;
    char *js = malloc(cap);
    struct api_event ev;
    jsmntok_t small[64];

    (void)state;
    assert_non_null(js);
    n += (size_t)sprintf(js + n, "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"response\":\"\","
                                 "\"done\":true,\"done_reason\":\"length\",\"context\":[");
    for (int i = 0; i < 50000; i++)
        n += (size_t)sprintf(js + n, "%s%d", i ? "," : "", 128000 + i % 1000);
    n += (size_t)sprintf(js + n, "],\"total_duration\":10706818083,\"load_duration\":6338219291,\"prompt_eval_count\":26,"
                                 "\"prompt_eval_duration\":130079000,\"eval_count\":259,\"eval_duration\":4232710000}");
    /* Far fewer tokens than the context needs; the same with the usual
     * 1024 and through the generic API_AUTO. */
    assert_int_equal(api_parse_event(API_OLLAMA_GENERATE, js, n, &ev, small, 64), 0);
    assert_true(ev.done);
    assert_slice(ev.finish_reason, ev.finish_reason_len, "length");
    assert_int_equal(ev.completion_tokens, 259);
    assert_int_equal(ev.prompt_tokens, 26);
    assert_true(ev.total_duration_ns == 10706818083LL);
    assert_true(ev.eval_duration_ns == 4232710000LL);
    assert_int_equal(api_parse_event(API_AUTO, js, n, &ev, toks, NTOK), 0);
    assert_int_equal(ev.completion_tokens, 259);
    assert_true(ev.load_duration_ns == 6338219291LL);
    /* Too few even for the top-level keys: -2, not a crash. */
    assert_int_equal(api_parse_event(API_OLLAMA_GENERATE, js, n, &ev, small, 8), -2);
    free(js);
}

static void test_nonstream_bodies(void **state)
{
    struct api_event ev;

    (void)state;
    ev = parse(API_OPENAI_CHAT, "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
                                "{\"role\":\"assistant\",\"content\":\"Hello there\"},\"finish_reason\":\"stop\"}],"
                                "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}");
    assert_true(ev.content);
    assert_slice(ev.text, ev.text_len, "Hello there");
    assert_true(ev.finish);
    assert_int_equal(ev.completion_tokens, 3);
    assert_int_equal(ev.prompt_tokens, 9);
    ev = parse(API_OPENAI_CHAT, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                                "\"reasoning_content\":\"only thoughts\"},\"finish_reason\":\"length\"}]}");
    assert_true(ev.content);
    assert_true(ev.reasoning);
    ev = parse(API_OPENAI_COMPLETIONS, "{\"choices\":[{\"text\":\"abc\",\"index\":0,\"finish_reason\":\"length\"}],"
                                       "\"usage\":{\"completion_tokens\":5,\"prompt_tokens\":2}}");
    assert_slice(ev.text, ev.text_len, "abc");
    assert_int_equal(ev.completion_tokens, 5);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "{", "{\"choices\":[", "[1,2]", "\"str\"", "nope", "{\"a\":1}{\"b\":2}", "{\"a\":1,}x",
        "{\"choices\":[{\"delta\":{\"content\":\"x}]}", "{'a':1}", "{\"a\":tru}x", "12",
    };
    struct api_event ev;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(api_parse_event(API_OPENAI_CHAT, bad[i], strlen(bad[i]), &ev, toks, NTOK), -1);
    /* Empty data: nothing to say, not an error. */
    assert_int_equal(api_parse_event(API_OPENAI_CHAT, " \r\n", 3, &ev, toks, NTOK), 0);
    assert_false(ev.content || ev.done || ev.error);
    assert_int_equal(api_parse_event(API_OPENAI_CHAT, "{}", 2, &ev, NULL, 0), -2);
    /* Wrong types are ignored, not misread. */
    ev = parse(API_OPENAI_CHAT, "{\"choices\":{\"delta\":1},\"usage\":{\"completion_tokens\":\"12\"},\"timings\":[1]}");
    assert_false(ev.content);
    assert_int_equal(ev.completion_tokens, -1);
    ev = parse(API_OLLAMA_GENERATE, "{\"response\":7,\"done\":\"true\",\"eval_count\":null}");
    assert_false(ev.content);
    assert_false(ev.done);
    assert_int_equal(ev.completion_tokens, -1);
}

/* Events jsmn alone would half-understand: each is a protocol error, never
 * an event with the text of the wrong key. */
/* Events jsmn alone would half-understand: each is a protocol error, never
 * an event with the text of the wrong key.  `top`: the fault is in the
 * top-level object, so the elision (too few tokens for the whole event)
 * sees it too; inside an elided value it is not looked for. */
static void test_malformed_members(void **state)
{
    static const struct { enum api_kind kind; int top; const char *data; } bad[] = {
        { API_OLLAMA_GENERATE, 1, "{\"response\" \"hi\",\"done\":false}" },         /* missing colon */
        { API_OLLAMA_GENERATE, 1, "{\"model\":\"m\" \"response\":\"hi\"}" },        /* missing comma */
        { API_OPENAI_CHAT, 0, "{\"choices\":[{\"delta\":{\"content\":\"x\"}} {}]}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",\"done\":false} x" },        /* trailing garbage */
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",\"done\":false}{}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",\"done\":false}," },
        { API_OLLAMA_GENERATE, 1, "{1:\"hi\",\"response\":\"hi\"}" },                 /* key not a string */
        { API_OLLAMA_GENERATE, 1, "{true:1,\"response\":\"hi\"}" },
        { API_OPENAI_CHAT, 0, "{\"choices\":[{\"delta\":{\"content\":\"x\"}}:1]}" }, /* colon in an array */
        { API_OPENAI_CHAT, 0, "{\"choices\":[\"delta\":{\"content\":\"x\"}]}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",\"x\"}" },                    /* value without key */
        { API_OLLAMA_GENERATE, 1, "{\"done\":false,\"hi\",\"response\":\"hi\"}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",7}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\"::\"hi\"}" },                           /* doubled separator */
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",,\"done\":false}" },
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",}" },                          /* dangling comma */
        { API_OLLAMA_GENERATE, 1, "{\"response\":\"hi\",\"done\":fals}" },            /* not a literal */
        { API_OPENAI_CHAT, 0, "{\"usage\":{\"completion_tokens\":012}}" },              /* not a number */
    };
    struct api_event ev;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *d = bad[i].data;
        if (api_parse_event(bad[i].kind, d, strlen(d), &ev, toks, NTOK) != -1)
            fail_msg("accepted %s", d);
        if (bad[i].top && api_parse_event(bad[i].kind, d, strlen(d), &ev, toks, 3) == 0)
            fail_msg("accepted %s with 3 tokens", d);
    }
}

/* ---- through the decoders ------------------------------------------------ */

struct run {
    enum api_kind kind;
    int events, content, done, errors, finish, bad;
    int reasoning, tool, tool_calls;     /* events of each kind; calls begun */
    int64_t completion_tokens, prompt_tokens, reasoning_tokens;
    char text[1024]; size_t text_len;
    char errmsg[256];
};

static void take(struct run *r, const struct api_event *ev)
{
    if (ev->content) {
        long n = json_unescape(ev->text, ev->text_len, r->text + r->text_len, sizeof r->text - r->text_len);
        assert_true(n >= 0);
        r->text_len += (size_t)n;
        r->content++;
        r->reasoning += ev->reasoning;
        r->tool += ev->tool;
    }
    r->tool_calls += ev->tool_calls;
    if (ev->reasoning_tokens >= 0)
        r->reasoning_tokens = ev->reasoning_tokens;
    if (ev->error && r->errors++ == 0) {
        long n = json_unescape(ev->errmsg, ev->errmsg_len, r->errmsg, sizeof r->errmsg - 1);
        assert_true(n >= 0);
        r->errmsg[n] = '\0';
    }
    if (ev->done)
        r->done++;
    if (ev->finish)
        r->finish++;
    if (ev->completion_tokens >= 0)
        r->completion_tokens = ev->completion_tokens;
    if (ev->prompt_tokens >= 0)
        r->prompt_tokens = ev->prompt_tokens;
}

static int on_sse(void *ud, const struct sse_event *sev)
{
    struct run *r = ud;
    struct api_event ev;

    r->events++;
    if (sev->error)
        assert_int_equal(api_parse_error(sev->error, sev->error_len, &ev, toks, NTOK), 0);
    else if (slice_is(sev->type, sev->type_len, "error"))
        assert_int_equal(api_parse_error(sev->data, sev->data_len, &ev, toks, NTOK), 0);
    else if (api_parse_event(r->kind, sev->data, sev->data_len, &ev, toks, NTOK) < 0) {
        r->bad++;
        return 0;
    }
    take(r, &ev);
    return 0;
}

static int on_line(void *ud, const char *line, size_t len)
{
    struct run *r = ud;
    struct api_event ev;

    r->events++;
    if (api_parse_event(r->kind, line, len, &ev, toks, NTOK) < 0) {
        r->bad++;
        return 0;
    }
    take(r, &ev);
    return 0;
}

/* Runs a stream through SSE (or NDJSON) whole and byte by byte; both runs
 * must agree, and the byte-by-byte one is returned. */
static struct run run_stream(enum api_kind k, const char *in, int ndjson)
{
    static struct run whole, bytes;
    char carry[1024];
    size_t n = strlen(in);

    for (int mode = 0; mode < 2; mode++) {
        struct run *r = mode ? &bytes : &whole;
        size_t step = mode ? 1 : n;
        memset(r, 0, sizeof *r);
        r->kind = k;
        r->completion_tokens = r->prompt_tokens = r->reasoning_tokens = -1;
        if (ndjson) {
            struct ndjson d;
            ndjson_init(&d, carry, sizeof carry);
            for (size_t i = 0; i < n; i += step)
                assert_int_equal(ndjson_feed(&d, in + i, step, NULL, on_line, r), NDJSON_OK);
            assert_int_equal(ndjson_finish(&d, on_line, r), NDJSON_OK);
        } else {
            struct sse s;
            sse_init(&s, carry, sizeof carry);
            for (size_t i = 0; i < n; i += step)
                assert_int_equal(sse_feed(&s, in + i, step, NULL, on_sse, r), SSE_OK);
            assert_int_equal(sse_finish(&s, on_sse, r), SSE_OK);
        }
    }
    assert_memory_equal(&whole, &bytes, sizeof whole);
    return bytes;
}

static void test_stream_openai(void **state)
{
    struct run r;

    (void)state;
    r = run_stream(API_OPENAI_CHAT,
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" th\\u00e9re\\n\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}}\n\n"
        "data: [DONE]\n\n", 0);
    assert_int_equal(r.events, 6);
    assert_int_equal(r.content, 2);
    assert_int_equal(r.text_len, 10);
    assert_memory_equal(r.text, "Hi th\xc3\xa9re\n", 10);
    assert_int_equal(r.completion_tokens, 12);
    assert_int_equal(r.prompt_tokens, 9);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.finish, 1);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.bad, 0);
}

static void test_stream_vllm_error(void **state)
{
    struct run r;

    (void)state;
    r = run_stream(API_OPENAI_CHAT,
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"Think\"}}]}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n"
        "data: {\"error\": {\"object\": \"error\", \"message\": \"EngineCore encountered an issue.\", \"type\": \"InternalServerError\", \"param\": null, \"code\": 500}}\n\n"
        "data: [DONE]\n\n", 0);
    assert_int_equal(r.content, 2);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "EngineCore encountered an issue.");
    assert_int_equal(r.done, 1);
    assert_int_equal(r.completion_tokens, -1);
}

static void test_stream_llamacpp_error_field(void **state)
{
    struct run r;

    (void)state;
    r = run_stream(API_OPENAI_CHAT,
        ": ping\n\n"
        "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        "error: {\"code\":500,\"message\":\"Input prompt is too big compared to KV size.\",\"type\":\"server_error\"}\n\n"
        "data: [DONE]\n\n", 0);
    assert_int_equal(r.events, 3);
    assert_int_equal(r.content, 1);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "Input prompt is too big compared to KV size.");
    assert_int_equal(r.done, 1);
}

static void test_stream_tgi(void **state)
{
    struct run r;

    (void)state;
    /* axum: `data:` with no space, keep-alive comments, error_type. */
    r = run_stream(API_OPENAI_CHAT,
        ":\n\n"
        "data:{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"To\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        ":\n\n"
        "data:{\"error\":\"Model is overloaded\",\"error_type\":\"overloaded\"}\n\n", 0);
    assert_int_equal(r.events, 2);
    assert_int_equal(r.content, 1);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "Model is overloaded");
    assert_int_equal(r.done, 0);
    r = run_stream(API_OPENAI_CHAT,
        "data:{\"error\":{\"message\":\"Input validation error\",\"http_status_code\":422}}\n\n"
        "data:[DONE]\n\n", 0);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "Input validation error");
    assert_int_equal(r.done, 1);
    /* An `event: error` event (the OpenAI client treats it as an error). */
    r = run_stream(API_OPENAI_CHAT, "event: error\ndata: {\"message\":\"bad thing\"}\n\n", 0);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "bad thing");
}

/* Content events, of them reasoning and tool-call ones, calls begun, and
 * the text of them all. */
static void assert_kinds(const struct run *r, int content, int reasoning, int tool, int calls,
                         const char *text)
{
    assert_int_equal(r->content, content);
    assert_int_equal(r->reasoning, reasoning);
    assert_int_equal(r->tool, tool);
    assert_int_equal(r->tool_calls, calls);
    assert_int_equal(r->text_len, strlen(text));
    assert_memory_equal(r->text, text, r->text_len);
}

/* vLLM with a reasoning parser and a tool parser: reasoning deltas, then
 * a tool call in pieces, usage with the reasoning count.  Byte by byte. */
static void test_stream_reasoning_tool_calls(void **state)
{
    struct run r;

    (void)state;
    r = run_stream(API_OPENAI_CHAT,
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"The user\"}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\" wants\"}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\","
        "\"index\":0,\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"{\\\"city\\\": \"}}]}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"\\\"Paris\\\"}\"}}]}}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n"
        "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":14,"
        "\"total_tokens\":23,\"completion_tokens_details\":{\"reasoning_tokens\":5}}}\n\n"
        "data: [DONE]\n\n", 0);
    assert_int_equal(r.events, 9);
    assert_kinds(&r, 5, 2, 3, 1, "The user wantsget_weather{\"city\": \"Paris\"}");
    assert_int_equal(r.finish, 1);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.completion_tokens, 14);
    assert_int_equal(r.reasoning_tokens, 5);
    /* Ollama: thinking, the answer, then the tool calls whole in one line. */
    r = run_stream(API_OLLAMA_CHAT,
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"Let\"},\"done\":false}\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\" me\"},\"done\":false}\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        "{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}},"
        "{\"function\":{\"name\":\"get_time\",\"arguments\":{}}}]},\"done\":false}\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
        "\"done_reason\":\"stop\",\"eval_count\":20,\"eval_duration\":5}\n", 1);
    assert_kinds(&r, 3, 2, 1, 2, "Let meget_weather");
    assert_int_equal(r.completion_tokens, 20);
    assert_int_equal(r.reasoning_tokens, -1);
    /* /api/generate's top-level thinking. */
    r = run_stream(API_OLLAMA_GENERATE,
        "{\"model\":\"q\",\"response\":\"\",\"thinking\":\"hm\",\"done\":false}\n"
        "{\"model\":\"q\",\"response\":\"Yes\",\"done\":false}\n"
        "{\"model\":\"q\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}\n", 1);
    assert_kinds(&r, 2, 1, 0, 0, "hmYes");
}

static void test_stream_ollama(void **state)
{
    struct run r;

    (void)state;
    r = run_stream(API_OLLAMA_CHAT,
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hm\"},\"done\":false}\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},\"done\":false}\r\n"
        "\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\" sky\"},\"done\":false}\n"
        "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
        "\"total_duration\":100,\"load_duration\":1,\"prompt_eval_count\":26,\"prompt_eval_duration\":2,\"eval_count\":3,\"eval_duration\":50}", 1);
    assert_int_equal(r.events, 4);
    assert_int_equal(r.content, 3);
    assert_int_equal(r.text_len, 9);
    assert_memory_equal(r.text, "hmThe sky", 9);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.completion_tokens, 3);
    assert_int_equal(r.prompt_tokens, 26);
    r = run_stream(API_OLLAMA_GENERATE,
        "{\"model\":\"m\",\"response\":\"a\",\"done\":false}\n"
        "{\"error\":\"model runner has unexpectedly stopped\"}\n", 1);
    assert_int_equal(r.content, 1);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.errmsg, "model runner has unexpectedly stopped");
    assert_int_equal(r.done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_body_openai_chat),
        cmocka_unit_test(test_body_messages_and_escaping),
        cmocka_unit_test(test_body_openai_completions),
        cmocka_unit_test(test_body_ollama),
        cmocka_unit_test(test_openai_chunks),
        cmocka_unit_test(test_reasoning),
        cmocka_unit_test(test_stream_reasoning_tool_calls),
        cmocka_unit_test(test_vllm),
        cmocka_unit_test(test_llamacpp),
        cmocka_unit_test(test_tgi_sglang),
        cmocka_unit_test(test_ollama_lines),
        cmocka_unit_test(test_ollama_huge_context),
        cmocka_unit_test(test_nonstream_bodies),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_members),
        cmocka_unit_test(test_stream_openai),
        cmocka_unit_test(test_stream_vllm_error),
        cmocka_unit_test(test_stream_llamacpp_error_field),
        cmocka_unit_test(test_stream_tgi),
        cmocka_unit_test(test_stream_ollama),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
