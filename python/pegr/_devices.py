# _devices.py: pegr.devices() and pegr.check() -- the OpenCL devices and the conformance battery.
"""devices() lists the OpenCL devices as ``pegr devices --json``; check() runs ``pegr check``."""
import ctypes

from . import _lib
from ._backend import _log_callback
from ._errors import _raise_if, _text_arg
from ._lib import lib, text


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
