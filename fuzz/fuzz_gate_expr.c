/* libFuzzer target: the gate's assertion parser (gate_expr_parse) and its
 * evaluation must take any text: an expression either parses or gives an
 * error message with a caret, never a crash, a read past the input, or a
 * leak.  A parsed expression is evaluated against a small summary, and
 * gate_value_fmt formats its limit, so the whole path an --assert takes is
 * covered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gate.h"

static cJSON *summary;

static void make_summary(void)
{
    summary = cJSON_Parse(
        "{\"requests\":10,\"ok\":9,\"failed\":1,\"error_rate\":0.1,\"output_tps\":123.4,"
        "\"rps\":2.5,\"errors\":{\"status\":1},"
        "\"ttft\":{\"n\":9,\"min\":0.01,\"mean\":0.02,\"p50\":0.02,\"p90\":0.03,\"p95\":0.03,"
        "\"p99\":0.04,\"max\":0.05,\"stdev\":0.01},"
        "\"e2e\":{\"n\":9,\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p95\":null,"
        "\"p99\":null,\"max\":null,\"stdev\":null},"
        "\"request_tps\":{\"mean\":50,\"p05\":40,\"p50\":50,\"p95\":60}}");
    if (!summary)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!summary)
        make_summary();
    /* The parser takes a C string: copy to an exact-size allocation so
     * ASan sees any read past its end. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct gate_expr *e = NULL;
    char err[1024];
    if (gate_expr_parse(text, &e, err, sizeof err) == 0) {
        double measured;
        int pass;
        char buf[64];
        (void)gate_expr_eval(e, summary, &measured, &pass);
        gate_value_fmt(e->kind, e->limit, buf, sizeof buf);
        gate_expr_free(e);
    } else if (!memchr(err, '\0', sizeof err)) {
        abort();    /* the message must be terminated */
    }
    free(text);
    return 0;
}
