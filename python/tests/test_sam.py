# test_sam.py: SAM from Python through the library's option table -- pegr.train("sam", sam_rho=R)
# gives the numbers `pegr train --method sam --sam-rho R` gives, a bad radius is refused, and
# pegr.compare runs gd and sam from the same start.
import json
import os

import numpy as np
import pytest

import pegr

OPTS = dict(preset="tiny", steps=20, log_every=5)


def test_sam_same_numbers_as_cli(cli, tmp_path):
    cli("train", "--method", "sam", "--sam-rho", 0.05, "--preset", "tiny", "--steps", 20,
        "--log-every", 5, "--device", "host", "--out", tmp_path, "--quiet")
    run = pegr.train("sam", sam_rho=0.05, device="host", progress=False, **OPTS)
    assert run.method == "sam"
    assert run.config["sam_rho"] == 0.05
    assert json.load(open(os.path.join(tmp_path, "config.json")))["training"]["sam_rho"] == 0.05
    for name in ("W", "W0"):
        ref = np.load(os.path.join(tmp_path, name + ".npy"))
        assert getattr(run, name).tobytes() == ref.tobytes(), name


@pytest.mark.parametrize("rho", [0, -0.1])
def test_sam_refuses_a_bad_radius(rho):
    with pytest.raises(ValueError, match="sam-rho"):
        pegr.train("sam", sam_rho=rho, device="host", progress=False, **OPTS)


def test_compare_gd_and_sam():
    runs = pegr.compare(["gd", "sam"], sam_rho=0.2, device="host", progress=False, **OPTS)
    assert list(runs) == ["gd", "sam"]
    assert np.array_equal(runs["gd"].W0, runs["sam"].W0)
    assert not np.allclose(runs["gd"].W, runs["sam"].W, rtol=1e-6, atol=0)


def test_per_example_sam_same_numbers_as_cli(cli, tmp_path):
    # --sam-variant per-example (1-SAM) is the keyword sam_variant="per-example": the option table
    cli("train", "--method", "sam", "--sam-rho", 0.2, "--sam-variant", "per-example", "--preset",
        "tiny", "--steps", 20, "--log-every", 5, "--device", "host", "--out", tmp_path, "--quiet")
    run = pegr.train("sam", sam_rho=0.2, sam_variant="per-example", device="host",
                     progress=False, **OPTS)
    assert run.config["sam_variant"] == "per-example"
    assert json.load(open(os.path.join(tmp_path, "config.json")))["options"]["sam-variant"] == \
        "per-example"
    ref = np.load(os.path.join(tmp_path, "W.npy"))
    assert run.W.tobytes() == ref.tobytes()
    full = pegr.train("sam", sam_rho=0.2, device="host", progress=False, **OPTS)
    assert not np.allclose(full.W, run.W, rtol=1e-6, atol=0)
    learned = pegr.train("sam", sam_variant="per-example", learn_readout=True, device="host",
                         progress=False, **OPTS)
    assert learned.v.shape == (2, 4) and not np.allclose(learned.v, 1.0)
