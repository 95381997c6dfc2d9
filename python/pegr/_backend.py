# _backend.py: an open pegr_backend for one call (device, precision, the library's log).
"""_Backend: pegr_backend_open/close around one computation; each caller (and each sweep worker
thread) opens its own."""
import ctypes
import sys

from . import _lib
from ._errors import _parse_enum, _raise_if, _text_arg
from ._lib import lib, text


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
