# _options.py: the training options by keyword (the library's one option table) and the presets.
"""Keyword options of data/train/compare/sweep: names, parsing and ranges from the library's
pegr_train_options / pegr_train_config_set, so they cannot drift from the command's flags."""
import ctypes
import numbers
import os

import numpy as np

from . import _lib
from ._errors import _flag, _method, _raise_if
from ._lib import lib, text


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
    if opts.get("mu_norm") is not None and opts.get("data") == "xor":
        raise ValueError("mu_norm sets the signal-noise model's ||mu||; with data='xor' set "
                         "xor_a_norm and xor_b_norm")
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


# The presets of `pegr train --preset`, defined once in the library (pegr_train_config_preset).
PRESETS = tuple(text(lib.pegr_train_preset_names()).split("|"))


def _read_config(config):
    """The pegr_train_config of a run's config.json (pegr_train_config_read, as
    `pegr train --config FILE`): ValueError with the library's message when it cannot be read."""
    _lib.need("pegr_train_config_read")
    c = _lib.pegr_train_config()
    err = _lib.pegr_error()
    _raise_if(lib.pegr_train_config_read(os.fsencode(config), ctypes.byref(c), ctypes.byref(err)),
              err, exc=ValueError)
    return c


def _train_config(method, preset, options, config=None):
    """A validated pegr_train_config from the preset (or a run's config.json: config) and keyword
    options; method None keeps the config's."""
    unknown = sorted(set(options) - set(_TRAIN_KEYS))
    if unknown:
        raise TypeError("unknown option(s) %s; the options are %s"
                        % (", ".join(unknown), ", ".join(_TRAIN_KEYS)))
    if config is not None:
        if preset is not None:
            raise ValueError("give preset or config, not both (the config holds every option)")
        c = _read_config(config)
    else:
        if preset is None:
            preset = "demo"
        if preset not in PRESETS:
            raise ValueError("preset must be one of %s, not %r" % ("|".join(PRESETS), preset))
        c = _lib.pegr_train_config()
        err = _lib.pegr_error()
        _raise_if(lib.pegr_train_config_preset(preset.encode(), ctypes.byref(c),
                                               ctypes.byref(err)), err, exc=ValueError)
    if options.get("mu_norm") is not None and options.get("snr") is not None:
        raise ValueError("give mu_norm or snr, not both")
    # a preset's mu_norm is not the user's: with snr given, snr wins as in the CLI; a given
    # mu_norm is the one used, not the config's snr (as `pegr train --config F --mu-norm X`)
    if options.get("mu_norm") is not None:
        c.data.snr = 0.0
    _set_options(c, options)
    if method is not None:
        c.method = _method(method)
    err = _lib.pegr_error()
    _raise_if(lib.pegr_train_config_validate(ctypes.byref(c), ctypes.byref(err)), err,
              exc=ValueError)
    return c


def _config_dict(c):
    """Every option of the library's table (pegr_train_options) as a Python value, read back
    through pegr_train_config_get: the same names as the keywords, nothing written by hand."""
    buf = ctypes.create_string_buffer(512)  # PEGR_TRAIN_OPTION_TEXT_MAX
    err = _lib.pegr_error()
    out = {}
    for key, (name, kind, _) in _OPTIONS.items():
        _raise_if(lib.pegr_train_config_get(ctypes.byref(c), name.encode(), buf, len(buf),
                                            ctypes.byref(err)), err)
        t = text(buf.value)
        if kind in (_lib.OPTION_SIZE, _lib.OPTION_U64):
            out[key] = int(t)
        elif kind == _lib.OPTION_DOUBLE:
            out[key] = float(t)
        elif kind == _lib.OPTION_FLAG:
            out[key] = t == "1"
        elif kind == _lib.OPTION_SIGMAS:
            out[key] = [] if t == "none" else [float(x) for x in t.split(",")]
        else:  # method, representation, choices: the word
            out[key] = t
    return out
