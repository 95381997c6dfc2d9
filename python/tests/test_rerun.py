# test_rerun.py: pegr.train(config="DIR/config.json") repeats a run from its config.json as
# `pegr train --config` does (the library's pegr_train_config_read): the same weights, the
# config's method unless one is given, keywords override the file, a preset with it is refused.
import json
import os

import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, log_every=5, lr=0.05, label_noise=0.1, seed=3)


def test_config_repeats_the_run(cli, tmp_path):
    cli("train", "--method", "gd", "--preset", "tiny", "--steps", 20, "--log-every", 5, "--lr",
        0.05, "--label-noise", 0.1, "--seed", 3, "--device", "host", "--out", tmp_path / "a",
        "--quiet")
    config = os.path.join(tmp_path, "a", "config.json")
    run = pegr.train(config=config, device="host", progress=False, out=str(tmp_path / "b"))
    assert run.method == "gd"  # the config's
    for name in ("W", "W0"):
        ref = np.load(os.path.join(tmp_path, "a", name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name
    a = json.load(open(config))
    b = json.load(open(tmp_path / "b" / "config.json"))
    assert a["options"] == b["options"]


def test_keywords_override_the_config(tmp_path):
    first = pegr.train("pegr", device="host", progress=False, out=str(tmp_path), **OPTS)
    config = os.path.join(first.dir, "config.json")
    run = pegr.train(config=config, steps=10, device="host", progress=False)
    assert run.method == "pegr"
    assert run.config["steps"] == 10 and run.config["lr"] == 0.05
    assert run.config["label_noise"] == 0.1
    runs = pegr.compare(["gd", "pegr"], config=config, device="host", progress=False)
    assert runs["pegr"].W.tobytes() == first.W.tobytes()
    with pytest.raises(ValueError, match="preset or config"):
        pegr.train(config=config, preset="tiny", device="host", progress=False)
    with pytest.raises(ValueError, match="none.json"):
        pegr.train(config=str(tmp_path / "none.json"), device="host", progress=False)
