#!/usr/bin/env python3
"""plot.py: pictures of pegr runs (matplotlib; Debian's python3-matplotlib).

    python3 tools/plot.py RUN_DIR... [--out DIR]

Each RUN_DIR is a `pegr train --out` directory (metrics.csv, config.json); with `--compare`, pass
its per-method subdirectories (or the parent: its subdirectories are found). Writes into --out
(default: the first run's parent directory):
  loss_error.png   training loss and test error over the steps, one line per run
  gamma_rho.png    signal learning gamma and noise memorization rho over the steps, and gamma
                   against rho -- the picture of the paper's claim: gd memorizes noise (rho grows,
                   gamma stays near 0), pegr learns the signal (gamma grows, rho stays small)
Files are written to a temporary name and renamed.
"""
import argparse
import csv
import json
import os
import sys


def find_runs(paths):
    """Run directories: the paths that hold metrics.csv, or their subdirectories that do."""
    runs = []
    for path in paths:
        if os.path.isfile(os.path.join(path, "metrics.csv")):
            runs.append(path)
            continue
        subs = sorted(os.path.join(path, s) for s in os.listdir(path)) if os.path.isdir(path) else []
        found = [s for s in subs if os.path.isfile(os.path.join(s, "metrics.csv"))]
        if not found:
            sys.exit(f"plot.py: {path} holds no metrics.csv (is it a `pegr train --out` directory?)")
        runs.extend(found)
    return runs


def read_metrics(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    cols = {}
    for key in rows[0].keys() if rows else []:
        cols[key] = [float(r[key]) if r[key] != "" else float("nan") for r in rows]
    return cols


def label_of(run):
    try:
        with open(os.path.join(run, "config.json")) as f:
            cfg = json.load(f)
        t = cfg["training"]
        lam = f", lam {t['lam']:g}" if t["method"] in ("pegr", "gr") else ""
        return f"{t['method']} (lr {t['lr']:g}{lam}, seed {cfg['data']['seed']})"
    except (OSError, KeyError, ValueError):
        return os.path.basename(os.path.normpath(run))


def save(fig, path):
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    print(f"wrote {path}")


def plot_runs(runs, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [(label_of(r), read_metrics(r)) for r in runs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, m in data:
        ax1.plot(m["step"], m["train_loss"], label=label)
        ax2.plot(m["step"], m["test_error"], label=label)
    ax1.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss")
    ax2.set(xlabel="step", ylabel="test error", ylim=(-0.02, 0.62), title="test error")
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax1.legend(fontsize=8)
    save(fig, os.path.join(out, "loss_error.png"))
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for k, (label, m) in enumerate(data):
        color = f"C{k}"
        gamma = [min(a, b) for a, b in zip(m["gamma_max_pos"], m["gamma_max_neg"])]
        ax1.plot(m["step"], gamma, color=color, label=f"{label}: gamma")
        ax1.plot(m["step"], m["rho_mean"], color=color, ls="--", label=f"{label}: rho")
        ax2.plot(m["rho_mean"], gamma, color=color, marker=".", ms=3, label=label)
    ax1.set(xlabel="step", ylabel="inner product",
            title="signal learning gamma (solid) and noise memorization rho (dashed)")
    ax2.set(xlabel="noise memorization rho", ylabel="signal learning gamma",
            title="gamma against rho over training")
    lim = max(ax2.get_xlim()[1], ax2.get_ylim()[1])
    ax2.plot([0, lim], [0, lim], color="grey", lw=0.8, ls=":")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=8)
    save(fig, os.path.join(out, "gamma_rho.png"))
    plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description="Plot pegr runs.")
    p.add_argument("runs", nargs="+", help="pegr train --out directories")
    p.add_argument("--out", help="where to write the PNGs (default: the first run's parent)")
    a = p.parse_args(argv)
    runs = find_runs(a.runs)
    out = a.out or os.path.dirname(os.path.abspath(runs[0]))
    os.makedirs(out, exist_ok=True)
    try:
        plot_runs(runs, out)
    except ImportError:
        sys.exit("plot.py needs matplotlib: apt-get install python3-matplotlib")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
