# test_train.py: pegr.train and pegr.compare against `pegr train --compare`, the presets against
# the CLI's, callbacks, Ctrl-C and refusals of bad options.
import csv
import json
import os
import re
import signal

import numpy as np
import pytest

import pegr
from pegr import _options

OPTS = dict(preset="tiny", steps=30, log_every=5)
FLAGS = ["--preset", "tiny", "--steps", 30, "--log-every", 5]


def _read_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}


def _check_against_cli(run, d):
    """run equals the files `pegr train` wrote into d: metrics.csv (every column but the clock),
    summary.json, W.npy and W0.npy, to the bit."""
    table = _read_csv(os.path.join(d, "metrics.csv"))
    assert list(table) == pegr.METRIC_COLUMNS
    for col in pegr.METRIC_COLUMNS:
        if col == "wall_seconds":
            continue
        assert np.array_equal(run.metrics[col].astype(np.float64), table[col], equal_nan=True), col
    summary = json.load(open(os.path.join(d, "summary.json")))
    for key, value in summary.items():
        if key == "wall_seconds":
            continue
        assert run.summary[key] == value, key
    for name in ("W", "W0"):
        ref = np.load(os.path.join(d, name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name


@pytest.mark.parametrize("device", ["host", None])
def test_compare_same_numbers_as_cli(cli, tmp_path, device):
    dev = ["--device", device] if device else []
    cli("train", "--compare", "gd,pegr", *FLAGS, *dev, "--out", tmp_path, "--quiet")
    runs = pegr.compare(["gd", "pegr"], device=device, progress=False, **OPTS)
    assert list(runs) == ["gd", "pegr"]
    for method, run in runs.items():
        _check_against_cli(run, tmp_path / method)
        assert run.method == method


def test_train_options_same_as_cli(cli, tmp_path):
    flags = ["--method", "sgd", "--preset", "tiny", "--steps", 25, "--batch", 5, "--lr", 0.05,
             "--m", 3, "--d", 30, "--n", 16, "--n-test", 40, "--snr", 0.4, "--isotropic",
             "--label-noise", 0.1, "--seed", 9, "--robust-sigmas", "0.3,0", "--log-every", 4,
             "--sigma0", 0.02, "--q", 2]
    cli("train", *flags, "--device", "host", "--out", tmp_path, "--quiet")
    run = pegr.train("sgd", device="host", progress=False, preset="tiny", steps=25, batch=5,
                     lr=0.05, m=3, d=30, n=16, n_test=40, snr=0.4, isotropic=True,
                     label_noise=0.1, seed=9, robust_sigmas=[0.3, 0], log_every=4, sigma0=0.02,
                     q=2)
    _check_against_cli(run, tmp_path)
    assert run.config["robust_sigmas"] == [0.3, 0.0]


def _cli_defaults(cli, preset):
    """The defaults `pegr train --preset P --help` shows, by option name with _."""
    text = cli("train", "--preset", preset, "--help").stdout
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s+--([a-z0-9-]+)\b.*\[default: ([^\]]*)\]", line)
        if m:
            out[m.group(1).replace("-", "_")] = m.group(2)
    return out


@pytest.mark.parametrize("preset", sorted(pegr.PRESETS))
def test_presets_match_cli(cli, preset):
    shown = _cli_defaults(cli, preset)
    config = _options._config_dict(_options._train_config("pegr", preset, {}))
    assert shown["preset"] == preset
    checked = 0
    for key, value in config.items():
        if key in shown and key not in ("snr",):  # the CLI shows --snr's 0 ("not given")
            want = shown[key]
            if isinstance(value, list):
                assert ",".join("%g" % v for v in value) == want, key
            elif isinstance(value, str):
                assert value == want, key
            else:
                assert float(value) == float(want), key
            checked += 1
    assert checked >= 18


def test_run_config_holds_every_option():
    """Run.config is read from the library's option table: every option, new ones included
    (the data model, its XOR norms), with the values the run used."""
    run = pegr.train("gd", preset="tiny", steps=2, device="host", progress=False, data="xor",
                     xor_a_norm=1.5, init="uniform", bias=True)
    assert set(run.config) == set(_options._OPTIONS)
    assert run.config["data"] == "xor" and run.config["xor_a_norm"] == 1.5
    assert run.config["init"] == "uniform" and run.config["bias"] is True
    assert run.config["method"] == "gd" and run.config["steps"] == 2


def test_callback_and_to_pandas():
    seen = []
    run = pegr.train("gd", device="host", progress=False, callback=seen.append, **OPTS)
    assert [r["step"] for r in seen] == list(run.metrics["step"])
    assert all(r["method"] == "gd" for r in seen)
    assert seen[-1]["test_error"] == run.metrics["test_error"][-1]
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            run.to_pandas()
    else:
        df = run.to_pandas()
        assert list(df.columns) == pegr.METRIC_COLUMNS and len(df) == len(seen)


def test_ctrl_c_stops_and_returns_what_ran():
    """SIGINT during a run (what Ctrl-C sends) stops it before the next step, through the cancel
    flag: the run comes back marked interrupted with the steps it made, and compare skips the
    methods after it. The previous SIGINT handler is back afterwards."""
    before = signal.getsignal(signal.SIGINT)

    def interrupt_at_10(rec):
        if rec["step"] == 10:
            os.kill(os.getpid(), signal.SIGINT)
    runs = pegr.compare(["gd", "pegr"], device="host", progress=False, callback=interrupt_at_10,
                        preset="tiny", steps=200, log_every=5)
    assert list(runs) == ["gd"]
    run = runs["gd"]
    assert run.summary["interrupted"]
    assert 10 <= run.summary["steps_run"] <= 11
    assert run.metrics["step"][-1] <= 11
    assert signal.getsignal(signal.SIGINT) is before


def test_callback_exception_is_raised():
    def boom(rec):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        pegr.train("gd", device="host", progress=False, callback=boom, **OPTS)


def test_progress_line(capfd):
    pegr.train("gd", device="host", progress=True, preset="tiny", steps=10, log_every=5)
    err = capfd.readouterr().err
    assert "gd    step 10/10" in err


@pytest.mark.parametrize("kwargs, exc", [
    (dict(stepz=3), TypeError),
    (dict(steps=-1), ValueError),
    (dict(steps=1.5), TypeError),
    (dict(preset="huge"), ValueError),
    (dict(method="adam"), ValueError),
    (dict(method=1), TypeError),
    (dict(mu_norm=2, snr=1), ValueError),
    (dict(representation="dual"), ValueError),
    (dict(device="host", representation="span"), ValueError),  # the host is primal only
    (dict(device="host", precision="fp32"), ValueError),
    (dict(robust_sigmas=[0.1, 0.1]), ValueError),
    (dict(robust_sigmas="0.1,x"), ValueError),
    (dict(robust_sigmas=[-1]), ValueError),
    (dict(log_every=0), ValueError),
    (dict(q=1.5), ValueError),  # q in (1, 2) is refused for pegr (pegr_train_config_validate)
    (dict(callback=3), TypeError),
])
def test_train_refuses_bad_options(kwargs, exc):
    args = dict(device="host", progress=False, preset="tiny", steps=2)
    args.update(kwargs)
    with pytest.raises(exc):
        pegr.train(**args)


def test_compare_refuses_bad_lists():
    for methods, exc in ((["gd", "gd"], ValueError), ([], ValueError), (["gd", "x"], ValueError),
                         ([1], TypeError)):
        with pytest.raises(exc):
            pegr.compare(methods, device="host", progress=False, preset="tiny", steps=2)


def test_out_writes_the_cli_files(cli, tmp_path):
    """compare(out=DIR) writes what `pegr train --compare --out DIR` writes: config.json
    byte for byte, W.npy and W0.npy, metrics.csv but its clock column, summary.json but its
    clock; a stale file of an older run is cleared as the command clears it."""
    theirs, mine = tmp_path / "cli", tmp_path / "py"
    (mine / "pegr").mkdir(parents=True)
    (mine / "pegr" / "W.npy").write_bytes(b"stale")
    cli("train", "--compare", "gd,pegr", *FLAGS, "--device", "host", "--out", theirs, "--quiet")
    runs = pegr.compare(["gd", "pegr"], device="host", progress=False, out=str(mine), **OPTS)
    for method in ("gd", "pegr"):
        a, b = theirs / method, mine / method
        assert runs[method].dir == str(b)
        assert sorted(os.listdir(a)) == sorted(os.listdir(b))
        for name in ("W.npy", "W0.npy"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        # config.json: byte for byte when the command and the package's library were built from
        # the same revision (an installed wheel may not have been); else all but the revision
        ca, cb = json.load(open(a / "config.json")), json.load(open(b / "config.json"))
        assert cb["git_revision"] == pegr.git_revision()
        if ca["git_revision"] == cb["git_revision"]:
            assert (a / "config.json").read_bytes() == (b / "config.json").read_bytes()
        ca.pop("git_revision"), cb.pop("git_revision")
        assert ca == cb
        ta, tb = _read_csv(a / "metrics.csv"), _read_csv(b / "metrics.csv")
        for col in ta:
            if col != "wall_seconds":
                assert np.array_equal(ta[col], tb[col], equal_nan=True), col
        sa, sb = json.load(open(a / "summary.json")), json.load(open(b / "summary.json"))
        sa.pop("wall_seconds"), sb.pop("wall_seconds")
        assert sa == sb
        _check_against_cli(runs[method], b)
    # train (not compare) writes into out itself
    run = pegr.train("gd", device="host", progress=False, out=tmp_path / "one", **OPTS)
    assert run.dir == str(tmp_path / "one") and (tmp_path / "one" / "summary.json").exists()


def test_every_cli_train_option_is_a_keyword(cli):
    """Each option `pegr train --help` lists is a keyword of train (with _ for -), or one of
    train's own arguments."""
    text = cli("train", "--help").stdout
    names = {m.replace("-", "_") for m in re.findall(r"^\s+--([a-z0-9-]+)", text, re.M)}
    own = {"preset", "precision", "device", "verbose", "method", "out", "config",
           "X", "y", "X_test", "y_test", "mu"}  # your own data: train's X=, y=, ... (_OWN_DATA)
    replaced = {"compare": "pegr.compare", "quiet": "progress=False", "help": "the docstring",
                "force": "out= (Python writes its files without the check)"}
    assert names - own - set(replaced) == set(_options._TRAIN_KEYS)


def test_ctrl_c_while_in_c_stops_at_the_next_step():
    """SIGINT while the library is inside a step (no Python callback running, no record due):
    Python runs its handler at the next call into Python -- the per-step stop check -- which
    sets the cancel flag, so the run stops there rather than at its end."""
    import threading
    steps = 200000  # minutes on the host; stopped after about 0.3 s
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        run = pegr.train("gd", device="host", progress=False, preset="tiny", steps=steps,
                         log_every=steps)
    finally:
        timer.cancel()
    assert run.summary["interrupted"]
    assert 0 < run.summary["steps_run"] < steps
    assert run.W is not None and run.W.shape == (2, 4, 200)
