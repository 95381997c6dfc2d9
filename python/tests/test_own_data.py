# test_own_data.py: pegr.train(X=, y=, X_test=, y_test=, mu=) on numpy arrays -- the run on the
# arrays pegr.data generated is the generated run bit for bit; without mu gamma and rho are NaN;
# bad arrays and data-model options beside X= are refused.
import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, device="host", progress=False)


def _own(D, mu=True):
    return dict(X=D["X"], y=D["y"], X_test=D["X_test"], y_test=D["y_test"],
                mu=D["mu"] if mu else None)


def test_train_on_arrays_is_the_generated_run():
    D = pegr.data(n=20, n_test=200, d=200)  # the tiny preset's data
    gen = pegr.train("pegr", **OPTS)
    own = pegr.train("pegr", **OPTS, **_own(D))
    assert np.array_equal(gen.W, own.W)
    for col in pegr.METRIC_COLUMNS[2:]:
        assert np.array_equal(gen.metrics[col], own.metrics[col]), col
    nomu = pegr.train("pegr", **OPTS, **_own(D, mu=False))
    assert np.array_equal(gen.W, nomu.W)
    for col in ("gamma_max_pos", "gamma_max_neg", "gamma_mean", "rho_mean"):
        assert np.isnan(nomu.metrics[col]).all(), col
    assert np.array_equal(gen.metrics["test_error"], nomu.metrics["test_error"])


def test_bad_arrays_are_refused():
    D = pegr.data(n=20, n_test=200, d=200)
    y = D["y"].copy()
    y[2] = 0.5
    with pytest.raises(ValueError, match="labels"):
        pegr.train("gd", **OPTS, X=D["X"], y=y)
    X = D["X"].copy()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        pegr.train("gd", **OPTS, X=X, y=D["y"])
    with pytest.raises(ValueError, match="y"):
        pegr.train("gd", **OPTS, X=D["X"], y=D["y"][:-1])
    with pytest.raises(ValueError, match="label_noise"):
        pegr.train("gd", **OPTS, X=D["X"], y=D["y"], label_noise=0.1)


def test_sweep_on_arrays(tmp_path, cli, results_rows):
    """pegr.sweep(X=...) trains every run on the arrays: the same results as the sweep on the
    generated data they are (but other run ids: the data's hash is in them), and the directory
    holds the arrays, so `pegr collect` and a `pegr sweep` resume from sweep.args work."""
    D = pegr.data(n=20, n_test=200, d=200)
    kw = dict(grid={"lam": [0, 0.1]}, methods=["gd", "pegr"], preset="tiny", steps=20,
              device="host", progress=False)
    gen = pegr.sweep(out=str(tmp_path / "gen"), **kw)
    own = pegr.sweep(out=str(tmp_path / "own"), **kw, **_own(D))
    assert len(own.results["test_error"]) == 4
    for col in ("test_error", "train_loss", "gamma_mean", "rho_mean"):
        assert np.array_equal(gen.results[col], own.results[col]), col
    assert not set(gen.results["run_id"]) & set(own.results["run_id"])
    for name in ("X", "y", "X_test", "y_test", "mu"):
        assert np.array_equal(np.load(tmp_path / "own" / "data" / (name + ".npy")), D[name])
    args = (tmp_path / "own" / "sweep.args").read_text()
    assert "--X" in args and "data/X.npy" in args
    again = pegr.sweep(out=str(tmp_path / "own"), **kw, **_own(D))
    assert again.summary["landed"] == 0  # resumed: nothing left to train
    # the command resumes it from the flags sweep.args holds (they name data/*.npy): the same
    # canonical sweep, so nothing trains; `pegr collect` re-reads it the same way
    flags = (tmp_path / "own" / "sweep.args").read_text().split("\n")
    out = cli("sweep", *[f for f in flags if f], "--devices", "host", "--out", tmp_path / "own").stdout
    assert "4 of 4" in out
    cli("collect", tmp_path / "own", "--out", tmp_path / "collected")
    assert results_rows(tmp_path / "collected" / "results.csv") == \
        results_rows(tmp_path / "own" / "results.csv")
    with pytest.raises(ValueError, match="replaces"):
        pegr.sweep(out=str(tmp_path / "bad"), label_noise=0.1, **kw, **_own(D))
