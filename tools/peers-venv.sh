#!/usr/bin/env bash
# peers-venv.sh: a Python virtual environment with the peers tools/bench_peers.py measures pegr against.
#
# Installs from the Python registry (pip, by package name):
#   jax[cpu]       jax + jaxlib (XLA on the CPU): the JAX peer (jit, lax.scan, vmap)
#   numpy          the registry's wheel, which bundles OpenBLAS: the GEMM limit of a step
#   threadpoolctl  to pin and report the BLAS threads and the OpenBLAS kernel in use
#   torch          only with --torch (or PEERS_TORCH=1) and only when the registry's wheel does not pull
#                  the CUDA libraries: on x86-64 Linux the registry's default torch depends on nvidia-*
#                  wheels (several GB); the CPU-only build lives on another index, which this project's
#                  machines do not reach. So by default torch is skipped and the script says why.
#
# Never part of the test command (the tests need no Python packages). Idempotent: a rerun checks what is
# importable and installs only what is missing.
#
# Usage: bash tools/peers-venv.sh [--torch] [DIR]      (DIR default: .venv-peers in the repository root;
#        PYTHON=python3.11 to choose the interpreter). Then: DIR/bin/python tools/bench_peers.py ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_torch="${PEERS_TORCH:-0}"
dir=""
for a in "$@"; do
  case "$a" in
    --torch) want_torch=1 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "peers-venv.sh: unknown option '$a' (known: --torch, --help)" >&2; exit 2 ;;
    *) [ -z "$dir" ] || { echo "peers-venv.sh: one DIR at most (got '$dir' and '$a')" >&2; exit 2; }
       dir="$a" ;;
  esac
done
dir="${dir:-$root/.venv-peers}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$dir/bin/python" ]; then
  echo "# creating the virtual environment $dir with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$dir"
fi
py="$dir/bin/python"

# Installed already? (one import per package: a broken half-install is repaired by pip below)
missing=()
"$py" -c "import jax, jaxlib" 2>/dev/null || missing+=("jax[cpu]")
"$py" -c "import numpy" 2>/dev/null || missing+=("numpy")
"$py" -c "import threadpoolctl" 2>/dev/null || missing+=("threadpoolctl")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "# installing: ${missing[*]}"
  "$py" -m pip install --disable-pip-version-check -q "${missing[@]}"
else
  echo "# jax, numpy, threadpoolctl: already installed"
fi

if [ "$want_torch" = 1 ]; then
  if "$py" -c "import torch" 2>/dev/null; then
    echo "# torch: already installed"
  else
    # Resolve torch's dependencies without installing (the registry serves the metadata alone).
    report="$(mktemp)"
    trap 'rm -f "$report"' EXIT
    "$py" -m pip install --disable-pip-version-check -q --dry-run --ignore-installed --report "$report" torch
    if grep -q '"name": "nvidia-' "$report"; then
      echo "# torch: SKIPPED: the registry's torch wheel for this platform pulls the CUDA libraries" \
           "(nvidia-* wheels, several GB); the CPU-only build is on an index this machine does not reach"
    else
      avail_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
      if [ "$avail_kb" -lt $((4 * 1024 * 1024)) ]; then
        echo "# torch: SKIPPED: less than 4 GB free under $dir"
      else
        "$py" -m pip install --disable-pip-version-check -q torch
      fi
    fi
  fi
fi

"$py" - <<'PYEOF'
import importlib
for name in ("jax", "jaxlib", "numpy", "threadpoolctl", "torch"):
    try:
        mod = importlib.import_module(name)
        print("# %-13s %s" % (name, getattr(mod, "__version__", "?")))
    except ImportError:
        print("# %-13s not installed" % name)
PYEOF
echo "# ready: $py tools/bench_peers.py --help"
