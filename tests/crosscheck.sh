#!/bin/sh
# crosscheck.sh PEGR_EXE [extra args...]: check `pegr grad` against an independent PyTorch autograd
# implementation (tools/crosscheck_torch.py). Needs a python3 that can import torch and numpy
# (Debian: apt-get install python3-torch python3-numpy); without one it exits 77, meson's "skipped".
if [ $# -lt 1 ]; then
    echo "usage: $0 PEGR_EXE [crosscheck_torch.py args...]" >&2
    exit 2
fi
pegr_exe=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
script=$here/../tools/crosscheck_torch.py

for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
        exec "$py" "$script" --pegr "$pegr_exe" "$@"
    fi
done
echo "crosscheck: skipped, no python3 that can import torch and numpy" \
     "(apt-get install python3-torch python3-numpy)"
exit 77
