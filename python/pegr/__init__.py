# __init__.py: the pegr Python API -- devices, check, data, grad, train, compare, sweep, plot -- over libpegr's public C API.
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

Modules, one concern each: _lib (ctypes mirrors of include/pegr/), _errors (pegr.Error and the
argument checks), _backend, _devices (devices, check), _options (the option table, presets),
_data, _grad, _train (train, compare, Run), _sweep (sweep, Sweep), plot (figures; matplotlib
imported only when a figure is drawn).
"""
from . import plot
from ._data import data
from ._devices import check, devices
from ._errors import Error
from ._grad import grad
from ._lib import lib, text
from ._options import PRESETS
from ._sweep import Sweep, sweep
from ._train import METRIC_COLUMNS, Run, compare, train

__all__ = ["Error", "Run", "Sweep", "devices", "check", "data", "grad", "train", "compare",
           "sweep", "plot", "PRESETS", "METRIC_COLUMNS",
           "__version__", "git_revision"]

__version__ = text(lib.pegr_version())


def git_revision():
    """The git revision libpegr was built from ("unknown" outside a checkout).

    Example::

        >>> pegr.git_revision()   # doctest: +SKIP
        '931b8a3'
    """
    return text(lib.pegr_git_revision())

