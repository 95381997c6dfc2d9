/* test_args.c: the strict number parser (numparse.h) on the inputs the loose one took -- " -1",
 * "-1", "1 ", "", "+1", "0x10", 2^64, 1e400, nan, inf -- and at its edges, and the option parser
 * (args.h) using it with each row's range, in process. The same through the pegr binary is in
 * test_args_cli.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "pegr/numparse.h"
#include "cli/train_args.h"

/* Integers the old parser (strtoull after a check of the first byte) let through or wrapped. */
static const char *const BAD_INTEGERS[] = {
    " -1", "-1", "1 ", " 1", "", "+1", "0x10", "0X10", "1e3", "1.0", "18446744073709551616",
    "99999999999999999999999", "-0", "1_000", "\xd9\xa1", "\t5", "5\n", "nan", "inf",
};

static void test_u64_refuses_everything_but_digits(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof BAD_INTEGERS / sizeof BAD_INTEGERS[0]; k++) {
        uint64_t v = 12345;
        pegr_num_status s = pegr_parse_u64(BAD_INTEGERS[k], 0, UINT64_MAX, &v);
        if (s == PEGR_NUM_OK) fail_msg("'%s' was accepted as %llu", BAD_INTEGERS[k], (unsigned long long)v);
        assert_int_equal(v, 12345); /* left alone on failure */
    }
    uint64_t v = 0;
    assert_int_equal(pegr_parse_u64(NULL, 0, UINT64_MAX, &v), PEGR_NUM_SYNTAX);
    /* overflow is a range error, junk a syntax error, even after many digits */
    assert_int_equal(pegr_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_u64("184467440737095516160000x", 0, UINT64_MAX, &v), PEGR_NUM_SYNTAX);
    assert_int_equal(pegr_parse_u64(" -1", 0, UINT64_MAX, &v), PEGR_NUM_SYNTAX);
}

static void test_u64_edges_and_range(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_int_equal(pegr_parse_u64("0", 0, UINT64_MAX, &v), PEGR_NUM_OK);
    assert_int_equal(v, 0);
    assert_int_equal(pegr_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), PEGR_NUM_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(pegr_parse_u64("007", 0, UINT64_MAX, &v), PEGR_NUM_OK); /* decimal, not octal */
    assert_int_equal(v, 7);
    assert_int_equal(pegr_parse_u64("1", 1, 64, &v), PEGR_NUM_OK);
    assert_int_equal(pegr_parse_u64("64", 1, 64, &v), PEGR_NUM_OK);
    assert_int_equal(v, 64);
    assert_int_equal(pegr_parse_u64("0", 1, 64, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_u64("65", 1, 64, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_u64("9223372036854775808", 1, 64, &v), PEGR_NUM_RANGE);
    assert_int_equal(v, 64);
    size_t z = 0;
    assert_int_equal(pegr_parse_size("4096", 1, 4096, &z), PEGR_NUM_OK);
    assert_int_equal(z, 4096);
    assert_int_equal(pegr_parse_size("4097", 1, 4096, &z), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_size(" -3", 1, SIZE_MAX, &z), PEGR_NUM_SYNTAX);
}

static void test_double_refuses_space_hex_and_non_finite(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",    " 1",  "1 ",  " -1", "0x10", "0x1p3", "nan", "NaN", "inf", "-inf", "infinity",
        "1e",  "1e+", "e5",  ".",   "-",    "+",     "1..2", "1,5", "1.5.2", "\t0.5", "0.5\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        double v = 42;
        if (pegr_parse_double(bad[k], -HUGE_VAL, HUGE_VAL, &v) == PEGR_NUM_OK)
            fail_msg("'%s' was accepted as %g", bad[k], v);
        assert_true(v == 42);
    }
    double v = 0;
    assert_int_equal(pegr_parse_double("1e400", -HUGE_VAL, HUGE_VAL, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_double("-1e400", -HUGE_VAL, HUGE_VAL, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_double("1e-400", -HUGE_VAL, HUGE_VAL, &v), PEGR_NUM_RANGE);
}

static void test_double_edges_and_range(void **state)
{
    (void)state;
    double v = -1;
    static const struct { const char *text; double value; } good[] = {
        {"0", 0.0}, {"-1", -1.0}, {"+2.5", 2.5}, {".5", 0.5}, {"5.", 5.0}, {"1e-3", 1e-3},
        {"1E+2", 100.0}, {"1.7976931348623157e308", 1.7976931348623157e308}, {"2.2250738585072014e-308", 2.2250738585072014e-308},
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        assert_int_equal(pegr_parse_double(good[k].text, -HUGE_VAL, HUGE_VAL, &v), PEGR_NUM_OK);
        assert_true(v == good[k].value);
    }
    assert_int_equal(pegr_parse_double("0.5", 0, 0.5, &v), PEGR_NUM_OK);
    assert_int_equal(pegr_parse_double("0", 0, 0.5, &v), PEGR_NUM_OK);
    assert_int_equal(pegr_parse_double("0.5000001", 0, 0.5, &v), PEGR_NUM_RANGE);
    assert_int_equal(pegr_parse_double("-0.1", 0, 0.5, &v), PEGR_NUM_RANGE);
    assert_true(v == 0);
}

/* The option tables' ranges ("1..", "0..0.5") and choice lists ("fp32|fp64"), read one way for the
 * CLI's rows and the library's option table. */
static void test_ranges_and_word_lists(void **state)
{
    (void)state;
    uint64_t lo = 7, hi = 7;
    double dlo = 7, dhi = 7;
    assert_int_equal(pegr_parse_range_u64("1..", UINT64_MAX, &lo, &hi), PEGR_NUM_OK);
    assert_true(lo == 1 && hi == UINT64_MAX);
    assert_int_equal(pegr_parse_range_u64("..64", 1000, &lo, &hi), PEGR_NUM_OK);
    assert_true(lo == 0 && hi == 64);
    assert_int_equal(pegr_parse_range_u64(NULL, 99, &lo, &hi), PEGR_NUM_OK);
    assert_true(lo == 0 && hi == 99);
    assert_int_equal(pegr_parse_range_u64("5..2", 99, &lo, &hi), PEGR_NUM_SYNTAX); /* MIN > MAX */
    assert_int_equal(pegr_parse_range_u64("1-64", 99, &lo, &hi), PEGR_NUM_SYNTAX);
    assert_int_equal(pegr_parse_range_u64("1..x", 99, &lo, &hi), PEGR_NUM_SYNTAX);
    assert_int_equal(pegr_parse_range_u64("1..100", 99, &lo, &hi), PEGR_NUM_SYNTAX); /* past max */
    assert_int_equal(pegr_parse_range_double("0..0.5", &dlo, &dhi), PEGR_NUM_OK);
    assert_true(dlo == 0 && dhi == 0.5);
    assert_int_equal(pegr_parse_range_double("..", &dlo, &dhi), PEGR_NUM_OK);
    assert_true(dlo == -HUGE_VAL && dhi == HUGE_VAL);
    assert_int_equal(pegr_parse_range_double("1..0.5", &dlo, &dhi), PEGR_NUM_SYNTAX);
    assert_int_equal(pegr_parse_range_double("0.5", &dlo, &dhi), PEGR_NUM_SYNTAX);

    assert_true(pegr_word_in_list("fp32|fp64", "fp64"));
    assert_true(pegr_word_in_list("auto", "auto"));
    assert_false(pegr_word_in_list("fp32|fp64", "fp6"));
    assert_false(pegr_word_in_list("fp32|fp64", "fp32|fp64"));
    assert_false(pegr_word_in_list("fp32|fp64", ""));

    /* a choice option's field is the word's position; its text is the word at that position */
    assert_int_equal(pegr_word_index("gaussian|uniform|other", "uniform"), 1);
    assert_int_equal(pegr_word_index("gaussian|uniform|other", "other"), 2);
    assert_int_equal(pegr_word_index("gaussian|uniform", "unif"), -1);
    assert_int_equal(pegr_word_index("gaussian|uniform", ""), -1);
    char word[8];
    assert_true(pegr_word_at("gaussian|uniform", 1, word, sizeof word));
    assert_string_equal(word, "uniform");
    assert_true(pegr_word_at("gaussian|uniform", 0, word, sizeof word));
    assert_string_equal(word, "gaussia"); /* truncated to fit, terminated */
    assert_false(pegr_word_at("gaussian|uniform", 2, word, sizeof word));
    assert_string_equal(word, "");
    assert_false(pegr_word_at("gaussian|uniform", -1, word, sizeof word));
}

static void test_descriptions_name_the_range(void **state)
{
    (void)state;
    char buf[128];
    pegr_describe_uint(1, 64, buf, sizeof buf);
    assert_string_equal(buf, "an integer from 1 to 64");
    pegr_describe_double(0, 0.5, buf, sizeof buf);
    assert_string_equal(buf, "a number from 0 to 0.5");
    pegr_describe_double(1, HUGE_VAL, buf, sizeof buf);
    assert_string_equal(buf, "a finite number >= 1");
    pegr_describe_double(-HUGE_VAL, HUGE_VAL, buf, sizeof buf);
    assert_string_equal(buf, "a finite number");
}

/* ---- the option parser with ranges */

static const pegr_command_spec CMD = {"test", "the test command", "pegr test [options]"};

typedef struct opts {
    size_t jobs, steps;
    uint64_t seed;
    double p, lr;
} opts;

/* Parse one "--name value" pair into a fresh table; the parser's return (-1: accepted). */
static int parse_one(opts *o, const char *name, const char *value)
{
    *o = (opts){1, 10, 0, 0.1, 0.1};
    pegr_arg args[] = {
        {"jobs", PEGR_ARG_SIZE, &o->jobs, "J", "workers", "1..64", 0},
        {"steps", PEGR_ARG_SIZE, &o->steps, "N", "steps", NULL, 0},
        {"seed", PEGR_ARG_U64, &o->seed, "S", "seed", NULL, 0},
        {"p", PEGR_ARG_DOUBLE, &o->p, "P", "probability", PEGR_RANGE(0, 0.5), 0},
        {"lr", PEGR_ARG_DOUBLE, &o->lr, "LR", "rate", "0..", 0},
    };
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", name);
    char *argv[] = {"test", flag, (char *)value};
    return pegr_args_parse(&CMD, args, sizeof args / sizeof args[0], 3, argv);
}

static void test_options_refuse_what_the_old_parser_wrapped(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(parse_one(&o, "steps", " -1"), PEGR_EXIT_USAGE); /* was 2^64-1 steps */
    assert_int_equal(o.steps, 10);
    assert_int_equal(parse_one(&o, "steps", "-1"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "steps", "18446744073709551616"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "seed", "0x10"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "lr", " 0.1"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "lr", "nan"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "steps", "25"), -1);
    assert_int_equal(o.steps, 25);
    assert_int_equal(parse_one(&o, "seed", "18446744073709551615"), -1);
    assert_true(o.seed == UINT64_MAX);
}

static void test_options_apply_the_rows_range(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(parse_one(&o, "jobs", "0"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "jobs", "65"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "jobs", "9223372036854775808"), PEGR_EXIT_USAGE);
    assert_int_equal(o.jobs, 1);
    assert_int_equal(parse_one(&o, "jobs", "64"), -1);
    assert_int_equal(o.jobs, 64);
    assert_int_equal(parse_one(&o, "p", "0.6"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "p", "0.5"), -1);
    assert_true(o.p == 0.5);
    assert_int_equal(parse_one(&o, "lr", "-0.1"), PEGR_EXIT_USAGE);
    assert_int_equal(parse_one(&o, "lr", "1e300"), -1);
}

/* Every range in the experiment's table (train's and sweep's options) is well formed, and --help
 * shows it: a malformed one aborts. */
static void test_experiment_table_ranges_are_well_formed(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_cli_apply_preset("demo", &c);
    const char *sig = "none";
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(&c, &sig, rows);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    pegr_args_help(&CMD, rows, n, f);
    fclose(f);
    assert_non_null(strstr(text, "--m M"));
    assert_non_null(strstr(text, "[range: 1..]"));
    free(text);
    /* --m ' -1' used to become m = 2^64-1 and fail late, as "out of memory" */
    char *argv[] = {"test", "--m", " -1"};
    assert_int_equal(pegr_args_parse(&CMD, rows, n, 3, argv), PEGR_EXIT_USAGE);
    char *zero[] = {"test", "--m", "0"};
    assert_int_equal(pegr_args_parse(&CMD, rows, n, 3, zero), PEGR_EXIT_USAGE);
}

/* pegr_args_given tells an option given from a default (the host refuses only an explicit
 * --precision fp32). */
static void test_args_given_is_only_what_the_command_line_named(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_cli_apply_preset("demo", &c);
    const char *sig = "none";
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(&c, &sig, rows);
    char *argv[] = {"test", "--lr", "0.2", "--label-noise=0.1"};
    assert_int_equal(pegr_args_parse(&CMD, rows, n, 4, argv), -1);
    assert_true(pegr_args_given(rows, n, "lr"));
    assert_true(pegr_args_given(rows, n, "label-noise"));
    assert_false(pegr_args_given(rows, n, "lam"));
    assert_false(pegr_args_given(rows, n, "no-such-option"));
    assert_false(pegr_args_given(rows, 0, "lr"));
}

/* The data options' ranges are the set pegr_data_config_validate accepts: at each edge, what the
 * parser takes validates, and what validation would refuse the parser refuses, naming the flag
 * (was: the config's field name, 'label_flip', after parsing). */
static void test_data_option_ranges_match_validation(void **state)
{
    (void)state;
    static const struct { const char *name, *value; int ok; } cases[] = {
        {"label-noise", "0", 1},     {"label-noise", "0.5", 1},  {"label-noise", "0.5000001", 0},
        {"label-noise", "-1e-9", 0}, {"n", "1", 1},              {"n", "0", 0},
        {"d", "1", 1},               {"d", "0", 0},              {"patches", "1", 1},
        {"patches", "0", 0},         {"sigma-p", "0", 1},        {"sigma-p", "-1e-300", 0},
        {"mu-norm", "0", 1},         {"mu-norm", "-1e-300", 0},  {"snr", "-1e-300", 0},
        {"snr", "2", 1},             {"n-test", "0", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pegr_train_config c;
        pegr_cli_apply_preset("tiny", &c);
        const char *sig = "none";
        pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
        size_t n = pegr_cli_experiment_args(&c, &sig, rows);
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", cases[k].name);
        char *argv[] = {"test", flag, (char *)cases[k].value};
        int rc = pegr_args_parse(&CMD, rows, n, 3, argv);
        if (rc != (cases[k].ok ? -1 : PEGR_EXIT_USAGE))
            fail_msg("%s %s: the parser returned %d", flag, cases[k].value, rc);
        pegr_error err = {0};
        if (cases[k].ok && pegr_data_config_validate(&c.data, &err) != PEGR_OK)
            fail_msg("%s %s was parsed but does not validate: %s", flag, cases[k].value,
                     pegr_error_message(&err));
        pegr_error_clear(&err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_refuses_everything_but_digits),
        cmocka_unit_test(test_u64_edges_and_range),
        cmocka_unit_test(test_double_refuses_space_hex_and_non_finite),
        cmocka_unit_test(test_double_edges_and_range),
        cmocka_unit_test(test_descriptions_name_the_range),
        cmocka_unit_test(test_ranges_and_word_lists),
        cmocka_unit_test(test_options_refuse_what_the_old_parser_wrapped),
        cmocka_unit_test(test_options_apply_the_rows_range),
        cmocka_unit_test(test_experiment_table_ranges_are_well_formed),
        cmocka_unit_test(test_args_given_is_only_what_the_command_line_named),
        cmocka_unit_test(test_data_option_ranges_match_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
