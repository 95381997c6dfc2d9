# plot.py: pegr's figures -- runs (loss/error, gamma/rho) and sweep phase diagrams -- for notebooks and tools/plot.py.
"""pegr.plot: the figures of ``tools/plot.py`` as functions (one implementation: the script is a
thin command line over this module, which it loads by path, without libpegr).

Runs -- a ``pegr.Run``, a dict of them (``pegr.compare``'s), a ``pegr train --out`` directory
(or the parent of ``--compare``'s per-method directories), or a list of these:

    loss_error.png   training loss and test error over the steps, one line per run
    gamma_rho.png    signal learning gamma and noise memorization rho over the steps, and gamma
                     against rho -- gd memorizes noise (rho grows, gamma stays near 0), pegr
                     learns the signal (gamma grows, rho stays small)

A sweep -- a ``pegr.Sweep``, its ``to_pandas()`` DataFrame, a results.csv path or a
``pegr sweep`` directory: heatmaps over two grid columns (sweep.json's two axes unless x=, y=
say), averaged over seeds, diverged runs excluded (cells where every seed diverged are hatched,
cells where some did are starred), each with the theory's boundary n SNR^q = 1,
SNR = ||mu|| / (sigma_p sqrt(d)):

    test_error_METHOD.png          test error, one per method
    gamma_METHOD.png               signal learning (gamma_max_pos + gamma_max_neg) / 2
    rho_METHOD.png                 noise memorization rho_mean
    test_error_gd_minus_pegr.png   gd's test error minus pegr's (when both ran), centred at 0
    summary.png                    the test-error maps side by side, and the difference

Each function takes ``out``: a directory to write the PNGs into (made if missing; each file
written to a temporary name and renamed), returning their paths; or None, returning
{file name: matplotlib Figure} to show or save (a notebook displays them). matplotlib is imported
only when a figure is drawn (``pip install matplotlib``); figures are ``matplotlib.figure.Figure``
objects, never pyplot's, so no backend is chosen or changed. A bad input raises ValueError.

Example::

    runs = pegr.compare(["gd", "pegr"], preset="tiny", progress=False)
    pegr.plot.runs(runs, out="figs")               # figs/loss_error.png, figs/gamma_rho.png
    sw = pegr.sweep(grid={"n": [20, 40], "snr": [0.5, 1]}, preset="tiny", out="sw")
    pegr.plot.sweep(sw, out="sw/plots")            # the phase diagrams
"""
import csv
import json
import os
import sys

__all__ = ["runs", "loss_error", "gamma_rho", "sweep", "find_runs", "RUN_FIGURES",
           "sweep_figure_names"]

# the files of the run figures, in the order they are drawn
RUN_FIGURES = ("loss_error.png", "gamma_rho.png")


def _tell(message):
    """A note about the input (rows skipped, values averaged): on stderr, as the script did."""
    sys.stderr.write("pegr.plot: %s\n" % message)


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("pegr.plot needs matplotlib (%s): pip install matplotlib "
                          "(Debian: apt-get install python3-matplotlib)" % e) from None
    return Figure


def _deliver(figures, out):
    """out None: {name: Figure}; else write each into out (atomically) and return the paths."""
    if out is None:
        return dict(figures)
    if not isinstance(out, (str, bytes, os.PathLike)):
        raise TypeError("out must be a directory path or None, not %r" % (out,))
    out = os.fsdecode(out)
    os.makedirs(out, exist_ok=True)
    written = []
    for name, fig in figures:
        path = os.path.join(out, name)
        tmp = path + ".tmp.png"
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
        written.append(path)
    return written


# ---- runs ------------------------------------------------------------------------------------

def find_runs(paths):
    """Run directories: each path that holds metrics.csv, or its subdirectories that do (the
    parent of ``pegr train --compare --out``'s per-method directories). ValueError for a path
    that holds neither."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    found_all = []
    for path in paths:
        path = os.fsdecode(path)
        if os.path.isfile(os.path.join(path, "metrics.csv")):
            found_all.append(path)
            continue
        subs = sorted(os.path.join(path, s) for s in os.listdir(path)) if os.path.isdir(path) else []
        found = [s for s in subs if os.path.isfile(os.path.join(s, "metrics.csv"))]
        if not found:
            raise ValueError(f"{path} holds no metrics.csv (is it a `pegr train --out` directory?)")
        found_all.extend(found)
    return found_all


def _read_metrics(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    cols = {}
    for key in rows[0].keys() if rows else []:
        cols[key] = [float(r[key]) if r[key] != "" else float("nan") for r in rows]
    return cols


def _label(method, lr, lam, seed):
    lam_text = f", lam {lam:g}" if method in ("pegr", "gr") else ""
    return f"{method} (lr {lr:g}{lam_text}, seed {seed})"


def _dir_label(run):
    try:
        with open(os.path.join(run, "config.json")) as f:
            cfg = json.load(f)
        t = cfg["training"]
        return _label(t["method"], t["lr"], t["lam"], cfg["data"]["seed"])
    except (OSError, KeyError, ValueError, TypeError):
        return os.path.basename(os.path.normpath(run))


def _run_series(runs):
    """[(label, {column: values})] of runs: a Run (anything with .metrics and .config, as
    pegr.Run), a dict of them, a run directory, or a list of these."""
    if isinstance(runs, dict) or hasattr(runs, "metrics") or isinstance(runs, (str, bytes, os.PathLike)):
        runs = [runs]
    series = []
    for r in runs:
        if isinstance(r, dict):
            series.extend(_run_series(list(r.values())))
        elif hasattr(r, "metrics"):
            c = getattr(r, "config", None) or {}
            try:
                label = _label(c["method"], c["lr"], c["lam"], c["seed"])
            except (KeyError, TypeError):
                label = str(getattr(r, "method", "run"))
            series.append((label, {k: list(v) for k, v in r.metrics.items()}))
        elif isinstance(r, (str, bytes, os.PathLike)):
            series.extend((_dir_label(d), _read_metrics(d)) for d in find_runs([r]))
        else:
            raise TypeError("a run must be a pegr.Run, a dict of them or a run directory, not %r"
                            % (r,))
    if not series:
        raise ValueError("no runs to plot")
    return series


def _loss_error_figure(data):
    fig = _figure_class()(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for label, m in data:
        ax1.plot(m["step"], m["train_loss"], label=label)
        ax2.plot(m["step"], m["test_error"], label=label)
    ax1.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss")
    ax2.set(xlabel="step", ylabel="test error", ylim=(-0.02, 0.62), title="test error")
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax1.legend(fontsize=8)
    return fig


def _gamma_rho_figure(data):
    fig = _figure_class()(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
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
    return fig


def loss_error(runs, out=None):
    """loss_error.png: training loss (log scale) and test error against the step, one line per
    run. runs: a pegr.Run, a dict of them (pegr.compare's), a run directory, or a list.

    Example::

        >>> pegr.plot.loss_error(pegr.compare(["gd", "pegr"], preset="tiny"), out="figs")  # doctest: +SKIP
        ['figs/loss_error.png']
    """
    data = _run_series(runs)
    return _deliver([("loss_error.png", _loss_error_figure(data))], out)


def gamma_rho(runs, out=None):
    """gamma_rho.png: signal learning gamma (min of gamma_max_pos, gamma_max_neg) and noise
    memorization rho_mean against the step, and gamma against rho. runs as for loss_error.

    Example::

        >>> figs = pegr.plot.gamma_rho(run)          # doctest: +SKIP
        >>> figs["gamma_rho.png"]                    # a Figure: a notebook shows it
    """
    data = _run_series(runs)
    return _deliver([("gamma_rho.png", _gamma_rho_figure(data))], out)


def runs(runs, out=None):
    """Both run figures (RUN_FIGURES: loss_error.png, gamma_rho.png), what
    ``python3 tools/plot.py RUN_DIR...`` writes. runs as for loss_error.

    Example::

        >>> pegr.plot.runs(pegr.train("pegr", preset="tiny"), out="figs")   # doctest: +SKIP
        ['figs/loss_error.png', 'figs/gamma_rho.png']
    """
    data = _run_series(runs)
    return _deliver([("loss_error.png", _loss_error_figure(data)),
                     ("gamma_rho.png", _gamma_rho_figure(data))], out)


# ---- sweep: phase diagrams of a `pegr sweep` directory (results.csv, sweep.json) ------------

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


class _Grid:
    """A sweep's rows placed on the (x, y) grid of two of its columns, by method."""

    def __init__(self, sweep_dir, header, rows, meta, xaxis, yaxis):
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
            _tell(f"skipped {skipped} row(s) with an empty {xaxis} or {yaxis}")
        if not placed:
            raise ValueError(f"{os.path.join(sweep_dir, 'results.csv') if sweep_dir else 'the sweep'} "
                             f"has no runs to plot")
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
            _tell(f"cells mix values of {', '.join(sorted(mixed))} (not a plotted axis); "
                  f"they are averaged together")

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
        if hasattr(cm, "with_extremes"):  # matplotlib >= 3.4; set_bad is deprecated later
            cm = cm.with_extremes(bad="#d0d0d0")
        else:
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


def _sweep_figures(sw):
    """(file name, Figure) of each phase diagram of the grid sw, in order."""
    import numpy as np
    Figure = _figure_class()

    def seeds_text(method, ndiv):
        k = sw.seeds(method)
        t = f"mean over {k} seed{'s' if k != 1 else ''}"
        return t + (f", {ndiv} diverged run{'s' if ndiv != 1 else ''} excluded" if ndiv else "")

    agg = {}
    for stem, title, cmap in METRICS:
        if not sw.has_metric(stem):
            _tell(f"results.csv lacks the columns for {stem}; skipping its maps")
            continue
        agg[stem] = {m: sw.aggregate(m, stem) for m in sw.methods}
        if stem == "test_error":
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0, ceil=0.5)
        else:
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0)
        for m in sw.methods:
            z, alldiv, somediv, ndiv = agg[stem][m]
            fig = Figure(figsize=sw.figsize())
            ax = fig.subplots()
            sw.draw(fig, ax, z, cmap, vmin, vmax, f"{title.split(' = ')[0]} ({m})",
                    f"{m}: {title}\n{seeds_text(m, ndiv)}", alldiv, somediv)
            yield f"{stem}_{_safe(m)}.png", fig

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
        fig = Figure(figsize=sw.figsize())
        ax = fig.subplots()
        sw.draw(fig, ax, diff[0], "RdBu_r", -lim, lim, "test error (gd) - test error (pegr)", diff[3],
                diff[1], diff[2])
        yield "test_error_gd_minus_pegr.png", fig
    elif te:
        _tell("no gd and pegr pair; no difference map")

    if te:
        panels = len(sw.methods) + (1 if diff is not None else 0)
        fig = Figure(figsize=sw.figsize(panels))
        axes = fig.subplots(1, panels, squeeze=False)
        vmin, vmax = _limits([a[0] for a in te.values()], floor=0.0, ceil=0.5)
        for ax, m in zip(axes[0], sw.methods):
            z, alldiv, somediv, ndiv = te[m]
            sw.draw(fig, ax, z, "viridis", vmin, vmax, "test error", f"{m}: test error\n{seeds_text(m, ndiv)}",
                    alldiv, somediv)
        if diff is not None:
            lim = max(float(np.nanmax(np.abs(diff[0]))) if np.isfinite(diff[0]).any() else 0.5, 1e-3)
            sw.draw(fig, axes[0][-1], diff[0], "RdBu_r", -lim, lim, "gd - pegr",
                    "test error: gd minus pegr\n(> 0: pegr better)", diff[1], diff[2])
        name = os.path.basename(os.path.abspath(sw.dir)) if sw.dir else "sweep"
        fig.suptitle(f"{name}: test error over {sw.xaxis} x {sw.yaxis}")
        fig.tight_layout()
        yield "summary.png", fig


def _read_sweep_dir(path):
    """(sweep dir, header, rows, sweep.json's content) of a sweep directory or results.csv."""
    path = os.fsdecode(path)
    if os.path.isfile(path):
        csv_path, sweep_dir = path, os.path.dirname(os.path.abspath(path))
    else:
        if not os.path.isdir(path):
            raise ValueError(f"{path} is not a directory (give a `pegr sweep` output directory "
                             f"or its results.csv)")
        sweep_dir, csv_path = path, os.path.join(path, "results.csv")
        if not os.path.isfile(csv_path):
            hint = "is it a `pegr sweep` output directory?"
            if os.path.isfile(os.path.join(path, "metrics.csv")):
                hint = "it holds metrics.csv: plot a run directory with pegr.plot.runs"
            raise ValueError(f"{csv_path} does not exist ({hint})")
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        rows = [r for r in reader if any(_cell(r, h) for h in header)]
    if not header:
        raise ValueError(f"{csv_path} is empty (no header row)")
    meta = {}
    jpath = os.path.join(sweep_dir, "sweep.json")
    if os.path.isfile(jpath):
        try:
            with open(jpath) as f:
                meta = json.load(f)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            _tell(f"ignoring {jpath}: {e}")
            meta = {}
    return sweep_dir, header, rows, meta


def _frame_rows(frame):
    """header and rows (dicts of text, as csv gives them; NaN and None as '') of a DataFrame."""
    header = [str(c).strip() for c in frame.columns]
    rows = []
    for rec in frame.itertuples(index=False, name=None):
        row = {}
        for h, v in zip(header, rec):
            if v is None or (isinstance(v, float) and v != v):
                row[h] = ""
            else:
                row[h] = repr(v) if isinstance(v, float) else str(v)
        rows.append(row)
    return header, rows


def _read_sweep(source):
    """(sweep dir or None, header, rows, meta) of a pegr.Sweep, a DataFrame, a results.csv path
    or a sweep directory."""
    if isinstance(source, (str, bytes, os.PathLike)):
        return _read_sweep_dir(source)
    if hasattr(source, "dir") and hasattr(source, "results"):  # a pegr.Sweep
        return _read_sweep_dir(source.dir)
    if hasattr(source, "columns") and hasattr(source, "itertuples"):  # a pandas DataFrame
        header, rows = _frame_rows(source)
        meta = dict(getattr(source, "attrs", {}) or {})
        return None, header, rows, meta
    raise TypeError("a sweep must be a pegr.Sweep, its DataFrame, a results.csv path or a sweep "
                    "directory, not %r" % (source,))


def _choose_axes(header, meta, x, y, where):
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
        raise ValueError(f"{where} {why}: say which columns to plot with x=AXIS, y=AXIS "
                         f"(tools/plot.py: --x AXIS --y AXIS) (columns: {', '.join(header)})")
    for a in (x, y):
        if a not in header:
            raise ValueError(f"results.csv has no column {a!r} (columns: {', '.join(header)})")
    if x == y:
        raise ValueError(f"x and y are both {x!r}")
    return x, y


def _grid(source, x=None, y=None):
    sweep_dir, header, rows, meta = _read_sweep(source)
    where = os.path.join(sweep_dir, "sweep.json") if sweep_dir else "the frame's attrs['axes']"
    x, y = _choose_axes(header, meta, x, y, where)
    return _Grid(sweep_dir, header, rows, meta, x, y)


def sweep(source, out=None, x=None, y=None):
    """The phase diagrams of a sweep (the files listed in this module's docstring), what
    ``python3 tools/plot.py sweep SWEEP_DIR`` writes. source: a pegr.Sweep, its DataFrame
    (``to_pandas()``; x and y needed unless ``frame.attrs["axes"]`` names two columns), a
    results.csv path or a sweep directory. x, y: the columns of the grid (default: sweep.json's
    two axes). out: a directory, or None for {file name: Figure}.

    Example::

        >>> sw = pegr.sweep(grid={"n": [20, 40], "snr": [0.5, 1.0]}, preset="tiny", out="sw")  # doctest: +SKIP
        >>> pegr.plot.sweep(sw, out="sw/plots")        # doctest: +SKIP
        ['sw/plots/test_error_gd.png', ..., 'sw/plots/summary.png']
    """
    g = _grid(source, x, y)
    _figure_class()  # the clear ImportError before any work
    return _deliver(_sweep_figures(g), out)


def sweep_figure_names(methods, columns=None):
    """The file names sweep() writes for these methods (in order) when results.csv has the
    columns (None: all of them) -- for checking a directory of figures."""
    names = []
    have = None if columns is None else set(columns)
    for stem, _, _ in METRICS:
        need = {"gamma": ["gamma_max_pos", "gamma_max_neg"], "rho": ["rho_mean"]}.get(stem, [stem])
        if have is None or have.issuperset(need):
            names += [f"{stem}_{_safe(m)}.png" for m in methods]
    if have is None or "test_error" in have:
        if "gd" in methods and "pegr" in methods:
            names.append("test_error_gd_minus_pegr.png")
        names.append("summary.png")
    return names
