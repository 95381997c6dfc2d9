# _sweep.py: pegr.sweep() -- a grid of runs into a directory as `pegr sweep`, and the Sweep it returns.
"""sweep(): the grid, its runs on one or several devices, results.csv; Sweep: the outcome."""
import ctypes
import math
import numbers
import os
import sys

import numpy as np

from . import _lib
from ._backend import _Backend
from ._errors import _check_request, _flag, _method, _parse_enum, _raise_if, _size
from ._lib import lib, text
from ._options import _OPTIONS, _option_text, _train_config
from ._train import _Interrupt, _out_dir


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
