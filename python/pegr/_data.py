# _data.py: pegr.data() -- the signal-noise dataset of `pegr data`, as numpy arrays.
"""data(): the arrays of ``pegr data`` on the same options, bit for bit."""
import ctypes

import numpy as np

from . import _lib
from ._errors import _raise_if
from ._lib import lib
from ._options import _set_options


def _copy(ptr, shape, dtype=np.float64):
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0 or not ptr:
        return np.zeros(shape, dtype=dtype)
    return np.ctypeslib.as_array(ptr, shape=(count,)).astype(dtype, copy=True).reshape(shape)


def _doubles(name, a, ndim):
    """A C-order float64 copy of a (None stays None), of ndim dimensions (ValueError otherwise)."""
    if a is None:
        return None
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError("%s must have %d dimension(s), it has shape %s" % (name, ndim, a.shape))
    return a


def _ptr(a):
    return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


class _Dataset:
    """A generated pegr_dataset, or with own=(X, y, X_test, y_test, mu) one of the caller's own
    arrays (pegr_dataset_from_arrays: the same checks as the CLI's --X ...) (freed on exit)."""

    def __init__(self, cfg, own=None):
        self.ds = _lib.pegr_dataset()
        err = _lib.pegr_error()
        if own is None:
            _raise_if(lib.pegr_data_generate(ctypes.byref(cfg), ctypes.byref(self.ds),
                                             ctypes.byref(err)), err, exc=ValueError)
            return
        X, y, Xt, yt, mu = (_doubles(k, a, nd) for k, a, nd in
                            zip(("X", "y", "X_test", "y_test", "mu"), own, (3, 1, 3, 1, 1)))
        if X is None or y is None or (Xt is None) != (yt is None):
            raise ValueError("your own data needs X and y (X_test with y_test, mu optional)")
        n, P, d = X.shape
        for k, a, want in (("y", y, n), ("X_test", Xt, None), ("mu", mu, d)):
            if a is not None and want is not None and a.shape[0] != want:
                raise ValueError("%s has shape %s: it must have %d values to match X %s"
                                 % (k, a.shape, want, X.shape))
        if Xt is not None and (Xt.shape[1:] != (P, d) or yt.shape[0] != Xt.shape[0]):
            raise ValueError("X_test %s and y_test %s must be (n_test, %d, %d) and (n_test,)"
                             % (Xt.shape, yt.shape, P, d))
        nt = 0 if Xt is None else Xt.shape[0]
        _raise_if(lib.pegr_dataset_from_arrays(_ptr(X), _ptr(y), n, P, d, _ptr(Xt), _ptr(yt), nt,
                                               _ptr(mu), ctypes.byref(self.ds), ctypes.byref(err)),
                  err, exc=ValueError)
        cfg.n, cfg.n_test, cfg.P, cfg.d = n, nt, P, d  # the run's shapes are the data's

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.pegr_dataset_free(ctypes.byref(self.ds))


def data(n=None, n_test=None, d=None, patches=None, mu_norm=None, snr=None, sigma_p=None,
         isotropic=None, label_noise=None, flip_test=None, seed=None, data=None, xor_a_norm=None,
         xor_b_norm=None):
    """Generate the signal-noise dataset of ``pegr data`` (the same options, bit-identical arrays).

    ``data="xor"`` generates the XOR model instead (Meng, Zou, Cao 2023; docs/math.md): signal
    patches +-(a+b) for y = +1 and +-(a-b) for y = -1, with a = xor_a_norm e_1, b = xor_b_norm e_2;
    mu is then (2, d): u+ = a + b and u- = a - b, and mu_norm is ||a +- b||.

    Defaults (None): the library's, docs/math.md's regime -- n 50, n_test 1000, d 1000,
    patches 2, mu_norm 3 (or snr > 0: mu_norm = snr sigma_p sqrt(d)), sigma_p 1, noise
    orthogonal to mu (isotropic=True: plain Gaussian), label_noise 0 (flip probability of the
    training labels; flip_test=True flips test labels too), seed 0.

    Returns a dict of numpy float64 arrays: X (n, patches, d), y (n,), mu (d,), X_test, y_test
    (as the .npy files of ``pegr data``), plus y_clean and y_test_clean (labels before flips),
    signal_patch and signal_patch_test (int64: which patch holds the signal), and mu_norm (float).

    Example::

        >>> D = pegr.data(n=20, n_test=100, d=50, seed=1)
        >>> D["X"].shape, D["y"][:3]                 # doctest: +SKIP
        ((20, 2, 50), array([ 1., -1.,  1.]))
    """
    c = _lib.pegr_train_config()
    lib.pegr_train_config_default(ctypes.byref(c))  # its data part: pegr_data_config_default
    _set_options(c, dict(n=n, n_test=n_test, d=d, patches=patches, mu_norm=mu_norm, snr=snr,
                         sigma_p=sigma_p, isotropic=isotropic, label_noise=label_noise,
                         flip_test=flip_test, seed=seed, data=data, xor_a_norm=xor_a_norm,
                         xor_b_norm=xor_b_norm))
    cfg = c.data
    err = _lib.pegr_error()
    _raise_if(lib.pegr_data_config_validate(ctypes.byref(cfg), ctypes.byref(err)), err,
              exc=ValueError)
    with _Dataset(cfg) as g:
        ds = g.ds
        P, dd = ds.P, ds.d
        out = {}
        for split, suffix in ((ds.train, ""), (ds.test, "_test")):
            out["X" + suffix] = _copy(split.X, (split.n, P, dd))
            out["y" + suffix] = _copy(split.y, (split.n,))
            out["y%s_clean" % suffix] = _copy(split.y_clean, (split.n,))
            out["signal_patch" + suffix] = _copy(split.signal_patch, (split.n,), np.int64)
        out["mu"] = _copy(ds.mu, (ds.n_signal, dd) if ds.n_signal > 1 else (dd,))
        out["mu_norm"] = float(ds.mu_norm)
    return out
