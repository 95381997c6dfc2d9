# _sweep.py: pegr.sweep() -- a grid of runs into a directory as `pegr sweep`, and the Sweep it returns.
"""sweep(): the grid, its runs on one or several devices, results.csv; Sweep: the outcome."""
import ctypes
import math
import numbers
import os
import queue
import sys
import threading

import numpy as np

from . import _lib
from ._backend import _Backend, _log_callback
from ._errors import Error, _check_request, _flag, _method, _parse_enum, _raise_if, _size, _text_arg
from ._lib import lib, text
from ._data import _Dataset
from ._options import _OPTIONS, _option_text, _train_config
from ._train import _OWN_DATA, _Interrupt, _out_dir, _own_data


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
          verbose=False, devices=None, check=True, **options):
    """Train every run of a grid of configurations x methods x seeds into ``out`` and collect
    results.csv, as ``pegr sweep --devices SPEC[,SPEC...]`` does: the same run ids, directories
    and results.csv (every column but the clock), and resumable -- call it again with the same
    arguments and only the runs not landed yet are trained. ``pegr collect out`` reads the
    directory too (sweep.args holds the equivalent command-line flags).

    grid: {option: values}, each option a ``pegr train`` option (``_`` or ``-``) other than
    method and seed; values a list (numbers or strings) or the text "FROM:TO:STEP" or
    "V1,V2". methods: names (default gd, pegr); seeds: integers (e.g. range(3)) or the text
    "0-4". out: the sweep's directory (required). device, precision, preset, verbose and the
    base options (**options) as for ``train``, your own arrays (X=, y=, X_test=, y_test=, mu=)
    too; precision None is fp32 as in the CLI (the host
    computes in fp64 whatever is asked). batch_runs: runs trained together (default 16).
    extend: allow ``out`` to hold another sweep (runs of the same id are reused). progress:
    one line per landed run on stderr; callback: called with each landed run's
    {run, id, method, seed, test_error, steps_run, diverged}, always in the calling thread.
    Ctrl-C stops every worker at its next step; the runs that landed stay (the rest trains at
    the next call).

    devices: several device specs (a list, or the text "A,B"; "host" is one), one worker each,
    instead of ``device`` (give one or the other). The workers share one plan of the runs still
    to do (pegr_sweep_plan_create) and take its batches in turn until none is left, as the
    command's workers do; the runs land atomically and results.csv is collected once at the
    end, so it is the one-device sweep's whatever device trained which run (each run's
    ``device`` column names its own). Why threads, not processes: libpegr's calls release the
    GIL (ctypes drops it around every foreign call), each worker opens its own backend, and the
    library shares nothing between backends (a checked sweep and a plan are read-only, see
    pegr/sweep.h) -- while a forked worker cannot use an OpenCL runtime its parent already
    started (a notebook has usually called pegr.devices() or trained before), and a spawned one
    would have to rebuild the sweep and reload the library. A worker's device that cannot be
    opened stops the sweep before anything trains.

    check: before a run lands on an OpenCL device, the device passes ``pegr check`` in the
    sweep's precision (pegr_check_device, once per device), as ``pegr sweep --devices`` does;
    a pass is cached in the kernel binary cache's directory, shared with the command, so it
    runs once per device, driver and pegr version; a failed check raises pegr.Error (name
    "PEGR_CHECK_FAIL") naming the failed checks, and nothing trains. Nothing is checked when
    nothing is left to train, for the host (the reference itself), with check=False, or with
    $PEGR_SWEEP_NO_CHECK=1 (as for the command).

    Your own data (X=, y=, ...): every run trains on those arrays (a hash of them is part of
    the sweep's identity and of every run id, as with ``pegr sweep --X``), and they are written
    to ``out``/data/NAME.npy, which sweep.args names: the directory holds what ``pegr collect``
    and ``pegr sweep`` need to resume it.

    Returns a Sweep (``.results``, ``.to_pandas()``, ``.summary``, ``.dir``).

    Example::

        >>> sw = pegr.sweep(grid={"lam": [0.001, 0.01], "snr": "0.5:1:0.5"},
        ...                 methods=["gd", "pegr"], seeds=range(2), out="sweep-out",
        ...                 preset="tiny", devices=["host", "0:0"])            # doctest: +SKIP
        >>> sw.summary["landed"], sw.results["test_error"][:2]                 # doctest: +SKIP
    """
    _lib.need("pegr_sweep_create", "pegr_sweep_plan_create", "pegr_sweep_plan_run_batch",
              "pegr_check_device")
    if out is None:
        raise ValueError("out (the sweep's directory) is required")
    specs = _worker_specs(device, devices)
    check = _flag("check", check)
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
    options = dict(options)
    own = _own_data(options)
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
    with _Dataset(base.data, own) if own is not None else _NoData() as ds:
        return _sweep_on(base, ds, own, sweep_prec, grid, reps, methods, method_ids, seeds, args,
                         specs, precision, extend, batch_runs, check, verbose, progress, callback,
                         outb)


class _NoData:
    """The generated-data stand-in for _Dataset in a with statement."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _write_own_data(outb, own):
    """Your arrays as out/data/NAME.npy (float64, each written to a temporary name, then renamed)
    and the flags that name them, for sweep.args: what `pegr collect` and `pegr sweep` re-read."""
    d = os.path.join(os.fsdecode(outb), "data")
    os.makedirs(d, exist_ok=True)
    flags = []
    for name, a in zip(_OWN_DATA, own):
        if a is None:
            continue
        path = os.path.abspath(os.path.join(d, name + ".npy"))
        tmp = path + ".tmp-%d" % os.getpid()
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(a, dtype=np.float64), allow_pickle=False)
        os.replace(tmp, path)
        flags += ["--" + name.replace("_", "-"), path]
    return flags


def _sweep_on(base, ds, own, sweep_prec, grid, reps, methods, method_ids, seeds, args, specs,
              precision, extend, batch_runs, check, verbose, progress, callback, outb):
    """sweep() once the data are known: ds a _Dataset of your arrays own, or None (generated)."""
    handle = ctypes.c_void_p()
    err = _lib.pegr_error()
    _raise_if(lib.pegr_sweep_create(ctypes.byref(base), sweep_prec, ctypes.byref(handle),
                                    ctypes.byref(err)), err, exc=ValueError)
    try:
        if ds is not None:
            _raise_if(lib.pegr_sweep_set_data(handle, ctypes.byref(ds.ds), ctypes.byref(err)),
                      err, exc=ValueError)
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
        for spec in specs:
            for rep in reps:
                _check_request(spec, precision, rep)
        batch = 0 if batch_runs is None else _size("batch_runs", batch_runs, 1)
        if own is not None:  # only once the sweep is known to be valid
            args += _write_own_data(outb, own)
        summary = _run(handle, outb, args, extend, batch, specs, precision,
                       sweep_prec, check, verbose, progress, callback)
    finally:
        lib.pegr_sweep_free(handle)
    d = os.fsdecode(outb)
    path = os.path.join(d, "results.csv")
    return Sweep(d, summary, _read_results(path) if os.path.exists(path) else {})


# ---- running a sweep: one plan, one worker per device ----------------------------------------

def _worker_specs(device, devices):
    """The workers' device specs: devices (a list or "A,B"), else [device]."""
    if devices is None:
        _text_arg("device", device)
        return [device]
    if device is not None:
        raise ValueError("give device or devices, not both")
    if isinstance(devices, str):
        devices = devices.split(",")
    try:
        devices = list(devices)
    except TypeError:
        raise TypeError("devices must be a list of device specs or the text 'A,B', not %r"
                        % (devices,)) from None
    if not devices:
        raise ValueError("devices must name at least one device")
    for spec in devices:
        if not isinstance(spec, str) or not spec:
            raise TypeError("each of devices must be a device spec (text, e.g. 'host' or '0:1'), "
                            "not %r" % (spec,))
    return devices


def _check_devices(specs, precision_id, verbose, progress):
    """pegr check on each OpenCL device of the workers, once per device, in the sweep's
    precision, as `pegr sweep --devices` does (pegr_check_device: a stored pass is reused).
    Raises pegr.Error "PEGR_CHECK_FAIL" when a check failed there."""
    skip = os.environ.get("PEGR_SWEEP_NO_CHECK")
    if skip and skip != "0":
        return
    fp64 = precision_id == _parse_enum(lib.pegr_precision_parse, "fp64", "precision")
    pname = "fp64" if fp64 else "fp32"
    wanted = [s for s in specs if lib.pegr_device_spec_effective(_text_arg("device", s)) != b"host"]
    if not wanted:
        return
    lst = ctypes.POINTER(_lib.pegr_device_info)()
    count = ctypes.c_size_t()
    err = _lib.pegr_error()
    _raise_if(lib.pegr_device_list(ctypes.byref(lst), ctypes.byref(count), ctypes.byref(err)), err)
    try:
        seen = set()
        for spec in wanted:
            at = ctypes.c_size_t()
            _raise_if(lib.pegr_device_select_for(lst, count, lib.pegr_device_spec_effective(
                _text_arg("device", spec)), int(fp64), ctypes.byref(at), None, 0,
                ctypes.byref(err)), err, device=spec)
            if at.value in seen:
                continue
            seen.add(at.value)
            d = lst[at.value]
            name = text(d.name)
            opts = _lib.pegr_check_options()
            log = _log_callback(verbose)
            opts.log = log
            cached = ctypes.c_int()
            summ = _lib.pegr_check_summary()
            failed = ctypes.create_string_buffer(1024)
            if progress:
                sys.stderr.write("pegr sweep: checking device %d (%s) in %s before using it "
                                 "(pegr check)...\n" % (d.index, name, pname))
            _raise_if(lib.pegr_check_device(ctypes.byref(d), precision_id, ctypes.byref(opts),
                                            ctypes.byref(cached), ctypes.byref(summ), failed,
                                            len(failed), ctypes.byref(err)), err, device=name)
            if summ.failed:
                raise Error("PEGR_CHECK_FAIL",
                            "refusing device %d (%s): %d check%s of pegr check failed there in "
                            "%s: %s; pegr.check(device=%r, precision=%r) gives the records; leave "
                            "the device out, or pass check=False to use it anyway"
                            % (d.index, name, summ.failed, "" if summ.failed == 1 else "s",
                               pname, text(failed.value), "%d" % d.index, pname),
                            device=name)
            if progress:
                sys.stderr.write("pegr sweep: device %d (%s): pegr check %s\n" % (
                    d.index, name, "passed before (cached)" if cached.value else
                    "passed" if summ.passed else "had nothing to check in this precision"))
    finally:
        lib.pegr_device_list_free(lst)


def _landed_item(landed):
    """What a landed run reports, as a dict (read during the C callback)."""
    L = landed.contents
    r = L.result.contents
    c = L.config.contents
    last = r.records[r.n_records - 1].metrics if r.n_records else None
    return {"run": L.run, "id": text(L.id), "method": text(lib.pegr_method_name(c.method)),
            "seed": c.data.seed,
            "test_error": float("nan") if r.diverged or last is None else last.test_error,
            "steps_run": r.steps_run, "diverged": bool(r.diverged)}


def _run(handle, dir, args, extend, batch_runs, specs, precision, precision_id, check, verbose,
         progress, callback):
    """The sweep into dir as pegr_sweep_run_all does it, with one worker per spec: the
    directory and its lock, the description, the plan, the device check, the workers, then
    results.csv. Returns the summary dict."""
    err = _lib.pegr_error()
    total = lib.pegr_sweep_run_count(handle)
    state = {"error": None, "landed": 0}

    def on_message(user, message):
        sys.stderr.write("pegr sweep: %s\n" % text(message))

    tell = _lib.pegr_sweep_callbacks()
    tell.on_message = _lib.SWEEP_MESSAGE_FN(on_message)
    lock = ctypes.c_void_p()
    _raise_if(lib.pegr_sweep_dir_init(dir, ctypes.byref(err)), err)
    _raise_if(lib.pegr_sweep_lock_dir(dir, 0, 1, ctypes.byref(lock), ctypes.byref(err)), err)
    try:
        if not extend and lib.pegr_sweep_dir_differs(handle, dir):
            raise ValueError("%s holds a different sweep (another grid, methods, seeds or "
                             "options): use another directory, or extend=True to add this one's "
                             "runs to it (runs with the same id are reused)" % os.fsdecode(dir))
        c_args = (ctypes.c_char_p * max(len(args), 1))(*[a.encode() for a in args])
        _raise_if(lib.pegr_sweep_write_description(handle, dir, c_args, len(args),
                                                   ctypes.byref(err)), err)
        with _Interrupt() as intr:
            def handle_item(item):  # in the calling thread
                try:
                    state["landed"] += 1
                    if progress:
                        sys.stderr.write("pegr sweep: %d/%d %s test error %.3f\n"
                                         % (item["run"] + 1, total, item["id"], item["test_error"]))
                    if callback is not None:
                        callback(item)
                except BaseException as e:  # stop every worker, re-raise after
                    if state["error"] is None:
                        state["error"] = e
                    intr.flag.value = 1

            plan = ctypes.c_void_p()
            tell.cancel = ctypes.pointer(intr.flag)
            _raise_if(lib.pegr_sweep_plan_create(handle, dir, 0, 1, batch_runs, ctypes.byref(tell),
                                                 ctypes.byref(plan), ctypes.byref(err)), err)
            try:
                done, failed = lib.pegr_sweep_plan_done(plan), lib.pegr_sweep_plan_failed(plan)
                if lib.pegr_sweep_plan_todo(plan):
                    if check:
                        _check_devices(specs, precision_id, verbose, progress)
                    failed += _train_workers(plan, specs, precision, verbose, intr, tell,
                                             handle_item)
            finally:
                lib.pegr_sweep_plan_free(plan)
            interrupted = intr.requested and state["error"] is None
        tally = _lib.pegr_sweep_tally()
        dirs = (ctypes.c_char_p * 1)(dir)
        tell.cancel = None
        try:
            _raise_if(lib.pegr_sweep_collect(handle, dirs, 1, dir, ctypes.byref(tell),
                                             ctypes.byref(tally), ctypes.byref(err)), err)
            summary = {"runs": total, "done": done, "landed": state["landed"], "failed": failed,
                       "interrupted": interrupted, "found": tally.found,
                       "missing": tally.missing, "duplicated": tally.duplicated, "bad": tally.bad,
                       "missing_ids": [text(tally.missing_ids[i])
                                       for i in range(min(tally.missing, _lib.PEGR_SWEEP_TALLY_IDS))
                                       if tally.missing_ids[i]]}
        finally:
            lib.pegr_sweep_tally_free(ctypes.byref(tally))
    finally:
        lib.pegr_sweep_unlock(lock)
    if state["error"] is not None:
        raise state["error"]
    return summary


def _train_workers(plan, specs, precision, verbose, intr, tell, handle_item):
    """The plan's batches over one worker per spec, each on its own backend (all opened first,
    in this thread: a device that cannot be opened raises before anything trains). One worker
    runs in this thread; several run in threads while this one hands each landed run to
    handle_item as it comes (and takes Ctrl-C). Returns how many runs failed."""
    nbatches = lib.pegr_sweep_plan_batches(plan)
    next_batch = iter(range(nbatches))  # next() on it is atomic under the GIL
    several = len(specs) > 1
    landed_q = queue.Queue()
    failures = [0] * len(specs)
    errors = []

    def on_landed(user, landed):
        try:
            item = _landed_item(landed)
        except BaseException as e:
            errors.append(e)
            intr.flag.value = 1
            return
        if several:
            landed_q.put(item)
        else:
            handle_item(item)

    def should_stop(user):  # one worker, in this thread: where a pending SIGINT's handler runs
        return intr.flag.value

    cb = _lib.pegr_sweep_callbacks()
    cb.on_landed = _lib.SWEEP_LANDED_FN(on_landed)
    cb.on_message = tell.on_message
    if not several:
        cb.should_stop = _lib.SHOULD_STOP_FN(should_stop)
    cb.cancel = ctypes.pointer(intr.flag)

    def work(w, backend):
        try:
            for i in next_batch:
                if intr.flag.value:
                    break
                # the GIL is released while the batch trains (ctypes)
                failed = lib.pegr_sweep_plan_run_batch(plan, backend.handle, i, ctypes.byref(cb))
                if not intr.flag.value:
                    failures[w] += failed
        except BaseException as e:  # an exception cannot leave a thread: kept, raised after
            errors.append(e)
            intr.flag.value = 1

    backends = []
    try:
        for spec in specs:
            backends.append(_Backend(spec, precision, verbose))
        if not several:
            work(0, backends[0])
        else:
            threads = [threading.Thread(target=work, args=(w, b), daemon=True,
                                        name="pegr-sweep-%d" % w) for w, b in enumerate(backends)]
            for t in threads:
                t.start()
            while True:
                try:
                    item = landed_q.get(timeout=0.05)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads):
                        break
                    continue
                handle_item(item)
            for t in threads:
                t.join()
            while not landed_q.empty():
                handle_item(landed_q.get())
    finally:
        for b in backends:
            b.__exit__(None, None, None)
    if errors:
        raise errors[0]
    return sum(failures)
