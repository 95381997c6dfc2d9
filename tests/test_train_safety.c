/* test_train_safety.c: the training loop never reports a silently wrong result, on the host
 * reference and on the OpenCL engine: a run shorter than the divergence-check interval that blows
 * up is diverged (steps_run = diverged_step + 1, no plausible-looking numbers left in its records,
 * alone or in a batch), the host reference refuses fp32 and span when asked, and an engine failure
 * reaches the caller with its real message, never "success". Device parts skip without a device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/backend.h"
#include "engine/engine_internal.h"
#include "pegr/train.h"
#include "test_device_pick.h"
#include "train_support.h"

static pegr_device_info *devices;
static size_t ndevices;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;

/* The run of issue 11 (`pegr train --method pegr --lr 10 --lam 1 --steps 8`) on the tiny sizes:
 * its weights are NaN after a few steps, long before the backend's flag is read in the loop. */
static pegr_train_config blowing_up(void)
{
    pegr_train_config c = support_tiny("pegr", 8);
    c.lr = 10.0;
    c.lam = 1.0;
    return c;
}

static void train_batch(pegr_backend *b, const pegr_train_config *c, size_t runs,
                        pegr_train_result *r)
{
    pegr_error err = {0};
    pegr_dataset ds[4] = {{0}};
    assert_true(runs <= 4);
    for (size_t k = 0; k < runs; k++)
        if (pegr_data_generate(&c[k].data, &ds[k], &err) != PEGR_OK)
            fail_msg("%s", pegr_error_message(&err));
    if (pegr_train_run_batch(b, ds, c, runs, NULL, r, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
    for (size_t k = 0; k < runs; k++) pegr_dataset_free(&ds[k]);
}

/* What a diverged result must say, and must not: consistent counts, NaN in every record measured
 * after the diverging update, no finite robust error, non-finite final weights. */
static void assert_diverged_consistently(const pegr_train_result *r, const pegr_train_config *c)
{
    assert_true(r->diverged);
    assert_true(r->diverged_step >= 0);
    assert_int_equal(r->steps_run, (size_t)r->diverged_step + 1);
    assert_true(r->steps_run <= c->steps);
    const pegr_train_record *last = pegr_train_result_last(r);
    assert_non_null(last);
    for (size_t k = 0; k < r->n_records; k++) {
        if (r->records[k].step <= (size_t)r->diverged_step) continue;
        for (int i = 0; i < SUPPORT_NMETRICS; i++)
            if (!isnan(support_metric(&r->records[k].metrics, i)))
                fail_msg("record at step %zu (after the divergence at %ld) keeps metric %d = %g",
                         r->records[k].step, r->diverged_step, i,
                         support_metric(&r->records[k].metrics, i));
    }
    for (size_t j = 0; j < c->n_robust; j++) assert_true(isnan(r->robust_error[j]));
    int finite = 1;
    for (size_t k = 0; k < 2 * c->m * c->data.d; k++) finite &= isfinite(r->W[k]) != 0;
    assert_false(finite);
}

static void test_divergence_within_the_check_interval_is_caught(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_backend *b = support_open_backend(device ? suite_device : NULL, PEGR_FP32,
                                               PEGR_GEMM_AUTO);
        pegr_train_config c = blowing_up();
        pegr_train_result r;
        train_batch(b, &c, 1, &r);
        assert_diverged_consistently(&r, &c);
        pegr_train_result_free(&r);
        b->ops->destroy(b);
    }
}

/* In a batch the blowing-up run is caught at the same step as alone, and its neighbour (a sane
 * learning rate) finishes untouched. */
static void test_divergence_within_the_check_interval_in_a_batch(void **state)
{
    (void)state;
    if (!ndevices) skip();
    pegr_train_config c[2] = {blowing_up(), blowing_up()};
    c[0].lr = 0.1;
    c[0].lam = 0.01;
    c[1].data.seed = 1;
    pegr_backend *b = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_OWN);
    pegr_train_result batched[2], alone;
    train_batch(b, c, 2, batched);
    assert_false(batched[0].diverged);
    assert_int_equal(batched[0].steps_run, 8);
    assert_true(isfinite(pegr_train_result_last(&batched[0])->metrics.loss));
    assert_diverged_consistently(&batched[1], &c[1]);
    train_batch(b, &c[1], 1, &alone);
    support_assert_same_records(&batched[1], &alone, 0.0);
    pegr_train_result_free(&alone);
    pegr_train_result_free(&batched[0]);
    pegr_train_result_free(&batched[1]);
    b->ops->destroy(b);
}

/* What the host reference cannot do is refused before anything opens, not replaced silently:
 * fp32 asked for, and the span form (through $PEGR_DEVICE too); not asking is fine. */
static void test_host_refuses_fp32_and_span_when_asked(void **state)
{
    (void)state;
    pegr_error err = {0};
    assert_int_equal(pegr_backend_check_request("host", "fp32", NULL, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "fp64 only"));
    pegr_error_clear(&err);
    assert_int_equal(pegr_backend_check_request("host", NULL, "span", &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "primal form only"));
    pegr_error_clear(&err);
    assert_int_equal(pegr_backend_check_request("host", "fp64", "primal", &err), PEGR_OK);
    assert_int_equal(pegr_backend_check_request("host", NULL, "auto", &err), PEGR_OK);
    assert_int_equal(pegr_backend_check_request("cpu", "fp32", "span", &err), PEGR_OK);
    setenv("PEGR_DEVICE", "host", 1);
    assert_int_equal(pegr_backend_check_request(NULL, "fp32", NULL, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    unsetenv("PEGR_DEVICE");
    pegr_error_clear(&err);
}

/* A device-side failure while the engine uploads the mini-batch's example weights (and while it
 * restores the uniform ones) reaches err with OpenCL's message, not an empty "success". The
 * failure is provoked by hiding the engine's omega buffer: clEnqueueWriteBuffer then refuses it. */
static void test_example_weight_upload_failure_names_the_call(void **state)
{
    (void)state;
    if (!ndevices) skip();
    pegr_backend *b = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_AUTO);
    pegr_engine *e = (pegr_engine *)b;
    pegr_train_config c = support_tiny("sgd", 1);
    pegr_dataset ds = {0};
    pegr_error err = {0};
    assert_int_equal(pegr_data_generate(&c.data, &ds, &err), PEGR_OK);
    size_t n = ds.train.n, count = 2 * c.m * ds.d;
    double *W0 = malloc(count * sizeof(double)), *weights = malloc(n * sizeof(double));
    assert_int_equal(pegr_init_weights(0, c.m, ds.d, 0.01, W0, &err), PEGR_OK);
    for (size_t i = 0; i < n; i++) weights[i] = i < 5 ? 0.2 : 0.0;
    assert_int_equal(b->ops->set_data(b, ds.train.X, ds.train.y, n, ds.P, ds.d, &err), PEGR_OK);
    assert_int_equal(b->ops->set_weights(b, W0, c.m, &err), PEGR_OK);
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .weights = weights};
    cl_mem omega = e->b.omega;
    e->b.omega = NULL;
    test_expect_api_error("clEnqueueWriteBuffer", "CL_INVALID_MEM_OBJECT");
    pegr_status s = b->ops->step(b, &req, 0.1, &err);
    assert_int_not_equal(s, PEGR_OK);
    assert_int_equal(err.status, s);
    const char *msg = pegr_error_message(&err);
    if (strcmp(msg, "success") == 0 || !strstr(msg, "clEnqueueWriteBuffer"))
        fail_msg("the upload's failure reads \"%s\"", msg);
    pegr_error_clear(&err);
    /* back to uniform weights (a full-batch evaluation): the same upload, the same message */
    e->omega_uniform = 0;
    req.weights = NULL;
    test_expect_api_error("clEnqueueWriteBuffer", "CL_INVALID_MEM_OBJECT");
    s = b->ops->evaluate(b, &req, &err);
    assert_int_not_equal(s, PEGR_OK);
    if (!strstr(pegr_error_message(&err), "clEnqueueWriteBuffer"))
        fail_msg("the uniform weights' failure reads \"%s\"", pegr_error_message(&err));
    pegr_error_clear(&err);
    e->b.omega = omega;
    /* invalid weights are the caller's error, named as such */
    weights[3] = -1.0;
    req.weights = weights;
    assert_int_equal(b->ops->step(b, &req, 0.1, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "example weight 3"));
    pegr_error_clear(&err);
    free(W0);
    free(weights);
    pegr_dataset_free(&ds);
    b->ops->destroy(b);
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_train_safety", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_divergence_within_the_check_interval_is_caught),
        cmocka_unit_test(test_divergence_within_the_check_interval_in_a_batch),
        cmocka_unit_test(test_host_refuses_fp32_and_span_when_asked),
        cmocka_unit_test(test_example_weight_upload_failure_names_the_call),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}
