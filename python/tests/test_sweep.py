# test_sweep.py: pegr.sweep against `pegr sweep` on the same grid: results.csv, resuming in either
# direction, `pegr collect` on the package's directory, Ctrl-C, and refusals.
import os
import signal

import numpy as np
import pytest

import pegr

GRID_FLAGS = ["--grid", "lam=0.001,0.01", "--methods", "gd,pegr", "--seeds", "0-1", "--preset",
              "tiny", "--steps", 20]
KW = dict(grid={"lam": [0.001, 0.01]}, methods=["gd", "pegr"], seeds=range(2), preset="tiny",
          steps=20, device="host", progress=False)


def test_sweep_same_results_as_cli_and_resumes(cli, tmp_path, results_rows):
    theirs, mine = tmp_path / "cli", tmp_path / "py"
    cli("sweep", *GRID_FLAGS, "--devices", "host", "--out", theirs, "--quiet")
    sw = pegr.sweep(out=mine, **KW)
    assert sw.summary["runs"] == 8 and sw.summary["landed"] == 8 and sw.summary["found"] == 8
    assert results_rows(mine / "results.csv") == results_rows(theirs / "results.csv")
    assert sorted(os.listdir(mine / "runs")) == sorted(os.listdir(theirs / "runs"))
    # the columns as numbers
    assert list(sw.results["method"]) == ["gd", "gd", "pegr", "pegr"] * 2
    assert np.array_equal(sw.results["lam"], [0.001] * 4 + [0.01] * 4)
    # again: every run is there, nothing trains
    again = pegr.sweep(out=mine, **KW)
    assert again.summary["done"] == 8 and again.summary["landed"] == 0
    # the command resumes the package's sweep (same canonical sweep: nothing to train) and
    # `pegr collect` re-reads its sweep.args
    out = cli("sweep", *GRID_FLAGS, "--devices", "host", "--out", mine).stdout
    assert "8 of 8" in out
    cli("collect", mine, "--out", tmp_path / "collected")
    assert results_rows(tmp_path / "collected" / "results.csv") == results_rows(theirs / "results.csv")


def test_sweep_ctrl_c_keeps_landed_runs_and_resumes(tmp_path):
    def interrupt(run):
        os.kill(os.getpid(), signal.SIGINT)
    kw = dict(KW, batch_runs=1)
    first = pegr.sweep(out=tmp_path, callback=interrupt, **kw)
    assert first.summary["interrupted"]
    assert 1 <= first.summary["landed"] < 8
    rest = pegr.sweep(out=tmp_path, **kw)
    assert rest.summary["done"] == first.summary["landed"]
    assert rest.summary["done"] + rest.summary["landed"] == 8


@pytest.mark.parametrize("change, exc", [
    (dict(out=None), ValueError),
    (dict(grid={"nope": [1, 2]}), ValueError),
    (dict(grid={"lam": [0.1, 0.1]}), ValueError),
    (dict(grid={"method": ["gd"]}), ValueError),
    (dict(grid=[1]), TypeError),
    (dict(seeds=[-1]), ValueError),
    (dict(seeds="x"), ValueError),
    (dict(methods=["adam"]), ValueError),
    (dict(grid={"representation": ["span"]}), ValueError),  # the host is primal only
    (dict(batch_runs=0), ValueError),
])
def test_sweep_refuses_bad_arguments(tmp_path, change, exc):
    kw = dict(KW, out=tmp_path / "s")
    kw.update(change)
    with pytest.raises(exc):
        pegr.sweep(**kw)
