# test_readout.py: the readout variants from Python through the library's option table --
# pegr.train(readout="mean-patches", learn_readout=True) gives the numbers `pegr train --readout
# mean-patches --learn-readout` gives (W and the learned second layer v), a word outside the list
# is refused, and the default run has no v.
import os

import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, log_every=5, device="host", progress=False)


def test_readout_same_numbers_as_cli(cli, tmp_path):
    cli("train", "--method", "pegr", "--readout", "mean-patches", "--learn-readout", "--preset",
        "tiny", "--steps", 20, "--log-every", 5, "--device", "host", "--out", tmp_path, "--quiet")
    run = pegr.train("pegr", readout="mean-patches", learn_readout=True, **OPTS)
    assert run.config["readout"] == "mean-patches" and run.config["learn_readout"] is True
    for name in ("W", "W0", "v"):
        ref = np.load(os.path.join(tmp_path, name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name
    assert run.v.shape == (2, 4)
    assert not np.allclose(run.v, 1.0)


def test_default_readout_has_no_v_and_differs():
    plain = pegr.train("pegr", **OPTS)
    assert plain.v is None
    assert plain.config["readout"] == "mean-filters" and plain.config["learn_readout"] is False
    patches = pegr.train("pegr", readout="mean-patches", **OPTS)
    assert patches.v is None
    assert not np.allclose(plain.W, patches.W, rtol=1e-6, atol=0)


def test_learned_readout_on_the_device_equals_the_host():
    fp64 = [d for d in pegr.devices() if d["fp64"]]
    if not fp64:
        pytest.skip("no OpenCL device with fp64")
    dev = pegr.train("gr", readout="mean-patches", learn_readout=True, precision="fp64",
                     **dict(OPTS, device=str(fp64[0]["index"])))
    host = pegr.train("gr", readout="mean-patches", learn_readout=True, **OPTS)
    np.testing.assert_allclose(dev.v, host.v, rtol=1e-9, atol=0)
    np.testing.assert_allclose(dev.W, host.W, rtol=1e-9, atol=1e-12)


def test_readout_refuses_an_unknown_word():
    with pytest.raises(ValueError, match="mean-filters"):
        pegr.train("pegr", readout="sum", **OPTS)
