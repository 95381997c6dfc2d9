#!/bin/sh
# test_plot_sweep.sh: tools/plot.py's sweep mode (and its run mode) on made-up data.
# Builds a 4 x 3 grid (n x mu_norm) x 2 methods (gd, pegr) x 2 seeds in a temporary directory -- gd bad
# below the theory's boundary n SNR^q = 1, pegr good everywhere, one pegr cell where every seed diverged,
# one where one seed did -- runs `plot.py sweep` and checks the PNGs (and --format pdf,svg --style paper,
# and a one-axis sweep's line plots). Exit 0 pass, 1 fail, 77 skip (no python with matplotlib).
set -u
here=$(cd "$(dirname "$0")" && pwd)
plot="$here/../tools/plot.py"

py=
for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import matplotlib, numpy' >/dev/null 2>&1; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 that can import matplotlib and numpy"
    exit 77
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
die() { echo "FAIL: $*"; fail=1; }

sweep="$tmp/sw"
mkdir -p "$sweep"
"$py" - "$sweep" <<'PYEOF' || { echo "FAIL: could not write the synthetic sweep"; exit 1; }
import csv, json, math, os, sys
out = sys.argv[1]
# columns in a shuffled order with an extra one, to check parsing by header name
cols = ["run_id", "method", "seed", "extra_col", "n", "n_test", "d", "patches", "mu_norm", "snr", "sigma_p",
        "noise", "label_noise", "m", "q", "sigma0", "lam", "lr", "steps", "batch", "test_error", "train_loss",
        "objective", "train_error", "gamma_max_pos", "gamma_max_neg", "gamma_mean", "rho_mean", "norm2_mean",
        "norm2_var", "grad_norm", "steps_run", "diverged", "representation", "device", "wall_seconds"]
ns, mus, d, sp, q = [20, 50, 100, 200], [3, 6, 12], 1000, 1.0, 3
rows, k = [], 0
for method in ["gd", "pegr"]:
    for n in ns:
        for mu in mus:
            snr = mu / (sp * math.sqrt(d))
            above = n * snr ** q > 1
            for seed in [0, 1]:
                k += 1
                diverged = method == "pegr" and ((n, mu) == (20, 12) or ((n, mu) == (200, 3) and seed == 1))
                if method == "gd":
                    te = (0.05 if above else 0.48) + 0.01 * seed
                    gam, rho = (3.0 if above else 0.05), (0.5 if above else 4.2)
                else:
                    te = 0.03 + 0.02 * seed + (0.05 if not above else 0.0)
                    gam, rho = 4.4, 0.2
                r = dict(run_id=k, method=method, seed=seed, extra_col="x", n=n, n_test=1000, d=d, patches=2,
                         mu_norm=mu, snr=f"{snr:.6g}", sigma_p=sp, noise="projected", label_noise=0, m=10, q=q,
                         sigma0=0.01, lam=0.01 if method == "pegr" else 0, lr=0.1, steps=1000, batch=n,
                         test_error="" if diverged else te, train_loss="" if diverged else 1e-4,
                         objective="", train_error=0, gamma_max_pos="" if diverged else gam,
                         gamma_max_neg="" if diverged else gam * 1.05, gamma_mean=gam,
                         rho_mean="" if diverged else rho, norm2_mean=1, norm2_var=0.1, grad_norm="",
                         steps_run=1000, diverged=int(diverged), representation="primal", device="pocl",
                         wall_seconds=1.5)
                rows.append(r)
rows.reverse()  # order on disk need not follow the grid
with open(os.path.join(out, "results.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)
with open(os.path.join(out, "sweep.json"), "w") as f:
    json.dump({"axes": ["n", "mu_norm"], "methods": ["gd", "pegr"], "seeds": [0, 1]}, f)
PYEOF

expect_pngs() {  # DIR FILE...
    dir=$1; shift
    for f in "$@"; do
        [ -s "$dir/$f" ] || die "$dir/$f missing or empty"
        if [ -f "$dir/$f" ] && ! head -c 8 "$dir/$f" | od -An -c | grep -q 'P   N   G'; then
            die "$dir/$f is not a PNG"
        fi
    done
    if ls "$dir" 2>/dev/null | grep -q '\.tmp'; then die "temporary files left in $dir"; fi
}
all_pngs="test_error_gd.png test_error_pegr.png gamma_gd.png gamma_pegr.png rho_gd.png rho_pegr.png
test_error_gd_minus_pegr.png summary.png"

# 1. default axes from sweep.json, default --out SWEEP_DIR/plots
if ! "$py" "$plot" sweep "$sweep" >"$tmp/log1" 2>&1; then cat "$tmp/log1"; die "plot.py sweep failed"; fi
# shellcheck disable=SC2086
expect_pngs "$sweep/plots" $all_pngs

# 2. --out and explicit (swapped) axes, without sweep.json
mv "$sweep/sweep.json" "$tmp/sweep.json"
if "$py" "$plot" sweep "$sweep" --out "$tmp/none" >"$tmp/log2" 2>&1; then
    die "plot.py sweep without sweep.json and without --x/--y should fail"
fi
grep -q -- "--x" "$tmp/log2" || { cat "$tmp/log2"; die "no hint about --x/--y"; }
if ! "$py" "$plot" sweep "$sweep" --out "$tmp/swapped" --x mu_norm --y n >"$tmp/log3" 2>&1; then
    cat "$tmp/log3"; die "plot.py sweep --x mu_norm --y n failed"
fi
# shellcheck disable=SC2086
expect_pngs "$tmp/swapped" $all_pngs
mv "$tmp/sweep.json" "$sweep/sweep.json"

# 3. a directory without results.csv: a clear message and a failure
mkdir -p "$tmp/empty"
if "$py" "$plot" sweep "$tmp/empty" >"$tmp/log4" 2>&1; then die "plot.py sweep on an empty directory succeeded"; fi
grep -q "results.csv does not exist" "$tmp/log4" || { cat "$tmp/log4"; die "no clear message for a missing results.csv"; }

# 4. an unknown axis column is refused
if "$py" "$plot" sweep "$sweep" --x nope --y n --out "$tmp/nope" >"$tmp/log5" 2>&1; then
    die "plot.py sweep --x nope succeeded"
fi

# 5. the run mode still works
run="$tmp/run"
mkdir -p "$run"
{
    echo "step,train_loss,test_error,gamma_max_pos,gamma_max_neg,rho_mean"
    echo "0,0.69,0.5,0,0,0"
    echo "10,0.3,0.2,1.0,1.1,0.3"
    echo "20,0.1,0.05,2.0,2.2,0.4"
} >"$run/metrics.csv"
if ! "$py" "$plot" "$run" --out "$tmp/runplots" >"$tmp/log6" 2>&1; then cat "$tmp/log6"; die "plot.py RUN_DIR failed"; fi
expect_pngs "$tmp/runplots" loss_error.png gamma_rho.png

# 6. PDF and SVG in the paper style (python/tests/test_plot_paper.py checks the figures themselves)
if ! "$py" "$plot" sweep "$sweep" --out "$tmp/paper" --format pdf,svg --style paper >"$tmp/log7" 2>&1; then
    cat "$tmp/log7"; die "plot.py sweep --format pdf,svg --style paper failed"
fi
head -c 5 "$tmp/paper/summary.pdf" 2>/dev/null | grep -q '%PDF-' || die "summary.pdf is not a PDF"
grep -q '<svg' "$tmp/paper/summary.svg" 2>/dev/null || die "summary.svg is not an SVG"

# 7. one axis (sweep.json names one): the line plots
mkdir -p "$tmp/sw1"
cp "$sweep/results.csv" "$tmp/sw1/"
echo '{"axes": ["n"], "methods": ["gd", "pegr"], "seeds": [0, 1]}' >"$tmp/sw1/sweep.json"
if ! "$py" "$plot" sweep "$tmp/sw1" >"$tmp/log8" 2>&1; then cat "$tmp/log8"; die "plot.py sweep (one axis) failed"; fi
expect_pngs "$tmp/sw1/plots" test_error.png gamma.png rho.png summary.png

if [ "$fail" -eq 0 ]; then echo "PASS: plot.py sweep"; fi
exit "$fail"
