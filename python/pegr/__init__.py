# __init__.py: the pegr Python API -- devices, data, grad, train, compare -- over libpegr's public C API.
"""pegr from Python: per-example gradient regularization on the signal-noise model, numpy in and out.

The functions call libpegr (the same library as the ``pegr`` command) through ctypes, so each
gives the numbers of the command on the same inputs: ``pegr.data`` is bit-identical to
``pegr data``, ``pegr.grad`` to ``pegr grad`` on the same device, ``pegr.train`` and
``pegr.compare`` to ``pegr train`` and ``pegr train --compare``.

Example::

    import pegr
    runs = pegr.compare(["gd", "pegr"], preset="tiny", device="host", progress=False)
    for method, run in runs.items():
        print(method, run.summary["test_error"])

Errors: a bad argument raises ValueError or TypeError before anything is computed; a failure
inside the library raises pegr.Error (its ``name`` is the C status name, e.g.
"PEGR_ERR_NO_DEVICE"). Why ctypes rather than cffi: see pegr/_lib.py.
"""
import ctypes
import math
import numbers
import os
import signal
import sys
import threading
import time

import numpy as np

from . import _lib
from ._lib import lib, text

__all__ = ["Error", "Run", "Sweep", "devices", "check", "data", "grad", "train", "compare",
           "sweep", "PRESETS",
           "__version__", "git_revision"]

__version__ = text(lib.pegr_version())


def git_revision():
    """The git revision libpegr was built from ("unknown" outside a checkout).

    Example::

        >>> pegr.git_revision()   # doctest: +SKIP
        '931b8a3'
    """
    return text(lib.pegr_git_revision())


class Error(RuntimeError):
    """A failure reported by libpegr: ``name`` is the status name ("PEGR_ERR_NO_DEVICE", or an
    OpenCL one such as "CL_OUT_OF_RESOURCES"), ``status`` its code, ``message`` the library's
    message with its context, ``device`` the device it happened on when known.

    Example::

        try:
            pegr.grad(X, y, W, device="no-such-device")
        except pegr.Error as e:
            print(e.name, e.message)
    """

    def __init__(self, name, message, status=None, device=None):
        super().__init__("%s: %s" % (name, message))
        self.name = name
        self.message = message
        self.status = status
        self.device = device


def _raise_if(status, err, device=None, exc=None):
    """Turn a non-OK status (with its error record, then cleared) into an exception."""
    if status == 0:
        lib.pegr_error_clear(ctypes.byref(err))
        return
    message = text(lib.pegr_error_message(ctypes.byref(err)))
    lib.pegr_error_clear(ctypes.byref(err))
    if exc is not None:
        raise exc(message)
    raise Error(text(lib.pegr_status_name(status)), message, status, device)


# ---- argument checks (before any computation) ----------------------------------------------

def _size(name, v, lo=0):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError("%s must be an integer, not %r" % (name, v))
    v = int(v)
    if v < lo or v >= 2**63:
        raise ValueError("%s must be an integer >= %d, not %d" % (name, lo, v))
    return v


def _real(name, v, lo=None, hi=None):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError("%s must be a number, not %r" % (name, v))
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("%s must be finite, not %r" % (name, v))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = "in [%g, %g]" % (lo, hi) if hi is not None else ">= %g" % lo
        raise ValueError("%s must be %s, not %g" % (name, rng, v))
    return v


def _flag(name, v):
    if not isinstance(v, (bool, np.bool_)) and v not in (0, 1):
        raise TypeError("%s must be True or False, not %r" % (name, v))
    return int(bool(v))


def _text_arg(name, v):
    if v is None:
        return None
    if not isinstance(v, str):
        raise TypeError("%s must be a string or None, not %r" % (name, v))
    return v.encode()


def _parse_enum(parse, value, what):
    """A method, representation or precision name through the library's one name table."""
    if not isinstance(value, str):
        raise TypeError("%s must be a string, not %r" % (what, value))
    out = _lib.c_enum()
    err = _lib.pegr_error()
    s = parse(value.encode(), what.encode(), ctypes.byref(out), ctypes.byref(err))
    _raise_if(s, err, exc=ValueError)
    return out.value


def _method(value, what="method"):
    return _parse_enum(lib.pegr_method_parse, value, what)


def _check_request(device, precision, representation):
    err = _lib.pegr_error()
    s = lib.pegr_backend_check_request(_text_arg("device", device), _text_arg("precision", precision),
                                       _text_arg("representation", representation),
                                       ctypes.byref(err))
    _raise_if(s, err, exc=ValueError)


def _array(name, a, ndim):
    """a as a C-contiguous float64 array of ndim dimensions, every value finite; refuses what
    cannot be converted exactly to real numbers (strings, objects, complex) with TypeError."""
    arr = np.asarray(a)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating)
                                     or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError("%s must be an array of real numbers (float or int), not dtype %s"
                        % (name, arr.dtype))
    if arr.ndim != ndim:
        raise ValueError("%s must have %d dimensions, it has %d (shape %s)"
                         % (name, ndim, arr.ndim, arr.shape))
    # float64, C order: what the library takes; a copy only when a is not that already
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError("%s holds a NaN or Inf at index %s" % (name, np.argwhere(bad)[0].tolist()))
    return arr


def _ptr(arr):
    return arr.ctypes.data_as(ctypes.POINTER(ctypes.c_double)) if arr is not None else None


def _log_callback(verbose):
    """A log function for the library's messages (on stderr, as the CLI's --verbose) or None."""
    if not verbose:
        return _lib.LOG_FN()
    names = {0: "debug", 1: "info", 2: "warning"}

    def log(user, level, message):
        sys.stderr.write("pegr: %s: %s\n" % (names.get(level, "warning"), text(message)))
    return _lib.LOG_FN(log)


class _Backend:
    """An open pegr_backend (closed on exit)."""

    def __init__(self, device, precision, verbose=False):
        self.opts = _lib.pegr_backend_options()
        lib.pegr_backend_options_default(ctypes.byref(self.opts))
        if precision is not None:
            self.opts.precision = _parse_enum(lib.pegr_precision_parse, precision,
                                              "precision")
            self.opts.precision_set = 1
        self._log = _log_callback(verbose)  # kept alive as long as the backend
        self.opts.log = self._log
        self.handle = ctypes.c_void_p()
        self.device = device
        err = _lib.pegr_error()
        s = lib.pegr_backend_open(_text_arg("device", device), ctypes.byref(self.opts),
                                  ctypes.byref(self.handle), ctypes.byref(err))
        _raise_if(s, err, device=device)
        self.description = text(lib.pegr_backend_description(self.handle))
        self.precision = text(lib.pegr_backend_precision_name(self.handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.pegr_backend_close(self.handle)
        self.handle = None


# ---- devices ---------------------------------------------------------------------------------

def devices():
    """The OpenCL devices, as ``pegr devices --json`` lists them: a list of dicts with index,
    spec ("P:D"), selected (the default choice), name, vendor, type, version, driver_version,
    opencl_c_version, platform_name, platform_vendor, platform_version, compute_units,
    max_work_group_size, local_mem_bytes, global_mem_bytes (also as ``memory``),
    max_alloc_bytes, fp64, pocl. An empty list when no OpenCL platform is installed.

    Example::

        >>> [d["name"] for d in pegr.devices()]   # doctest: +SKIP
        ['pthread-haswell-AMD EPYC']
    """
    lst = ctypes.POINTER(_lib.pegr_device_info)()
    count = ctypes.c_size_t()
    err = _lib.pegr_error()
    s = lib.pegr_device_list(ctypes.byref(lst), ctypes.byref(count), ctypes.byref(err))
    if s == -10003:  # PEGR_ERR_NO_PLATFORM: nothing to list, as `pegr devices` says
        lib.pegr_error_clear(ctypes.byref(err))
        return []
    _raise_if(s, err)
    try:
        chosen = ctypes.c_size_t()
        e2 = _lib.pegr_error()
        sel = lib.pegr_device_select_for(lst, count, lib.pegr_device_spec_effective(None), 0,
                                         ctypes.byref(chosen), None, 0, ctypes.byref(e2))
        lib.pegr_error_clear(ctypes.byref(e2))
        out = []
        for i in range(count.value):
            d = lst[i]
            out.append({
                "index": d.index,
                "spec": "%d:%d" % (d.platform_index, d.device_index),
                "selected": sel == 0 and chosen.value == i,
                "name": text(d.name), "vendor": text(d.vendor),
                "type": text(lib.pegr_device_type_name(d.type)),
                "version": text(d.version), "driver_version": text(d.driver_version),
                "opencl_c_version": text(d.opencl_c_version),
                "platform_name": text(d.platform_name),
                "platform_vendor": text(d.platform_vendor),
                "platform_version": text(d.platform_version),
                "compute_units": d.compute_units,
                "max_work_group_size": d.max_work_group_size,
                "local_mem_bytes": d.local_mem_size,
                "global_mem_bytes": d.global_mem_size,
                "memory": d.global_mem_size,
                "max_alloc_bytes": d.max_mem_alloc_size,
                "fp64": bool(d.fp64), "pocl": bool(d.is_pocl),
            })
        return out
    finally:
        lib.pegr_device_list_free(lst)


def _pick_device(spec, need_fp64=False):
    """(list pointer, count, position) of the device `spec` selects by the library's rules (None:
    $PEGR_DEVICE, else the default device); the caller frees the list."""
    lst = ctypes.POINTER(_lib.pegr_device_info)()
    count = ctypes.c_size_t()
    err = _lib.pegr_error()
    _raise_if(lib.pegr_device_list(ctypes.byref(lst), ctypes.byref(count), ctypes.byref(err)), err)
    chosen = ctypes.c_size_t()
    s = lib.pegr_device_select_for(lst, count, lib.pegr_device_spec_effective(spec),
                                   int(need_fp64), ctypes.byref(chosen), None, 0,
                                   ctypes.byref(err))
    if s != 0:
        lib.pegr_device_list_free(lst)
        _raise_if(s, err, device=spec and spec.decode())
    return lst, count.value, chosen.value


_CHECK_STATUS = {0: "pass", 1: "fail", 2: "skipped"}


def check(device=None, precision="both", verbose=False, callback=None):
    """``pegr check`` as a call: can pegr's numbers be trusted on this device? Runs the
    conformance battery (every kernel path, training steps, batched runs, the GEMMs and the
    binary cache against the exact host reference) on the device ``device`` selects (a spec as
    ``pegr devices`` lists them; None: $PEGR_DEVICE, else the default device; "all": every
    device). precision: "fp32", "fp64" or "both". callback: called with each record as it is
    made. A failing check is a record with status "fail", not an exception.

    Returns a dict as ``pegr check --json`` writes it: devices (index, name, platform,
    driver_version, fp64, passed, failed, skipped, seconds), records (device_index, device,
    check, precision, status "pass"/"fail"/"skipped", error (NaN when not measured),
    tolerance, detail, what, seconds), passed, failed, skipped; plus ok (no check failed).

    Example::

        >>> r = pegr.check(precision="fp32")                    # doctest: +SKIP
        >>> r["ok"], r["passed"], [x["check"] for x in r["records"] if x["status"] == "fail"]
        (True, 52, [])
    """
    _lib.need("pegr_check_run")
    if precision not in ("fp32", "fp64", "both"):
        raise ValueError("precision must be fp32, fp64 or both, not %r" % (precision,))
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable (it receives each record as a dict)")
    spec = _text_arg("device", device)
    eff = lib.pegr_device_spec_effective(spec)
    if eff == b"host":
        raise ValueError("device 'host': the host is the reference every check compares against, "
                         "not a device to check; name an OpenCL device (pegr.devices()) or 'all'")
    every = eff == b"all"
    lst, count, one = _pick_device(None if every else spec, precision == "fp64")
    result = {"devices": [], "records": [], "passed": 0, "failed": 0, "skipped": 0}
    state = {"error": None, "device": None}

    def on_record(user, rec):
        try:
            r = rec.contents
            d = state["device"]
            item = {"device_index": d.index, "device": text(d.name), "check": text(r.name),
                    "precision": "fp64" if r.precision == 1 else "fp32",
                    "status": _CHECK_STATUS.get(r.status, "fail"), "error": r.error,
                    "tolerance": r.tolerance, "detail": text(r.detail),
                    "what": text(r.what) or "", "seconds": r.seconds}
            result["records"].append(item)
            if callback is not None:
                callback(item)
        except BaseException as e:  # cannot cross C: kept and raised after the battery
            state["error"] = e
    try:
        opts = _lib.pegr_check_options()
        opts.fp32 = int(precision != "fp64")
        opts.fp64 = int(precision != "fp32")
        opts.on_record = _lib.CHECK_RECORD_FN(on_record)
        log = _log_callback(verbose)
        opts.log = log
        for i in (range(count) if every else [one]):
            d = lst[i]
            state["device"] = d
            summary = _lib.pegr_check_summary()
            err = _lib.pegr_error()
            _raise_if(lib.pegr_check_run(ctypes.byref(d), ctypes.byref(opts),
                                         ctypes.byref(summary), ctypes.byref(err)), err,
                      device=text(d.name))
            if state["error"] is not None:
                raise state["error"]
            result["devices"].append({
                "index": d.index, "name": text(d.name), "platform": text(d.platform_name),
                "driver_version": text(d.driver_version), "fp64": bool(d.fp64),
                "passed": summary.passed, "failed": summary.failed, "skipped": summary.skipped,
                "seconds": summary.seconds})
            for k in ("passed", "failed", "skipped"):
                result[k] += getattr(summary, k)
    finally:
        lib.pegr_device_list_free(lst)
    result["ok"] = result["failed"] == 0
    return result


# ---- data ------------------------------------------------------------------------------------

def _option_table():
    """The training options by keyword (the library's one table, pegr_train_options: the CLI's
    flags with _ for -): keyword -> (option name, pegr_option_type, is a data option)."""
    _lib.need("pegr_train_options", "pegr_train_config_set")
    tbl = ctypes.POINTER(_lib.pegr_train_option)()
    count = lib.pegr_train_options(ctypes.byref(tbl))
    return {text(tbl[i].name).replace("-", "_"): (text(tbl[i].name), tbl[i].type, bool(tbl[i].data))
            for i in range(count)}


_OPTIONS = _option_table()
_DATA_KEYS = [k for k, v in _OPTIONS.items() if v[2]]
_TRAIN_KEYS = [k for k in _OPTIONS if k != "method"]  # method is train()'s first argument


def _option_text(key, kind, v):
    """A keyword's value as the text `pegr train --NAME VALUE` would take, after the Python type
    check (TypeError); the library then parses it strictly and checks its range (ValueError)."""
    if kind in (_lib.OPTION_SIZE, _lib.OPTION_U64):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError("%s must be an integer, not %r" % (key, v))
        return str(int(v))
    if kind == _lib.OPTION_DOUBLE:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError("%s must be a number, not %r" % (key, v))
        return repr(float(v))  # the shortest text that reads back to the same double
    if kind == _lib.OPTION_FLAG:
        return str(_flag(key, v))
    if kind == _lib.OPTION_SIGMAS:
        if isinstance(v, str):
            return v
        if isinstance(v, numbers.Real):
            v = [v]
        vals = list(v)
        return ",".join(_option_text(key, _lib.OPTION_DOUBLE, x) for x in vals) if vals \
            else "none"
    if not isinstance(v, str):
        raise TypeError("%s must be a string, not %r" % (key, v))
    return v


def _set_options(c, opts):
    """Set keyword options on a pegr_train_config through pegr_train_config_set: the same
    parsing and ranges as the command line's flags, the library's message in the ValueError."""
    if opts.get("mu_norm") is not None and opts.get("snr") is not None:
        raise ValueError("give mu_norm or snr, not both")
    err = _lib.pegr_error()
    for key, value in opts.items():
        if value is None:
            continue
        if key not in _OPTIONS:
            raise TypeError("unknown option %r; the options are %s"
                            % (key, ", ".join(_TRAIN_KEYS)))
        name, kind, _ = _OPTIONS[key]
        t = _option_text(key, kind, value)
        _raise_if(lib.pegr_train_config_set(ctypes.byref(c), name.encode(), t.encode(),
                                            ctypes.byref(err)), err, exc=ValueError)


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


# ---- grad ------------------------------------------------------------------------------------

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


# ---- train -----------------------------------------------------------------------------------

# The presets of `pegr train --preset` (src/cli/train_args.c, pegr_cli_apply_preset): overrides
# of the library's defaults (pegr_train_config_default, which is "demo"). The test
# test_train.py::test_presets_match_cli checks them against `pegr train --preset P --help`.
PRESETS = {
    "demo": {},
    "large": {"n": 200, "d": 2000, "mu_norm": 2.0, "m": 20, "steps": 2000, "log_every": 20},
    "tiny": {"n": 20, "n_test": 200, "d": 200, "m": 4, "steps": 200},
}

# The columns of metrics.csv, in its order, and where each comes from in a record.
METRIC_COLUMNS = ["step", "wall_seconds", "train_loss", "objective", "train_error", "test_error",
                  "gamma_max_pos", "gamma_max_neg", "gamma_mean", "rho_mean", "norm2_mean",
                  "norm2_var", "grad_norm"]


def _record_values(rec):
    m = rec.metrics
    return [rec.step, rec.wall_seconds, m.loss, m.objective, m.train_error, m.test_error,
            m.gamma_max[0], m.gamma_max[1], m.gamma_mean, m.rho_mean, m.norm2_mean, m.norm2_var,
            m.grad_norm]


def _train_config(method, preset, options):
    """A validated pegr_train_config from the preset and keyword options."""
    unknown = sorted(set(options) - set(_TRAIN_KEYS))
    if unknown:
        raise TypeError("unknown option(s) %s; the options are %s"
                        % (", ".join(unknown), ", ".join(_TRAIN_KEYS)))
    if preset is None:
        preset = "demo"
    if preset not in PRESETS:
        raise ValueError("preset must be one of %s, not %r" % ("|".join(PRESETS), preset))
    c = _lib.pegr_train_config()
    lib.pegr_train_config_default(ctypes.byref(c))
    if options.get("mu_norm") is not None and options.get("snr") is not None:
        raise ValueError("give mu_norm or snr, not both")
    _set_options(c, PRESETS[preset])
    # a preset's mu_norm is not the user's: with snr given, snr wins as in the CLI
    _set_options(c, options)
    c.method = _method(method)
    err = _lib.pegr_error()
    _raise_if(lib.pegr_train_config_validate(ctypes.byref(c), ctypes.byref(err)), err,
              exc=ValueError)
    return c


def _config_dict(c):
    dc = c.data
    return {"method": text(lib.pegr_method_name(c.method)), "m": c.m, "q": c.q,
            "sigma0": c.sigma0, "lam": c.lam, "lr": c.lr, "steps": c.steps, "batch": c.batch,
            "log_every": c.log_every,
            "representation": text(lib.pegr_representation_name(c.representation)),
            "robust_sigmas": [c.robust_sigmas[i] for i in range(c.n_robust)],
            "n": dc.n, "n_test": dc.n_test, "d": dc.d, "patches": dc.P, "mu_norm": dc.mu_norm,
            "snr": dc.snr, "sigma_p": dc.sigma_p, "isotropic": bool(dc.isotropic),
            "label_noise": dc.label_flip, "flip_test": bool(dc.flip_test), "seed": dc.seed}


class Run:
    """One training run: what ``pegr train`` writes into its directory, as Python objects.

    - ``summary``: dict, summary.json's content: method, metrics_at_step, the final metrics
      (train_loss, objective, train_error, test_error, gamma_max [+, -], gamma_mean, rho_mean,
      norm2_mean, norm2_var, grad_norm; NaN for a diverged run), robust_test_error (list of
      {sigma, test_error}), steps_run, representation, diverged (and diverged_step),
      interrupted, wall_seconds, batch_runs; plus device and precision.
    - ``metrics``: dict of numpy columns, metrics.csv's (step, wall_seconds, train_loss, ...).
    - ``W``, ``W0``: final and initial weights (2, m, d); W is None when the run diverged.
    - ``config``: the options the run used.

    Example::

        >>> run = pegr.train("pegr", preset="tiny", steps=50, progress=False)
        >>> run.summary["test_error"], run.metrics["train_loss"][-1]   # doctest: +SKIP
        >>> run.to_pandas().plot(x="step", y="test_error")             # doctest: +SKIP
    """

    def __init__(self, config, summary, metrics, W, W0):
        self.dir = None  # the directory of its files (train/compare with out=)
        self.config = config
        self.summary = summary
        self.metrics = metrics
        self.W = W
        self.W0 = W0

    @property
    def method(self):
        return self.summary["method"]

    def to_pandas(self):
        """metrics as a pandas DataFrame (pandas is optional: ImportError naming it if absent).

        Example::

            >>> df = run.to_pandas(); df[["step", "test_error"]].tail(1)   # doctest: +SKIP
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Run.to_pandas needs pandas (pip install pandas); run.metrics is "
                              "the same table as a dict of numpy columns") from None
        return pd.DataFrame(self.metrics, columns=METRIC_COLUMNS)

    def __repr__(self):
        s = self.summary
        return "<pegr.Run %s: %d steps, test error %s%s%s>" % (
            s["method"], s["steps_run"], s.get("test_error"),
            ", diverged" if s["diverged"] else "", ", interrupted" if s["interrupted"] else "")


def _make_run(c, r, description, precision):
    n_rec = r.n_records
    rows = [_record_values(r.records[k]) for k in range(n_rec)]
    metrics = {}
    for j, name in enumerate(METRIC_COLUMNS):
        col = np.array([row[j] for row in rows], dtype=np.int64 if j == 0 else np.float64)
        metrics[name] = col
    shape = (2, c.m, c.data.d)
    W0 = _copy(r.W0, shape) if r.W0 else None
    W = _copy(r.W, shape) if r.W else None
    w_finite = bool(not r.diverged and W is not None and np.isfinite(W).all())
    summary = {"method": text(lib.pegr_method_name(c.method))}
    if n_rec:
        last = dict(zip(METRIC_COLUMNS, rows[-1]))
        summary["metrics_at_step"] = int(last["step"])
        for k in METRIC_COLUMNS[2:6]:
            summary[k] = float("nan") if r.diverged else last[k]
        summary["gamma_max"] = [float("nan")] * 2 if r.diverged else \
            [last["gamma_max_pos"], last["gamma_max_neg"]]
        for k in METRIC_COLUMNS[8:]:
            summary[k] = float("nan") if r.diverged else last[k]
    summary["robust_test_error"] = [{"sigma": c.robust_sigmas[i], "test_error": r.robust_error[i]}
                                    for i in range(c.n_robust)]
    summary["steps_run"] = r.steps_run
    summary["representation"] = "span" if r.span else "primal"
    summary["diverged"] = bool(r.diverged)
    if r.diverged:
        summary["diverged_step"] = max(r.diverged_step, 0)
    summary["interrupted"] = bool(r.interrupted)
    summary["weights_written"] = w_finite
    summary["wall_seconds"] = r.wall_seconds
    summary["batch_runs"] = r.batch_runs or 1
    summary["device"] = description
    summary["precision"] = precision
    return Run(_config_dict(c), summary, metrics, W if w_finite else None, W0)


class _Interrupt:
    """While training: Ctrl-C (SIGINT) sets the C cancel flag, so the run stops before its next
    step and returns what ran, instead of a KeyboardInterrupt that would lose it. Only the main
    thread can take signals; elsewhere the handler is left as it is."""

    def __init__(self):
        self.flag = _lib.c_sig_atomic(0)
        self.previous = None

    def _handler(self, signum, frame):
        self.flag.value = 1

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    @property
    def requested(self):
        return bool(self.flag.value)


def _callbacks(progress, callback, interrupt, state):
    """The C callbacks: each record to the progress line and the user's callback; before each
    step a call into Python, which is where a pending SIGINT's handler runs (Python runs signal
    handlers between bytecodes, never inside C), so Ctrl-C is seen at the next step."""

    def on_record(user, cfg, rec):
        try:
            r = rec.contents
            values = dict(zip(METRIC_COLUMNS, _record_values(r)))
            method = state["method"]
            if progress:
                steps = cfg.contents.steps
                rate = r.step / r.wall_seconds if r.wall_seconds > 0 else 0.0
                eta = (steps - r.step) / rate if rate > 0 else 0.0
                sys.stderr.write("\r%-5s step %d/%d  loss %.4g  test err %.3f  %.0f steps/s  "
                                 "ETA %.0fs   " % (method, r.step, steps, values["train_loss"],
                                                   values["test_error"], rate, eta))
                sys.stderr.flush()
            if state.get("files") is not None:
                state["files"].live()
            if callback is not None:
                values["method"] = method
                callback(values)
        except BaseException as e:  # an exception cannot cross C: keep it, stop the run, re-raise
            state["error"] = e
            interrupt.flag.value = 1

    def should_stop(user):
        return interrupt.flag.value

    cb = _lib.pegr_train_callbacks()
    cb.on_record = _lib.ON_RECORD_FN(on_record)
    cb.should_stop = _lib.SHOULD_STOP_FN(should_stop)
    cb.cancel = ctypes.pointer(interrupt.flag)
    return cb, (cb.on_record, cb.should_stop)


def _out_dir(out):
    if out is None:
        return None
    if not isinstance(out, (str, bytes, os.PathLike)):
        raise TypeError("out must be a directory path or None, not %r" % (out,))
    out = os.fsencode(out)
    if not out:
        raise ValueError("out must name a directory, not ''")
    return out


class _RunFiles:
    """The files `pegr train` writes for one run into `dir` (pegr/run_files.h): config.json
    before, metrics.jsonl/.csv at most once a second while it runs (so a killed run leaves valid
    files), then summary.json, W.npy, W0.npy."""

    def __init__(self, dir, backend):
        self.dir = dir
        dev = lib.pegr_backend_device(backend.handle)
        self.info = _lib.pegr_run_info(
            lib.pegr_backend_description(backend.handle), dev,
            lib.pegr_backend_precision_name(backend.handle),
            lib.pegr_backend_gemm_name(backend.handle) if dev else None)
        self.last_write = 0.0
        self.result = None

    def before(self, c, r):
        err = _lib.pegr_error()
        _raise_if(lib.pegr_mkdir_p(self.dir, ctypes.byref(err)), err)
        _raise_if(lib.pegr_train_write_config(self.dir, ctypes.byref(c),
                                                  ctypes.byref(self.info), ctypes.byref(err)), err)
        self.result = r
        self.last_write = 0.0

    def live(self):
        now = time.monotonic()
        if self.result is None or now - self.last_write < 1.0:
            return
        self.last_write = now
        lib.pegr_train_write_metrics(self.dir, ctypes.byref(self.result), None)

    def after(self, c, r, d):
        err = _lib.pegr_error()
        self.result = None
        _raise_if(lib.pegr_train_write_results(self.dir, ctypes.byref(c), ctypes.byref(r), d,
                                                   ctypes.byref(err)), err)


def _train_many(methods, device, precision, progress, callback, preset, verbose, options,
                out=None, compare=False):
    """Train each method from the same data and initial weights on one backend (as
    `pegr train --compare`): dict method -> Run, in order; an interruption stops it there.
    out: also write each run's files as the command does (out, or out/METHOD with compare)."""
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable (it receives each record as a dict)")
    progress = _flag("progress", progress)
    out = _out_dir(out)
    configs = []
    for mth in methods:
        configs.append(_train_config(mth, preset, options))
    rep = text(lib.pegr_representation_name(configs[0].representation))
    _check_request(device, precision, rep)
    runs = {}
    state = {"error": None, "method": None}
    with _Dataset(configs[0].data) as g, _Backend(device, precision, verbose) as b, \
            _Interrupt() as intr:
        files = None
        if out is not None:
            # nothing of an older run may survive beside this one's files (as the command)
            err = _lib.pegr_error()
            _raise_if(lib.pegr_train_clear_outputs(out, ctypes.byref(err)), err)
            files = _RunFiles(out, b)
        state["files"] = files
        cb, keep = _callbacks(progress, callback, intr, state)
        for mth, c in zip(methods, configs):
            if intr.requested:
                break
            state["method"] = mth
            r = _lib.pegr_train_result()
            err = _lib.pegr_error()
            try:
                if files is not None:
                    files.dir = os.path.join(out, mth.encode()) if compare else out
                    files.before(c, r)
                s = lib.pegr_train_run(b.handle, ctypes.byref(g.ds), ctypes.byref(c),
                                       ctypes.byref(cb), ctypes.byref(r), ctypes.byref(err))
                if progress:
                    sys.stderr.write("\r%80s\r" % "")
                _raise_if(s, err, b.description)
                if files is not None:
                    files.after(c, r, g.ds.d)
                runs[mth] = _make_run(c, r, b.description, b.precision)
                if files is not None:
                    runs[mth].dir = os.fsdecode(files.dir)
            finally:
                lib.pegr_train_result_free(ctypes.byref(r))
            if state["error"] is not None:
                raise state["error"]
        del keep
    if intr.requested:
        sys.stderr.write("pegr: interrupted; returning what ran\n")
    return runs


def train(method="pegr", device=None, progress=True, callback=None, preset=None,
          precision=None, verbose=False, out=None, **options):
    """Train the two-layer CNN on the signal-noise model, as ``pegr train`` does.

    method: "gd", "sgd", "gr" or "pegr". device: "host", a device spec, or None ($PEGR_DEVICE,
    else the default device). precision: "fp32"/"fp64" on a device (None: fp32; the host is
    fp64 and refuses an explicit "fp32"). preset: "demo" (the default), "large" or "tiny", as
    ``--preset``; keyword options override it. progress: a progress line on stderr.
    callback: called with each logged record as a dict (step, wall_seconds, train_loss, ...,
    method) -- e.g. ``callback=lambda r: wandb.log(r)``. verbose: the library's messages on
    stderr (``--verbose``). out: also write the run's files into this directory as
    ``pegr train --out`` does (config.json, metrics.jsonl/.csv, summary.json, W.npy, W0.npy;
    ``run.dir`` names it); None (the default) writes nothing.

    Options (``pegr train``'s flags with _ for -, same defaults): m, q, sigma0, lam, lr, steps,
    batch, log_every, representation ("auto", "primal", "span"), robust_sigmas (a list, a comma
    string, or "none"), n, n_test, d, patches, mu_norm, snr, sigma_p, isotropic, label_noise,
    flip_test, seed.

    Ctrl-C (KeyboardInterrupt) stops the run before its next step and returns what ran
    (``run.summary["interrupted"]`` is True). An exception raised by the callback stops the run
    and is re-raised.

    Returns a Run (``.summary``, ``.metrics``, ``.W``, ``.W0``, ``.to_pandas()``).

    Example::

        >>> run = pegr.train("pegr", preset="tiny", device="host", progress=False)
        >>> run.summary["test_error"]            # doctest: +SKIP
        0.0
    """
    if not isinstance(method, str):
        raise TypeError("method must be a string (gd, sgd, gr or pegr), not %r" % (method,))
    runs = _train_many([method], device, precision, progress, callback, preset, verbose, options,
                       out=out)
    if method not in runs:  # interrupted before it started: cannot happen with one method
        raise KeyboardInterrupt
    return runs[method]


def compare(methods=("gd", "pegr"), device=None, progress=True, callback=None, preset=None,
            precision=None, verbose=False, out=None, **options):
    """Train each method from the same data and initial weights, as
    ``pegr train --compare gd,pegr``: a dict method -> Run (in the order given). Options as
    for ``train``; with out=DIR each run's files go to DIR/METHOD as with the command. Ctrl-C stops the current run and skips the rest: the dict holds what ran.

    Example::

        >>> runs = pegr.compare(["gd", "pegr"], preset="tiny", progress=False)
        >>> {m: r.summary["test_error"] for m, r in runs.items()}   # doctest: +SKIP
        {'gd': 0.045, 'pegr': 0.03}
    """
    if isinstance(methods, str):
        methods = methods.split(",")
    methods = list(methods)
    if not methods or len(methods) > 8 or len(set(methods)) != len(methods):
        raise ValueError("methods must be 1 to 8 distinct names of gd, sgd, gr, pegr, not %r"
                         % (methods,))
    for mth in methods:
        if not isinstance(mth, str):
            raise TypeError("each method must be a string, not %r" % (mth,))
        _method(mth, "methods")
    return _train_many(methods, device, precision, progress, callback, preset, verbose, options,
                       out=out, compare=True)


# ---- sweep -----------------------------------------------------------------------------------

def _num_text(v):
    """A value as the command line would spell it: integers in digits, floats in the shortest
    text that reads back to the same double."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        raise TypeError("a sweep value must be a number or a string, not %r" % (v,))
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        if not math.isfinite(v):
            raise ValueError("a sweep value must be finite, not %r" % (v,))
        return repr(float(v))
    raise TypeError("a sweep value must be a number or a string, not %r" % (v,))


def _read_results(path):
    """results.csv as a dict of columns: numbers as float64 arrays (an empty cell: NaN), the
    others as lists of strings."""
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        vals = [r[j] if j < len(r) else "" for r in body]
        try:
            cols[name] = np.array([float(v) if v != "" else np.nan for v in vals])
        except ValueError:
            cols[name] = vals
    return cols


class Sweep:
    """A sweep's outcome: ``results`` (results.csv as a dict of columns; ``to_pandas()`` for a
    DataFrame), ``summary`` (runs, done before this call, landed by it, failed, interrupted,
    and of results.csv: found, missing, duplicated, bad), ``dir`` (the sweep's directory).

    Example::

        >>> sw = pegr.sweep(grid={"lam": [0.001, 0.01]}, preset="tiny", out="sw")  # doctest: +SKIP
        >>> sw.to_pandas().groupby("method")["test_error"].mean()               # doctest: +SKIP
    """

    def __init__(self, dir, summary, results):
        self.dir = dir
        self.summary = summary
        self.results = results

    def to_pandas(self):
        """results.csv as a pandas DataFrame (pandas is optional).

        Example::

            >>> df = sw.to_pandas(); df.pivot_table("test_error", "lam", "method")  # doctest: +SKIP
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Sweep.to_pandas needs pandas (pip install pandas); sweep.results is "
                              "the same table as a dict of columns") from None
        return pd.read_csv(os.path.join(self.dir, "results.csv"))

    def __repr__(self):
        s = self.summary
        return "<pegr.Sweep %s: %d runs, %d landed now, %d before, %d failed%s>" % (
            self.dir, s["runs"], s["landed"], s["done"], s["failed"],
            ", interrupted" if s["interrupted"] else "")


def sweep(grid=None, methods=("gd", "pegr"), seeds=(0,), out=None, device=None, precision=None,
          batch_runs=None, extend=False, preset=None, progress=True, callback=None,
          verbose=False, **options):
    """Train every run of a grid of configurations x methods x seeds into ``out`` and collect
    results.csv, as ``pegr sweep --devices SPEC`` does on one device: the same run ids,
    directories and results.csv (every column but the clock), and resumable -- call it again
    with the same arguments and only the runs not landed yet are trained. ``pegr collect out``
    reads the directory too (sweep.args holds the equivalent command-line flags).

    grid: {option: values}, each option a ``pegr train`` option (``_`` or ``-``) other than
    method and seed; values a list (numbers or strings) or the text "FROM:TO:STEP" or
    "V1,V2". methods: names (default gd, pegr); seeds: integers (e.g. range(3)) or the text
    "0-4". out: the sweep's directory (required). device, precision, preset, verbose and the
    base options (**options) as for ``train``; precision None is fp32 as in the CLI (the host
    computes in fp64 whatever is asked). batch_runs: runs trained together (default 16).
    extend: allow ``out`` to hold another sweep (runs of the same id are reused). progress:
    one line per landed run on stderr; callback: called with each landed run's
    {run, id, method, seed, test_error, steps_run, diverged}. Ctrl-C stops at the next step;
    the runs that landed stay (the rest trains at the next call). The device is not checked
    first as ``pegr sweep`` does: call ``pegr.check(device)`` for that.

    Returns a Sweep (``.results``, ``.to_pandas()``, ``.summary``, ``.dir``).

    Example::

        >>> sw = pegr.sweep(grid={"lam": [0.001, 0.01], "snr": "0.5:1:0.5"},
        ...                 methods=["gd", "pegr"], seeds=range(2), out="sweep-out",
        ...                 preset="tiny", device="host")                      # doctest: +SKIP
        >>> sw.summary["landed"], sw.results["test_error"][:2]                 # doctest: +SKIP
    """
    _lib.need("pegr_sweep_create", "pegr_sweep_run_all")
    if out is None:
        raise ValueError("out (the sweep's directory) is required")
    outb = _out_dir(out)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable (it receives each landed run as a dict)")
    progress = _flag("progress", progress)
    extend = _flag("extend", extend)
    if grid is None:
        grid = {}
    if not isinstance(grid, dict):
        raise TypeError("grid must be a dict {option: values}, not %r" % (grid,))
    if isinstance(methods, str):
        methods = methods.split(",")
    methods = list(methods)
    method_ids = [_method(m, "methods") for m in methods]
    base = _train_config(methods[0] if methods else "pegr", preset, options)
    sweep_prec = _parse_enum(lib.pegr_precision_parse, precision or "fp32",
                             "precision")
    reps = [text(lib.pegr_representation_name(base.representation))]
    # the command line that defines the same sweep, for sweep.args (pegr collect re-reads it)
    args = []
    if preset is not None:
        args += ["--preset", preset]
    for k, v in options.items():
        if v is None:
            continue
        name, kind, _ = _OPTIONS[k]
        if kind == _lib.OPTION_FLAG:
            if _flag(k, v):
                args.append("--" + name)
        else:
            args += ["--" + name, _option_text(k, kind, v)]
    if precision is not None:
        args += ["--precision", precision]
    handle = ctypes.c_void_p()
    err = _lib.pegr_error()
    _raise_if(lib.pegr_sweep_create(ctypes.byref(base), sweep_prec, ctypes.byref(handle),
                                    ctypes.byref(err)), err, exc=ValueError)
    try:
        for name, values in grid.items():
            if not isinstance(name, str):
                raise TypeError("grid keys must be option names, not %r" % (name,))
            cname = name.replace("_", "-")
            if isinstance(values, str):
                axis = "%s=%s" % (cname, values)
                _raise_if(lib.pegr_sweep_add_axis(handle, axis.encode(), ctypes.byref(err)), err,
                          exc=ValueError)
            else:
                texts = [_num_text(v) for v in values]
                axis = "%s=%s" % (cname, ",".join(texts))
                arr = (ctypes.c_char_p * max(len(texts), 1))(*[t.encode() for t in texts])
                _raise_if(lib.pegr_sweep_add_axis_values(handle, cname.encode(), arr, len(texts),
                                                         ctypes.byref(err)), err, exc=ValueError)
            args += ["--grid", axis]
            if cname == "representation":
                reps += texts if not isinstance(values, str) else values.split(",")
        m_arr = (_lib.c_enum * max(len(method_ids), 1))(*method_ids)
        _raise_if(lib.pegr_sweep_set_methods(handle, m_arr, len(method_ids), ctypes.byref(err)),
                  err, exc=ValueError)
        args += ["--methods", ",".join(methods)]
        if isinstance(seeds, str):
            _raise_if(lib.pegr_sweep_parse_seeds(handle, seeds.encode(), ctypes.byref(err)), err,
                      exc=ValueError)
            args += ["--seeds", seeds]
        else:
            seeds = list(seeds)
            for x in seeds:
                if isinstance(x, bool) or not isinstance(x, numbers.Integral) or \
                        not 0 <= x < 2**64:
                    raise ValueError("seeds must be integers in [0, 2^64), not %r" % (x,))
            s_arr = (ctypes.c_uint64 * max(len(seeds), 1))(*seeds)
            _raise_if(lib.pegr_sweep_set_seeds(handle, s_arr, len(seeds), ctypes.byref(err)),
                      err, exc=ValueError)
            args += ["--seeds", ",".join(str(int(x)) for x in seeds)]
        _raise_if(lib.pegr_sweep_check(handle, ctypes.byref(err)), err, exc=ValueError)
        for rep in reps:
            _check_request(device, precision, rep)
        opts = _lib.pegr_sweep_options()
        opts.batch_runs = 0 if batch_runs is None else _size("batch_runs", batch_runs, 1)
        opts.extend = extend
        c_args = (ctypes.c_char_p * max(len(args), 1))(*[a.encode() for a in args])
        opts.args = ctypes.cast(c_args, ctypes.POINTER(ctypes.c_char_p))
        opts.nargs = len(args)
        state = {"error": None}
        total = lib.pegr_sweep_run_count(handle)
        with _Backend(device, precision, verbose) as b, _Interrupt() as intr:
            def on_landed(user, landed):
                try:
                    L = landed.contents
                    r = L.result.contents
                    c = L.config.contents
                    last = r.records[r.n_records - 1].metrics if r.n_records else None
                    item = {"run": L.run, "id": text(L.id),
                            "method": text(lib.pegr_method_name(c.method)), "seed": c.data.seed,
                            "test_error": (float("nan") if r.diverged or last is None
                                           else last.test_error),
                            "steps_run": r.steps_run, "diverged": bool(r.diverged)}
                    if progress:
                        sys.stderr.write("pegr sweep: %d/%d %s test error %.3f\n"
                                         % (L.run + 1, total, item["id"], item["test_error"]))
                    if callback is not None:
                        callback(item)
                except BaseException as e:  # cannot cross C: stop, re-raise after
                    state["error"] = e
                    intr.flag.value = 1

            def on_message(user, message):
                sys.stderr.write("pegr sweep: %s\n" % text(message))

            def should_stop(user):
                return intr.flag.value

            cb = _lib.pegr_sweep_callbacks()
            cb.on_landed = _lib.SWEEP_LANDED_FN(on_landed)
            cb.on_message = _lib.SWEEP_MESSAGE_FN(on_message)
            cb.should_stop = _lib.SHOULD_STOP_FN(should_stop)
            cb.cancel = ctypes.pointer(intr.flag)
            summ = _lib.pegr_sweep_summary()
            try:
                _raise_if(lib.pegr_sweep_run_all(handle, b.handle, outb, ctypes.byref(opts),
                                                 ctypes.byref(cb), ctypes.byref(summ),
                                                 ctypes.byref(err)), err, b.description)
                t = summ.tally
                summary = {"runs": summ.runs, "done": summ.done, "landed": summ.landed,
                           "failed": summ.failed, "interrupted": bool(summ.interrupted),
                           "found": t.found, "missing": t.missing, "duplicated": t.duplicated,
                           "bad": t.bad,
                           "missing_ids": [text(t.missing_ids[i])
                                           for i in range(min(t.missing,
                                                              _lib.PEGR_SWEEP_TALLY_IDS))
                                           if t.missing_ids[i]]}
            finally:
                lib.pegr_sweep_tally_free(ctypes.byref(summ.tally))
        if state["error"] is not None:
            raise state["error"]
    finally:
        lib.pegr_sweep_free(handle)
    d = os.fsdecode(outb)
    path = os.path.join(d, "results.csv")
    return Sweep(d, summary, _read_results(path) if os.path.exists(path) else {})
