/* test_host_ref.c: the host reference (src/host/host_ref.c) against independent golden values (PyTorch
 * autograd, tests/data/golden), against central finite differences of each objective on random
 * non-orthogonal problems, and against its own identities (lam = 0, Gram-identity norms, the backend
 * object). Golden tests skip when PEGR_TEST_DATA_DIR is unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_ref.h"
#include "util/npy.h"

/* ---- a small deterministic generator (splitmix64 + Box-Muller) ---------------------------------- */

typedef struct test_rng {
    uint64_t state;
} test_rng;

static uint64_t rng_next(test_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in (0, 1) */
static double rng_uniform(test_rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(test_rng *r)
{
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static void *xmalloc(size_t count)
{
    void *p = calloc(count ? count : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

static double max_abs(const double *a, size_t len)
{
    double mx = 0.0;
    for (size_t k = 0; k < len; k++) mx = fmax(mx, fabs(a[k]));
    return mx;
}

/* max |a - ref| / max |ref| (absolute when ref is all zero). */
static double rel_err(const double *a, const double *ref, size_t len)
{
    double diff = 0.0;
    for (size_t k = 0; k < len; k++) diff = fmax(diff, fabs(a[k] - ref[k]));
    double scale = max_abs(ref, len);
    return scale > 0.0 ? diff / scale : diff;
}

/* A random problem: X (n, P, d) i.i.d. N(0, 1) -- generic, non-orthogonal patches -- labels +-1 and
 * W (2, m, d) i.i.d. N(0, w_scale^2), resampled until every pre-activation is at least z_gap away from 0
 * (so finite differences never straddle the kinks of s, s' or s''). */
typedef struct problem {
    size_t n, P, d, m;
    double *X, *y, *W;
} problem;

static double min_abs_preactivation(const problem *pb)
{
    double mn = INFINITY;
    for (size_t i = 0; i < pb->n; i++)
        for (size_t p = 0; p < pb->P; p++)
            for (size_t jr = 0; jr < 2 * pb->m; jr++) {
                double acc = 0.0;
                for (size_t k = 0; k < pb->d; k++)
                    acc += pb->W[jr * pb->d + k] * pb->X[(i * pb->P + p) * pb->d + k];
                mn = fmin(mn, fabs(acc));
            }
    return mn;
}

static problem make_problem(uint64_t seed, size_t n, size_t P, size_t d, size_t m, double w_scale,
                            double z_gap)
{
    problem pb = {n, P, d, m, xmalloc(n * P * d), xmalloc(n), xmalloc(2 * m * d)};
    test_rng r = {seed};
    for (int attempt = 0; attempt < 1000; attempt++) {
        for (size_t k = 0; k < n * P * d; k++) pb.X[k] = rng_normal(&r);
        for (size_t i = 0; i < n; i++) pb.y[i] = (rng_next(&r) & 1) ? 1.0 : -1.0;
        for (size_t k = 0; k < 2 * m * d; k++) pb.W[k] = w_scale * rng_normal(&r);
        if (min_abs_preactivation(&pb) >= z_gap) return pb;
    }
    fail_msg("could not draw a problem with every |z| >= %g", z_gap);
    return pb;
}

static void free_problem(problem *pb)
{
    free(pb->X);
    free(pb->y);
    free(pb->W);
}

static pegr_eval_request request(pegr_method method, double q, double lam)
{
    pegr_eval_request req;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.q = q;
    req.lam = lam;
    return req;
}

static void eval_ok(const problem *pb, const double *W, const pegr_eval_request *req)
{
    pegr_error err = {0};
    pegr_status st = pegr_ref_evaluate(pb->X, pb->y, pb->n, pb->P, pb->d, W, pb->m, req, &err);
    if (st != PEGR_OK) fail_msg("pegr_ref_evaluate: %s", pegr_error_message(&err));
    pegr_error_clear(&err);
}

static double objective_at(const problem *pb, const double *W, pegr_method method, double q,
                           double lam)
{
    double J = NAN;
    pegr_eval_request req = request(method, q, lam);
    req.objective = &J;
    eval_ok(pb, W, &req);
    return J;
}

static const char *method_str(pegr_method m)
{
    return m == PEGR_METHOD_GD ? "gd" : m == PEGR_METHOD_PEGR ? "pegr" : "gr";
}

/* ---- golden ------------------------------------------------------------------------------------- */

/* The number after "key": in a flat JSON object; NAN when absent. */
static double json_number(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char *at = strstr(json, pat);
    if (!at) return NAN;
    at = strchr(at + strlen(pat), ':');
    if (!at) return NAN;
    char *end;
    double v = strtod(at + 1, &end);
    return end == at + 1 ? NAN : v;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = calloc(1, 4097);
    assert_non_null(buf);
    size_t got = fread(buf, 1, 4096, f);
    fclose(f);
    buf[got] = '\0';
    return buf;
}

static void load(const char *dir, const char *name, pegr_array *a, size_t expect_size)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.npy", dir, name);
    pegr_error err = {0};
    if (pegr_npy_read(path, a, &err) != PEGR_OK) fail_msg("%s: %s", path, pegr_error_message(&err));
    pegr_error_clear(&err);
    if (a->size != expect_size) fail_msg("%s: %zu values, expected %zu", path, a->size, expect_size);
}

static void check_close(const char *what, const char *case_name, const double *got,
                        const double *ref, size_t len)
{
    double e = rel_err(got, ref, len);
    print_message("  %-20s %-18s rel err %.3e\n", case_name, what, e);
    if (!(e <= 1e-10)) fail_msg("%s/%s: relative error %.3e > 1e-10", case_name, what, e);
}

static void golden_case(const char *case_name)
{
    const char *root = getenv("PEGR_TEST_DATA_DIR");
    if (!root || !*root) {
        print_message("PEGR_TEST_DATA_DIR is unset: skipping golden case %s "
                      "(set it to tests/data)\n", case_name);
        skip();
    }
    char dir[900], path[1024];
    snprintf(dir, sizeof(dir), "%s/golden/%s", root, case_name);
    snprintf(path, sizeof(path), "%s/case.json", dir);
    char *json = read_text(path);
    double q = json_number(json, "q"), lam = json_number(json, "lam"), mean = json_number(json, "loss");
    double nd = json_number(json, "n"), Pd = json_number(json, "P"), dd = json_number(json, "d"),
           md = json_number(json, "m");
    free(json);
    assert_true(isfinite(q) && isfinite(lam) && isfinite(mean) && nd >= 1 && Pd >= 1 && dd >= 1 &&
                md >= 1);
    size_t n = (size_t)nd, P = (size_t)Pd, d = (size_t)dd, m = (size_t)md;

    pegr_array X, y, W, margin, loss, peg, norm2, ggd, gpegr, ggr;
    load(dir, "X", &X, n * P * d);
    load(dir, "y", &y, n);
    load(dir, "W", &W, 2 * m * d);
    load(dir, "margin", &margin, n);
    load(dir, "per_example_loss", &loss, n);
    load(dir, "per_example_grad", &peg, n * 2 * m * d);
    load(dir, "per_example_norm2", &norm2, n);
    load(dir, "grad_gd", &ggd, 2 * m * d);
    load(dir, "grad_pegr", &gpegr, 2 * m * d);
    load(dir, "grad_gr", &ggr, 2 * m * d);

    double *o_margin = xmalloc(n), *o_loss = xmalloc(n), *o_norm2 = xmalloc(n);
    double *o_peg = xmalloc(n * 2 * m * d), *o_grad = xmalloc(2 * m * d);
    double o_mean = NAN;
    problem pb = {n, P, d, m, X.data, y.data, W.data};

    pegr_eval_request req = request(PEGR_METHOD_GD, q, lam);
    req.grad = o_grad;
    req.margin = o_margin;
    req.loss = o_loss;
    req.norm2 = o_norm2;
    req.per_example_grad = o_peg;
    req.mean_loss = &o_mean;
    eval_ok(&pb, W.data, &req);
    check_close("margin", case_name, o_margin, margin.data, n);
    check_close("per_example_loss", case_name, o_loss, loss.data, n);
    check_close("per_example_grad", case_name, o_peg, peg.data, n * 2 * m * d);
    check_close("per_example_norm2", case_name, o_norm2, norm2.data, n);
    check_close("mean_loss", case_name, &o_mean, &mean, 1);
    check_close("grad_gd", case_name, o_grad, ggd.data, 2 * m * d);

    /* Objective values, with references built from the golden arrays alone:
     * pegr L + (lam/n) sum_i norm2_i, gr L + lam ||grad_gd||^2. */
    double o_obj = NAN, ref_obj = 0.0;
    pegr_eval_request rp = request(PEGR_METHOD_PEGR, q, lam);
    rp.grad = o_grad;
    rp.objective = &o_obj;
    eval_ok(&pb, W.data, &rp);
    check_close("grad_pegr", case_name, o_grad, gpegr.data, 2 * m * d);
    for (size_t i = 0; i < n; i++) ref_obj += norm2.data[i];
    ref_obj = mean + lam / (double)n * ref_obj;
    check_close("objective_pegr", case_name, &o_obj, &ref_obj, 1);

    pegr_eval_request rg = request(PEGR_METHOD_GR, q, lam);
    rg.grad = o_grad;
    rg.objective = &o_obj;
    eval_ok(&pb, W.data, &rg);
    check_close("grad_gr", case_name, o_grad, ggr.data, 2 * m * d);
    ref_obj = 0.0;
    for (size_t k = 0; k < 2 * m * d; k++) ref_obj += ggd.data[k] * ggd.data[k];
    ref_obj = mean + lam * ref_obj;
    check_close("objective_gr", case_name, &o_obj, &ref_obj, 1);

    free(o_margin);
    free(o_loss);
    free(o_norm2);
    free(o_peg);
    free(o_grad);
    pegr_array *all[] = {&X, &y, &W, &margin, &loss, &peg, &norm2, &ggd, &gpegr, &ggr};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) pegr_array_free(all[k]);
}

static void test_golden_cao2patch_q3_matches_autograd(void **state)
{
    (void)state;
    golden_case("cao2patch_q3");
}

static void test_golden_generic3patch_q2_5_matches_autograd(void **state)
{
    (void)state;
    golden_case("generic3patch_q2.5");
}

static void test_golden_relu_q1_matches_autograd(void **state)
{
    (void)state;
    golden_case("relu_q1");
}

/* ---- finite differences ------------------------------------------------------------------------- */

/* h = 1e-6: the error of a central difference here is truncation-dominated (it fell 100x per 10x
 * smaller h down to 1e-6: pegr at q = 4.5, P = 4 gave 1.4e-6 at h = 1e-4, 1.6e-7 at 1e-5, 1.6e-9 at
 * 1e-6), while rounding (eps |J| / h) is still ~1e-10. Observed worst over the sweep: ~3e-9, so the
 * tolerance 1e-7 leaves a 30x margin and still catches any wrong term of the closed forms. */
#define FD_H 1e-6
#define FD_TOL 1e-7

/* Central differences of objective(method) and of L, compared with the analytic gradients: the whole
 * gradient, and separately the penalty part (grad_method - grad_gd against fd(J) - fd(L)), so a wrong
 * penalty cannot hide behind a large loss gradient. Returns the larger of the two relative errors. */
static double fd_check(const problem *pb, pegr_method method, double q, double lam)
{
    size_t len = 2 * pb->m * pb->d;
    double *g = xmalloc(len), *g0 = xmalloc(len), *fd = xmalloc(len), *fd0 = xmalloc(len);
    double *pen = xmalloc(len), *fdpen = xmalloc(len), *Wp = xmalloc(len);
    pegr_eval_request req = request(method, q, lam);
    req.grad = g;
    eval_ok(pb, pb->W, &req);
    pegr_eval_request r0 = request(PEGR_METHOD_GD, q, 0.0);
    r0.grad = g0;
    eval_ok(pb, pb->W, &r0);
    memcpy(Wp, pb->W, len * sizeof(double));
    for (size_t k = 0; k < len; k++) {
        double w0 = Wp[k];
        Wp[k] = w0 + FD_H;
        double jp = objective_at(pb, Wp, method, q, lam), lp = objective_at(pb, Wp, PEGR_METHOD_GD, q, 0);
        Wp[k] = w0 - FD_H;
        double jm = objective_at(pb, Wp, method, q, lam), lm = objective_at(pb, Wp, PEGR_METHOD_GD, q, 0);
        Wp[k] = w0;
        fd[k] = (jp - jm) / (2 * FD_H);
        fd0[k] = (lp - lm) / (2 * FD_H);
        fdpen[k] = fd[k] - fd0[k];
        pen[k] = g[k] - g0[k];
    }
    double e = rel_err(g, fd, len);
    if (method != PEGR_METHOD_GD) e = fmax(e, rel_err(pen, fdpen, len));
    free(g);
    free(g0);
    free(fd);
    free(fd0);
    free(pen);
    free(fdpen);
    free(Wp);
    return e;
}

static void fd_sweep(pegr_method method, const double *qs, size_t nq)
{
    double worst = 0.0;
    uint64_t seed = 1000 + (uint64_t)method * 100;
    for (size_t P = 1; P <= 4; P++)
        for (size_t iq = 0; iq < nq; iq++) {
            /* w_scale 0.4 with d = 5 keeps |z| ~ 1 so s, s', s'' stay moderate; z_gap = 1e-2 is over
             * a thousand times the step's effect on z (h |x| <~ 5e-6), so no difference crosses the
             * kink of s' (q = 1) or the jump of s'' (q = 2). */
            problem pb = make_problem(seed++, 4, P, 5, 3, 0.4, 1e-2);
            double e = fd_check(&pb, method, qs[iq], 0.3);
            worst = fmax(worst, e);
            if (!(e <= FD_TOL))
                fail_msg("%s, P = %zu, q = %g: finite-difference relative error %.3e > %g",
                         method_str(method), P, qs[iq], e, FD_TOL);
            free_problem(&pb);
        }
    print_message("  %s: worst finite-difference relative error %.3e (h = %g)\n", method_str(method),
                  worst, FD_H);
}

static const double fd_qs[] = {1.0, 2.0, 3.0, 4.5};

static void test_fd_gd_gradient_matches_central_differences(void **state)
{
    (void)state;
    fd_sweep(PEGR_METHOD_GD, fd_qs, 4);
}

static void test_fd_pegr_gradient_matches_central_differences(void **state)
{
    (void)state;
    fd_sweep(PEGR_METHOD_PEGR, fd_qs, 4);
}

static void test_fd_gr_gradient_matches_central_differences(void **state)
{
    (void)state;
    fd_sweep(PEGR_METHOD_GR, fd_qs, 4);
}

/* ---- identities --------------------------------------------------------------------------------- */

static void test_lam_zero_pegr_and_gr_equal_gd_gradient(void **state)
{
    (void)state;
    for (size_t iq = 0; iq < 4; iq++) {
        problem pb = make_problem(77 + iq, 5, 3, 6, 2, 0.5, 0.0);
        size_t len = 2 * pb.m * pb.d;
        double *g0 = xmalloc(len), *g = xmalloc(len);
        pegr_eval_request r0 = request(PEGR_METHOD_GD, fd_qs[iq], 0.0);
        r0.grad = g0;
        eval_ok(&pb, pb.W, &r0);
        for (int method = PEGR_METHOD_PEGR; method <= PEGR_METHOD_GR; method++) {
            pegr_eval_request r = request((pegr_method)method, fd_qs[iq], 0.0);
            r.grad = g;
            eval_ok(&pb, pb.W, &r);
            for (size_t k = 0; k < len; k++) assert_true(g[k] == g0[k]); /* bitwise (up to the sign of 0) */
        }
        free(g0);
        free(g);
        free_problem(&pb);
    }
}

static void test_norm2_gram_identity_matches_materialized_per_example_grads(void **state)
{
    (void)state;
    double worst_norm = 0.0, worst_mean = 0.0;
    for (size_t P = 1; P <= 4; P++) {
        problem pb = make_problem(500 + P, 6, P, 7, 3, 0.6, 0.0);
        size_t len = 2 * pb.m * pb.d;
        double *norm2 = xmalloc(pb.n), *peg = xmalloc(pb.n * len), *g = xmalloc(len);
        double *fro = xmalloc(pb.n), *mean = xmalloc(len);
        pegr_eval_request r = request(PEGR_METHOD_GD, 3.0, 0.0);
        r.norm2 = norm2;
        r.per_example_grad = peg;
        r.grad = g;
        eval_ok(&pb, pb.W, &r);
        for (size_t i = 0; i < pb.n; i++) {
            fro[i] = 0.0;
            for (size_t k = 0; k < len; k++) {
                fro[i] += peg[i * len + k] * peg[i * len + k];
                mean[k] += peg[i * len + k] / (double)pb.n;
            }
        }
        double en = rel_err(norm2, fro, pb.n), em = rel_err(mean, g, len);
        worst_norm = fmax(worst_norm, en);
        worst_mean = fmax(worst_mean, em);
        assert_true(en <= 1e-13);
        assert_true(em <= 1e-13);
        free(norm2);
        free(peg);
        free(g);
        free(fro);
        free(mean);
        free_problem(&pb);
    }
    print_message("  norm2 vs ||g_i||_F^2: %.3e; mean_i g_i vs grad_gd: %.3e\n", worst_norm, worst_mean);
}

static void test_loss_terms_stable_for_large_margins(void **state)
{
    (void)state;
    double l, a1, a2;
    pegr_ref_loss_terms(800.0, &l, &a1, &a2);
    assert_true(l >= 0.0 && l < 1e-300 && a1 <= 0.0 && a1 > -1e-300 && a2 >= 0.0 && a2 < 1e-300);
    pegr_ref_loss_terms(-800.0, &l, &a1, &a2);
    assert_true(fabs(l - 800.0) <= 1e-12 && a1 == -1.0 && a2 >= 0.0 && a2 < 1e-300);
    pegr_ref_loss_terms(0.0, &l, &a1, &a2);
    assert_true(fabs(l - log(2.0)) <= 1e-16 && a1 == -0.5 && a2 == 0.25);
    pegr_ref_loss_terms(30.0, &l, &a1, &a2); /* exp(-30) must not be lost to 1 + e cancellation */
    assert_true(fabs(l / exp(-30.0) - 1.0) < 1e-12 && fabs(-a1 / exp(-30.0) - 1.0) < 1e-12);
}

static void test_activation_derivatives_at_zero_and_q_special_cases(void **state)
{
    (void)state;
    double s, ds, d2s;
    const double qs[] = {1.0, 1.5, 2.0, 3.0, 4.5};
    for (size_t k = 0; k < 5; k++) {
        pegr_ref_activation(0.0, qs[k], &s, &ds, &d2s);
        assert_true(s == 0.0 && ds == 0.0 && d2s == 0.0);
        pegr_ref_activation(-0.7, qs[k], &s, &ds, &d2s);
        assert_true(s == 0.0 && ds == 0.0 && d2s == 0.0);
    }
    pegr_ref_activation(0.5, 1.0, &s, &ds, &d2s);
    assert_true(s == 0.5 && ds == 1.0 && d2s == 0.0);
    pegr_ref_activation(0.5, 2.0, &s, &ds, &d2s);
    assert_true(s == 0.25 && ds == 1.0 && d2s == 2.0);
    pegr_ref_activation(2.0, 3.0, &s, &ds, &d2s);
    assert_true(fabs(s - 8.0) < 1e-14 && fabs(ds - 12.0) < 1e-14 && fabs(d2s - 12.0) < 1e-14);
}

/* ---- rejections --------------------------------------------------------------------------------- */

static void expect_invalid(const problem *pb, const double *y, size_t n, size_t m,
                           const pegr_eval_request *req, const char *must_contain)
{
    pegr_error err = {0};
    pegr_status st = pegr_ref_evaluate(pb->X, y, n, pb->P, pb->d, pb->W, m, req, &err);
    assert_int_equal(st, PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.status, PEGR_ERR_INVALID_ARGUMENT);
    if (must_contain && !strstr(pegr_error_message(&err), must_contain))
        fail_msg("message '%s' lacks '%s'", pegr_error_message(&err), must_contain);
    pegr_error_clear(&err);
}

static void test_reject_q_1_5_for_pegr_and_gr_naming_q(void **state)
{
    (void)state;
    problem pb = make_problem(9, 3, 2, 4, 2, 0.5, 0.0);
    double grad[16];
    for (int method = PEGR_METHOD_PEGR; method <= PEGR_METHOD_GR; method++) {
        pegr_eval_request r = request((pegr_method)method, 1.5, 0.1);
        r.grad = grad;
        expect_invalid(&pb, pb.y, pb.n, pb.m, &r, "q = 1.5");
        pegr_error err = {0};
        pegr_ref_evaluate(pb.X, pb.y, pb.n, pb.P, pb.d, pb.W, pb.m, &r, &err);
        const char *msg = pegr_error_message(&err);
        assert_non_null(strstr(msg, method_str((pegr_method)method)));
        assert_non_null(strstr(msg, "q >= 2"));
        pegr_error_clear(&err);
    }
    /* gd needs no s'': q = 1.5 is fine there */
    pegr_eval_request r = request(PEGR_METHOD_GD, 1.5, 0.1);
    r.grad = grad;
    eval_ok(&pb, pb.W, &r);
    free_problem(&pb);
}

static void test_reject_q_0_5_for_every_method(void **state)
{
    (void)state;
    problem pb = make_problem(10, 3, 2, 4, 2, 0.5, 0.0);
    double grad[16];
    for (int method = PEGR_METHOD_GD; method <= PEGR_METHOD_GR; method++) {
        pegr_eval_request r = request((pegr_method)method, 0.5, 0.1);
        r.grad = grad;
        expect_invalid(&pb, pb.y, pb.n, pb.m, &r, "q = 0.5");
    }
    pegr_eval_request r = request(PEGR_METHOD_GD, NAN, 0.1);
    expect_invalid(&pb, pb.y, pb.n, pb.m, &r, "q");
    free_problem(&pb);
}

static void test_reject_label_zero(void **state)
{
    (void)state;
    problem pb = make_problem(11, 3, 2, 4, 2, 0.5, 0.0);
    double y[3] = {1.0, 0.0, -1.0}, grad[16];
    pegr_eval_request r = request(PEGR_METHOD_GD, 3.0, 0.0);
    r.grad = grad;
    expect_invalid(&pb, y, 3, pb.m, &r, "y[1]");
    free_problem(&pb);
}

static void test_reject_zero_sizes_bad_lam_and_overflow(void **state)
{
    (void)state;
    problem pb = make_problem(12, 3, 2, 4, 2, 0.5, 0.0);
    double grad[16];
    pegr_eval_request r = request(PEGR_METHOD_PEGR, 3.0, 0.1);
    r.grad = grad;
    expect_invalid(&pb, pb.y, 0, pb.m, &r, "n");
    expect_invalid(&pb, pb.y, pb.n, 0, &r, "m");
    r.lam = -0.1;
    expect_invalid(&pb, pb.y, pb.n, pb.m, &r, "lam");
    r.lam = INFINITY;
    expect_invalid(&pb, pb.y, pb.n, pb.m, &r, "lam");
    r.lam = 0.1;
    pegr_error err = {0};
    assert_int_equal(pegr_ref_evaluate(pb.X, pb.y, pb.n, SIZE_MAX / 2, SIZE_MAX / 2, pb.W, pb.m, &r, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "overflow"));
    pegr_error_clear(&err);
    free_problem(&pb);
}

/* ---- the backend object ------------------------------------------------------------------------- */

static void test_backend_object_matches_pure_function(void **state)
{
    (void)state;
    problem pb = make_problem(42, 5, 3, 6, 4, 0.5, 0.0);
    size_t n = pb.n, len = 2 * pb.m * pb.d;
    pegr_error err = {0};
    pegr_backend *b = pegr_host_backend_create(&err);
    assert_non_null(b);
    assert_string_equal(b->ops->name, "host");
    pegr_eval_request early = request(PEGR_METHOD_GD, 3.0, 0.0);
    assert_int_equal(b->ops->evaluate(b, &early, &err), PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    assert_int_equal(b->ops->set_data(b, pb.X, pb.y, n, pb.P, pb.d, &err), PEGR_OK);
    assert_int_equal(b->ops->set_weights(b, pb.W, pb.m, &err), PEGR_OK);

    for (int method = PEGR_METHOD_GD; method <= PEGR_METHOD_GR; method++) {
        double *out[2][6];
        double scal[2][2];
        for (int s = 0; s < 2; s++) {
            out[s][0] = xmalloc(len);
            for (int k = 1; k < 5; k++) out[s][k] = xmalloc(k == 4 ? n * len : n);
            pegr_eval_request r = request((pegr_method)method, 3.0, 0.2);
            r.grad = out[s][0];
            r.margin = out[s][1];
            r.loss = out[s][2];
            r.norm2 = out[s][3];
            r.per_example_grad = out[s][4];
            r.mean_loss = &scal[s][0];
            r.objective = &scal[s][1];
            if (s == 0)
                eval_ok(&pb, pb.W, &r);
            else
                assert_int_equal(b->ops->evaluate(b, &r, &err), PEGR_OK);
        }
        assert_memory_equal(out[0][0], out[1][0], len * sizeof(double));
        for (int k = 1; k < 4; k++) assert_memory_equal(out[0][k], out[1][k], n * sizeof(double));
        assert_memory_equal(out[0][4], out[1][4], n * len * sizeof(double));
        assert_memory_equal(scal[0], scal[1], sizeof(scal[0]));
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 5; k++) free(out[s][k]);
    }
    b->ops->destroy(b);
    pegr_error_clear(&err);
    free_problem(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cao2patch_q3_matches_autograd),
        cmocka_unit_test(test_golden_generic3patch_q2_5_matches_autograd),
        cmocka_unit_test(test_golden_relu_q1_matches_autograd),
        cmocka_unit_test(test_fd_gd_gradient_matches_central_differences),
        cmocka_unit_test(test_fd_pegr_gradient_matches_central_differences),
        cmocka_unit_test(test_fd_gr_gradient_matches_central_differences),
        cmocka_unit_test(test_lam_zero_pegr_and_gr_equal_gd_gradient),
        cmocka_unit_test(test_norm2_gram_identity_matches_materialized_per_example_grads),
        cmocka_unit_test(test_loss_terms_stable_for_large_margins),
        cmocka_unit_test(test_activation_derivatives_at_zero_and_q_special_cases),
        cmocka_unit_test(test_reject_q_1_5_for_pegr_and_gr_naming_q),
        cmocka_unit_test(test_reject_q_0_5_for_every_method),
        cmocka_unit_test(test_reject_label_zero),
        cmocka_unit_test(test_reject_zero_sizes_bad_lam_and_overflow),
        cmocka_unit_test(test_backend_object_matches_pure_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
