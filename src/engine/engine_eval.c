/* engine_eval.c: one evaluation of an objective on the device -- Z = X W^T, the coefficient
 * kernels, (for gr the extra GEMM pair), grad = C^T X -- and what is read back of it: the
 * backend's evaluate and step. Calls the metrics layer and those below it (engine_internal.h). */
#include <math.h>
#include <stdlib.h>

#include "engine/engine_eval.h"
#include "host/host_ref.h"

/* The elementwise kernels below see every example of every run: n * runs of them. */
static size_t all_examples(const pegr_engine *e) { return e->runs * e->n; }

/* The readout's kappa = 1 / kappa_div(e) (docs/math.md, "Model variants"): m by default. */
static size_t kappa_div(const pegr_engine *e) { return e->kappa_div ? e->kappa_div : e->m; }

/* The arguments every kernel that knows the learned second layer takes first: (with_n_run) the
 * examples per run, then learn. A learned v runs the three-kernel coefficient path
 * (coef_terms, example_terms, coef_final: they write D, F and Cv), never the fused ones. */
static void readout_args(pegr_engine *e, engine_args *a, int without_n_run)
{
    if (!without_n_run) engine_arg_u32(a, e->n);
    engine_arg_i32(a, e->learn);
}

/* out (runs x cols) = the sum over each run's examples of v's per-example coefficients Cv. */
static pegr_status sum_examples(pegr_engine *e, cl_mem out)
{
    engine_args a = engine_args_begin(e, e->k.sum_examples, "pegr_sum_examples");
    engine_arg_u32(&a, 2 * e->m);
    engine_arg_u32(&a, e->n);
    engine_arg_mem(&a, e->rb.Cv);
    engine_arg_mem(&a, out);
    size_t global[2] = {2 * e->m, e->runs};
    return engine_launch(&a, 2, global);
}

/* pegr_coef_terms with the second layer v (runs x cols, or with n_run = 1 one row per example:
 * per-example SAM's v1). */
static pegr_status coef_terms_v(pegr_engine *e, double q, cl_mem v, size_t n_run);

static pegr_status coef_terms(pegr_engine *e, double q)
{
    return coef_terms_v(e, q, e->rb.v, e->n);
}

static pegr_status coef_terms_v(pegr_engine *e, double q, cl_mem v, size_t n_run)
{
    engine_args a = engine_args_begin(e, e->k.coef_terms, "pegr_coef_terms");
    engine_arg_u32(&a, all_examples(e));
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_u32(&a, kappa_div(e));
    engine_arg_real(&a, q);
    engine_arg_mem(&a, e->b.Z);
    engine_arg_mem(&a, e->b.K);
    engine_arg_mem(&a, e->b.A);
    engine_arg_mem(&a, e->b.S2);
    engine_arg_mem(&a, e->b.fpart);
    engine_arg_mem(&a, e->b.Gpart);
    engine_arg_u32(&a, n_run);
    engine_arg_i32(&a, e->learn);
    engine_arg_mem(&a, e->learn ? v : e->b.A); /* not read without learn */
    engine_arg_mem(&a, e->learn ? e->rb.D : e->b.A);
    engine_arg_mem(&a, e->learn ? e->rb.F : e->b.A);
    size_t global[2] = {2 * e->m, all_examples(e)};
    return engine_launch(&a, 2, global);
}

static pegr_status example_terms(pegr_engine *e)
{
    engine_args a = engine_args_begin(e, e->k.example_terms, "pegr_example_terms");
    engine_arg_u32(&a, all_examples(e));
    engine_arg_u32(&a, 2 * e->m);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.fpart);
    engine_arg_mem(&a, e->b.Gpart);
    engine_arg_mem(&a, e->b.margin);
    engine_arg_mem(&a, e->b.loss);
    engine_arg_mem(&a, e->b.a1);
    engine_arg_mem(&a, e->b.a2);
    engine_arg_mem(&a, e->b.G);
    engine_arg_mem(&a, e->b.norm2);
    size_t global[1] = {all_examples(e)};
    return engine_launch(&a, 1, global);
}

/* The work-group shape of pegr_coef_fused: local[0] work-items share an example's columns
 * (never more than there are columns), local[1] examples per group; *local_bytes of local memory
 * (2 cols per-column shares and 3 per-example values, per example). Within the kernel's limit,
 * the context's cap (a cap of 1 is one work-item per group) and the device's local memory.
 * One example per group on CPUs (measured on PoCL: 12 or 25 per group ran the kernel 1.5-2x
 * slower than 1); elsewhere enough examples to fill 64 work-items (a wavefront; 2 warps) while
 * leaving at least 4 groups per compute unit. 0 when the fused kernel cannot run here (local
 * memory too small for one example, limits unknown, or no_fuse): the three-kernel path serves. */
static int fused_group(const pegr_engine *e, size_t local[2], size_t *local_bytes)
{
    const pegr_device_info *dev = &e->ctx->device;
    size_t cols = 2 * e->m, per_example = (2 * cols + 3) * e->elem;
    if (e->no_fuse || !e->fused_wg_limit || e->fused_local_static + per_example > dev->local_mem_size)
        return 0;
    size_t wg = pegr_context_max_work_group_size(e->ctx);
    if (wg > e->fused_wg_limit) wg = e->fused_wg_limit;
    local[0] = wg < cols ? wg : cols;
    size_t per_group = e->fused_per_group                   ? e->fused_per_group
                       : dev->type == PEGR_DEVICE_TYPE_CPU ? 1
                                                           : (64 + local[0] - 1) / local[0];
    size_t by_size = wg / local[0];
    size_t by_memory = (size_t)((dev->local_mem_size - e->fused_local_static) / per_example);
    size_t units = dev->compute_units ? dev->compute_units : 1;
    size_t by_spread = all_examples(e) / (4 * units);
    if (per_group > by_size) per_group = by_size;
    if (per_group > by_memory) per_group = by_memory;
    if (per_group > by_spread && !e->fused_per_group) per_group = by_spread;
    local[1] = per_group ? per_group : 1;
    *local_bytes = local[1] * per_example;
    return 1;
}

/* The arguments pegr_coef_fused and pegr_coef_item share (every one up to first_bad): with add_z0
 * the kernel also forms Z = Zs0 + S Gam^T (span), with update_step >= 0 it also takes the span
 * step Gam -= lr C^T numbered update_step (the rates in b.run_lr). */
static engine_args coef_fused_args(pegr_engine *e, cl_kernel kernel, const char *name, double q,
                                   pegr_method method, int add_z0, int update_step)
{
    engine_args a = engine_args_begin(e, kernel, name);
    engine_arg_u32(&a, all_examples(e));
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_u32(&a, kappa_div(e));
    engine_arg_real(&a, q);
    engine_arg_i32(&a, (int)method);
    engine_arg_u32(&a, e->n);
    engine_arg_i32(&a, add_z0);
    engine_arg_i32(&a, update_step >= 0);
    engine_arg_i32(&a, update_step >= 0 ? update_step : 0);
    engine_arg_mem(&a, e->b.Z);
    engine_arg_mem(&a, add_z0 ? e->b.Zs0 : e->b.Z);
    engine_arg_mem(&a, e->b.K);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.omega);
    engine_arg_mem(&a, e->b.run_lam);
    engine_arg_mem(&a, e->b.run_lr);
    engine_arg_mem(&a, e->b.A);
    engine_arg_mem(&a, e->b.S2);
    engine_arg_mem(&a, e->b.margin);
    engine_arg_mem(&a, e->b.loss);
    engine_arg_mem(&a, e->b.a1);
    engine_arg_mem(&a, e->b.a2);
    engine_arg_mem(&a, e->b.G);
    engine_arg_mem(&a, e->b.norm2);
    engine_arg_mem(&a, e->b.C);
    /* Gam: unused without the update, except by pegr_coef_item's product (span) */
    engine_arg_mem(&a, update_step >= 0 || (add_z0 && e->b.Gam) ? e->b.Gam : e->b.C);
    engine_arg_mem(&a, e->b.first_bad);
    return a;
}

/* coef_terms, example_terms and coef_final in one launch (pegr_coef_fused), work-groups of
 * fused_group()'s shape. */
static pegr_status coef_fused(pegr_engine *e, double q, pegr_method method, const size_t local[2],
                              size_t local_bytes, int add_z0, int update_step)
{
    engine_args a =
        coef_fused_args(e, e->k.coef_fused, "pegr_coef_fused", q, method, add_z0, update_step);
    engine_arg_local(&a, local_bytes);
    size_t groups = (all_examples(e) + local[1] - 1) / local[1];
    size_t global[2] = {local[0], groups * local[1]};
    return engine_launch_local(&a, 2, global, local);
}

/* pegr_coef_item's local size when the tests do not set one: any size gives the same results;
 * measured on PoCL (2 cores, n 50 and 200), 1, 4 and 16 cost the same CPU time (perf samples
 * within noise), and one fixed size means one compiled work-group function for every shape. */
#define ITEM_LOCAL 4

/* The same work as pegr_coef_fused in pegr_coef_item: one work-item per example, its column
 * shares in fpart and Gpart; the local size within the kernel's limit and the work-group cap.
 * With product (span) the kernel also forms S Gam^T (no GEMM launch before it) and, taking the
 * step, writes the new Gam into b.Gam2, which then becomes b.Gam. */
static pegr_status coef_item(pegr_engine *e, double q, pegr_method method, int add_z0,
                             int update_step, int product)
{
    engine_args a =
        coef_fused_args(e, e->k.coef_item, "pegr_coef_item", q, method, add_z0, update_step);
    int swap = product && update_step >= 0;
    engine_arg_mem(&a, e->b.fpart);
    engine_arg_mem(&a, e->b.Gpart);
    engine_arg_i32(&a, product);
    engine_arg_mem(&a, product ? e->b.S : e->b.C);
    engine_arg_mem(&a, swap ? e->b.Gam2 : update_step >= 0 ? e->b.Gam : e->b.C);
    size_t local = e->item_local ? e->item_local : ITEM_LOCAL;
    size_t limit = pegr_context_max_work_group_size(e->ctx);
    if (e->item_wg_limit && limit > e->item_wg_limit) limit = e->item_wg_limit;
    if (local > limit) local = limit ? limit : 1;
    size_t global = (all_examples(e) + local - 1) / local * local;
    pegr_status s = engine_launch_local(&a, 1, &global, &local);
    if (s == PEGR_OK && swap) {
        cl_mem old = e->b.Gam;
        e->b.Gam = e->b.Gam2;
        e->b.Gam2 = old;
    }
    return s;
}

/* Whether this pass's pegr_coef_item forms the span product itself (its second Gam is there). */
static int item_product(const pegr_engine *e)
{
    return e->span && e->b.Gam2 && engine_item_product_wanted(e);
}

/* b.run_lam holds each run's lam (set by coefficients()). */
static pegr_status coef_final(pegr_engine *e, pegr_method method)
{
    engine_args a = engine_args_begin(e, e->k.coef_final, "pegr_coef_final");
    engine_arg_u32(&a, all_examples(e));
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_i32(&a, (int)method);
    engine_arg_u32(&a, e->n);
    engine_arg_mem(&a, e->b.run_lam);
    engine_arg_mem(&a, e->b.omega);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.K);
    engine_arg_mem(&a, e->b.A);
    engine_arg_mem(&a, e->b.S2);
    engine_arg_mem(&a, e->b.a1);
    engine_arg_mem(&a, e->b.a2);
    engine_arg_mem(&a, e->b.G);
    engine_arg_mem(&a, e->b.C);
    readout_args(e, &a, 1);
    engine_arg_mem(&a, e->learn ? e->rb.D : e->b.A); /* not read without learn */
    engine_arg_mem(&a, e->learn ? e->rb.F : e->b.A);
    engine_arg_mem(&a, e->learn ? e->rb.Cv : e->b.C);
    size_t global[2] = {2 * e->m, all_examples(e)};
    return engine_launch(&a, 2, global);
}

/* gr's extra pair: V = C_gd^T X, ZV = X V^T, then C += 2 lam H V; also, with sums, ||V||^2 into
 * a slot. In the span representation ZV = S C and ||V||^2 = <C, S C>: no d-sized work. */
static pegr_status gr_terms(pegr_engine *e, int sums)
{
    size_t rows = e->n * e->P, cols = 2 * e->m;
    pegr_status s = PEGR_OK;
    if (!e->b.ZV) s = engine_alloc_runs(e, &e->b.ZV, rows * cols * e->elem, "ZV (gr)");
    if (e->span) {
        if (s == PEGR_OK) s = engine_span_times_S(e, e->b.C, e->b.ZV);
        if (s == PEGR_OK && sums)
            s = engine_reduce(e, e->b.C, e->b.ZV, rows * cols, PEGR_REDUCE_DOT, 1.0, SLOT_GNORM2);
    } else {
        if (s == PEGR_OK && !e->b.V)
            s = engine_alloc_runs(e, &e->b.V, cols * e->d * e->elem, "V (gr)");
        if (s == PEGR_OK) s = engine_gemm_tn(e, rows, cols, e->d, e->b.C, e->b.X, e->b.V);
        if (s == PEGR_OK) s = engine_gemm_nt(e, rows, cols, e->d, e->b.X, e->b.V, e->b.ZV);
        if (s == PEGR_OK && sums)
            s = engine_reduce(e, e->b.V, NULL, cols * e->d, PEGR_REDUCE_SQUARES, 1.0, SLOT_GNORM2);
    }
    /* a learned v: V's part in v is gd's gradient in v, summed before gr_final adds to Cv */
    if (s == PEGR_OK && e->learn) s = sum_examples(e, e->rb.Vv);
    if (s == PEGR_OK && e->learn && sums)
        s = engine_reduce(e, e->rb.Vv, NULL, cols, PEGR_REDUCE_SQUARES, 1.0, SLOT_GVNORM2);
    if (s != PEGR_OK) return s;
    engine_args a = engine_args_begin(e, e->k.gr_final, "pegr_gr_final");
    engine_arg_u32(&a, all_examples(e));
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_u32(&a, e->n);
    engine_arg_mem(&a, e->b.run_lam);
    engine_arg_mem(&a, e->b.omega);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.A);
    engine_arg_mem(&a, e->b.S2);
    engine_arg_mem(&a, e->b.ZV);
    engine_arg_mem(&a, e->b.a1);
    engine_arg_mem(&a, e->b.a2);
    engine_arg_mem(&a, e->b.C);
    readout_args(e, &a, 1);
    engine_arg_mem(&a, e->learn ? e->rb.D : e->b.A); /* not read without learn */
    engine_arg_mem(&a, e->learn ? e->rb.F : e->b.A);
    engine_arg_mem(&a, e->learn ? e->rb.Vv : e->b.A);
    engine_arg_mem(&a, e->learn ? e->rb.Cv : e->b.C);
    size_t global[2] = {cols, all_examples(e)};
    return engine_launch(&a, 2, global);
}

/* The index the next step's non-finite flag records (steps since set_weights, clamped). */
static int step_index(const pegr_engine *e)
{
    return e->steps_done < PEGR_NO_DIVERGENCE ? (int)e->steps_done : PEGR_NO_DIVERGENCE - 1;
}

/* Everything up to the coefficient tensor C of the method, plus the scalar reductions. With
 * fold_update (span, no gr, nothing reading the pre-step Gam) the fused kernel also takes the
 * step at learning rate lr; *folded says whether it did (the three-kernel path does not). */
static pegr_status coefficients(pegr_engine *e, const pegr_eval_request *req, int fold_update,
                                double lr, int *folded)
{
    size_t rows = e->n * e->P, cols = 2 * e->m, local_bytes = 0, local[2] = {1, 1};
    pegr_method method = req->method;
    pegr_method final = method == PEGR_METHOD_PEGR ? method : PEGR_METHOD_GD;
    int item = e->coef_item && !e->no_fuse && !e->learn;
    int fused = item || (!e->learn && fused_group(e, local, &local_bytes));
    int product = item && item_product(e);
    *folded = 0;
    pegr_status s = engine_set_run_values(e, e->b.run_lam, e->lam_on_device, req->run_lam, req->lam);
    if (s == PEGR_OK && fused && fold_update)
        s = engine_set_run_values(e, e->b.run_lr, e->lr_on_device, req->run_lr, lr);
    if (s == PEGR_OK && e->span && !product)
        s = fused ? engine_span_product(e) : engine_span_forward(e);
    if (s == PEGR_OK && !e->span) s = engine_gemm_nt(e, rows, cols, e->d, e->b.X, e->b.W, e->b.Z);
    if (s == PEGR_OK && fused) {
        int update_step = fold_update ? step_index(e) : -1;
        s = item ? coef_item(e, req->q, final, e->span, update_step, product)
                 : coef_fused(e, req->q, final, local, local_bytes, e->span, update_step);
        *folded = s == PEGR_OK && fold_update;
    } else {
        if (s == PEGR_OK) s = coef_terms(e, req->q);
        if (s == PEGR_OK) s = example_terms(e);
        if (s == PEGR_OK) s = coef_final(e, final);
    }
    /* The scalars (L = sum_i omega_i l_i, the pegr penalty's sum_i omega_i ||g_i||^2, gr's
     * ||V||^2) are read only by this pass's outputs: the objective, the mean loss and the
     * metrics. A step that asks for none of them (every step of a run between its log steps)
     * launches no reduction (measured on PoCL, n 50: 12-22% of the span step's wall time). */
    int sums = req->mean_loss || req->objective || req->metrics;
    if (s == PEGR_OK && method == PEGR_METHOD_GR) s = gr_terms(e, sums);
    if (s == PEGR_OK && e->learn) s = sum_examples(e, e->rb.grad_v); /* the method's, in v */
    if (s == PEGR_OK && e->learn && sums)
        s = engine_reduce(e, e->rb.grad_v, NULL, cols, PEGR_REDUCE_SQUARES, 1.0, SLOT_VNORM2);
    if (s == PEGR_OK && sums)
        s = engine_reduce_pair(e, e->b.loss, e->b.norm2, e->b.omega, e->n, SLOT_LOSS, SLOT_PENALTY);
    return s;
}

/* Per-example gradients, in chunks of examples that fit the device's limits. */
static pegr_status per_example_grads(pegr_engine *e, double *out)
{
    size_t cols = 2 * e->m, per = cols * e->d * e->elem;
    const pegr_device_info *dev = &e->ctx->device;
    size_t room = e->bytes_cap > e->bytes_in_use ? e->bytes_cap - e->bytes_in_use : 0;
    if (room > dev->max_mem_alloc_size) room = (size_t)dev->max_mem_alloc_size;
    size_t total = all_examples(e); /* run after run: out is (runs, n, 2, m, d) */
    size_t chunk = room / per;
    if (chunk > total) chunk = total;
    if (e->options.per_example_chunk && chunk > e->options.per_example_chunk)
        chunk = e->options.per_example_chunk;
    if (chunk == 0)
        return pegr_ctx_fail(e->ctx, PEGR_ERR_DEVICE_MEMORY,
                             "one example's gradient needs %.1f MiB but only %.1f MiB can be "
                             "allocated", per / 1048576.0, room / 1048576.0);
    cl_mem buf = NULL;
    pegr_status s = engine_alloc(e, &buf, chunk * per, "per-example gradients");
    for (size_t first = 0; s == PEGR_OK && first < total; first += chunk) {
        size_t count = total - first < chunk ? total - first : chunk;
        engine_args a = engine_args_begin(e, e->k.per_example_grad, "pegr_per_example_grad");
        engine_arg_u32(&a, first);
        engine_arg_u32(&a, count);
        engine_arg_u32(&a, e->P);
        engine_arg_u32(&a, cols);
        engine_arg_u32(&a, e->d);
        engine_arg_mem(&a, e->b.X);
        engine_arg_mem(&a, e->b.A);
        engine_arg_mem(&a, e->b.a1);
        engine_arg_mem(&a, e->b.y);
        engine_arg_mem(&a, buf);
        size_t global[3] = {e->d, cols, count};
        s = engine_launch(&a, 3, global);
        if (s == PEGR_OK) s = engine_download(e, buf, 0, out + first * cols * e->d, count * cols * e->d);
    }
    engine_free(e, &buf, chunk * per);
    return s;
}

static pegr_status gradient(pegr_engine *e)
{
    return engine_gemm_tn(e, e->n * e->P, 2 * e->m, e->d, e->b.C, e->b.X, e->b.grad);
}

/* The outputs the request asks for, read back (the gradient must be in e->b.grad when asked). */
static pegr_status read_outputs(pegr_engine *e, const pegr_eval_request *req)
{
    size_t R = e->runs;
    pegr_status s = PEGR_OK;
    if (req->grad) s = engine_download(e, e->b.grad, 0, req->grad, R * 2 * e->m * e->d);
    if (s == PEGR_OK && req->margin) s = engine_download(e, e->b.margin, 0, req->margin, R * e->n);
    if (s == PEGR_OK && req->loss) s = engine_download(e, e->b.loss, 0, req->loss, R * e->n);
    if (s == PEGR_OK && req->norm2) s = engine_download(e, e->b.norm2, 0, req->norm2, R * e->n);
    if (s == PEGR_OK && req->per_example_grad) s = per_example_grads(e, req->per_example_grad);
    if (s == PEGR_OK && (req->mean_loss || req->objective)) {
        double *slots = calloc(R * SLOT_COUNT, sizeof(double));
        if (!slots) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
        s = engine_download(e, e->b.scalars, 0, slots, R * SLOT_COUNT);
        for (size_t r = 0; r < R && s == PEGR_OK; r++) {
            if (req->mean_loss) req->mean_loss[r] = slots[r * SLOT_COUNT + SLOT_LOSS];
            if (req->objective)
                req->objective[r] = engine_objective(e, req, r, slots + r * SLOT_COUNT);
        }
        free(slots);
    }
    return s;
}

/* x -= run_lr[r] * dx per run over `per_run` entries (pegr_update), flagging a non-finite result
 * at `step` (PEGR_NO_DIVERGENCE: no record). */
static pegr_status update_buffer(pegr_engine *e, cl_mem dx, cl_mem x, size_t per_run, int step)
{
    engine_args a = engine_args_begin(e, e->k.update, "pegr_update");
    engine_arg_u32(&a, per_run);
    engine_arg_u32(&a, e->runs);
    engine_arg_mem(&a, e->b.run_lr);
    engine_arg_mem(&a, dx);
    engine_arg_mem(&a, x);
    engine_arg_i32(&a, step);
    engine_arg_mem(&a, e->b.first_bad);
    size_t global[1] = {e->runs * per_run};
    return engine_launch(&a, 1, global);
}

/* W -= lr * gradient per run (the rates in b.run_lr); a learned v -= lr * its gradient. */
static pegr_status update(pegr_engine *e, const pegr_eval_request *req, double lr)
{
    int step = step_index(e);
    pegr_status s = engine_set_run_values(e, e->b.run_lr, e->lr_on_device, req->run_lr, lr);
    if (s == PEGR_OK && e->learn) s = update_buffer(e, e->rb.grad_v, e->rb.v, 2 * e->m, step);
    if (s != PEGR_OK) return s;
    if (e->span) {
        s = engine_span_update(e, step);
        if (s == PEGR_OK) e->steps_done++;
        return s;
    }
    s = update_buffer(e, e->b.grad, e->b.W, 2 * e->m * e->d, step);
    if (s == PEGR_OK) e->steps_done++;
    return s;
}

pegr_status engine_uniform_weights(pegr_engine *e)
{
    size_t total = all_examples(e);
    double *w = malloc(total * sizeof(double));
    if (!w) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    for (size_t i = 0; i < total; i++) w[i] = 1.0 / (double)e->n;
    pegr_status s = engine_upload(e, e->b.omega, w, total);
    free(w);
    e->omega_uniform = s == PEGR_OK;
    return s;
}

/* The request's per-example weights into b.omega (n per run: no d-sized transfer); check() has
 * validated them. A failure is on the context, as every device step's. */
static pegr_status set_example_weights(pegr_engine *e, const double *weights)
{
    if (!weights) return e->omega_uniform ? PEGR_OK : engine_uniform_weights(e);
    e->omega_uniform = 0;
    return engine_upload(e, e->b.omega, weights, all_examples(e));
}

/* One pass: the example weights, coefficients, the gradient when it is needed, the outputs and
 * metrics asked for, then (a step) the update. Every failure in here is recorded on the context
 * and reaches err through the one engine_report at the end. */
static pegr_status run(pegr_engine *e, const pegr_eval_request *req, int do_step, double lr,
                       pegr_error *err)
{
    /* The span step folds into the coefficient kernel when nothing after it reads the Gam it
     * changes: not with metrics (they read the weights) and not for gr (it changes C after). */
    int fold = do_step && e->span && req->method != PEGR_METHOD_GR && !req->metrics && !e->learn,
        folded = 0;
    pegr_status s = set_example_weights(e, req->weights);
    if (s == PEGR_OK) s = coefficients(e, req, fold, lr, &folded);
    if (s == PEGR_OK && folded) {
        e->steps_done++;
        do_step = 0;
    }
    /* The d-sized gradient: asked for, or what the primal update and gradient norm use. */
    if (s == PEGR_OK && (req->grad || (!e->span && (req->metrics || do_step)))) s = gradient(e);
    if (s == PEGR_OK) s = read_outputs(e, req);
    if (s == PEGR_OK && req->metrics) s = engine_metrics(e, req, req->metrics);
    if (s == PEGR_OK && do_step) s = update(e, req, lr);
    return engine_report(e, s, err);
}

static pegr_status check(pegr_engine *e, const pegr_eval_request *req, pegr_error *err)
{
    if (!e->have_data || !e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "the engine needs set_data and set_weights first");
    if (req->metrics && !e->have_reference)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "metrics need set_reference (W0, mu, the signal patches) first");
    if (req->weights)
        for (size_t i = 0; i < all_examples(e); i++)
            if (!(req->weights[i] >= 0.0) || !isfinite(req->weights[i]))
                return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                      "example weight %zu is %g: weights must be finite and >= 0",
                                      i, req->weights[i]);
    pegr_status s = PEGR_OK;
    for (size_t r = 0; r < e->runs && s == PEGR_OK; r++) { /* each run's lam */
        pegr_eval_request one = *req;
        one.lam = pegr_request_lam(req, r);
        s = pegr_ref_check_request(&one, err);
    }
    return s;
}

/* Metrics always describe the whole training set: with mini-batch weights they take a pass of
 * their own. */
static pegr_status run_checked(pegr_backend *b, const pegr_eval_request *req, int do_step,
                               double lr, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    pegr_status s = check(e, req, err);
    if (s != PEGR_OK) return s;
    if (req->metrics && req->weights) {
        pegr_eval_request full = {.method = req->method, .q = req->q, .lam = req->lam,
                                  .metrics = req->metrics, .run_lam = req->run_lam};
        s = run(e, &full, 0, 0.0, err);
        pegr_eval_request rest = *req;
        rest.metrics = NULL;
        return s == PEGR_OK ? run(e, &rest, do_step, lr, err) : s;
    }
    return run(e, req, do_step, lr, err);
}

/* ---- SAM (docs/math.md, "SAM"): two gd evaluations a step, the ascent in Z ----------------- */

/* gd's coefficient kernels on b.Z as it stands (no forward product before them); a learned v is
 * v (per run), or with v_per_example per-example SAM's rb.v1 (one row per example). */
static pegr_status coefficients_at_z(pegr_engine *e, double q, int v_per_example)
{
    size_t local_bytes = 0, local[2] = {1, 1};
    if (e->coef_item && !e->no_fuse && !e->learn) return coef_item(e, q, PEGR_METHOD_GD, 0, -1, 0);
    if (!e->learn && fused_group(e, local, &local_bytes))
        return coef_fused(e, q, PEGR_METHOD_GD, local, local_bytes, 0, -1);
    pegr_status s = v_per_example ? coef_terms_v(e, q, e->rb.v1, 1) : coef_terms(e, q);
    if (s == PEGR_OK) s = example_terms(e);
    return s == PEGR_OK ? coef_final(e, PEGR_METHOD_GD) : s;
}

/* Per run: Z -= run_lr[r] * dZ (pegr_update on Z's rows x cols). A non-finite Z is not flagged:
 * divergence is non-finite weights (first_nonfinite_step), which the update after says, as on the
 * host, whose ascent point is not checked either. */
static pegr_status add_to_z(pegr_engine *e, cl_mem dZ)
{
    /* atomic_min with "none": no record */
    return update_buffer(e, dZ, e->b.Z, e->n * e->P * 2 * e->m, PEGR_NO_DIVERGENCE);
}

/* dst = src over each run's `per_run` entries (the runs' buffers whole). */
static pegr_status copy_buffer(pegr_engine *e, cl_mem src, cl_mem dst, size_t per_run)
{
    cl_int rc = clEnqueueCopyBuffer(e->ctx->queue, src, dst, 0, 0, e->runs * per_run * e->elem, 0,
                                    NULL, NULL);
    return rc == CL_SUCCESS ? PEGR_OK : pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueCopyBuffer", "v");
}

/* A learned v's ascent: v saved, then v += eps g_v (b.run_lr holds -eps per run). */
static pegr_status v_ascent(pegr_engine *e)
{
    pegr_status s = copy_buffer(e, e->rb.v, e->rb.v_save, 2 * e->m);
    return s == PEGR_OK ? update_buffer(e, e->rb.grad_v, e->rb.v, 2 * e->m, PEGR_NO_DIVERGENCE) : s;
}

/* The ascent point's pre-activations need no W + eps g: Z(W + eps g) = Z + eps X g^T, and X g^T
 * is one GEMM (primal), or S C in the span form (W = W0 + Gam X, g = C^T X), which the norm
 * ||g||^2 = <C, S C> needs anyway. Each run's ||g||^2 is read back (R numbers) to set
 * eps = rho / ||g||; the rest stays on the device. */
static pegr_status sam(pegr_engine *e, const pegr_eval_request *req, double lr, double rho,
                       const double *run_rho)
{
    size_t rows = e->n * e->P, cols = 2 * e->m, R = e->runs;
    int folded = 0;
    pegr_status s = set_example_weights(e, req->weights);
    if (s == PEGR_OK) s = coefficients(e, req, 0, 0.0, &folded); /* Z and C at W */
    if (s == PEGR_OK && !e->span && !e->b.ZV)
        s = engine_alloc_runs(e, &e->b.ZV, rows * cols * e->elem, "X g^T (sam)");
    cl_mem dZ = e->span ? e->b.SC : e->b.ZV;
    if (e->span) {
        if (s == PEGR_OK) s = engine_span_times_S(e, e->b.C, dZ);
        if (s == PEGR_OK)
            s = engine_reduce(e, e->b.C, dZ, rows * cols, PEGR_REDUCE_DOT, 1.0, SLOT_GNORM2);
    } else {
        if (s == PEGR_OK) s = gradient(e);
        if (s == PEGR_OK)
            s = engine_reduce(e, e->b.grad, NULL, cols * e->d, PEGR_REDUCE_SQUARES, 1.0,
                              SLOT_GNORM2);
        if (s == PEGR_OK) s = engine_gemm_nt(e, rows, cols, e->d, e->b.X, e->b.grad, dZ);
    }
    /* the outputs at W (metrics read Z, C and the gradient, and change none of them) */
    if (s == PEGR_OK && req->grad && e->span) s = gradient(e);
    if (s == PEGR_OK) s = read_outputs(e, req);
    if (s == PEGR_OK && req->metrics) s = engine_metrics(e, req, req->metrics);
    /* a learned v: ||g||^2 over W and v (grad_v at W from coefficients) */
    if (s == PEGR_OK && e->learn)
        s = engine_reduce(e, e->rb.grad_v, NULL, cols, PEGR_REDUCE_SQUARES, 1.0, SLOT_VNORM2);
    double *slots = malloc(R * (SLOT_COUNT + 1) * sizeof(double));
    if (!slots) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    double *neg_eps = slots + R * SLOT_COUNT;
    if (s == PEGR_OK) s = engine_download(e, e->b.scalars, 0, slots, R * SLOT_COUNT);
    for (size_t r = 0; r < R && s == PEGR_OK; r++) {
        double v2 = e->learn ? slots[r * SLOT_COUNT + SLOT_VNORM2] : 0.0;
        double norm = sqrt(slots[r * SLOT_COUNT + SLOT_GNORM2] + v2);
        /* no ascent where g = 0 (or at weights already not finite: a frozen, diverged run) */
        neg_eps[r] = norm > 0.0 && isfinite(norm) ? -pegr_request_rho(run_rho, rho, r) / norm : 0.0;
        /* a gradient norm at W that is not finite is divergence, dated to the update that made
         * W (as a non-finite record is), on every backend (docs/math.md, SAM): what would follow
         * is inf/NaN arithmetic, whose order differs between them */
        if (!isfinite(norm) && e->sam_bad && e->sam_bad[r] < 0)
            e->sam_bad[r] = e->steps_done > 0 ? e->steps_done - 1 : 0;
    }
    if (s == PEGR_OK) s = engine_set_run_values(e, e->b.run_lr, e->lr_on_device, neg_eps, 0.0);
    free(slots);
    if (s == PEGR_OK) s = add_to_z(e, dZ);                 /* Z at W + eps g */
    if (s == PEGR_OK && e->learn) s = v_ascent(e);         /* v + eps g_v */
    if (s == PEGR_OK) s = coefficients_at_z(e, req->q, 0); /* C there */
    if (s == PEGR_OK && e->learn) s = sum_examples(e, e->rb.grad_v); /* g_v there */
    if (s == PEGR_OK && e->learn) s = copy_buffer(e, e->rb.v_save, e->rb.v, 2 * e->m); /* v back */
    if (s == PEGR_OK && !e->span) s = gradient(e);         /* the gradient there */
    return s == PEGR_OK ? update(e, req, lr) : s;          /* W -= lr * it */
}

/* Per-example SAM (1-SAM; docs/math.md, "SAM"): Z, A and G at W from gd's coefficient pass,
 * then every example's Z moved to its own ascent point by pegr_sam1_shift (K_i A: O(n m P^2), no
 * GEMM; a learned v moved per example into rb.v1), gd's coefficients there, and the step as gd's
 * (C^T X, or Gam -= lr C^T in the span form; v by the sum of Cv). Nothing is read back: the radii
 * ride in b.run_lr until the update sets the rates. */
static pegr_status sam_per_example(pegr_engine *e, const pegr_eval_request *req, double lr,
                                   double rho, const double *run_rho)
{
    int folded = 0;
    pegr_status s = set_example_weights(e, req->weights);
    if (s == PEGR_OK) s = coefficients(e, req, 0, 0.0, &folded); /* Z, A, G and C at W */
    /* the outputs at W, as run()'s: the gradient when asked, or for the primal metrics' norm */
    if (s == PEGR_OK && (req->grad || (!e->span && req->metrics))) s = gradient(e);
    if (s == PEGR_OK) s = read_outputs(e, req);
    if (s == PEGR_OK && req->metrics) s = engine_metrics(e, req, req->metrics);
    if (s == PEGR_OK) s = engine_set_run_values(e, e->b.run_lr, e->lr_on_device, run_rho, rho);
    if (s == PEGR_OK) {
        int step = step_index(e);
        engine_args a = engine_args_begin(e, e->k.sam1_shift, "pegr_sam1_shift");
        engine_arg_u32(&a, all_examples(e));
        engine_arg_u32(&a, e->P);
        engine_arg_u32(&a, e->m);
        engine_arg_u32(&a, e->n);
        engine_arg_mem(&a, e->b.run_lr);
        engine_arg_mem(&a, e->b.y);
        engine_arg_mem(&a, e->b.K);
        engine_arg_mem(&a, e->b.A);
        engine_arg_mem(&a, e->b.G);
        engine_arg_mem(&a, e->b.Z);
        /* a ||grad f_i|| at W that is not finite dates divergence to the update that made W */
        engine_arg_i32(&a, step > 0 ? step - 1 : 0);
        engine_arg_mem(&a, e->b.first_bad);
        engine_arg_i32(&a, e->learn);
        engine_arg_mem(&a, e->learn ? e->rb.v : e->b.A); /* not read or written without learn */
        engine_arg_mem(&a, e->learn ? e->rb.F : e->b.A);
        engine_arg_mem(&a, e->learn ? e->rb.v1 : e->b.C);
        size_t global[2] = {2 * e->m, all_examples(e)};
        s = engine_launch(&a, 2, global);
    }
    if (s == PEGR_OK) s = coefficients_at_z(e, req->q, 1); /* gd's C (and Cv) at the ascent points */
    if (s == PEGR_OK && e->learn) s = sum_examples(e, e->rb.grad_v); /* g_v there */
    if (s == PEGR_OK && !e->span) s = gradient(e);
    return s == PEGR_OK ? update(e, req, lr) : s;
}

pegr_status engine_sam_step(pegr_backend *b, const pegr_eval_request *req, double lr, double rho,
                            const double *run_rho, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    int per_example = b->sam_variant == PEGR_SAM_PER_EXAMPLE;
    pegr_status s = check(e, req, err);
    if (s == PEGR_OK) s = pegr_check_sam_rho(run_rho, rho, e->runs, err);
    if (s != PEGR_OK) return s;
    pegr_eval_request rest = *req;
    if (req->metrics && req->weights) { /* metrics describe the whole training set */
        pegr_eval_request full = {.method = req->method, .q = req->q, .lam = req->lam,
                                  .metrics = req->metrics, .run_lam = req->run_lam};
        s = run(e, &full, 0, 0.0, err);
        rest.metrics = NULL;
        if (s != PEGR_OK) return s;
    }
    return engine_report(e, per_example ? sam_per_example(e, &rest, lr, rho, run_rho)
                                        : sam(e, &rest, lr, rho, run_rho),
                         err);
}

pegr_status engine_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err)
{
    return run_checked(b, req, 0, 0.0, err);
}

pegr_status engine_step(pegr_backend *b, const pegr_eval_request *req, double lr, pegr_error *err)
{
    return run_checked(b, req, 1, lr, err);
}
