# conftest.py: where the tests find the pegr command, the headers and a kernel cache.
"""Shared fixtures. The package under test is whatever `import pegr` finds: the in-tree sources
with $PEGR_LIBRARY pointing at a built libpegr (run_pytest.sh, meson's 'python' suite), or an
installed wheel. $PEGR_CLI names the `pegr` command the results are compared against; the tests
that need it are skipped without it."""
import csv
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))


@pytest.fixture(scope="session", autouse=True)
def kernel_cache(tmp_path_factory):
    # one binary cache for the library in this process and the commands it starts
    if "PEGR_CACHE_DIR" not in os.environ:
        os.environ["PEGR_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel-cache"))


@pytest.fixture(scope="session")
def cli():
    """run(*args) -> CompletedProcess of the pegr command (check=True, text output)."""
    exe = os.environ.get("PEGR_CLI")
    if not exe or not os.access(exe, os.X_OK):
        pytest.skip("$PEGR_CLI does not name the pegr command")

    def run(*args, check=True):
        return subprocess.run([exe] + [str(a) for a in args], check=check, capture_output=True,
                              text=True)
    return run


@pytest.fixture(scope="session")
def results_rows():
    """rows(path): a sweep's results.csv as a list of dicts, without the clock (wall_seconds), so
    two sweeps' results compare equal when everything but their timing is."""
    def rows(path):
        with open(path, newline="") as f:
            out = list(csv.DictReader(f))
        for r in out:
            r.pop("wall_seconds")
        return out
    return rows


@pytest.fixture(scope="session")
def include_dir():
    d = os.environ.get("PEGR_INCLUDE_DIR", os.path.join(SOURCE_ROOT, "include"))
    if not os.path.isfile(os.path.join(d, "pegr", "pegr.h")):
        pytest.skip("no include/pegr/pegr.h at %s ($PEGR_INCLUDE_DIR)" % d)
    return d
