# _lib.py: loading libpegr and the ctypes mirrors of the public C structs (include/pegr/*.h).
"""The C side of the pegr package: the shared library and ctypes mirrors of its public structs.

Why ctypes rather than cffi: ctypes is in the standard library, so numpy stays the only
runtime dependency and the package needs no compiler at install time beyond the one meson
already uses for libpegr. The price is that the struct layouts are written twice (here and in
include/pegr/); python/tests/test_layout.py compiles a C program against include/ that prints
sizeof/offsetof of every mirrored struct and field and compares them with ctypes, so a header
change that is not mirrored here fails the tests instead of corrupting memory.

Only the public headers are mirrored (include/pegr/); nothing of src/ is used.
"""
import ctypes
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int, c_long,
                    c_size_t, c_uint32, c_uint64, c_void_p)

PEGR_MAX_ROBUST = 16
PEGR_INFO_STR = 256

c_enum = c_int  # every pegr enum has int's size (checked by the layout test)
c_sig_atomic = c_int  # sig_atomic_t is int on glibc, musl and Darwin (checked by the layout test)


class pegr_error(Structure):
    _fields_ = [("status", c_int), ("message", c_void_p)]


class pegr_data_config(Structure):
    _fields_ = [("n", c_size_t), ("n_test", c_size_t), ("d", c_size_t), ("P", c_size_t),
                ("mu_norm", c_double), ("snr", c_double), ("sigma_p", c_double),
                ("isotropic", c_int), ("label_flip", c_double), ("flip_test", c_int),
                ("seed", c_uint64), ("model", c_int), ("xor_a_norm", c_double),
                ("xor_b_norm", c_double)]


class pegr_split(Structure):
    _fields_ = [("n", c_size_t), ("X", POINTER(c_double)), ("y", POINTER(c_double)),
                ("y_clean", POINTER(c_double)), ("signal_patch", POINTER(c_size_t))]


class pegr_dataset(Structure):
    _fields_ = [("d", c_size_t), ("P", c_size_t), ("mu_norm", c_double),
                ("mu", POINTER(c_double)), ("train", pegr_split), ("test", pegr_split),
                ("n_signal", c_size_t)]


class pegr_device_info(Structure):
    _fields_ = [("index", c_size_t), ("platform_index", c_size_t), ("device_index", c_size_t),
                ("platform_name", c_char * PEGR_INFO_STR),
                ("platform_vendor", c_char * PEGR_INFO_STR),
                ("platform_version", c_char * PEGR_INFO_STR),
                ("name", c_char * PEGR_INFO_STR), ("vendor", c_char * PEGR_INFO_STR),
                ("version", c_char * PEGR_INFO_STR), ("driver_version", c_char * PEGR_INFO_STR),
                ("opencl_c_version", c_char * PEGR_INFO_STR), ("type", c_enum),
                ("compute_units", c_uint32), ("max_work_group_size", c_size_t),
                ("local_mem_size", c_uint64), ("global_mem_size", c_uint64),
                ("max_mem_alloc_size", c_uint64), ("fp64", c_int), ("is_pocl", c_int),
                ("host_unified_memory", c_int), ("cl_platform", c_void_p),
                ("cl_device", c_void_p)]


LOG_FN = CFUNCTYPE(None, c_void_p, c_enum, c_char_p)


class pegr_backend_options(Structure):
    _fields_ = [("precision", c_enum), ("precision_set", c_int), ("gemm", c_enum),
                ("memory_fraction", c_double), ("per_example_chunk", c_size_t),
                ("profiling", c_int), ("max_work_group_size", c_size_t), ("log", LOG_FN),
                ("log_user", c_void_p)]


class pegr_metrics(Structure):
    _fields_ = [("loss", c_double), ("objective", c_double), ("train_error", c_double),
                ("test_error", c_double), ("gamma_max", c_double * 2), ("gamma_mean", c_double),
                ("rho_mean", c_double), ("norm2_mean", c_double), ("norm2_var", c_double),
                ("grad_norm", c_double)]


_dp = POINTER(c_double)


class pegr_eval_request(Structure):
    _fields_ = [("method", c_enum), ("q", c_double), ("lam", c_double), ("grad", _dp),
                ("margin", _dp), ("loss", _dp), ("norm2", _dp), ("per_example_grad", _dp),
                ("mean_loss", _dp), ("objective", _dp), ("weights", _dp),
                ("metrics", POINTER(pegr_metrics)), ("run_lam", _dp), ("run_lr", _dp)]


class pegr_train_config(Structure):
    _fields_ = [("data", pegr_data_config), ("m", c_size_t), ("q", c_double),
                ("sigma0", c_double), ("method", c_enum), ("lam", c_double), ("lr", c_double),
                ("steps", c_size_t), ("batch", c_size_t), ("log_every", c_size_t),
                ("representation", c_enum), ("robust_sigmas", c_double * PEGR_MAX_ROBUST),
                ("n_robust", c_size_t), ("sam_rho", c_double), ("init", c_int),
                ("bias", c_int), ("readout", c_int), ("learn_readout", c_int),
                ("sam_variant", c_int)]


class pegr_train_option(Structure):
    _fields_ = [("name", c_char_p), ("type", c_enum), ("offset", c_size_t), ("metavar", c_char_p),
                ("help", c_char_p), ("allowed", c_char_p), ("column", c_char_p), ("data", c_int)]


# pegr_option_type
OPTION_SIZE, OPTION_U64, OPTION_DOUBLE, OPTION_FLAG, OPTION_METHOD, OPTION_REPRESENTATION, \
    OPTION_SIGMAS, OPTION_CHOICE = range(8)


class pegr_train_record(Structure):
    _fields_ = [("step", c_size_t), ("wall_seconds", c_double), ("metrics", pegr_metrics)]


ON_RECORD_FN = CFUNCTYPE(None, c_void_p, POINTER(pegr_train_config), POINTER(pegr_train_record))
SHOULD_STOP_FN = CFUNCTYPE(c_int, c_void_p)


class pegr_train_callbacks(Structure):
    _fields_ = [("on_record", ON_RECORD_FN), ("should_stop", SHOULD_STOP_FN), ("user", c_void_p),
                ("cancel", POINTER(c_sig_atomic))]


class pegr_train_result(Structure):
    _fields_ = [("records", POINTER(pegr_train_record)), ("n_records", c_size_t),
                ("steps_run", c_size_t), ("diverged", c_int), ("diverged_step", c_long),
                ("interrupted", c_int), ("robust_error", c_double * PEGR_MAX_ROBUST),
                ("wall_seconds", c_double), ("W", _dp), ("W0", _dp), ("span", c_int),
                ("batch_runs", c_size_t), ("b", _dp), ("b0", _dp), ("v", _dp)]


class pegr_check_record(Structure):
    _fields_ = [("name", c_char * 64), ("what", c_char_p), ("precision", c_enum),
                ("status", c_enum), ("error", c_double), ("tolerance", c_double),
                ("detail", c_char * 320), ("seconds", c_double)]


CHECK_RECORD_FN = CFUNCTYPE(None, c_void_p, POINTER(pegr_check_record))


class pegr_check_options(Structure):
    _fields_ = [("fp32", c_int), ("fp64", c_int), ("on_record", CHECK_RECORD_FN),
                ("user", c_void_p), ("log", LOG_FN), ("log_user", c_void_p), ("fault", c_char_p)]


class pegr_check_summary(Structure):
    _fields_ = [("passed", c_size_t), ("failed", c_size_t), ("skipped", c_size_t),
                ("seconds", c_double)]


class pegr_run_info(Structure):
    _fields_ = [("device", c_char_p), ("dev", POINTER(pegr_device_info)), ("precision", c_char_p),
                ("gemm", c_char_p)]


PEGR_SWEEP_TALLY_IDS = 20


class pegr_sweep_landed(Structure):
    _fields_ = [("run", c_size_t), ("id", c_char_p), ("config", POINTER(pegr_train_config)),
                ("result", POINTER(pegr_train_result))]


SWEEP_LANDED_FN = CFUNCTYPE(None, c_void_p, POINTER(pegr_sweep_landed))
SWEEP_MESSAGE_FN = CFUNCTYPE(None, c_void_p, c_char_p)


class pegr_sweep_callbacks(Structure):
    _fields_ = [("on_landed", SWEEP_LANDED_FN), ("on_message", SWEEP_MESSAGE_FN),
                ("should_stop", SHOULD_STOP_FN), ("user", c_void_p),
                ("cancel", POINTER(c_sig_atomic))]


class pegr_sweep_options(Structure):
    _fields_ = [("batch_runs", c_size_t), ("extend", c_int), ("args", POINTER(c_char_p)),
                ("nargs", c_size_t)]


class pegr_sweep_tally(Structure):
    _fields_ = [("found", c_size_t), ("missing", c_size_t), ("duplicated", c_size_t),
                ("bad", c_size_t), ("missing_ids", c_char_p * PEGR_SWEEP_TALLY_IDS)]


class pegr_sweep_summary(Structure):
    _fields_ = [("runs", c_size_t), ("done", c_size_t), ("landed", c_size_t), ("failed", c_size_t),
                ("interrupted", c_int), ("tally", pegr_sweep_tally)]


# Every mirror with the C name the layout test compiles against.
STRUCTS = [pegr_error, pegr_data_config, pegr_split, pegr_dataset, pegr_device_info,
           pegr_backend_options, pegr_metrics, pegr_eval_request, pegr_train_config,
           pegr_train_option, pegr_train_record, pegr_train_callbacks, pegr_train_result,
           pegr_check_record,
           pegr_check_options, pegr_check_summary, pegr_run_info, pegr_sweep_landed,
           pegr_sweep_callbacks, pegr_sweep_options, pegr_sweep_tally, pegr_sweep_summary]
# C types whose size the mirrors assume: (C name, ctypes type).
SCALARS = [("pegr_method", c_enum), ("pegr_representation", c_enum), ("pegr_precision", c_enum),
           ("pegr_device_type", c_enum), ("pegr_gemm_impl", c_enum), ("pegr_log_level", c_enum),
           ("pegr_status", c_int), ("sig_atomic_t", c_sig_atomic), ("long", c_long),
           ("pegr_check_status", c_enum), ("pegr_option_type", c_enum)]

_st = c_int
_err = POINTER(pegr_error)
_backend = c_void_p

# name: (restype, argtypes) for every function the package calls.
_PROTOTYPES = {
    "pegr_version": (c_char_p, []),
    "pegr_git_revision": (c_char_p, []),
    "pegr_status_name": (c_char_p, [_st]),
    "pegr_error_message": (c_char_p, [_err]),
    "pegr_error_clear": (None, [_err]),
    "pegr_device_list": (_st, [POINTER(POINTER(pegr_device_info)), POINTER(c_size_t), _err]),
    "pegr_device_list_free": (None, [POINTER(pegr_device_info)]),
    "pegr_device_type_name": (c_char_p, [c_enum]),
    "pegr_device_select_for": (_st, [POINTER(pegr_device_info), c_size_t, c_char_p, c_int,
                                     POINTER(c_size_t), c_char_p, c_size_t, _err]),
    "pegr_device_spec_effective": (c_char_p, [c_char_p]),
    "pegr_data_config_default": (None, [POINTER(pegr_data_config)]),
    "pegr_data_config_validate": (_st, [POINTER(pegr_data_config), _err]),
    "pegr_data_generate": (_st, [POINTER(pegr_data_config), POINTER(pegr_dataset), _err]),
    "pegr_dataset_free": (None, [POINTER(pegr_dataset)]),
    "pegr_dataset_from_arrays": (_st, [POINTER(c_double), POINTER(c_double), c_size_t, c_size_t,
                                       c_size_t, POINTER(c_double), POINTER(c_double), c_size_t,
                                       POINTER(c_double), POINTER(pegr_dataset), _err]),
    "pegr_method_name": (c_char_p, [c_enum]),
    "pegr_method_parse": (_st, [c_char_p, c_char_p, POINTER(c_enum), _err]),
    "pegr_representation_name": (c_char_p, [c_enum]),
    "pegr_representation_parse": (_st, [c_char_p, c_char_p, POINTER(c_enum), _err]),
    "pegr_precision_parse": (_st, [c_char_p, c_char_p, POINTER(c_enum), _err]),
    "pegr_backend_options_default": (None, [POINTER(pegr_backend_options)]),
    "pegr_backend_check_request": (_st, [c_char_p, c_char_p, c_char_p, _err]),
    "pegr_backend_open": (_st, [c_char_p, POINTER(pegr_backend_options), POINTER(_backend),
                                _err]),
    "pegr_backend_close": (None, [_backend]),
    "pegr_backend_description": (c_char_p, [_backend]),
    "pegr_backend_precision_name": (c_char_p, [_backend]),
    "pegr_backend_set_data": (_st, [_backend, _dp, _dp, c_size_t, c_size_t, c_size_t, _err]),
    "pegr_backend_set_weights": (_st, [_backend, _dp, c_size_t, _err]),
    "pegr_backend_evaluate": (_st, [_backend, POINTER(pegr_eval_request), _err]),
    "pegr_train_config_default": (None, [POINTER(pegr_train_config)]),
    "pegr_train_config_preset": (_st, [c_char_p, POINTER(pegr_train_config), _err]),
    "pegr_train_config_read": (_st, [c_char_p, POINTER(pegr_train_config), _err]),
    "pegr_train_preset_names": (c_char_p, []),
    "pegr_train_config_validate": (_st, [POINTER(pegr_train_config), _err]),
    "pegr_train_run": (_st, [_backend, POINTER(pegr_dataset), POINTER(pegr_train_config),
                             POINTER(pegr_train_callbacks), POINTER(pegr_train_result), _err]),
    "pegr_train_result_free": (None, [POINTER(pegr_train_result)]),
    "pegr_train_options": (c_size_t, [POINTER(POINTER(pegr_train_option))]),
    "pegr_train_config_set": (_st, [POINTER(pegr_train_config), c_char_p, c_char_p, _err]),
    "pegr_train_config_get": (_st, [POINTER(pegr_train_config), c_char_p, c_char_p, c_size_t, _err]),
    "pegr_backend_device": (POINTER(pegr_device_info), [_backend]),
    "pegr_backend_gemm_name": (c_char_p, [_backend]),
    "pegr_check_run": (_st, [POINTER(pegr_device_info), POINTER(pegr_check_options),
                             POINTER(pegr_check_summary), _err]),
    "pegr_check_known": (c_int, [c_char_p]),
    "pegr_check_status_name": (c_char_p, [c_enum]),
    "pegr_mkdir_p": (_st, [c_char_p, _err]),
    "pegr_train_clear_outputs": (_st, [c_char_p, _err]),
    "pegr_train_write_config": (_st, [c_char_p, POINTER(pegr_train_config),
                                      POINTER(pegr_run_info), _err]),
    "pegr_train_write_metrics": (_st, [c_char_p, POINTER(pegr_train_result), _err]),
    "pegr_train_write_results": (_st, [c_char_p, POINTER(pegr_train_config),
                                       POINTER(pegr_train_result), c_size_t, _err]),
    "pegr_sweep_create": (_st, [POINTER(pegr_train_config), c_enum, POINTER(c_void_p), _err]),
    "pegr_sweep_free": (None, [c_void_p]),
    "pegr_sweep_add_axis_values": (_st, [c_void_p, c_char_p, POINTER(c_char_p), c_size_t, _err]),
    "pegr_sweep_add_axis": (_st, [c_void_p, c_char_p, _err]),
    "pegr_sweep_set_methods": (_st, [c_void_p, POINTER(c_enum), c_size_t, _err]),
    "pegr_sweep_set_seeds": (_st, [c_void_p, POINTER(c_uint64), c_size_t, _err]),
    "pegr_sweep_parse_seeds": (_st, [c_void_p, c_char_p, _err]),
    "pegr_sweep_check": (_st, [c_void_p, _err]),
    "pegr_sweep_set_data": (_st, [c_void_p, POINTER(pegr_dataset), _err]),
    "pegr_sweep_run_count": (c_size_t, [c_void_p]),
    "pegr_sweep_axis_count": (c_size_t, [c_void_p]),
    "pegr_sweep_axis_name": (c_char_p, [c_void_p, c_size_t]),
    "pegr_sweep_axis_value_count": (c_size_t, [c_void_p, c_size_t]),
    "pegr_sweep_axis_value": (c_char_p, [c_void_p, c_size_t, c_size_t]),
    "pegr_sweep_run_all": (_st, [c_void_p, _backend, c_char_p, POINTER(pegr_sweep_options),
                                 POINTER(pegr_sweep_callbacks), POINTER(pegr_sweep_summary),
                                 _err]),
    "pegr_sweep_tally_free": (None, [POINTER(pegr_sweep_tally)]),
    # the lower layer a sweep over several devices uses (pegr.sweep(devices=[...]))
    "pegr_sweep_dir_init": (_st, [c_char_p, _err]),
    "pegr_sweep_dir_differs": (c_int, [c_void_p, c_char_p]),
    "pegr_sweep_write_description": (_st, [c_void_p, c_char_p, POINTER(c_char_p), c_size_t,
                                           _err]),
    "pegr_sweep_lock_dir": (_st, [c_char_p, c_size_t, c_size_t, POINTER(c_void_p), _err]),
    "pegr_sweep_unlock": (None, [c_void_p]),
    "pegr_sweep_plan_create": (_st, [c_void_p, c_char_p, c_size_t, c_size_t, c_size_t,
                                     POINTER(pegr_sweep_callbacks), POINTER(c_void_p), _err]),
    "pegr_sweep_plan_free": (None, [c_void_p]),
    "pegr_sweep_plan_done": (c_size_t, [c_void_p]),
    "pegr_sweep_plan_todo": (c_size_t, [c_void_p]),
    "pegr_sweep_plan_batches": (c_size_t, [c_void_p]),
    "pegr_sweep_plan_failed": (c_size_t, [c_void_p]),
    "pegr_sweep_plan_run_batch": (c_size_t, [c_void_p, _backend, c_size_t,
                                             POINTER(pegr_sweep_callbacks)]),
    "pegr_sweep_collect": (_st, [c_void_p, POINTER(c_char_p), c_size_t, c_char_p,
                                 POINTER(pegr_sweep_callbacks), POINTER(pegr_sweep_tally), _err]),
    "pegr_check_device": (_st, [POINTER(pegr_device_info), c_enum, POINTER(pegr_check_options),
                                POINTER(c_int), POINTER(pegr_check_summary), c_char_p, c_size_t,
                                _err]),
}


def _library_path():
    """$PEGR_LIBRARY when set (an in-tree build), else libpegr next to this module (a wheel)."""
    env = os.environ.get("PEGR_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    name = {"darwin": "libpegr.dylib", "win32": "pegr.dll"}.get(sys.platform, "libpegr.so")
    return os.path.join(here, name)


def _load():
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            "pegr: cannot load the C library '%s' (%s). Install the package with "
            "`pip install .` from the pegr source tree, or point $PEGR_LIBRARY at a built "
            "libpegr.so." % (path, e)) from None
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:  # an older libpegr: the functions that need it say so
            MISSING.add(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


MISSING = set()
lib = _load()


def need(*names):
    """Raise ImportError naming the C functions this libpegr lacks (an older library than the
    Python package), before anything calls them."""
    missing = [n for n in names if n in MISSING]
    if missing:
        raise ImportError("pegr: the C library '%s' lacks %s: it is older than this package; "
                          "rebuild it (pip install .)" % (_library_path(), ", ".join(missing)))
LIBRARY_PATH = _library_path()


def text(b):
    """C string (bytes or None) -> str."""
    return b.decode("utf-8", "replace") if b is not None else None
