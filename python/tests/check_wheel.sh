#!/bin/sh
# check_wheel.sh PEGR_EXE [VENV_DIR]: the issue's "done when" -- in a fresh virtual environment,
# `pip install .` (meson-python builds libpegr into the package), then the package's tests
# against that installed package (not the source tree) and the README's example. Needs python3
# with venv (Debian: python3-venv) and pip's access to the package registry (meson-python, meson,
# numpy, pytest). VENV_DIR defaults to a temporary directory, removed afterwards.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 PEGR_EXE [VENV_DIR]" >&2
    exit 2
fi
exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PEGR_PYTHON:-python3}
if [ $# -ge 2 ]; then
    venv=$2
else
    venv=$(mktemp -d)/venv
    trap 'rm -rf "$(dirname "$venv")"' EXIT
fi
"$py" -m venv "$venv"
# -j1: the machine's cores are shared; the wheel build compiles libpegr only (pyproject.toml)
"$venv/bin/pip" install -q "$root" pytest --config-settings=compile-args=-j1
cd "$(dirname "$venv")"  # not the source tree: `import pegr` must find the installed package
"$venv/bin/python" - <<'PY'
import pegr, os
assert "site-packages" in pegr.__file__ and not os.environ.get("PEGR_LIBRARY"), pegr.__file__
runs = pegr.compare(["gd", "pegr"], preset="tiny", seed=1, device="host", progress=False)
for method, run in runs.items():
    print(method, "test error", run.summary["test_error"])
PY
PEGR_CLI=$exe "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests"
