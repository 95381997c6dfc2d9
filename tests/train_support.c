/* train_support.c: see train_support.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "host/host_ref.h"
#include "train_support.h"

pegr_backend *support_open_backend(const pegr_device_info *dev, pegr_precision prec,
                                   pegr_gemm_impl gemm)
{
    pegr_error err = {0};
    if (!dev) return pegr_host_backend_create(NULL);
    pegr_context *ctx = NULL;
    if (pegr_context_create(dev, NULL, &ctx, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
    pegr_engine_options eopts = {.precision = prec, .gemm = gemm};
    pegr_backend *b = pegr_engine_create(ctx, &eopts, &err);
    if (!b) fail_msg("%s", pegr_error_message(&err));
    return b;
}

pegr_train_config support_tiny(const char *method, size_t steps)
{
    pegr_train_config c;
    pegr_train_config_default(&c);
    c.data.n = 20;
    c.data.n_test = 100;
    c.data.d = 150;
    c.m = 4;
    c.steps = steps;
    c.log_every = 10;
    pegr_method_parse(method, "method", &c.method, NULL);
    c.n_robust = 2;
    return c;
}

double support_metric(const pegr_metrics *m, int k) { return pegr_check_metric(m, k); }

void support_assert_same_records(const pegr_train_result *a, const pegr_train_result *b, double tol)
{
    assert_int_equal(a->n_records, b->n_records);
    assert_int_equal(a->steps_run, b->steps_run);
    assert_int_equal(a->diverged, b->diverged);
    assert_int_equal(a->diverged_step, b->diverged_step);
    for (size_t k = 0; k < a->n_records; k++) {
        assert_int_equal(a->records[k].step, b->records[k].step);
        for (int i = 0; i < SUPPORT_NMETRICS; i++) {
            double x = support_metric(&a->records[k].metrics, i);
            double y = support_metric(&b->records[k].metrics, i);
            if (isnan(x) && isnan(y)) continue;
            double err = fabs(x - y) / fmax(1e-12, fmax(fabs(x), fabs(y)));
            if (!(err <= tol))
                fail_msg("record %zu (step %zu) metric %d: %.17g vs %.17g", k, a->records[k].step, i,
                         x, y);
        }
    }
}

void support_show_error(const char *what, double err, double tol)
{
    if (getenv("PEGR_TEST_SHOW_ERRORS")) fprintf(stderr, "  %s: %.3g (tolerance %.3g)\n", what, err, tol);
}

pegr_precision support_check_precision(const pegr_device_info *dev)
{
    return dev->fp64 ? PEGR_FP64 : PEGR_FP32;
}

void support_assert_close_records(const pegr_train_result *a, const pegr_train_result *b, double tol,
                                  double rate_tol)
{
    assert_int_equal(a->n_records, b->n_records);
    assert_int_equal(a->steps_run, b->steps_run);
    assert_int_equal(a->diverged, b->diverged);
    assert_int_equal(a->diverged_step, b->diverged_step);
    for (int i = 0; i < SUPPORT_NMETRICS; i++) {
        int rate = i == 2 || i == 3; /* train_error, test_error: see support_metric */
        double scale = 0, worst = 0;
        for (size_t k = 0; k < a->n_records; k++) {
            double x = support_metric(&a->records[k].metrics, i);
            double y = support_metric(&b->records[k].metrics, i);
            if (!isnan(x) || !isnan(y)) scale = fmax(scale, fmax(fabs(x), fabs(y)));
        }
        double limit = rate ? rate_tol : tol * scale;
        for (size_t k = 0; k < a->n_records; k++) {
            assert_int_equal(a->records[k].step, b->records[k].step);
            double x = support_metric(&a->records[k].metrics, i);
            double y = support_metric(&b->records[k].metrics, i);
            if (isnan(x) && isnan(y)) continue;
            double e = fabs(x - y);
            if (!(e <= worst)) worst = e;
            if (!(e <= limit))
                fail_msg("record %zu (step %zu) metric %d: %.17g vs %.17g (limit %.3g)", k,
                         a->records[k].step, i, x, y, limit);
        }
        char what[32];
        snprintf(what, sizeof what, "metric %d%s", i, rate ? " (absolute)" : " (scaled)");
        support_show_error(what, rate ? worst : worst / fmax(scale, 1e-300), rate ? rate_tol : tol);
    }
}

double support_rel_err(const double *a, const double *b, size_t count)
{
    return pegr_check_rel_err(a, b, count); /* the battery's comparison (src/check/check.h) */
}

void support_train(pegr_backend *b, const pegr_train_config *c, pegr_train_result *r)
{
    pegr_error err = {0};
    pegr_dataset ds = {0};
    if (pegr_data_generate(&c->data, &ds, &err) != PEGR_OK ||
        pegr_train_run(b, &ds, c, NULL, r, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
    pegr_dataset_free(&ds);
}
