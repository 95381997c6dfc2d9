# test_variants.py: the bias and init model variants (issue 16 item 4) from Python through the
# library's option table -- pegr.train(bias=True, init="uniform") gives the numbers `pegr train
# --bias --init uniform` gives (W, W0 and the biases b, b0 apart), the gaussian init starts the
# bias at 0 with the filters of the run without one, the uniform init lies in (-1/sqrt(d),
# 1/sqrt(d)) and ignores sigma0, a batched sweep over the init (the default device, fp64) equals
# the runs alone, and an unknown init word is refused.
import os

import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, log_every=5, device="host", progress=False)


def test_bias_uniform_same_numbers_as_cli(cli, tmp_path):
    cli("train", "--method", "pegr", "--bias", "--init", "uniform", "--preset", "tiny", "--steps",
        20, "--log-every", 5, "--device", "host", "--out", tmp_path, "--quiet")
    run = pegr.train("pegr", bias=True, init="uniform", **OPTS)
    for name in ("W", "W0", "b", "b0"):
        ref = np.load(os.path.join(tmp_path, name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name
    d = run.config["d"]
    assert run.W.shape == (2, 4, d) and run.b.shape == (2, 4)
    k = 1.0 / np.sqrt(d)
    assert np.all(np.abs(run.W0) < k) and np.all(np.abs(run.b0) < k)
    assert not np.allclose(run.b, run.b0)  # the bias is trained


def test_gaussian_bias_starts_at_zero_with_the_same_filters():
    plain = pegr.train("gd", **OPTS)
    assert plain.b is None and plain.b0 is None
    biased = pegr.train("gd", bias=True, **OPTS)
    assert np.array_equal(biased.b0, np.zeros((2, 4)))
    assert np.array_equal(biased.W0, plain.W0)
    assert not np.allclose(biased.W, plain.W, rtol=1e-9, atol=0)


def test_uniform_init_ignores_sigma0():
    a = pegr.train("gd", init="uniform", steps=0, **{k: v for k, v in OPTS.items() if k != "steps"})
    b = pegr.train("gd", init="uniform", sigma0=0.5, steps=0,
                   **{k: v for k, v in OPTS.items() if k != "steps"})
    assert np.array_equal(a.W0, b.W0)
    assert a.config["init"] == "uniform"


def test_batched_sweep_over_init_equals_runs_alone(tmp_path, results_rows):
    sweep = pegr.sweep(grid={"init": ["gaussian", "uniform"]}, methods=["pegr"], seeds=[0, 1],
                       out=os.path.join(tmp_path, "s"), preset="tiny", steps=10, bias=True,
                       batch_runs=4, precision="fp64", progress=False)
    rows = results_rows(os.path.join(tmp_path, "s", "results.csv"))
    assert len(rows) == 4
    for row in rows:
        init = "uniform" if "init=uniform" in row["run_id"] else "gaussian"
        alone = pegr.train("pegr", preset="tiny", steps=10, bias=True, init=init,
                           seed=int(row["seed"]), precision="fp64", progress=False)
        assert float(row["test_error"]) == alone.summary["test_error"]
        for k in ("rho_mean", "gamma_mean", "train_loss"):
            assert abs(float(row[k]) - alone.summary[k]) <= 1e-8 * max(1.0, abs(alone.summary[k]))


def test_init_refuses_an_unknown_word():
    with pytest.raises(ValueError, match="gaussian"):
        pegr.train("gd", init="normal", **OPTS)
