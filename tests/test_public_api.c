/* test_public_api.c: the public calls of pegr/backend.h and pegr/train.h through "pegr/pegr.h" alone
 * (no internal header): the one name table, the opaque backend on the host reference (its wrappers
 * agree with the function table, refuse what the host cannot do with a message naming it), a
 * training run with its record accessors, and the cancel flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/pegr.h"

static void test_names_round_trip_and_refuse_unknown(void **state)
{
    (void)state;
    pegr_error err = {0};
    for (int m = 0; m < PEGR_METHOD_COUNT; m++) {
        pegr_method back = PEGR_METHOD_COUNT;
        assert_non_null(pegr_method_name((pegr_method)m));
        assert_int_equal(pegr_method_parse(pegr_method_name((pegr_method)m), "--method", &back, &err),
                         PEGR_OK);
        assert_int_equal(back, m);
    }
    for (int r = 0; r < PEGR_REPRESENTATION_COUNT; r++) {
        pegr_representation back = PEGR_REPRESENTATION_COUNT;
        assert_int_equal(pegr_representation_parse(pegr_representation_name((pegr_representation)r),
                                                   "x", &back, &err),
                         PEGR_OK);
        assert_int_equal(back, r);
    }
    pegr_precision p = PEGR_FP32;
    assert_int_equal(pegr_precision_parse("fp64", "--precision", &p, &err), PEGR_OK);
    assert_int_equal(p, PEGR_FP64);
    assert_string_equal(pegr_precision_name(PEGR_FP32), "fp32");
    assert_null(pegr_method_name((pegr_method)PEGR_METHOD_COUNT));
    assert_null(pegr_representation_name((pegr_representation)-1));

    pegr_method m = PEGR_METHOD_GR;
    assert_int_equal(pegr_method_parse("PEGR", "--method", &m, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(m, PEGR_METHOD_GR); /* untouched on failure */
    assert_non_null(strstr(err.message, "--method"));
    assert_non_null(strstr(err.message, "'PEGR'"));
    for (int k = 0; k < PEGR_METHOD_COUNT; k++) /* the message lists every name */
        assert_non_null(strstr(err.message, pegr_method_name((pegr_method)k)));
    pegr_error_clear(&err);
    assert_int_equal(pegr_representation_parse(NULL, "rep", &(pegr_representation){0}, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
}

/* A small problem from the data model: n 6, P 2, d 9, m 2. */
typedef struct problem {
    pegr_dataset ds;
    double W[2 * 2 * 9];
} problem;

static void problem_make(problem *p)
{
    pegr_data_config c;
    pegr_data_config_default(&c);
    c.n = 6;
    c.n_test = 0;
    c.d = 9;
    c.seed = 3;
    assert_int_equal(pegr_data_generate(&c, &p->ds, NULL), PEGR_OK);
    assert_int_equal(pegr_init_weights(3, 2, 9, 0.5, p->W, NULL), PEGR_OK);
}

static void test_host_backend_through_the_wrappers(void **state)
{
    (void)state;
    problem p;
    problem_make(&p);
    pegr_error err = {0};
    pegr_backend *b = NULL;
    assert_int_equal(pegr_backend_open("host", NULL, &b, &err), PEGR_OK);
    assert_string_equal(pegr_backend_name(b), "host");
    assert_string_equal(pegr_backend_precision_name(b), "fp64");
    assert_non_null(strstr(pegr_backend_description(b), "host reference"));
    assert_null(pegr_backend_device(b));
    assert_null(pegr_backend_context(b));
    assert_string_equal(pegr_backend_gemm_name(b), "host");
    assert_int_equal(pegr_backend_can_batch(b), 0);
    assert_int_equal(pegr_backend_bytes_peak(b), 0);
    const pegr_kernel_time *times = (const pegr_kernel_time *)&err;
    assert_int_equal(pegr_backend_profile(b, &times), 0);
    assert_null(times);

    /* What the host cannot do is refused, naming it, not replaced by something else. */
    assert_int_equal(pegr_backend_set_runs(b, 2, &err), PEGR_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "one run at a time"));
    assert_int_equal(pegr_backend_set_runs(b, 1, &err), PEGR_OK);
    assert_int_equal(pegr_backend_set_representation(b, PEGR_REPRESENTATION_SPAN, &err),
                     PEGR_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "primal"));
    assert_int_equal(pegr_backend_set_representation(b, PEGR_REPRESENTATION_AUTO, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_backend_set_representation(b, PEGR_REPRESENTATION_PRIMAL, &err), PEGR_OK);

    assert_int_equal(pegr_backend_set_data(b, p.ds.train.X, p.ds.train.y, 6, 2, 9, &err), PEGR_OK);
    assert_int_equal(pegr_backend_set_weights(b, p.W, 2, &err), PEGR_OK);
    double grad[36], margin[6], loss = 0, objective = 0;
    pegr_eval_request req = {.method = PEGR_METHOD_PEGR, .q = 3, .lam = 0.1, .grad = grad,
                             .margin = margin, .mean_loss = &loss, .objective = &objective};
    assert_int_equal(pegr_backend_evaluate(b, &req, &err), PEGR_OK);
    assert_true(objective > loss && loss > 0); /* pegr adds a positive penalty */

    /* sgd is a training schedule, not an objective: refused by evaluate and step. */
    req.method = PEGR_METHOD_SGD;
    assert_int_equal(pegr_backend_evaluate(b, &req, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "sgd"));
    assert_int_equal(pegr_backend_step(b, &req, 0.1, &err), PEGR_ERR_INVALID_ARGUMENT);

    /* A step moves W by exactly -lr * grad (the host is exact). */
    req.method = PEGR_METHOD_PEGR;
    assert_int_equal(pegr_backend_step(b, &req, 0.25, &err), PEGR_OK);
    double W1[36];
    assert_int_equal(pegr_backend_get_weights(b, W1, &err), PEGR_OK);
    for (size_t k = 0; k < 36; k++) assert_true(W1[k] == p.W[k] - 0.25 * grad[k]);
    long bad = 7;
    assert_int_equal(pegr_backend_first_nonfinite_step(b, &bad, &err), PEGR_OK);
    assert_int_equal(bad, -1);

    pegr_backend_close(b);
    pegr_backend_close(NULL);
    pegr_dataset_free(&p.ds);
    pegr_error_clear(&err);
}

static void test_host_refuses_an_explicit_fp32(void **state)
{
    (void)state;
    pegr_backend_options o;
    pegr_backend_options_default(&o);
    o.precision = PEGR_FP32;
    o.precision_set = 1;
    pegr_backend *b = NULL;
    pegr_error err = {0};
    assert_int_equal(pegr_backend_open("host", &o, &b, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_null(b);
    assert_non_null(strstr(err.message, "fp32"));
    assert_non_null(strstr(err.message, "fp64 only"));
    pegr_error_clear(&err);
}

static pegr_train_config tiny_config(pegr_method method)
{
    pegr_train_config c;
    pegr_train_config_default(&c);
    c.data.n = 8;
    c.data.n_test = 20;
    c.data.d = 12;
    c.m = 2;
    c.steps = 30;
    c.log_every = 10;
    c.method = method;
    c.n_robust = 0;
    return c;
}

static void test_train_records_through_accessors(void **state)
{
    (void)state;
    pegr_train_config c = tiny_config(PEGR_METHOD_PEGR);
    pegr_dataset ds = {0};
    pegr_backend *b = NULL;
    pegr_train_result r = {0};
    assert_int_equal(pegr_data_generate(&c.data, &ds, NULL), PEGR_OK);
    assert_int_equal(pegr_backend_open("host", NULL, &b, NULL), PEGR_OK);
    assert_int_equal(pegr_train_run(b, &ds, &c, NULL, &r, NULL), PEGR_OK);
    /* log steps 0, 10, 20, 30 */
    assert_int_equal(pegr_train_result_record_count(&r), 4);
    for (size_t i = 0; i < 4; i++) assert_int_equal(pegr_train_result_record(&r, i)->step, 10 * i);
    assert_null(pegr_train_result_record(&r, 4));
    assert_ptr_equal(pegr_train_result_last(&r), pegr_train_result_record(&r, 3));
    assert_false(r.interrupted);
    pegr_train_result_free(&r);
    pegr_backend_close(b);
    pegr_dataset_free(&ds);
}

static void test_cancel_flag_stops_before_the_first_step(void **state)
{
    (void)state;
    pegr_train_config c = tiny_config(PEGR_METHOD_GD);
    pegr_dataset ds = {0};
    pegr_backend *b = NULL;
    pegr_train_result r = {0};
    static volatile sig_atomic_t cancel = 1;
    pegr_train_callbacks cb = {NULL, NULL, NULL, &cancel};
    assert_int_equal(pegr_data_generate(&c.data, &ds, NULL), PEGR_OK);
    assert_int_equal(pegr_backend_open("host", NULL, &b, NULL), PEGR_OK);
    assert_int_equal(pegr_train_run(b, &ds, &c, &cb, &r, NULL), PEGR_OK);
    assert_true(r.interrupted);
    assert_int_equal(r.steps_run, 0);
    pegr_train_result_free(&r);
    pegr_backend_close(b);
    pegr_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip_and_refuse_unknown),
        cmocka_unit_test(test_host_backend_through_the_wrappers),
        cmocka_unit_test(test_host_refuses_an_explicit_fp32),
        cmocka_unit_test(test_train_records_through_accessors),
        cmocka_unit_test(test_cancel_flag_stops_before_the_first_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
