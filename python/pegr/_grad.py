# _grad.py: pegr.grad() -- gd's, pegr's or gr's gradient at W, as `pegr grad` computes it.
"""grad(): one evaluation on a backend, numpy in and out."""
import ctypes

import numpy as np

from . import _lib
from ._backend import _Backend
from ._errors import _array, _check_request, _flag, _method, _ptr, _raise_if, _real
from ._lib import lib


def grad(X, y, W, method="pegr", q=3, lam=0.01, device=None, precision=None, per_example=False,
         verbose=False):
    """The gradient of gd's, pegr's or gr's objective at W, as ``pegr grad`` computes it.

    X: (n, patches, d) patches; y: (n,) labels +1/-1; W: (2, m, d) weights (W[0] the +1 class's
    filters). Any real dtype and memory order is accepted (converted to C-order float64, as
    ``pegr grad`` converts .npy files); NaN/Inf, wrong shapes or labels raise ValueError.
    method: "gd", "pegr" or "gr"; q: activation exponent (q = 1 or q >= 2 for pegr and gr);
    lam: penalty weight. device: "host" (the exact fp64 reference), a device spec as
    ``pegr devices`` lists them, or None ($PEGR_DEVICE, else the default device).
    precision: "fp32" or "fp64" on a device; None is each backend's own (fp32 on a device,
    fp64 on the host, which refuses an explicit "fp32" as the CLI does).
    per_example: also return per_example_grad (n, 2, m, d).

    Returns a dict: grad (2, m, d), margin (n,), per_example_loss (n,), per_example_norm2 (n,),
    [per_example_grad], mean_loss and objective (floats), device (description), precision.

    Example::

        >>> D = pegr.data(n=20, n_test=0, d=50)
        >>> W = 0.01 * np.random.default_rng(0).standard_normal((2, 4, 50))
        >>> g = pegr.grad(D["X"], D["y"], W, method="pegr", device="host")
        >>> g["grad"].shape, g["objective"]          # doctest: +SKIP
        ((2, 4, 50), 0.69...)
    """
    if method not in ("gd", "pegr", "gr"):
        raise ValueError("method must be one of gd, pegr, gr, not %r" % (method,))
    req = _lib.pegr_eval_request()
    req.method = _method(method)
    req.q = _real("q", q)
    req.lam = _real("lam", lam)
    X = _array("X", X, 3)
    y = _array("y", y, 1)
    W = _array("W", W, 3)
    n, P, d = X.shape
    if n == 0 or P == 0 or d == 0:
        raise ValueError("X has shape %s: every size must be >= 1" % (X.shape,))
    if y.shape[0] != n:
        raise ValueError("y must have shape (%d,) to match X's %d examples, it has %d values"
                         % (n, n, y.shape[0]))
    bad = np.flatnonzero((y != 1) & (y != -1))
    if bad.size:
        raise ValueError("y must hold labels +1 or -1; y[%d] is %r" % (bad[0], y[bad[0]]))
    if W.shape[0] != 2 or W.shape[2] != d or W.shape[1] == 0:
        raise ValueError("W must have shape (2, m, %d) with m >= 1 (W[0]: the +1 class's "
                         "filters, d from X), it has shape %s" % (d, W.shape))
    m = W.shape[1]
    per_example = _flag("per_example", per_example)
    _check_request(device, precision, None)
    out = {"grad": np.zeros((2, m, d)), "margin": np.zeros(n), "per_example_loss": np.zeros(n),
           "per_example_norm2": np.zeros(n)}
    if per_example:
        out["per_example_grad"] = np.zeros((n, 2, m, d))
    mean_loss, objective = ctypes.c_double(), ctypes.c_double()
    req.grad, req.margin = _ptr(out["grad"]), _ptr(out["margin"])
    req.loss, req.norm2 = _ptr(out["per_example_loss"]), _ptr(out["per_example_norm2"])
    req.per_example_grad = _ptr(out.get("per_example_grad"))
    req.mean_loss = ctypes.pointer(mean_loss)
    req.objective = ctypes.pointer(objective)
    with _Backend(device, precision, verbose) as b:
        err = _lib.pegr_error()
        _raise_if(lib.pegr_backend_set_data(b.handle, _ptr(X), _ptr(y), n, P, d,
                                            ctypes.byref(err)), err, b.description)
        _raise_if(lib.pegr_backend_set_weights(b.handle, _ptr(W), m, ctypes.byref(err)), err,
                  b.description)
        _raise_if(lib.pegr_backend_evaluate(b.handle, ctypes.byref(req), ctypes.byref(err)), err,
                  b.description)
        out["device"], out["precision"] = b.description, b.precision
    out["mean_loss"] = mean_loss.value
    out["objective"] = objective.value
    return out
