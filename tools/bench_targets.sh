#!/usr/bin/env bash
# bench_targets.sh: the performance targets, measured in one run on this machine as ratios against
# peers run right beside pegr (the machine is noisy; a ratio from one run is what compares):
#   1. a pegr step against a gd step at every size of pegr bench's grid (both forms)
#   2. a whole `pegr train` run (n 200, d 2000, m 20, 1000 pegr steps, loss logged every 10 steps)
#      against the same run in PyTorch: the hand-written closed form (torch.mm, and oneDNN) and
#      functorch (vmap(grad) + double backward, extrapolated from 50 steps), process start-up included
# Usage: bash tools/bench_targets.sh [--quick]   (PEGR=path/to/pegr, PY=python with torch)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEGR="${PEGR:-$root/build/pegr}"
PY="${PY:-/usr/bin/python3}"
grid=full
[ "${1:-}" = "--quick" ] && grid=quick
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

seconds() { # wall seconds of a whole command (its output discarded)
  local s e
  s=$(date +%s.%N)
  "$@" > "$out/last.log" 2>&1 || { echo "failed: $*" >&2; cat "$out/last.log" >&2; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
"$PEGR" devices | head -3

echo "== 1. pegr step / gd step (pegr bench --grid $grid)"
"$PEGR" bench --grid "$grid" --methods gd,pegr --repeats 5 --steps 3 --no-first-step \
  --json "$out/bench.json" > "$out/bench.txt"
"$PY" - "$out/bench.json" <<'PYEOF'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
by = {}
for r in recs:
    if "skipped" in r: continue
    by.setdefault((r["representation"], r["n"], r["d"], r["m"]), {})[r["method"]] = r["wall_seconds_per_step"]
worst = 0
for key, t in sorted(by.items()):
    if "gd" in t and "pegr" in t:
        ratio = t["pegr"] / t["gd"]
        worst = max(worst, ratio)
        print(f"  {key[0]:6s} n {key[1]:5d} d {key[2]:6d} m {key[3]:3d}: gd {1e3*t['gd']:9.3f} ms  pegr {1e3*t['pegr']:9.3f} ms  ratio {ratio:5.2f}")
print(f"  worst pegr/gd ratio: {worst:.2f} (target <= 1.3)")
PYEOF

echo "== 2. a whole training run: n 200, d 2000, m 20, 1000 pegr steps"
pegr_s=$(seconds "$PEGR" train --n 200 --d 2000 --m 20 --mu-norm 2 --steps 1000 --method pegr \
  --lam 0.01 --lr 0.1 --n-test 0 --robust-sigmas none --log-every 10 --quiet --out "$out/run")
echo "  pegr train (default device, auto form):          $pegr_s s"
if "$PY" -c "import torch" 2>/dev/null; then
  peer() { seconds "$PY" "$root/tools/bench_peers.py" train --n 200 --d 2000 --m 20 --method pegr "$@"; }
  onednn_s=$(peer --steps 1000 --impl closed-onednn)
  closed_s=$(peer --steps 1000 --impl closed)
  start_s=$(seconds "$PY" -c "import torch, functorch")
  func50_s=$(peer --steps 50 --impl functorch)
  func_s=$(echo "$start_s + 20 * ($func50_s - $start_s)" | bc -l)
  printf "  PyTorch closed form, oneDNN GEMMs:               %.3f s  -> pegr is %.2fx faster (target >= 2)\n" "$onednn_s" "$(echo "$onednn_s / $pegr_s" | bc -l)"
  printf "  PyTorch closed form, torch.mm:                   %.3f s  -> pegr is %.2fx faster\n" "$closed_s" "$(echo "$closed_s / $pegr_s" | bc -l)"
  printf "  PyTorch functorch (from 50 steps):               %.1f s  -> pegr is %.0fx faster (target >= 100)\n" "$func_s" "$(echo "$func_s / $pegr_s" | bc -l)"
else
  echo "  (no python with torch: the PyTorch peers are skipped)"
fi
