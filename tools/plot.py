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

    python3 tools/plot.py sweep SWEEP_DIR [--out DIR] [--x AXIS --y AXIS]

SWEEP_DIR is a `pegr sweep` directory: results.csv (one row per run, read by column name; empty cells
are NaN) and sweep.json (its "axes": the two grid columns; without it, or with other than two axes,
--x and --y are required). Writes into --out (default SWEEP_DIR/plots) heatmaps over the (x, y) grid,
averaged over seeds, diverged runs excluded (cells where every seed diverged are hatched, cells where
some did are starred), each with the theory's boundary n SNR^q = 1, SNR = ||mu|| / (sigma_p sqrt(d)):
  test_error_METHOD.png              test error, one per method
  gamma_METHOD.png                   signal learning (gamma_max_pos + gamma_max_neg) / 2
  rho_METHOD.png                     noise memorization rho_mean
  test_error_gd_minus_pegr.png       gd's test error minus pegr's (when both ran), centred at 0
  summary.png                        the test-error maps side by side, and the difference

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


# ---------------------------------------------------------------------------------------------------
# sweep mode: phase diagrams of a `pegr sweep` directory (results.csv, sweep.json)

AXIS_LABELS = {
    "n": "n (training examples)", "n_test": "n_test", "d": "d (patch dimension)",
    "patches": "P (patches)", "mu_norm": "||mu||", "snr": "SNR = ||mu|| / (sigma_p sqrt(d))",
    "sigma_p": "sigma_p (noise scale)", "label_noise": "label-flip probability", "m": "m (filters)",
    "q": "q (activation power)", "sigma0": "sigma_0 (init scale)", "lam": "lam (penalty)",
    "lr": "learning rate", "steps": "steps", "batch": "batch size",
}

METRICS = [  # (file stem, title, colormap)
    ("test_error", "test error", "viridis"),
    ("gamma", "signal learning gamma = (gamma_max_pos + gamma_max_neg) / 2", "magma"),
    ("rho", "noise memorization rho_mean", "magma"),
]


def _cell(row, key):
    v = row.get(key)
    return v.strip() if isinstance(v, str) else ""


def _num(s):
    try:
        return float(s) if s != "" else float("nan")
    except ValueError:
        return float("nan")


def _axis_key(s):
    """A grid coordinate: a float when the cell is numeric (50 and 50.0 are one value), else the text."""
    try:
        return float(f"{float(s):.12g}")
    except ValueError:
        return s


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "method"


def read_sweep(sweep_dir):
    path = os.path.join(sweep_dir, "results.csv")
    if not os.path.isdir(sweep_dir):
        sys.exit(f"plot.py sweep: {sweep_dir} is not a directory (give a `pegr sweep` output directory)")
    if not os.path.isfile(path):
        hint = "is it a `pegr sweep` output directory?"
        if os.path.isfile(os.path.join(sweep_dir, "metrics.csv")):
            hint = "it holds metrics.csv: plot a run directory with `plot.py RUN_DIR`"
        sys.exit(f"plot.py sweep: {path} does not exist ({hint}); to plot a run directory named "
                 f"'sweep', write it as ./sweep")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        rows = [r for r in reader if any(_cell(r, h) for h in header)]
    if not header:
        sys.exit(f"plot.py sweep: {path} is empty (no header row)")
    meta = {}
    jpath = os.path.join(sweep_dir, "sweep.json")
    if os.path.isfile(jpath):
        try:
            with open(jpath) as f:
                meta = json.load(f)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            print(f"plot.py sweep: ignoring {jpath}: {e}", file=sys.stderr)
            meta = {}
    return path, header, rows, meta


def choose_axes(header, meta, x, y, jpath):
    axes = meta.get("axes")
    if isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, str) for a in axes):
        if x and not y:
            y = axes[1] if x != axes[1] else axes[0]
        elif y and not x:
            x = axes[0] if y != axes[0] else axes[1]
        elif not x:
            x, y = axes
    elif not (x and y):
        why = "is missing" if not meta else f"has axes {axes!r}, not two"
        sys.exit(f"plot.py sweep: {jpath} {why}: say which columns to plot with --x AXIS --y AXIS "
                 f"(columns: {', '.join(header)})")
    for a in (x, y):
        if a not in header:
            sys.exit(f"plot.py sweep: results.csv has no column {a!r} (columns: {', '.join(header)})")
    if x == y:
        sys.exit(f"plot.py sweep: --x and --y are both {x!r}")
    return x, y


def _grid_values(vals):
    numeric = all(isinstance(v, float) for v in vals)
    return sorted(set(vals)) if numeric else sorted(set(vals), key=str), numeric


def _use_log(values):
    """Interpolate between cell centres in log space when the grid is closer to geometric than linear."""
    import numpy as np
    v = np.asarray(values, dtype=float)
    if len(v) < 3 or np.any(v <= 0):
        return len(v) == 2 and np.all(v > 0) and v[1] / v[0] >= 4
    dl, dg = np.diff(v), np.diff(np.log(v))
    return np.std(dg) / np.mean(dg) < np.std(dl) / np.mean(dl)


def _index_to_value(t, values, log):
    """Map fractional cell indices t (cell centres at 0, 1, ...) to axis values, piecewise linearly
    (in log space for geometric grids), extrapolating the end segments to the outer cell edges."""
    import numpy as np
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return np.full_like(t, v[0], dtype=float)
    w = np.log(v) if log else v
    k = np.clip(np.floor(t).astype(int), 0, len(v) - 2)
    out = w[k] + (t - k) * (w[k + 1] - w[k])
    return np.exp(out) if log else out


class Sweep:
    def __init__(self, sweep_dir, header, rows, meta, xaxis, yaxis):
        import numpy as np
        self.dir, self.header, self.meta = sweep_dir, header, meta
        self.xaxis, self.yaxis = xaxis, yaxis
        skipped = 0
        placed = []
        for r in rows:
            xs, ys = _cell(r, xaxis), _cell(r, yaxis)
            if xs == "" or ys == "":
                skipped += 1
                continue
            placed.append((r, _axis_key(xs), _axis_key(ys)))
        if skipped:
            print(f"plot.py sweep: skipped {skipped} row(s) with an empty {xaxis} or {yaxis}", file=sys.stderr)
        if not placed:
            sys.exit(f"plot.py sweep: {os.path.join(sweep_dir, 'results.csv')} has no runs to plot")
        self.xs, self.xnum = _grid_values([p[1] for p in placed])
        self.ys, self.ynum = _grid_values([p[2] for p in placed])
        xi = {v: i for i, v in enumerate(self.xs)}
        yi = {v: j for j, v in enumerate(self.ys)}
        order = [m for m in meta.get("methods", []) if isinstance(m, str)] if isinstance(meta.get("methods"), list) else []
        self.cells = {}  # method -> {(j, i): [rows]}
        self.all_cells = {}  # (j, i) -> [rows] over every method
        for r, xv, yv in placed:
            m = _cell(r, "method") or "?"
            if m not in order:
                order.append(m)
            self.cells.setdefault(m, {}).setdefault((yi[yv], xi[xv]), []).append(r)
            self.all_cells.setdefault((yi[yv], xi[xv]), []).append(r)
        self.methods = [m for m in order if m in self.cells]
        self.nx, self.ny = len(self.xs), len(self.ys)
        self._warn_mixed()

    def _warn_mixed(self):
        """Averages are over seeds: say so when a cell mixes other parameter values."""
        params = ["n", "n_test", "d", "patches", "mu_norm", "snr", "sigma_p", "noise", "label_noise", "m",
                  "q", "sigma0", "lam", "lr", "steps", "batch"]
        mixed = set()
        for cells in self.cells.values():
            for rows in cells.values():
                for p in params:
                    if p in (self.xaxis, self.yaxis) or p not in self.header:
                        continue
                    if len({_cell(r, p) for r in rows}) > 1:
                        mixed.add(p)
        if mixed:
            print(f"plot.py sweep: cells mix values of {', '.join(sorted(mixed))} (not a plotted axis); "
                  f"they are averaged together", file=sys.stderr)

    @staticmethod
    def row_value(r, metric):
        if metric == "test_error":
            return _num(_cell(r, "test_error"))
        if metric == "gamma":
            return 0.5 * (_num(_cell(r, "gamma_max_pos")) + _num(_cell(r, "gamma_max_neg")))
        if metric == "rho":
            return _num(_cell(r, "rho_mean"))
        return _num(_cell(r, metric))

    @staticmethod
    def diverged(r):
        s = _cell(r, "diverged").lower()
        if s in ("true", "yes"):
            return True
        v = _num(s)
        return v == v and v != 0

    def seeds(self, method):
        return len({_cell(r, "seed") for rows in self.cells[method].values() for r in rows})

    def aggregate(self, method, metric):
        """(mean over the non-diverged seeds, cells where every seed diverged, cells where some did,
        number of diverged runs), each map shaped (ny, nx)."""
        import numpy as np
        mean = np.full((self.ny, self.nx), np.nan)
        alldiv = np.zeros((self.ny, self.nx), bool)
        somediv = np.zeros((self.ny, self.nx), bool)
        ndiv = 0
        for (j, i), rows in self.cells[method].items():
            ok = [r for r in rows if not self.diverged(r)]
            ndiv += len(rows) - len(ok)
            alldiv[j, i] = not ok
            somediv[j, i] = bool(ok) and len(ok) < len(rows)
            vals = [v for v in (self.row_value(r, metric) for r in ok) if v == v]
            if vals:
                mean[j, i] = float(np.mean(vals))
        return mean, alldiv, somediv, ndiv

    def has_metric(self, metric):
        need = {"gamma": ["gamma_max_pos", "gamma_max_neg"], "rho": ["rho_mean"]}.get(metric, [metric])
        return all(c in self.header for c in need)

    # the theory's boundary n * SNR^q = 1 -------------------------------------------------------------
    def boundary(self):
        if not hasattr(self, "_boundary"):
            self._boundary = self._compute_boundary()
        return self._boundary

    def _compute_boundary(self, k=400):
        """(fx, fy, log(n SNR^q) on a fine grid in cell-index coordinates, description) or None.
        Grid-axis parameters vary continuously along the axis; the others are taken from the rows of
        the nearest cell (their median), so a parameter that varies across the grid is honoured."""
        import numpy as np
        fx = np.linspace(-0.5, self.nx - 0.5, k)
        fy = np.linspace(-0.5, self.ny - 0.5, k)
        coord = {}
        if self.xnum:
            coord[self.xaxis] = _index_to_value(fx, self.xs, _use_log(self.xs))[None, :] * np.ones((k, 1))
        if self.ynum:
            coord[self.yaxis] = _index_to_value(fy, self.ys, _use_log(self.ys))[:, None] * np.ones((1, k))
        ci = np.clip(np.rint(fx).astype(int), 0, self.nx - 1)
        cj = np.clip(np.rint(fy).astype(int), 0, self.ny - 1)
        fixed = {}

        def param(name):
            if name in coord:
                return coord[name]
            if name not in self.header or name in (self.xaxis, self.yaxis):
                return None
            allv = [_num(_cell(r, name)) for rows in self.all_cells.values() for r in rows]
            allv = [v for v in allv if v == v]
            if not allv:
                return None
            cellmap = np.full((self.ny, self.nx), float(np.median(allv)))
            for (j, i), rows in self.all_cells.items():
                vals = [v for v in (_num(_cell(r, name)) for r in rows) if v == v]
                if vals:
                    cellmap[j, i] = float(np.median(vals))
            if len(set(allv)) == 1:
                fixed[name] = allv[0]
            else:
                fixed[name] = None  # varies over the grid: each cell's own value
            return cellmap[cj[:, None], ci[None, :]]

        n, q = param("n"), param("q")
        # SNR: the snr axis itself; else computed from ||mu||, sigma_p, d when one of them is an axis;
        # else the snr column (as pegr reports it), falling back to computing it
        snr = param("snr") if "snr" in coord else None
        if snr is None and not ({"mu_norm", "sigma_p", "d"} & set(coord)) and "snr" in self.header:
            snr = param("snr")
        if snr is None:
            mu, sp, d = param("mu_norm"), param("sigma_p"), param("d")
            snr = None if mu is None or sp is None or d is None else mu / (sp * np.sqrt(d))
        if n is None or q is None or snr is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            field = np.log(n) + q * np.log(snr)
        field = np.ma.masked_invalid(field)
        if field.count() == 0:
            return None
        desc = ", ".join(f"{k_} = {_fmt(v)}" if v is not None else f"{k_} of each cell"
                         for k_, v in fixed.items())
        return fx, fy, field, desc

    # drawing --------------------------------------------------------------------------------------
    def draw(self, fig, ax, z, cmap, vmin, vmax, cbar_label, title, alldiv=None, somediv=None):
        import numpy as np
        import matplotlib.patheffects as pe
        from matplotlib.patches import Patch, Rectangle
        from matplotlib.lines import Line2D
        from matplotlib.artist import Artist
        cm = matplotlib_cmap(cmap)
        cm.set_bad("#d0d0d0")
        im = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap=cm, vmin=vmin, vmax=vmax,
                       interpolation="nearest", extent=(-0.5, self.nx - 0.5, -0.5, self.ny - 0.5))
        cb = fig.colorbar(im, ax=ax)
        cb.set_label(cbar_label)
        ax.set_xticks(range(self.nx))
        ax.set_xticklabels([_fmt(v) for v in self.xs], rotation=45 if self.nx > 8 else 0)
        ax.set_yticks(range(self.ny))
        ax.set_yticklabels([_fmt(v) for v in self.ys])
        ax.set_xlabel(AXIS_LABELS.get(self.xaxis, self.xaxis))
        ax.set_ylabel(AXIS_LABELS.get(self.yaxis, self.yaxis))
        ax.set_title(title, fontsize=10)
        handles = []
        if self.nx * self.ny <= 80:  # small grids: write the value in each cell
            norm = im.norm
            for j in range(self.ny):
                for i in range(self.nx):
                    v = z[j, i]
                    if v != v:
                        continue
                    star = "*" if somediv is not None and somediv[j, i] else ""
                    shade = cm(norm(v))
                    lum = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2]
                    ax.text(i, j, f"{v:.3g}{star}", ha="center", va="center", fontsize=7,
                            color="black" if lum > 0.5 else "white")
        if alldiv is not None and alldiv.any():
            for j, i in zip(*np.nonzero(alldiv)):
                ax.add_patch(Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, hatch="xxx",
                                       edgecolor="#b00000", lw=0))
            handles.append(Patch(facecolor="#d0d0d0", hatch="xxx", edgecolor="#b00000",
                                 label="every seed diverged"))
        nodata = ~np.isfinite(z) if alldiv is None else ~np.isfinite(z) & ~alldiv
        if nodata.any():
            handles.append(Patch(facecolor="#d0d0d0", edgecolor="none", label="no result"))
        if somediv is not None and somediv.any():
            handles.append(Patch(facecolor="none", edgecolor="none", label="* some seeds diverged (excluded)"))
        b = self.boundary()
        if b is not None:
            fx, fy, field, desc = b
            lo, hi = field.min(), field.max()
            label = "n SNR^q = 1" + (f" ({desc})" if desc else "")
            if lo < 0 < hi:
                cs = ax.contour(fx, fy, field, levels=[0.0], colors="white", linewidths=2.0, linestyles="--")
                outline = [pe.Stroke(linewidth=4.0, foreground="black"), pe.Normal()]
                if isinstance(cs, Artist):  # matplotlib >= 3.8: the contour set is one collection
                    cs.set_path_effects(outline)
                else:
                    for c in cs.collections:
                        c.set_path_effects(outline)
                handles.append(Line2D([], [], color="white", lw=2, ls="--", path_effects=outline, label=label))
            else:
                side = "< 1" if hi <= 0 else "> 1"
                handles.append(Line2D([], [], color="none",
                                      label=f"n SNR^q {side} on the whole grid" + (f" ({desc})" if desc else "")))
        ax.set_xlim(-0.5, self.nx - 0.5)
        ax.set_ylim(-0.5, self.ny - 0.5)
        if handles:  # below the x axis label: about 0.6 inch (0.9 with rotated ticks) under the axes
            axh = ax.get_position().height * fig.get_size_inches()[1]
            drop = (0.9 if self.nx > 8 else 0.6) / max(axh, 0.5)
            ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -drop),
                      ncol=1, frameon=False)
        return im

    def figsize(self, panels=1):
        w = max(4.8, 0.55 * self.nx + 2.8)
        h = max(3.6, 0.45 * self.ny + 2.6)
        return (w * panels, h)


def matplotlib_cmap(name):
    import matplotlib
    try:
        return matplotlib.colormaps[name].copy()
    except AttributeError:  # matplotlib < 3.5
        import copy
        import matplotlib.cm
        return copy.copy(matplotlib.cm.get_cmap(name))


def _limits(maps, floor=None, ceil=None):
    import numpy as np
    vals = np.concatenate([m[np.isfinite(m)] for m in maps]) if maps else np.array([])
    if vals.size == 0:
        return 0.0, 1.0
    lo, hi = float(vals.min()), float(vals.max())
    if floor is not None:
        lo = min(lo, floor)
    if ceil is not None:
        hi = max(hi, ceil)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def plot_sweep(sw, out):
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []

    def seeds_text(method, ndiv):
        k = sw.seeds(method)
        t = f"mean over {k} seed{'s' if k != 1 else ''}"
        return t + (f", {ndiv} diverged run{'s' if ndiv != 1 else ''} excluded" if ndiv else "")

    agg = {}
    for stem, title, cmap in METRICS:
        if not sw.has_metric(stem):
            print(f"plot.py sweep: results.csv lacks the columns for {stem}; skipping its maps", file=sys.stderr)
            continue
        agg[stem] = {m: sw.aggregate(m, stem) for m in sw.methods}
        if stem == "test_error":
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0, ceil=0.5)
        else:
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0)
        for m in sw.methods:
            z, alldiv, somediv, ndiv = agg[stem][m]
            fig, ax = plt.subplots(figsize=sw.figsize())
            sw.draw(fig, ax, z, cmap, vmin, vmax, f"{title.split(' = ')[0]} ({m})",
                    f"{m}: {title}\n{seeds_text(m, ndiv)}", alldiv, somediv)
            path = os.path.join(out, f"{stem}_{_safe(m)}.png")
            save(fig, path)
            written.append(path)
            plt.close(fig)

    diff = None
    te = agg.get("test_error", {})
    if "gd" in te and "pegr" in te:
        zg, dg, sg, ng = te["gd"]
        zp, dp, spd, npd = te["pegr"]
        diff = (zg - zp, dg | dp, sg | spd,
                f"test error: gd minus pegr (> 0: pegr better)\n"
                f"gd {seeds_text('gd', ng)}; pegr {seeds_text('pegr', npd)}")
        lim = float(np.nanmax(np.abs(diff[0]))) if np.isfinite(diff[0]).any() else 0.5
        lim = max(lim, 1e-3)
        fig, ax = plt.subplots(figsize=sw.figsize())
        sw.draw(fig, ax, diff[0], "RdBu_r", -lim, lim, "test error (gd) - test error (pegr)", diff[3],
                diff[1], diff[2])
        path = os.path.join(out, "test_error_gd_minus_pegr.png")
        save(fig, path)
        written.append(path)
        plt.close(fig)
    elif te:
        print("plot.py sweep: no gd and pegr pair; no difference map", file=sys.stderr)

    if te:
        panels = len(sw.methods) + (1 if diff is not None else 0)
        fig, axes = plt.subplots(1, panels, figsize=sw.figsize(panels), squeeze=False)
        vmin, vmax = _limits([a[0] for a in te.values()], floor=0.0, ceil=0.5)
        for ax, m in zip(axes[0], sw.methods):
            z, alldiv, somediv, ndiv = te[m]
            sw.draw(fig, ax, z, "viridis", vmin, vmax, "test error", f"{m}: test error\n{seeds_text(m, ndiv)}",
                    alldiv, somediv)
        if diff is not None:
            lim = max(float(np.nanmax(np.abs(diff[0]))) if np.isfinite(diff[0]).any() else 0.5, 1e-3)
            sw.draw(fig, axes[0][-1], diff[0], "RdBu_r", -lim, lim, "gd - pegr",
                    "test error: gd minus pegr\n(> 0: pegr better)", diff[1], diff[2])
        fig.suptitle(f"{os.path.basename(os.path.abspath(sw.dir))}: test error over {sw.xaxis} x {sw.yaxis}")
        fig.tight_layout()
        path = os.path.join(out, "summary.png")
        save(fig, path)
        written.append(path)
        plt.close(fig)
    return written


def sweep_main(argv):
    p = argparse.ArgumentParser(prog="plot.py sweep", description="Phase diagrams of a `pegr sweep` directory.")
    p.add_argument("sweep_dir", help="a pegr sweep output directory (results.csv, sweep.json)")
    p.add_argument("--out", help="where to write the PNGs (default: SWEEP_DIR/plots)")
    p.add_argument("--x", help="results.csv column for the x axis (default: sweep.json's first axis)")
    p.add_argument("--y", help="results.csv column for the y axis (default: sweep.json's second axis)")
    a = p.parse_args(argv)
    _, header, rows, meta = read_sweep(a.sweep_dir)
    x, y = choose_axes(header, meta, a.x, a.y, os.path.join(a.sweep_dir, "sweep.json"))
    try:
        sw = Sweep(a.sweep_dir, header, rows, meta, x, y)
        out = a.out or os.path.join(a.sweep_dir, "plots")
        os.makedirs(out, exist_ok=True)
        plot_sweep(sw, out)
    except ImportError as e:
        sys.exit(f"plot.py sweep needs matplotlib and numpy ({e}): apt-get install python3-matplotlib")
    return 0


def _first_positional(argv):
    """Index in argv of the first word that is not an option or an option's value, or None."""
    k = 0
    while k < len(argv):
        t = argv[k]
        if t == "--":
            return k + 1 if k + 1 < len(argv) else None
        if t in ("--out", "--x", "--y"):
            k += 2
            continue
        if t.startswith("-") and t != "-":
            k += 1
            continue
        return k
    return None


def main(argv):
    k = _first_positional(argv)
    if k is not None and argv[k] == "sweep":
        return sweep_main(argv[:k] + argv[k + 1:])
    p = argparse.ArgumentParser(description="Plot pegr runs (or a sweep: plot.py sweep SWEEP_DIR).")
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
