#!/bin/sh
# run_pytest.sh LIBPEGR PEGR_EXE [pytest args...]: the Python package's tests against an in-tree
# build: the sources in python/ on PYTHONPATH, $PEGR_LIBRARY the built libpegr, $PEGR_CLI the
# built pegr command the results are compared with. Needs a python3 that can import numpy and
# pytest ($PEGR_PYTHON, else /usr/bin/python3, else python3; Debian: apt-get install
# python3-numpy python3-pytest); without one it exits 77, meson's "skipped".
if [ $# -lt 2 ]; then
    echo "usage: $0 LIBPEGR PEGR_EXE [pytest args...]" >&2
    exit 2
fi
# absolute paths: the tests run commands from other directories
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
lib=$(abspath "$1")
exe=$(abspath "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
for py in "${PEGR_PYTHON:-}" /usr/bin/python3 python3; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy, pytest' >/dev/null 2>&1; then
        PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" PEGR_LIBRARY=$lib PEGR_CLI=$exe \
            exec "$py" -m pytest -q -p no:cacheprovider "$here" "$@"
    fi
done
echo "python: skipped, no python3 that can import numpy and pytest" \
     "(apt-get install python3-numpy python3-pytest, or set PEGR_PYTHON)"
exit 77
