/* util/secret: every way a server echoes a key (whole, cut short, masked,
 * JSON-escaped, in part) comes out as "***", and nothing else changes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "secret.h"

#define KEY "sk-test-SECRET-0123456789"

static char buf[4096];

static const char *redact(const char *s)
{
    snprintf(buf, sizeof buf, "%s", s);
    size_t n = secret_redact(buf);
    assert_int_equal(n, strlen(buf));
    assert_true(n <= strlen(s));   /* never grows */
    return buf;
}

static int setup(void **state)
{
    (void)state;
    secret_clear();
    return 0;
}

static void test_no_secret_no_change(void **state)
{
    (void)state;
    assert_string_equal(redact("Incorrect API key provided: Bearer " KEY), "Incorrect API key provided: Bearer " KEY);
    assert_int_equal(secret_add(KEY), 0);
    assert_string_equal(redact("HTTP 500: internal error ... **** ok"), "HTTP 500: internal error ... **** ok");
    assert_string_equal(redact(""), "");
    assert_int_equal(secret_add(NULL), 0);
    assert_int_equal(secret_add(""), 0);
}

static void test_whole_and_repeated(void **state)
{
    (void)state;
    assert_int_equal(secret_add(KEY), 0);
    assert_int_equal(secret_add(KEY), 0);   /* once */
    assert_string_equal(redact("Incorrect API key provided: Bearer " KEY "."),
                        "Incorrect API key provided: Bearer ***.");
    assert_string_equal(redact(KEY KEY " and " KEY), "*** and ***");
    assert_string_equal(redact("{\"error\":\"" KEY "\"}"), "{\"error\":\"***\"}");
}

static void test_cut_short(void **state)
{
    (void)state;
    assert_int_equal(secret_add(KEY), 0);
    /* The client's bound on error text cut the echo inside the key. */
    assert_string_equal(redact("HTTP 401: provided: Bearer sk-test-SEC"), "HTTP 401: provided: Bearer ***");
    assert_string_equal(redact("provided: sk-t"), "provided: ***");
    /* Three characters are no leak, and "sk-" is every key's start. */
    assert_string_equal(redact("provided: sk-"), "provided: sk-");
}

static void test_masked_echo(void **state)
{
    (void)state;
    assert_int_equal(secret_add(KEY), 0);
    /* OpenAI: the start, stars, the last four. */
    assert_string_equal(redact("Incorrect API key provided: sk-tes**************6789. You can"),
                        "Incorrect API key provided: ***. You can");
    assert_string_equal(redact("key sk-test...6789 refused"), "key *** refused");
    assert_string_equal(redact("key sk-te\xe2\x80\xa6" "6789 refused"), "key *** refused");
    assert_string_equal(redact("key sk-test-SE..."), "key ***");
    /* Only the end shown. */
    assert_string_equal(redact("the key ending in ****6789 is wrong"), "the key ending in *** is wrong");
    assert_string_equal(redact("a list: ...., 6789"), "a list: ...., 6789");
}

static void test_part_and_escaped(void **state)
{
    (void)state;
    assert_int_equal(secret_add(KEY), 0);
    /* Eight characters of it in a row, wherever they start. */
    assert_string_equal(redact("middle: SECRET-0123 here"), "middle: *** here");
    assert_string_equal(redact("short: ECRET-0 here"), "short: ECRET-0 here");
    /* A key with characters a JSON writer escapes. */
    assert_int_equal(secret_add("ab/cd\"ef\\gh-42"), 0);
    assert_string_equal(redact("echo: ab\\/cd\\\"ef\\\\gh-42!"), "echo: ***!");
    assert_string_equal(redact("echo: ab/cd\"ef\\gh-42!"), "echo: ***!");
}

static void test_short_secret_and_two(void **state)
{
    (void)state;
    assert_int_equal(secret_add("xy"), 0);
    assert_string_equal(redact("axyb xy"), "a**b **");
    assert_int_equal(secret_add("other-secret-value"), 0);
    assert_string_equal(redact("xy other-secret-value"), "** ***");
    for (int i = 2; i < SECRET_MAX; i++) {
        char s[32];
        snprintf(s, sizeof s, "filler-%d-abcdefgh", i);
        assert_int_equal(secret_add(s), 0);
    }
    assert_int_equal(secret_add("one-too-many-secrets"), -1);
}

static void test_long_text(void **state)
{
    (void)state;
    assert_int_equal(secret_add(KEY), 0);
    char big[3000];
    memset(big, 'a', sizeof big);
    memcpy(big + 1500, KEY, strlen(KEY));
    big[sizeof big - 1] = '\0';
    snprintf(buf, sizeof buf, "%s", big);
    secret_redact(buf);
    assert_null(strstr(buf, "SECRET"));
    assert_int_equal(strlen(buf), sizeof big - 1 - strlen(KEY) + 3);
}

/* Every text from a server passes result_text_clean: the key never makes
 * it into a record's sample. */
static void test_text_clean_redacts(void **state)
{
    (void)state;
    char out[RESULT_ERR_SAMPLE];
    assert_int_equal(secret_add(KEY), 0);
    result_text_clean(out, sizeof out, "HTTP 401: Incorrect API key provided: Bearer " KEY "\n");
    assert_string_equal(out, "HTTP 401: Incorrect API key provided: Bearer *** ");
    /* Cut by the cap inside the key. */
    char small[52];
    result_text_clean(small, sizeof small, "HTTP 401: Incorrect API key provided: Bearer " KEY);
    assert_string_equal(small, "HTTP 401: Incorrect API key provided: Bearer ***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_secret_no_change, setup),
        cmocka_unit_test_setup(test_whole_and_repeated, setup),
        cmocka_unit_test_setup(test_cut_short, setup),
        cmocka_unit_test_setup(test_masked_echo, setup),
        cmocka_unit_test_setup(test_part_and_escaped, setup),
        cmocka_unit_test_setup(test_short_secret_and_two, setup),
        cmocka_unit_test_setup(test_long_text, setup),
        cmocka_unit_test_setup(test_text_clean_redacts, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
