# test_data_grad.py: pegr.devices, pegr.data and pegr.grad against `pegr devices`, `pegr data`
# and `pegr grad` on the same inputs, and their refusals of bad arguments.
import json

import numpy as np
import pytest

import pegr

DATA_CASES = [
    [],  # the library's defaults (docs/math.md's regime)
    ["--n", 7, "--n-test", 5, "--d", 13, "--patches", 3, "--seed", 42],
    ["--n", 9, "--n-test", 11, "--d", 8, "--snr", 0.5, "--isotropic", "--label-noise", 0.3,
     "--flip-test", "--sigma-p", 2.5, "--seed", 7],
    ["--n", 4, "--n-test", 0, "--d", 3, "--mu-norm", 0],
]


def _kwargs(flags):
    """CLI flags -> pegr.data keywords (the names with _ for -)."""
    out, i = {}, 0
    while i < len(flags):
        key = flags[i][2:].replace("-", "_")
        if i + 1 < len(flags) and not str(flags[i + 1]).startswith("--"):
            out[key] = flags[i + 1]
            i += 2
        else:
            out[key] = True
            i += 1
    return out


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("flags", DATA_CASES)
def test_data_bit_identical_to_cli(cli, tmp_path, flags):
    cli("data", "--out", tmp_path, *flags)
    D = pegr.data(**_kwargs(flags))
    for name in ["X", "y", "mu", "X_test", "y_test"]:
        assert _same_bits(D[name], np.load(tmp_path / (name + ".npy"))), name
    meta = json.load(open(tmp_path / "meta.json"))
    assert D["mu_norm"] == meta["mu_norm"]


def test_data_extras_are_consistent():
    D = pegr.data(n=30, n_test=10, d=6, patches=3, seed=3)
    i = np.arange(30)
    # the signal patch holds y_clean * mu exactly
    assert np.array_equal(D["X"][i, D["signal_patch"], :], D["y_clean"][:, None] * D["mu"])
    assert np.array_equal(D["y"], D["y_clean"])  # no label noise


@pytest.mark.parametrize("kwargs, exc", [
    (dict(n=0), ValueError), (dict(n=-1), ValueError), (dict(n=2.5), TypeError),
    (dict(d="10"), TypeError), (dict(label_noise=0.6), ValueError),
    (dict(mu_norm=1, snr=1), ValueError), (dict(snr=0), ValueError),
    (dict(sigma_p=float("nan")), ValueError), (dict(seed=-1), ValueError),
    (dict(isotropic="yes"), TypeError),
])
def test_data_refuses_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        pegr.data(**kwargs)


def test_devices_match_cli(cli):
    listed = json.loads(cli("devices", "--json").stdout)
    got = pegr.devices()
    assert len(got) == len(listed)
    for mine, theirs in zip(got, listed):
        for key, value in theirs.items():
            assert mine[key] == value, key
        assert mine["memory"] == theirs["global_mem_bytes"]


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    """X, y from `pegr data`, W random, each also as .npy for the command."""
    d = tmp_path_factory.mktemp("problem")
    D = pegr.data(n=12, n_test=0, d=16, patches=2, seed=5)
    W = 0.3 * np.random.default_rng(1).standard_normal((2, 3, 16))
    for name, a in (("X", D["X"]), ("y", D["y"]), ("W", W)):
        np.save(d / (name + ".npy"), a)
    return d, D["X"], D["y"], W


GRAD_FILES = {"grad": "grad.npy", "margin": "margin.npy", "per_example_loss":
              "per_example_loss.npy", "per_example_norm2": "per_example_norm2.npy",
              "per_example_grad": "per_example_grad.npy"}


@pytest.mark.parametrize("device", ["host", None])
@pytest.mark.parametrize("method", ["gd", "pegr", "gr"])
def test_grad_same_numbers_as_cli(cli, problem, tmp_path, device, method):
    d, X, y, W = problem
    args = ["grad", "--X", d / "X.npy", "--y", d / "y.npy", "--W", d / "W.npy", "--out", tmp_path,
            "--method", method, "--q", 3, "--lam", 0.05, "--per-example"]
    if device:
        args += ["--device", device]
    cli(*args)
    g = pegr.grad(X, y, W, method=method, q=3, lam=0.05, device=device, per_example=True)
    for key, fname in GRAD_FILES.items():
        assert _same_bits(g[key], np.load(tmp_path / fname)), key
    loss = json.load(open(tmp_path / "loss.json"))
    assert g["mean_loss"] == loss["mean_loss"] and g["objective"] == loss["objective"]
    assert g["device"] == loss["device"] and g["precision"] == loss["precision"]


def test_grad_converts_dtype_and_order(problem):
    _, X, y, W = problem
    ref = pegr.grad(X, y, W, device="host")
    # a Fortran-order copy, a strided view and integer labels give the same bits
    Xf = np.asfortranarray(X)
    Xs = np.concatenate([X, X], axis=2)[:, :, ::2]  # non-contiguous
    Xs_ref = np.ascontiguousarray(Xs)
    assert not Xs.flags.c_contiguous
    g1 = pegr.grad(Xf, y.astype(np.int32), W, device="host")
    assert g1["grad"].tobytes() == ref["grad"].tobytes()
    g2 = pegr.grad(Xs, y, np.concatenate([W, W], axis=2)[:, :, ::2], device="host")
    g3 = pegr.grad(Xs_ref, y, np.ascontiguousarray(np.concatenate([W, W], axis=2)[:, :, ::2]),
                   device="host")
    assert g2["grad"].tobytes() == g3["grad"].tobytes()
    # float32 input: the same as the float64 values it holds
    g4 = pegr.grad(X.astype(np.float32), y, W.astype(np.float32), device="host")
    g5 = pegr.grad(X.astype(np.float32).astype(np.float64), y,
                   W.astype(np.float32).astype(np.float64), device="host")
    assert g4["grad"].tobytes() == g5["grad"].tobytes()


def test_grad_refuses_bad_inputs(problem):
    _, X, y, W = problem
    bad_y = y.copy()
    bad_y[3] = 0
    nan_X = X.copy()
    nan_X[1, 0, 2] = np.nan
    cases = [
        (dict(X=X[0]), ValueError),                       # 2 dimensions
        (dict(y=y[:-1]), ValueError),                     # n mismatch
        (dict(y=bad_y), ValueError),                      # label 0
        (dict(W=W[:, :, :-1]), ValueError),               # d mismatch
        (dict(W=np.zeros((3, 3, 16))), ValueError),       # 3 classes
        (dict(X=nan_X), ValueError),
        (dict(X=X.astype(str)), TypeError),
        (dict(X=X.astype(complex)), TypeError),
        (dict(X=np.zeros((0, 2, 16))), ValueError),
        (dict(method="sgd"), ValueError),
        (dict(method="nope"), ValueError),
        (dict(q="3"), TypeError),
        (dict(lam=float("inf")), ValueError),
        (dict(device="host", precision="fp32"), ValueError),  # the host is fp64 only
        (dict(precision="fp16"), ValueError),
        (dict(device=3), TypeError),
    ]
    for change, exc in cases:
        args = dict(X=X, y=y, W=W, device="host")
        args.update(change)
        with pytest.raises(exc):
            pegr.grad(**args)


def test_grad_device_error_is_pegr_error(problem):
    _, X, y, W = problem
    with pytest.raises(pegr.Error) as e:
        pegr.grad(X, y, W, device="no-such-device-anywhere")
    assert e.value.name == "PEGR_ERR_NO_DEVICE"
    assert "no-such-device-anywhere" in e.value.message
