# test_xor.py: the XOR data model (Meng, Zou, Cao 2023) from Python through the library's option
# table -- pegr.data(data="xor") gives `pegr data --data xor`'s arrays bit for bit and obeys the
# definition, pegr.train(data="xor", xor_a_norm=...) gives `pegr train --data xor`'s numbers, and
# what makes no sense with it is refused.
import json
import os

import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, log_every=5, q=1)


def test_data_xor_same_arrays_as_cli_and_the_definition(cli, tmp_path):
    cli("data", "--data", "xor", "--xor-a-norm", 2, "--xor-b-norm", 0.5, "--n", 40, "--n-test", 10,
        "--d", 8, "--patches", 3, "--seed", 4, "--out", tmp_path)
    D = pegr.data(data="xor", xor_a_norm=2.0, xor_b_norm=0.5, n=40, n_test=10, d=8, patches=3,
                  seed=4)
    for name in ("X", "y", "mu", "X_test", "y_test"):
        ref = np.load(os.path.join(tmp_path, name + ".npy"))
        assert D[name].tobytes() == ref.tobytes(), name
    up, um = D["mu"]
    assert up.tolist() == [2.0, 0.5] + [0.0] * 6 and um.tolist() == [2.0, -0.5] + [0.0] * 6
    assert D["mu_norm"] == np.hypot(2.0, 0.5)
    for i in range(40):
        x, p = D["X"][i], D["signal_patch"][i]
        u = up if D["y_clean"][i] > 0 else um
        assert np.array_equal(x[p], u) or np.array_equal(x[p], -u)
        noise = np.delete(x, p, axis=0)
        assert np.all(noise[:, :2] == 0)  # a and b projected out, exactly


def test_train_xor_same_numbers_as_cli(cli, tmp_path):
    cli("train", "--data", "xor", "--xor-a-norm", 2, "--xor-b-norm", 1.5, "--method", "pegr",
        "--q", 1, "--preset", "tiny", "--steps", 20, "--log-every", 5, "--device", "host",
        "--out", tmp_path, "--quiet")
    run = pegr.train("pegr", data="xor", xor_a_norm=2.0, xor_b_norm=1.5, device="host",
                     progress=False, **OPTS)
    assert json.load(open(os.path.join(tmp_path, "config.json")))["options"]["data"] == "xor"
    for name in ("W", "W0"):
        ref = np.load(os.path.join(tmp_path, name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name
    sn = pegr.train("pegr", xor_a_norm=2.0, xor_b_norm=1.5, device="host", progress=False, **OPTS)
    assert not np.array_equal(sn.W, run.W)  # --data xor is not the signal-noise model


@pytest.mark.parametrize("kw, match", [(dict(mu_norm=2.0), "xor_a_norm"),
                                       (dict(snr=0.1), "snr"),
                                       (dict(d=1), "d must be >= 2"),
                                       (dict(xor_b_norm=-1.0), "xor-b-norm")])
def test_xor_refuses(kw, match):
    with pytest.raises(ValueError, match=match):
        pegr.train("gd", data="xor", device="host", progress=False, **dict(OPTS, **kw))


def test_unknown_data_model_refused():
    with pytest.raises(ValueError, match="signal-noise"):
        pegr.train("gd", data="xnor", device="host", progress=False, **OPTS)
