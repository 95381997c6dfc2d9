# test_check.py: pegr.check against `pegr check --json` on the same device, and its refusals.
import json
import os

import pytest

import pegr


def test_check_refuses_bad_requests():
    with pytest.raises(ValueError, match="host"):
        pegr.check(device="host")
    with pytest.raises(ValueError):
        pegr.check(precision="fp16")
    with pytest.raises(TypeError):
        pegr.check(callback=3)
    with pytest.raises(pegr.Error) as e:
        pegr.check(device="no-such-device-anywhere")
    assert e.value.name == "PEGR_ERR_NO_DEVICE"


@pytest.mark.skipif(not os.environ.get("PEGR_TEST_CHECK"),
                    reason="the whole battery takes minutes on PoCL: set PEGR_TEST_CHECK=1")
def test_check_same_records_as_cli(cli, tmp_path, monkeypatch):
    """The battery with a planted fault (the library's test hook) gives the CLI's records: the
    same checks, precisions, statuses and tolerances, and the faulted check fails in both."""
    monkeypatch.setenv("PEGR_CHECK_FAULT", "eval-primal-gd")
    r = cli("check", "--precision", "fp32", "--json", tmp_path / "c.json", check=False)
    assert r.returncode == 1
    theirs = json.load(open(tmp_path / "c.json"))
    seen = []
    mine = pegr.check(precision="fp32", callback=seen.append)
    assert not mine["ok"] and len(seen) == len(mine["records"])
    assert [(x["check"], x["precision"], x["status"], x["tolerance"]) for x in mine["records"]] == \
        [(x["check"], x["precision"], x["status"], x["tolerance"]) for x in theirs["records"]]
    assert {x["check"] for x in mine["records"] if x["status"] == "fail"} == {"eval-primal-gd"}
    for k in ("passed", "failed", "skipped"):
        assert mine[k] == theirs[k]
