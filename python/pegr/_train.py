# _train.py: pegr.train() and pegr.compare() -- training runs as `pegr train`, and the Run they return.
"""train/compare on one backend from the same data, the run's files as ``pegr train --out`` writes
them, Ctrl-C through the library's cancel flag, and Run (summary, metrics, W, W0)."""
import ctypes
import os
import signal
import sys
import threading
import time

import numpy as np

from . import _lib
from ._backend import _Backend
from ._data import _copy, _Dataset
from ._errors import _check_request, _flag, _method, _raise_if
from ._lib import lib, text
from ._options import _DATA_KEYS, _config_dict, _read_config, _train_config


# The columns of metrics.csv, in its order, and where each comes from in a record.
METRIC_COLUMNS = ["step", "wall_seconds", "train_loss", "objective", "train_error", "test_error",
                  "gamma_max_pos", "gamma_max_neg", "gamma_mean", "rho_mean", "norm2_mean",
                  "norm2_var", "grad_norm"]


def _record_values(rec):
    m = rec.metrics
    return [rec.step, rec.wall_seconds, m.loss, m.objective, m.train_error, m.test_error,
            m.gamma_max[0], m.gamma_max[1], m.gamma_mean, m.rho_mean, m.norm2_mean, m.norm2_var,
            m.grad_norm]


class Run:
    """One training run: what ``pegr train`` writes into its directory, as Python objects.

    - ``summary``: dict, summary.json's content: method, metrics_at_step, the final metrics
      (train_loss, objective, train_error, test_error, gamma_max [+, -], gamma_mean, rho_mean,
      norm2_mean, norm2_var, grad_norm; NaN for a diverged run), robust_test_error (list of
      {sigma, test_error}), steps_run, representation, diverged (and diverged_step),
      interrupted, wall_seconds, batch_runs; plus device and precision.
    - ``metrics``: dict of numpy columns, metrics.csv's (step, wall_seconds, train_loss, ...).
    - ``W``, ``W0``: final and initial weights (2, m, d); W is None when the run diverged.
    - ``b``, ``b0``: with ``bias=True``, the final and initial per-filter biases (2, m), beside
      W (b is None when the run diverged); None without a bias.
    - ``v``: with ``learn_readout=True``, the final second layer (2, m) (it starts at 1); None
      without one or when the run diverged.
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
        self.b = None  # with bias=True: (2, m) final and initial biases (_make_run sets them)
        self.b0 = None
        self.v = None  # with learn_readout=True: the final second layer (2, m), from 1

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
    run = Run(_config_dict(c), summary, metrics, W if w_finite else None, W0)
    if r.b0:  # a bias: b beside W, as b.npy beside W.npy
        run.b0 = _copy(r.b0, (2, c.m))
        run.b = _copy(r.b, (2, c.m)) if w_finite and r.b else None
    # a learned second layer (learn_readout=True): v (2, m) beside W, as v.npy beside W.npy
    run.v = _copy(r.v, (2, c.m)) if w_finite and r.v else None
    return run


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


_OWN_DATA = ("X", "y", "X_test", "y_test", "mu")


def _own_data(options):
    """X=, y=, X_test=, y_test=, mu= out of options: the arrays, or None (generated data). With
    them, a data-model option but seed (which still draws the initial weights) is refused."""
    own = tuple(options.pop(k, None) for k in _OWN_DATA)
    if all(a is None for a in own):
        return None
    given = [k for k in _DATA_KEYS if k != "seed" and options.get(k) is not None]
    if given:
        raise ValueError("%s set(s) the generated data, which X= replaces: give one or the other"
                         % ", ".join(given))
    return own


def _train_many(methods, device, precision, progress, callback, preset, verbose, options,
                out=None, compare=False, config=None):
    """Train each method from the same data and initial weights on one backend (as
    `pegr train --compare`): dict method -> Run, in order; an interruption stops it there.
    out: also write each run's files as the command does (out, or out/METHOD with compare)."""
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable (it receives each record as a dict)")
    progress = _flag("progress", progress)
    out = _out_dir(out)
    options = dict(options)
    own = _own_data(options)
    configs = []
    for mth in methods:
        configs.append(_train_config(mth, preset, options, config))
    rep = text(lib.pegr_representation_name(configs[0].representation))
    _check_request(device, precision, rep)
    runs = {}
    state = {"error": None, "method": None}
    with _Dataset(configs[0].data, own) as g, _Backend(device, precision, verbose) as b, \
            _Interrupt() as intr:
        for c in configs[1:]:
            c.data = configs[0].data  # own data: its shapes, set by _Dataset
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


def train(method=None, device=None, progress=True, callback=None, preset=None,
          precision=None, verbose=False, out=None, config=None, **options):
    """Train the two-layer CNN on the signal-noise model, as ``pegr train`` does.

    method: "gd", "sgd", "gr" or "pegr" (None: "pegr", or the config's). device: "host", a device spec, or None ($PEGR_DEVICE,
    else the default device). precision: "fp32"/"fp64" on a device (None: fp32; the host is
    fp64 and refuses an explicit "fp32"). preset: "demo" (the default), "large" or "tiny", as
    ``--preset``; keyword options override it. progress: a progress line on stderr.
    callback: called with each logged record as a dict (step, wall_seconds, train_loss, ...,
    method) -- e.g. ``callback=lambda r: wandb.log(r)``. verbose: the library's messages on
    stderr (``--verbose``). out: also write the run's files into this directory as
    ``pegr train --out`` does (config.json, metrics.jsonl/.csv, summary.json, W.npy, W0.npy;
    ``run.dir`` names it); None (the default) writes nothing. config: a run's config.json
    (``"DIR/config.json"``) to repeat, in place of a preset, as ``pegr train --config``: every
    option from the file, keyword options and method override it.

    Options (``pegr train``'s flags with _ for -, same defaults): m, q, sigma0, lam, lr, steps,
    batch, log_every, representation ("auto", "primal", "span"), robust_sigmas (a list, a comma
    string, or "none"), n, n_test, d, patches, mu_norm, snr, sigma_p, isotropic, label_noise,
    flip_test, seed.

    Your own data (numpy arrays, as ``pegr train --X ...``): X (n, patches, d) and y (n,) of
    +-1, optionally X_test, y_test and mu (d,), in place of generated data (the data-model
    options but seed are then refused). Without mu, gamma and rho are NaN (absent).

    Ctrl-C (KeyboardInterrupt) stops the run before its next step and returns what ran
    (``run.summary["interrupted"]`` is True). An exception raised by the callback stops the run
    and is re-raised.

    Returns a Run (``.summary``, ``.metrics``, ``.W``, ``.W0``, ``.to_pandas()``).

    Example::

        >>> run = pegr.train("pegr", preset="tiny", device="host", progress=False)
        >>> run.summary["test_error"]            # doctest: +SKIP
        0.0
    """
    if method is None:
        method = "pegr" if config is None else \
            text(lib.pegr_method_name(_read_config(config).method))
    if not isinstance(method, str):
        raise TypeError("method must be a string (gd, sgd, gr, pegr or sam), not %r" % (method,))
    runs = _train_many([method], device, precision, progress, callback, preset, verbose, options,
                       out=out, config=config)
    if method not in runs:  # interrupted before it started: cannot happen with one method
        raise KeyboardInterrupt
    return runs[method]


def compare(methods=("gd", "pegr"), device=None, progress=True, callback=None, preset=None,
            precision=None, verbose=False, out=None, config=None, **options):
    """Train each method from the same data and initial weights, as
    ``pegr train --compare gd,pegr``: a dict method -> Run (in the order given). Options as
    for ``train`` (config: one run's config.json, whose method the list replaces); with out=DIR
    each run's files go to DIR/METHOD as with the command. Ctrl-C stops the current run and skips the rest: the dict holds what ran.

    Example::

        >>> runs = pegr.compare(["gd", "pegr"], preset="tiny", progress=False)
        >>> {m: r.summary["test_error"] for m, r in runs.items()}   # doctest: +SKIP
        {'gd': 0.045, 'pegr': 0.03}
    """
    if isinstance(methods, str):
        methods = methods.split(",")
    methods = list(methods)
    if not methods or len(methods) > 8 or len(set(methods)) != len(methods):
        raise ValueError("methods must be 1 to 8 distinct names of gd, sgd, gr, pegr, sam, not %r"
                         % (methods,))
    for mth in methods:
        if not isinstance(mth, str):
            raise TypeError("each method must be a string, not %r" % (mth,))
        _method(mth, "methods")
    return _train_many(methods, device, precision, progress, callback, preset, verbose, options,
                       out=out, compare=True, config=config)
