/* train.c: train gd and pegr on the same generated data and print the final metrics of each.
 *
 *   train [BACKEND [STEPS]]
 *
 * Generates the data of `pegr train --preset tiny` (n 20, 200 test examples, d 200, m 4; seed 0),
 * trains gd and then pegr from the same initial weights on BACKEND ("host": the exact fp64
 * reference; or a device spec; default: the default device) for STEPS steps (default 200), and
 * prints each run's final metrics: training loss, test error, signal learning gamma (per class) and
 * noise memorization rho. The numbers are the last row of each method's metrics.csv from
 *   pegr train --preset tiny --compare gd,pegr --steps STEPS --device BACKEND */
#include <stdio.h>
#include <stdlib.h>

#include <pegr/pegr.h>

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: %s [BACKEND [STEPS]]\n", argv[0]);
        return 2;
    }
    pegr_train_config c;
    pegr_train_config_default(&c); /* docs/math.md's demo regime, made smaller: */
    c.data.n = 20;
    c.data.n_test = 200;
    c.data.d = 200;
    c.m = 4;
    if (argc > 2) {
        char *end;
        c.steps = strtoul(argv[2], &end, 10);
        if (end == argv[2] || *end) {
            fprintf(stderr, "train: STEPS must be a whole number, not '%s'\n", argv[2]);
            return 2;
        }
    }

    pegr_error err = {0};
    pegr_dataset ds = {0};
    pegr_backend *b = NULL;
    pegr_status s = pegr_train_config_validate(&c, &err);
    if (s == PEGR_OK) s = pegr_data_generate(&c.data, &ds, &err);
    if (s == PEGR_OK) s = pegr_backend_open(argc > 1 ? argv[1] : NULL, NULL, &b, &err);

    /* One backend for both runs: each run sets its own data and initial weights on it. */
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR};
    for (size_t k = 0; k < 2 && s == PEGR_OK; k++) {
        pegr_train_result r = {0};
        c.method = methods[k];
        s = pegr_train_run(b, &ds, &c, NULL, &r, &err);
        const pegr_train_record *last = pegr_train_result_last(&r);
        if (s == PEGR_OK && last) {
            const pegr_metrics *m = &last->metrics;
            printf("%s step %zu train_loss %.17g test_error %.17g gamma_max_pos %.17g "
                   "gamma_max_neg %.17g rho_mean %.17g%s\n",
                   pegr_method_name(c.method), last->step, m->loss, m->test_error,
                   m->gamma_max[0], m->gamma_max[1], m->rho_mean, r.diverged ? " (diverged)" : "");
        }
        pegr_train_result_free(&r);
    }
    if (s != PEGR_OK) fprintf(stderr, "train: %s\n", pegr_error_message(&err));
    pegr_backend_close(b);
    pegr_dataset_free(&ds);
    pegr_error_clear(&err);
    return s == PEGR_OK ? 0 : 1;
}
