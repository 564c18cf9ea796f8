/* Unit tests of the simulator's request validation (mock_validate.c) and
 * route table (mock_routes.c): each valid request's verdict, and each HTTP
 * error with its status and message, without a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mock.h"
#include "mock_routes.h"
#include "mock_validate.h"

static struct mock_config cfg;

static int setup(void **state)
{
    mock_config_defaults(&cfg);
    /* Two served models, so lookups do not just take the first. */
    strcpy(cfg.models[1], "other-model");
    cfg.nmodels = 2;
    cfg.max_body = 1000;
    return 0;
}

/* The verdict of method url with body (NULL: none). */
static struct mock_verdict judge(enum mock_method m, const char *url, const char *body)
{
    struct mock_request rq = {
        .method = m, .url = url, .url_len = strlen(url),
        .body = body, .body_len = body ? strlen(body) : 0,
    };
    struct mock_verdict v;
    mock_validate(&cfg, &rq, &v);
    return v;
}

static void assert_error(const struct mock_verdict *v, int status, const char *msg)
{
    assert_int_equal(v->action, MOCK_ACT_ERROR);
    assert_int_equal(v->status, status);
    assert_string_equal(v->msg, msg);
}

/* A POST that must fail with status and msg. */
static void post_fails(const char *url, const char *body, int status, const char *msg)
{
    struct mock_verdict v = judge(MOCK_M_POST, url, body);
    assert_error(&v, status, msg);
    assert_int_equal(v.close, 0);      /* a readable request keeps its connection */
}

static void test_routes(void **state)
{
    assert_int_equal(mock_route_find("/", 1, 0), MOCK_R_ROOT);
    assert_int_equal(mock_route_find("/api/tags?x=1", 13, 0), MOCK_R_TAGS);
    assert_int_equal(mock_route_find("/v1/chat/completions", 20, 0), MOCK_R_OAI_CHAT);
    assert_int_equal(mock_route_find("/v1/chat/completionsX", 21, 0), MOCK_R_OTHER);
    assert_int_equal(mock_route_find("/health", 6, 0), MOCK_R_OTHER);      /* a prefix */
    assert_int_equal(mock_route_find("", 0, 0), MOCK_R_OTHER);
    /* A target cut short is unknown unless its path was kept whole. */
    assert_int_equal(mock_route_find("/health", 7, 1), MOCK_R_OTHER);
    assert_int_equal(mock_route_find("/health?aaa", 11, 1), MOCK_R_HEALTH);
    assert_int_equal(mock_path_style("/v1/x", 5), MOCK_STYLE_OPENAI);
    assert_int_equal(mock_path_style("/api/x", 6), MOCK_STYLE_OLLAMA);
    assert_int_equal(mock_path_style("/?q", 3), MOCK_STYLE_OLLAMA);
    assert_int_equal(mock_path_style("/x?/v1/", 7), MOCK_STYLE_TEXT);
    for (int i = 0; i < MOCK_R_OTHER; i++)
        assert_int_equal(mock_route_find(mock_routes[i].path, strlen(mock_routes[i].path), 0), i);
}

static void test_info_routes(void **state)
{
    struct mock_verdict v = judge(MOCK_M_GET, "/health", NULL);
    assert_int_equal(v.action, MOCK_ACT_ANSWER);
    assert_int_equal(v.status, 200);
    assert_int_equal(v.route, MOCK_R_HEALTH);
    v = judge(MOCK_M_HEAD, "/api/tags", NULL);
    assert_int_equal(v.action, MOCK_ACT_ANSWER);
    assert_int_equal(mock_routes[v.route].answer, MOCK_ANS_MODELS);
    v = judge(MOCK_M_GET, "/metrics?x", NULL);
    assert_int_equal(v.route, MOCK_R_METRICS);
    assert_int_equal(mock_routes[v.route].answer, MOCK_ANS_METRICS);
}

static void test_valid_ollama(void **state)
{
    struct mock_verdict v = judge(MOCK_M_POST, "/api/generate",
        "{\"model\":\"other-model\",\"prompt\":\"12345678\",\"system\":\"ab\","
        "\"options\":{\"num_predict\":7,\"min_tokens\":3,\"ignore_eos\":true}}");
    assert_int_equal(v.action, MOCK_ACT_GENERATE);
    assert_int_equal(v.status, 200);
    assert_int_equal(v.route, MOCK_R_GENERATE);
    assert_int_equal(v.gen.api, MOCK_API_GENERATE);
    assert_string_equal(v.gen.model, "other-model");
    assert_ptr_equal(v.gen.model, cfg.models[1]);      /* the config's, not the body's */
    assert_int_equal(v.gen.stream, 1);                 /* Ollama streams by default */
    assert_int_equal(v.gen.max_tokens, 7);
    assert_int_equal(v.gen.min_tokens, 3);
    assert_int_equal(v.gen.ignore_eos, 1);
    assert_int_equal(v.gen.prompt_bytes, 10);          /* prompt + system */

    /* Chat: string and part-array contents; num_predict -1 is "unlimited",
     * which is the default length. */
    v = judge(MOCK_M_POST, "/api/chat",
        "{\"model\":\"llmload-mock\",\"stream\":false,\"options\":{\"num_predict\":-1},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"xy\"},{\"type\":\"image\"}]}]}");
    assert_int_equal(v.action, MOCK_ACT_GENERATE);
    assert_int_equal(v.gen.api, MOCK_API_CHAT);
    assert_int_equal(v.gen.stream, 0);
    assert_int_equal(v.gen.max_tokens, cfg.default_max_tokens);
    assert_int_equal(v.gen.prompt_bytes, 6);

    /* An empty prompt, or chat without messages, only "loads" the model. */
    v = judge(MOCK_M_POST, "/api/generate", "{\"model\":\"llmload-mock\"}");
    assert_int_equal(v.action, MOCK_ACT_LOAD);
    assert_int_equal(v.gen.api, MOCK_API_GENERATE);
    assert_string_equal(v.gen.model, "llmload-mock");
    v = judge(MOCK_M_POST, "/api/chat", "{\"model\":\"llmload-mock\",\"messages\":[]}");
    assert_int_equal(v.action, MOCK_ACT_LOAD);
    assert_int_equal(v.gen.api, MOCK_API_CHAT);
}

static void test_valid_openai(void **state)
{
    struct mock_verdict v = judge(MOCK_M_POST, "/v1/chat/completions",
        "{\"model\":\"llmload-mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
        "\"max_tokens\":9,\"max_completion_tokens\":5,\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"min_tokens\":2}");
    assert_int_equal(v.action, MOCK_ACT_GENERATE);
    assert_int_equal(v.gen.api, MOCK_API_OAI_CHAT);
    assert_int_equal(v.gen.stream, 1);
    assert_int_equal(v.gen.include_usage, 1);
    assert_int_equal(v.gen.max_tokens, 5);             /* max_completion_tokens wins */
    assert_int_equal(v.gen.min_tokens, 2);
    assert_int_equal(v.gen.prompt_bytes, 5);

    /* OpenAI streams only when asked; a token-id prompt counts one token
     * (4 bytes) per id. */
    v = judge(MOCK_M_POST, "/v1/completions",
        "{\"model\":\"llmload-mock\",\"prompt\":[\"ab\",17,[1,2,3]],\"max_tokens\":3}");
    assert_int_equal(v.action, MOCK_ACT_GENERATE);
    assert_int_equal(v.gen.api, MOCK_API_OAI_COMPLETIONS);
    assert_int_equal(v.gen.stream, 0);
    assert_int_equal(v.gen.include_usage, 0);
    assert_int_equal(v.gen.max_tokens, 3);
    assert_int_equal(v.gen.prompt_bytes, 2 + 4 + 12);

    /* An empty completions prompt is a generation, not a "load". */
    v = judge(MOCK_M_POST, "/v1/completions", "{\"model\":\"llmload-mock\",\"prompt\":\"\"}");
    assert_int_equal(v.action, MOCK_ACT_GENERATE);
    assert_int_equal(v.gen.max_tokens, cfg.default_max_tokens);
}

static void test_bad_json(void **state)
{
    post_fails("/api/generate", NULL, 400, "missing request body");
    post_fails("/api/generate", "{not json", 400, "invalid JSON in request body");
    post_fails("/v1/chat/completions", "[1,", 400, "invalid JSON in request body");
    post_fails("/v1/completions", "[1,2]", 400, "request body must be a JSON object");
    post_fails("/api/chat", "\"model\"", 400, "request body must be a JSON object");
}

static void test_missing_or_unknown_model(void **state)
{
    post_fails("/api/chat", "{\"messages\":[]}", 400, "model is required");
    post_fails("/api/generate", "{\"model\":\"\",\"prompt\":\"p\"}", 400, "model is required");
    post_fails("/v1/completions", "{\"model\":5,\"prompt\":\"p\"}", 400, "model is required");
    post_fails("/api/generate", "{\"model\":\"x\",\"prompt\":\"p\"}", 404, "model 'x' not found");
    post_fails("/v1/completions", "{\"model\":\"x\",\"prompt\":\"p\"}", 404,
               "The model 'x' does not exist.");
}

static void test_wrong_types(void **state)
{
    static const struct { const char *url, *body, *msg; } cases[] = {
        { "/api/generate", "{\"model\":\"llmload-mock\",\"stream\":\"yes\"}",
          "stream must be a boolean" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"options\":[1]}",
          "options must be an object" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"prompt\":5}", "prompt must be a string" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"options\":{\"num_predict\":\"9\"}}",
          "options.num_predict must be a number up to 1000000" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"options\":{\"num_predict\":2000000}}",
          "options.num_predict must be a number up to 1000000" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"options\":{\"ignore_eos\":1}}",
          "ignore_eos must be a boolean" },
        { "/api/generate", "{\"model\":\"llmload-mock\",\"options\":{\"min_tokens\":-1}}",
          "min_tokens must be a non-negative integer" },
        { "/api/chat", "{\"model\":\"llmload-mock\",\"messages\":{}}", "messages must be an array" },
        { "/api/chat", "{\"model\":\"llmload-mock\",\"messages\":[\"hi\"]}",
          "each message must be an object" },
        { "/v1/chat/completions", "{\"model\":\"llmload-mock\",\"messages\":[]}",
          "messages is required and must not be empty" },
        { "/v1/chat/completions", "{\"model\":\"llmload-mock\"}",
          "messages is required and must not be empty" },
        { "/v1/chat/completions", "{\"model\":\"llmload-mock\",\"messages\":[{}],\"max_tokens\":0}",
          "max_tokens must be an integer from 1 to 1000000" },
        { "/v1/chat/completions", "{\"model\":\"llmload-mock\",\"messages\":[{}],"
          "\"max_completion_tokens\":\"5\"}", "max_completion_tokens must be an integer from 1 to 1000000" },
        { "/v1/chat/completions", "{\"model\":\"llmload-mock\",\"messages\":[{}],"
          "\"stream_options\":{\"include_usage\":\"yes\"}}",
          "stream_options.include_usage must be a boolean" },
        { "/v1/completions", "{\"model\":\"llmload-mock\"}", "prompt is required" },
        { "/v1/completions", "{\"model\":\"llmload-mock\",\"prompt\":[]}", "prompt is required" },
        { "/v1/completions", "{\"model\":\"llmload-mock\",\"prompt\":[{}]}",
          "prompt must be a string, a list of strings or a list of token ids" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        post_fails(cases[i].url, cases[i].body, 400, cases[i].msg);
}

static void test_unknown_path(void **state)
{
    struct mock_verdict v = judge(MOCK_M_GET, "/nope", NULL);
    assert_error(&v, 404, "page not found");            /* gin's text, outside the APIs */
    assert_int_equal(v.route, MOCK_R_OTHER);
    v = judge(MOCK_M_POST, "/v1/nope", "{}");
    assert_error(&v, 404, "the requested path does not exist");
    v = judge(MOCK_M_GET, "/api/nope?x", NULL);
    assert_error(&v, 404, "the requested path does not exist");
    assert_null(v.allow);
}

static void test_wrong_method(void **state)
{
    struct mock_verdict v = judge(MOCK_M_GET, "/api/generate", NULL);
    assert_error(&v, 405, "method not allowed");
    assert_string_equal(v.allow, "POST");
    assert_int_equal(v.route, MOCK_R_GENERATE);
    v = judge(MOCK_M_POST, "/v1/models", "{}");
    assert_error(&v, 405, "method not allowed");
    assert_string_equal(v.allow, "GET");
    v = judge(MOCK_M_HEAD, "/api/ps", NULL);
    assert_string_equal(v.allow, "GET");
    v = judge(MOCK_M_OTHER, "/", NULL);                 /* DELETE, PUT, ... */
    assert_error(&v, 405, "method not allowed");
    assert_string_equal(v.allow, "GET, HEAD");
    assert_int_equal(v.close, 0);
}

static void test_unreadable_requests(void **state)
{
    struct mock_request rq = { .method = MOCK_M_POST, .url = "/v1/completions", .url_len = 15,
                               .fail = MOCK_READ_BODY_TOO_LARGE };
    struct mock_verdict v;
    mock_validate(&cfg, &rq, &v);
    assert_error(&v, 413, "request body too large");
    assert_int_equal(v.close, 1);
    assert_int_equal(v.route, MOCK_R_OAI_COMPLETIONS);   /* counted on its endpoint */

    rq.fail = MOCK_READ_HEADERS_TOO_LARGE;
    mock_validate(&cfg, &rq, &v);
    assert_error(&v, 431, "request headers too large");
    assert_int_equal(v.close, 1);

    /* A header still incomplete at --header-timeout: its target so far
     * names the route. */
    rq = (struct mock_request){ .url = "/api/ge", .url_len = 7,
                                .fail = MOCK_READ_HEADER_TIMEOUT };
    mock_validate(&cfg, &rq, &v);
    assert_error(&v, 408, "request header not received in time");
    assert_int_equal(v.close, 1);
    assert_int_equal(v.route, MOCK_R_OTHER);

    rq = (struct mock_request){ .fail = MOCK_READ_MALFORMED };
    mock_validate(&cfg, &rq, &v);
    assert_error(&v, 400, "malformed HTTP request");
    assert_int_equal(v.close, 1);
    assert_int_equal(v.route, MOCK_R_OTHER);

    /* A body over --max-body handed over whole is refused the same way. */
    char big[1100];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[0] = '{';
    big[sizeof big - 2] = '}';
    v = judge(MOCK_M_POST, "/api/generate", big);
    assert_error(&v, 413, "request body too large");
    assert_int_equal(v.close, 1);
    big[1000] = 0;                                       /* 1000 bytes: at the limit */
    big[999] = '}';
    v = judge(MOCK_M_POST, "/api/generate", big);
    assert_error(&v, 400, "model is required");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_info_routes),
        cmocka_unit_test(test_valid_ollama),
        cmocka_unit_test(test_valid_openai),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_missing_or_unknown_model),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_unknown_path),
        cmocka_unit_test(test_wrong_method),
        cmocka_unit_test(test_unreadable_requests),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
