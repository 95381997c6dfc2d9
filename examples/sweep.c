/* sweep.c: a 2x2 grid (n x ||mu||) of gd and pegr runs, trained into a directory and collected.
 *
 *   sweep DIR [BACKEND]
 *
 * Trains the 8 runs (n 10, 20 x mu-norm 2, 4 x gd, pegr; seed 0) of `pegr train --preset tiny
 * --steps 20` on BACKEND ("host": the exact fp64 reference; or a device spec; default: the
 * default device) into DIR/runs/ID, each landing atomically, then writes DIR/results.csv, one row
 * per run. Started again on the same DIR it trains only what is missing. DIR holds what
 *   pegr sweep --preset tiny --steps 20 --grid n=10,20 --grid mu-norm=2,4 --out DIR \
 *              --devices BACKEND [--precision fp64 on the host]
 * writes, the same results.csv but for the wall_seconds column. */
#include <stdio.h>

#include <pegr/pegr.h>
#include <pegr/sweep.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DIR [BACKEND]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    pegr_train_config base;
    pegr_train_config_default(&base); /* `--preset tiny --steps 20`: */
    base.data.n = 20;
    base.data.n_test = 200;
    base.data.d = 200;
    base.m = 4;
    base.steps = 20;

    pegr_error err = {0};
    pegr_backend *b = NULL;
    pegr_sweep *s = NULL;
    pegr_sweep_summary sum = {0};
    pegr_precision precision = PEGR_FP32;
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR};
    const uint64_t seeds[] = {0};
    pegr_status st = pegr_backend_open(argc > 2 ? argv[2] : NULL, NULL, &b, &err);
    /* The sweep records the precision its runs compute in (part of each run's id): the backend's. */
    if (st == PEGR_OK)
        st = pegr_precision_parse(pegr_backend_precision_name(b), "precision", &precision, &err);
    if (st == PEGR_OK) st = pegr_sweep_create(&base, precision, &s, &err);
    if (st == PEGR_OK) st = pegr_sweep_add_axis(s, "n=10,20", &err);
    if (st == PEGR_OK) st = pegr_sweep_add_axis(s, "mu-norm=2,4", &err);
    if (st == PEGR_OK) st = pegr_sweep_set_methods(s, methods, 2, &err);
    if (st == PEGR_OK) st = pegr_sweep_set_seeds(s, seeds, 1, &err);
    if (st == PEGR_OK) st = pegr_sweep_check(s, &err);
    /* Every run in this process on one backend; runs already in DIR are skipped. */
    if (st == PEGR_OK) st = pegr_sweep_run_all(s, b, dir, NULL, NULL, &sum, &err);

    if (st == PEGR_OK)
        printf("%zu runs: %zu trained now, %zu found done, %zu failed; wrote %s/results.csv\n",
               sum.runs, sum.landed, sum.done, sum.failed, dir);
    else
        fprintf(stderr, "sweep: %s\n", pegr_error_message(&err));
    pegr_sweep_tally_free(&sum.tally);
    pegr_sweep_free(s);
    pegr_backend_close(b);
    pegr_error_clear(&err);
    return st == PEGR_OK && sum.failed == 0 ? 0 : 1;
}
