# test_sweep_devices.py: pegr.sweep over several devices (one worker thread each) and its device check.
"""devices=[...]: the workers share the plan's batches; results.csv equals the one-device sweep's
(every column but the clock); resuming works across worker counts; the device check of
`pegr sweep --devices` runs once per OpenCL device before anything trains, unless check=False or
$PEGR_SWEEP_NO_CHECK (a stand-in for pegr_check_device shows which calls are made), and the
real check refuses a device with a planted fault and caches a pass."""
import ctypes
import os
import threading
import time

import pytest

import pegr
from pegr import _lib

KW = dict(grid={"lam": [0.001, 0.01]}, methods=["gd", "pegr"], seeds=range(2), preset="tiny",
          steps=20, progress=False, batch_runs=1)


@pytest.fixture
def batches(monkeypatch):
    """The worker thread of each batch trained; each batch a little slower (the GIL released
    in the sleep), so every worker gets some of a tiny sweep's batches."""
    seen = []
    real = _lib.lib.pegr_sweep_plan_run_batch

    def run_batch(plan, backend, i, cb):
        seen.append(threading.current_thread().name)
        time.sleep(0.05)
        return real(plan, backend, i, cb)
    monkeypatch.setattr(_lib.lib, "pegr_sweep_plan_run_batch", run_batch)
    return seen


def _opencl():
    if not pegr.devices():
        pytest.skip("no OpenCL device")


def test_two_workers_same_results_as_one_device(tmp_path, batches, results_rows):
    one = pegr.sweep(out=tmp_path / "one", device="host", **KW)
    assert set(batches) == {threading.current_thread().name}  # one worker: this thread
    del batches[:]
    landed = []
    two = pegr.sweep(out=tmp_path / "two", devices=["host", "host"], callback=landed.append, **KW)
    assert sorted(set(batches)) == ["pegr-sweep-0", "pegr-sweep-1"] and len(batches) == 8
    assert two.summary["landed"] == 8 and two.summary["found"] == 8 and not two.summary["failed"]
    assert sorted(x["run"] for x in landed) == list(range(8))
    assert results_rows(tmp_path / "two" / "results.csv") == results_rows(tmp_path / "one" / "results.csv")
    assert sorted(os.listdir(tmp_path / "two" / "runs")) == \
        sorted(os.listdir(tmp_path / "one" / "runs"))
    # the text form, and resuming a two-worker directory with one worker: nothing to train
    again = pegr.sweep(out=tmp_path / "two", device="host", **KW)
    assert again.summary["done"] == 8 and again.summary["landed"] == 0
    again = pegr.sweep(out=tmp_path / "one", devices="host,host", **KW)
    assert again.summary["done"] == 8 and again.summary["landed"] == 0


def test_two_workers_stop_and_resume(tmp_path, batches):
    def stop(run):
        raise KeyboardInterrupt  # as Ctrl-C in a callback: stops every worker, raised after
    with pytest.raises(KeyboardInterrupt):
        pegr.sweep(out=tmp_path, devices=["host", "host"], callback=stop, **KW)
    first = len(os.listdir(tmp_path / "runs"))
    assert 1 <= first < 8
    rest = pegr.sweep(out=tmp_path, devices=["host", "host"], **KW)
    assert rest.summary["done"] == first and rest.summary["landed"] == 8 - first
    assert rest.summary["found"] == 8


def test_host_and_default_device_share_the_grid(tmp_path, batches):
    _opencl()
    sw = pegr.sweep(out=tmp_path, devices=["host", pegr.devices()[0]["spec"]], check=False, **KW)
    assert sw.summary["found"] == 8 and not sw.summary["failed"]
    assert len(set(sw.results["device"])) == 2  # each run names the device that trained it


def test_devices_refused(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        pegr.sweep(out=tmp_path, device="host", devices=["host"], **KW)
    with pytest.raises(ValueError):
        pegr.sweep(out=tmp_path, devices=[], **KW)
    with pytest.raises(TypeError):
        pegr.sweep(out=tmp_path, devices=[3], **KW)
    with pytest.raises(TypeError):
        pegr.sweep(out=tmp_path, devices=["host"], check="yes", **KW)
    with pytest.raises(pegr.Error) as e:
        pegr.sweep(out=tmp_path / "x", devices=["host", "no-such-device-anywhere"], check=False,
                   **KW)
    assert e.value.name == "PEGR_ERR_NO_DEVICE"
    assert not os.listdir(tmp_path / "x" / "runs")  # refused before anything trained


@pytest.fixture
def fake_check(monkeypatch):
    """pegr_check_device replaced: records (device index, precision) of each call; the
    result is fake_check.outcome: 'pass', 'cached' or 'fail'."""
    calls = []

    def check_device(dev, precision, opts, cached, summary, failed, size, err):
        calls.append((dev._obj.index, precision))
        if check_device.outcome == "fail":
            summary._obj.failed = 2
            failed.value = b"eval-primal-gd (error 1 > 1e-5), cache (stale)"
        else:
            summary._obj.passed = 5
            cached._obj.value = int(check_device.outcome == "cached")
        return 0
    check_device.outcome = "pass"
    check_device.calls = calls
    monkeypatch.setattr(_lib.lib, "pegr_check_device", check_device)
    monkeypatch.delenv("PEGR_SWEEP_NO_CHECK", raising=False)
    return check_device


def test_device_checked_once_before_training(tmp_path, fake_check, capfd):
    _opencl()
    spec = pegr.devices()[0]["spec"]
    fp32 = _lib.c_enum()
    _lib.lib.pegr_precision_parse(b"fp32", b"precision", ctypes.byref(fp32), None)
    sw = pegr.sweep(out=tmp_path / "a", devices=[spec, spec, "host"], **dict(KW, progress=True))
    assert fake_check.calls == [(pegr.devices()[0]["index"], fp32.value)]  # once, not the host
    assert "pegr check passed" in capfd.readouterr().err
    assert sw.summary["found"] == 8
    # nothing left to train: no check
    pegr.sweep(out=tmp_path / "a", devices=[spec], **KW)
    assert len(fake_check.calls) == 1
    fake_check.outcome = "cached"
    pegr.sweep(out=tmp_path / "b", device=spec, **dict(KW, progress=True))
    assert "passed before (cached)" in capfd.readouterr().err
    assert len(fake_check.calls) == 2


def test_device_failing_the_check_is_refused(tmp_path, fake_check, monkeypatch):
    _opencl()
    fake_check.outcome = "fail"
    with pytest.raises(pegr.Error) as e:
        pegr.sweep(out=tmp_path / "a", **KW)  # the default device
    assert e.value.name == "PEGR_CHECK_FAIL" and "eval-primal-gd (error 1 > 1e-5)" in e.value.message
    assert "2 checks" in e.value.message and "check=False" in e.value.message
    assert not os.listdir(tmp_path / "a" / "runs")
    # check=False, $PEGR_SWEEP_NO_CHECK, or the host alone: no check
    n = len(fake_check.calls)
    assert pegr.sweep(out=tmp_path / "b", check=False, **KW).summary["found"] == 8
    monkeypatch.setenv("PEGR_SWEEP_NO_CHECK", "1")
    assert pegr.sweep(out=tmp_path / "c", **KW).summary["found"] == 8
    monkeypatch.delenv("PEGR_SWEEP_NO_CHECK")
    assert pegr.sweep(out=tmp_path / "d", devices=["host"], **KW).summary["found"] == 8
    assert len(fake_check.calls) == n


def test_real_check_refuses_a_faulty_device_and_caches_a_pass(tmp_path, monkeypatch, capfd):
    # the library's battery in fp32 (about 3 s on PoCL, 2 cores), twice: with the library's
    # planted fault (PEGR_CHECK_FAULT), then clean; the third sweep finds the pass cached
    _opencl()
    monkeypatch.delenv("PEGR_SWEEP_NO_CHECK", raising=False)
    monkeypatch.setenv("PEGR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PEGR_CHECK_FAULT", "eval-primal-gd")
    with pytest.raises(pegr.Error, match="eval-primal-gd"):
        pegr.sweep(out=tmp_path / "a", **KW)
    monkeypatch.delenv("PEGR_CHECK_FAULT")
    pegr.sweep(out=tmp_path / "b", **dict(KW, progress=True))
    assert "pegr check passed" in capfd.readouterr().err
    pegr.sweep(out=tmp_path / "c", **dict(KW, progress=True))
    assert "passed before (cached)" in capfd.readouterr().err
