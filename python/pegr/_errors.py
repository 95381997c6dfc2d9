# _errors.py: pegr.Error, turning a C status into an exception, and the checks of arguments before any C call.
"""Errors: a bad argument raises ValueError or TypeError here, before anything is computed; a
failure inside the library becomes pegr.Error (its ``name`` is the C status name)."""
import ctypes
import math
import numbers

import numpy as np

from . import _lib
from ._lib import lib, text


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
