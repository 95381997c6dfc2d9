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


class _Dataset:
    """A generated pegr_dataset (freed on exit)."""

    def __init__(self, cfg):
        self.ds = _lib.pegr_dataset()
        err = _lib.pegr_error()
        _raise_if(lib.pegr_data_generate(ctypes.byref(cfg), ctypes.byref(self.ds),
                                         ctypes.byref(err)), err, exc=ValueError)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.pegr_dataset_free(ctypes.byref(self.ds))


def data(n=None, n_test=None, d=None, patches=None, mu_norm=None, snr=None, sigma_p=None,
         isotropic=None, label_noise=None, flip_test=None, seed=None):
    """Generate the signal-noise dataset of ``pegr data`` (the same options, bit-identical arrays).

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
                         flip_test=flip_test, seed=seed))
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
        out["mu"] = _copy(ds.mu, (dd,))
        out["mu_norm"] = float(ds.mu_norm)
    return out
