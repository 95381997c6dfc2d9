# plot.py: pegr's figures -- runs (loss/error, gamma/rho) and sweeps (line plots, phase diagrams) -- in PNG, PDF or SVG, for notebooks, papers and tools/plot.py.
"""pegr.plot: the figures of ``tools/plot.py`` as functions (one implementation: the script is a
thin command line over this module, which it loads by path, without libpegr).

Runs -- a ``pegr.Run``, a dict of them (``pegr.compare``'s), a ``pegr train --out`` directory
(or the parent of ``--compare``'s per-method directories), or a list of these:

    loss_error.png   training loss and test error over the steps t, one line per configuration
    gamma_rho.png    signal learning gamma and noise memorization rho over the steps, and gamma
                     against rho -- gd memorizes noise (rho grows, gamma stays near 0), pegr
                     learns the signal (gamma grows, rho stays small)

Runs of one configuration that differ only in the seed are drawn as one line, their mean, with a
shaded band (``band="minmax"``: from the smallest to the largest seed's value, the default;
``band="std"``: the mean +- one sample standard deviation over the seeds); the legend says which
and how many seeds.

A sweep -- a ``pegr.Sweep``, its ``to_pandas()`` DataFrame, a results.csv path or a
``pegr sweep`` directory -- averaged over seeds, diverged runs excluded. Over two grid columns
(sweep.json's two axes unless x=, y= say) heatmaps (cells where every seed diverged are hatched,
cells where some did are starred), each with the theory's boundary n SNR^q = 1,
SNR = ||mu|| / (sigma_p sqrt(d)), labelled in its legend:

    test_error_METHOD.png          test error, one per method
    gamma_METHOD.png               signal learning gamma, one per method
    rho_METHOD.png                 noise memorization rho, one per method
    test_error_gd_minus_pegr.png   gd's test error minus pegr's (when both ran), centred at 0
    summary.png                    the test-error maps side by side, and the difference

Over one grid column (a sweep.json with one axis, or x= without y=) line plots, one line per
method with the band over seeds, and the boundary as a vertical line where it crosses the axis:

    test_error.png, gamma.png, rho.png   each metric against the axis, every method
    summary.png                          the three side by side

Notation, one definition on every figure (docs/math.md, "What is logged"), written in the axis or
colour-bar label as math text: gamma = mean_j max_r gamma_{j,r}, the mean over the two classes
j of the best filter's signal learning gamma_{j,r} = c_j <W[j,r] - W0[j,r], mu>, i.e.
(gamma_max_pos + gamma_max_neg) / 2 of metrics.csv and results.csv (the heatmaps always drew
this; the run figures drew min_j before, now the same mean); rho = mean_i max_r rho_{y_i,r,i}
(rho_mean).

Each function takes
  out      a directory to write the files into (made if missing; each file written to a
           temporary name and renamed), returning their paths; or None, returning
           {file name: matplotlib Figure} to show or save (a notebook displays them)
  formats  "png" (the default), "pdf", "svg", or several: "png,pdf" or ["pdf", "svg"]; each
           figure is written once per format (loss_error.pdf, ...), in that order
  style    "default" (screen figures) or "paper": a two-column page -- 8 pt STIX (Times-like)
           text and math, one-panel figures 3.3 in wide (one column), two- and more-panel
           figures 6.9 in (the page), tight layout, saved at exactly that size (no cropping),
           PNG at 300 dpi, fonts embedded as TrueType in PDF
  band     "minmax" (default) or "std", as above
matplotlib is imported only when a figure is drawn (``pip install matplotlib``); figures are
``matplotlib.figure.Figure`` objects, never pyplot's, so no backend is chosen or changed. A bad
input raises ValueError.

Example::

    runs = pegr.compare(["gd", "pegr"], preset="tiny", progress=False)
    pegr.plot.runs(runs, out="figs")               # figs/loss_error.png, figs/gamma_rho.png
    sw = pegr.sweep(grid={"n": [20, 40], "snr": [0.5, 1]}, preset="tiny", out="sw")
    pegr.plot.sweep(sw, out="sw/plots", formats="pdf,png", style="paper")   # the phase diagrams
"""
import csv
import json
import os
import sys
import warnings

__all__ = ["runs", "loss_error", "gamma_rho", "sweep", "table", "TABLE_METRICS", "find_runs", "RUN_FIGURES",
           "sweep_figure_names", "FORMATS", "STYLES", "BANDS"]

# the files of the run figures, in the order they are drawn (with formats="png", the default)
RUN_FIGURES = ("loss_error.png", "gamma_rho.png")
FORMATS = ("png", "pdf", "svg")
STYLES = ("default", "paper")
BANDS = ("minmax", "std")

# ---- notation (math text) ------------------------------------------------------------------------
# One gamma everywhere: the mean over the classes of the best filter's signal learning. The
# heatmaps drew it from the start and results.csv holds exactly its two terms; the run figures
# drew min_j, which hides a class that learns and differs from every sweep figure.
GAMMA_DEF = r"$\gamma = \mathrm{mean}_j\,\max_r\,\gamma_{j,r}$"
RHO_DEF = r"$\rho = \mathrm{mean}_i\,\max_r\,\rho_{y_i,r,i}$"
BOUNDARY_LABEL = r"theory: $n\,\mathrm{SNR}^q = 1$"
STEP_LABEL = "step $t$"

SYMBOLS = {
    "n": "$n$", "n_test": r"$n_\mathrm{test}$", "d": "$d$", "patches": "$P$",
    "mu_norm": r"$\Vert\mu\Vert$", "snr": r"$\mathrm{SNR}$", "sigma_p": r"$\sigma_p$",
    "label_noise": "$p$", "m": "$m$", "q": "$q$", "sigma0": r"$\sigma_0$", "lam": r"$\lambda$",
    "lr": r"$\eta$", "steps": "$T$", "batch": "$B$", "sam_rho": r"$\rho_\mathrm{SAM}$",
}

AXIS_LABELS = {
    "n": "$n$ (training examples)", "n_test": r"$n_\mathrm{test}$ (test examples)",
    "d": "$d$ (patch dimension)", "patches": "$P$ (patches)",
    "mu_norm": r"signal strength $\Vert\mu\Vert$",
    "snr": r"$\mathrm{SNR} = \Vert\mu\Vert\, /\, (\sigma_p \sqrt{d})$",
    "sigma_p": r"$\sigma_p$ (noise scale)", "label_noise": "label-flip probability $p$",
    "m": "$m$ (filters)", "q": "$q$ (activation power)", "sigma0": r"$\sigma_0$ (init scale)",
    "lam": r"$\lambda$ (penalty)", "lr": r"learning rate $\eta$", "steps": "steps $T$",
    "batch": "batch size $B$", "sam_rho": r"SAM radius $\rho_\mathrm{SAM}$",
}

METRICS = [  # (file stem, title, label: axis or colour bar, colormap)
    ("test_error", "test error", "test error", "viridis"),
    ("gamma", "signal learning " + GAMMA_DEF, GAMMA_DEF, "magma"),
    ("rho", "noise memorization " + RHO_DEF, RHO_DEF, "magma"),
]

BAND_TEXT = {"minmax": "min to max", "std": r"mean $\pm$ 1 std"}


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


def _symbol(name):
    return SYMBOLS.get(name, name)


def _axis_label(name):
    return AXIS_LABELS.get(name, name)


# ---- formats, styles, bands ------------------------------------------------------------------------

def _formats(formats):
    """The file formats, in order, without repeats: None -> png; "png,pdf" or a list."""
    if formats is None:
        return ["png"]
    if isinstance(formats, str):
        words = [w.strip().lower() for w in formats.split(",")]
    else:
        try:
            words = [str(w).strip().lower() for w in formats]
        except TypeError:
            raise TypeError("formats must be a string such as 'png,pdf' or a list of them, not %r"
                            % (formats,)) from None
    out = []
    for w in words:
        if w not in FORMATS:
            raise ValueError("format %r is not one of %s (give e.g. 'png,pdf,svg')"
                             % (w, ", ".join(FORMATS)))
        if w not in out:
            out.append(w)
    if not out:
        raise ValueError("no format given (one or more of %s)" % ", ".join(FORMATS))
    return out


class _Style:
    """Sizes and fonts of one look. default: the screen figures as they were (sizes from the
    grid, cropped to their content when saved). paper: a two-column page, saved at exactly its
    size so that includegraphics without a width keeps 8 pt text 8 pt."""

    def __init__(self, name, rc, dpi, paper, run_size, line_size, cell_font, legend_font,
                 small_font, title_font):
        self.name, self.rc, self.dpi, self.paper = name, rc, dpi, paper
        self.run_size, self.line_size = run_size, line_size
        self.cell_font, self.legend_font = cell_font, legend_font
        self.small_font, self.title_font = small_font, title_font

    def title(self, long, short):
        """The long titles on screen; a paper's caption says that, so only the short one."""
        return short if self.paper else long

    def heat_size(self, grid, panels=1):
        if self.paper:
            return (3.3, 2.9) if panels == 1 else (6.9, 2.9)
        w = max(4.8, 0.55 * grid.nx + 2.8)
        h = max(3.6, 0.45 * grid.ny + 2.6)
        return (w * panels, h)

    def lines_size(self, panels=1):
        if self.paper:
            return self.line_size if panels == 1 else (6.9, self.line_size[1])
        return (self.line_size[0] * panels, self.line_size[1])

    def finish(self, fig, rect=None):
        """Lay the figure out for the style; rect: the part of the figure the axes may use (a
        figure legend holds the rest)."""
        if self.paper or rect:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "not compatible with tight_layout"
                fig.tight_layout(pad=0.3, rect=rect or (0, 0, 1, 1))
        return fig

    def save(self, fig, path, fmt):
        if self.paper:
            fig.savefig(path, format=fmt, dpi=self.dpi)
        else:
            fig.savefig(path, format=fmt, dpi=self.dpi, bbox_inches="tight")


_PAPER_RC = {
    "font.family": "STIXGeneral", "mathtext.fontset": "stix", "font.size": 8,
    "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 6, "lines.linewidth": 1.0, "lines.markersize": 3, "axes.linewidth": 0.6,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "pdf.fonttype": 42, "ps.fonttype": 42,
}


def _style(style):
    if style is None or style == "default":
        return _Style("default", {}, 120, False, run_size=(11, 4), line_size=(5.6, 4.2),
                      cell_font=7, legend_font=8, small_font=7, title_font=10)
    if style == "paper":
        return _Style("paper", _PAPER_RC, 300, True, run_size=(6.9, 2.4), line_size=(3.3, 2.4),
                      cell_font=5, legend_font=6, small_font=5.5, title_font=8)
    raise ValueError("style %r is not one of %s" % (style, ", ".join(STYLES)))


def _band(band):
    if band not in BANDS:
        raise ValueError("band %r is not one of %s (minmax: smallest to largest seed; std: mean "
                         "+- one standard deviation)" % (band, ", ".join(BANDS)))
    return band


def _stats(values, band):
    """(mean, low, high) of the finite values of a list; the band is NaN for fewer than two."""
    import numpy as np
    v = np.asarray([x for x in values if x == x], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    if band == "std":
        s = float(v.std(ddof=1))
        return mean, mean - s, mean + s
    return mean, float(v.min()), float(v.max())


def _band_handle(band, seeds):
    from matplotlib.patches import Patch
    return Patch(facecolor="0.6", alpha=0.35, edgecolor="none",
                 label=f"band: {BAND_TEXT[band]} over {seeds}")


def _plot_band(ax, x, mean, lo, hi, color, label=None, ls="-", marker=None):
    """A mean line and, where two or more values made it, its band. True when a band was drawn."""
    import numpy as np
    ax.plot(x, mean, color=color, ls=ls, marker=marker, label=label)
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return False
    ax.fill_between(x, np.where(ok, lo, 0.0), np.where(ok, hi, 0.0), where=ok, color=color,
                    alpha=0.2, lw=0, interpolate=False)
    return True


def _render(make, out, formats, style):
    """Draw make(style)'s (stem, Figure) pairs under the style's rc and deliver them."""
    formats, st = _formats(formats), _style(style)
    _figure_class()  # the clear ImportError before any work
    import matplotlib
    if out is not None and not isinstance(out, (str, bytes, os.PathLike)):
        raise TypeError("out must be a directory path or None, not %r" % (out,))
    with matplotlib.rc_context(st.rc):
        return _deliver(make(st), out, formats, st)


def _deliver(figures, out, formats, st):
    """out None: {stem.first format: Figure}; else write each in each format into out
    (atomically: a temporary name, then renamed) and return the paths."""
    if out is None:
        return {f"{stem}.{formats[0]}": fig for stem, fig in figures}
    out = os.fsdecode(out)
    os.makedirs(out, exist_ok=True)
    written = []
    for stem, fig in figures:
        for fmt in formats:
            path = os.path.join(out, f"{stem}.{fmt}")
            tmp = f"{path}.tmp.{fmt}"
            try:
                st.save(fig, tmp, fmt)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
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
        cols[key] = [_num(r[key]) for r in rows]
    return cols


def _flat_config(sections):
    """(options without the seed, seed) of config.json's sections or a pegr.Run's config, in one
    flat form (noise as config.json writes it), or (None, None)."""
    if not isinstance(sections, dict):
        return None, None
    flat = {}
    if isinstance(sections.get("training"), dict):  # config.json
        for part in ("data", "model", "training"):
            if isinstance(sections.get(part), dict):
                flat.update(sections[part])
    else:
        flat.update(sections)
        if "isotropic" in flat:
            flat["noise"] = "isotropic" if flat.pop("isotropic") else "orthogonal"
    if "method" not in flat:
        return None, None
    return flat, flat.pop("seed", None)


def _dir_config(run):
    try:
        with open(os.path.join(run, "config.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _run_records(runs):
    """[(options or None, seed, fallback name, {column: values})] of runs: a Run (anything with
    .metrics and .config, as pegr.Run), a dict of them, a run directory, or a list of these."""
    if isinstance(runs, dict) or hasattr(runs, "metrics") or isinstance(runs, (str, bytes, os.PathLike)):
        runs = [runs]
    recs = []
    for r in runs:
        if isinstance(r, dict):
            recs.extend(_run_records(list(r.values())))
        elif hasattr(r, "metrics"):
            cfg, seed = _flat_config(getattr(r, "config", None))
            recs.append((cfg, seed, str(getattr(r, "method", "run")),
                         {k: [float(x) for x in v] for k, v in r.metrics.items()}))
        elif isinstance(r, (str, bytes, os.PathLike)):
            for d in find_runs([r]):
                cfg, seed = _flat_config(_dir_config(d))
                recs.append((cfg, seed, os.path.basename(os.path.normpath(d)), _read_metrics(d)))
        else:
            raise TypeError("a run must be a pegr.Run, a dict of them or a run directory, not %r"
                            % (r,))
    if not recs:
        raise ValueError("no runs to plot")
    return recs


def _derived(cols):
    """The plotted series of one run's metrics: train_loss, test_error, gamma (the mean over the
    classes, GAMMA_DEF) and rho, those its columns give."""
    out = {k: cols[k] for k in ("train_loss", "test_error") if k in cols}
    if "gamma_max_pos" in cols and "gamma_max_neg" in cols:
        out["gamma"] = [0.5 * (a + b) for a, b in zip(cols["gamma_max_pos"], cols["gamma_max_neg"])]
    if "rho_mean" in cols:
        out["rho"] = cols["rho_mean"]
    return out


class _Series:
    """The runs of one configuration (every option but the seed equal): their common steps and,
    per plotted column, the mean and the band over the runs at each step."""

    def __init__(self, label, members, band):
        self.label, self.k = label, len(members)
        steps = [m["step"] for m in members]
        if all(s == steps[0] for s in steps):
            common = list(steps[0])
        else:
            common = sorted(set(steps[0]).intersection(*steps[1:]))
            _tell(f"{label}: the runs log different steps; drawn at the {len(common)} they share")
        self.steps = common
        self.cols = {}
        for name in members[0]:
            if name == "step" or not all(name in m for m in members):
                continue
            at = [dict(zip(m["step"], m[name])) for m in members]
            stats = [_stats([a[s] for a in at], band) for s in common]
            self.cols[name] = tuple(list(c) for c in zip(*stats)) if stats else ([], [], [])

    def has(self, name):
        return name in self.cols


def _fmt_num(v):
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _series(runs, band):
    """[_Series] of runs, one per configuration, in the order they first appear."""
    groups, index = [], {}
    for k, (cfg, seed, name, cols) in enumerate(_run_records(runs)):
        if "step" not in cols:
            raise ValueError(f"{name}: metrics without a step column")
        key = json.dumps(cfg, sort_keys=True, default=str) if cfg is not None else f"#{k}"
        if key not in index:
            index[key] = len(groups)
            groups.append([cfg, name, [], []])
        groups[index[key]][2].append(seed)
        groups[index[key]][3].append(dict(_derived(cols), step=cols["step"]))

    def base(cfg, name):
        if cfg is None:
            return name
        parts = [r"$\eta=%s$" % _fmt_num(cfg["lr"])] if "lr" in cfg else []
        if cfg["method"] in ("pegr", "gr") and "lam" in cfg:
            parts.append(r"$\lambda=%s$" % _fmt_num(cfg["lam"]))
        if str(cfg["method"]).startswith("sam") and "sam_rho" in cfg:
            parts.append(r"$\rho_\mathrm{SAM}=%s$" % _fmt_num(cfg["sam_rho"]))
        return cfg["method"], parts

    bases = [base(cfg, name) for cfg, name, _, _ in groups]
    out = []
    for (cfg, name, seeds, members), b in zip(groups, bases):
        if cfg is None:
            label, parts = b, []
        else:
            label, parts = b[0], list(b[1])
            # configurations that the method, eta and lambda do not tell apart: add what differs
            twins = [c for (c, _, _, _), bb in zip(groups, bases) if c is not None and bb == b]
            for key in sorted(cfg):
                if len(twins) > 1 and len({json.dumps(c.get(key), default=str) for c in twins}) > 1:
                    parts.append(f"{_symbol(key)}={_fmt_num(cfg[key])}")
        if len(members) == 1:
            if seeds[0] is not None:
                parts.append(f"seed {_fmt_num(seeds[0])}")
        else:
            distinct = len(set(seeds)) == len(seeds) and None not in seeds
            parts.append(f"{len(members)} {'seeds' if distinct else 'runs'}")
        if parts:
            label = f"{label} ({', '.join(parts)})"
        out.append(_Series(label, members, band))
    return out


def _seeds_text(series):
    k = max(s.k for s in series)
    return f"{k} seeds" if k > 1 else "seeds"


def _loss_error_figure(data, st, band):
    fig = _figure_class()(figsize=st.run_size)
    ax1, ax2 = fig.subplots(1, 2)
    banded = False
    for k, s in enumerate(data):
        for ax, col in ((ax1, "train_loss"), (ax2, "test_error")):
            if s.has(col):
                banded |= _plot_band(ax, s.steps, *s.cols[col], color=f"C{k}", label=s.label)
    ax1.set(xlabel=STEP_LABEL, ylabel="training loss", yscale="log")
    ax2.set(xlabel=STEP_LABEL, ylabel="test error", ylim=(-0.02, 0.62))
    ax1.set_title(st.title("training loss", ""))
    ax2.set_title(st.title("test error", ""))
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    handles, _ = ax1.get_legend_handles_labels()
    if banded:
        handles.append(_band_handle(band, _seeds_text(data)))
    ax1.legend(handles=handles, fontsize=st.legend_font)
    return st.finish(fig)


def _gamma_rho_figure(data, st, band):
    from matplotlib.lines import Line2D
    fig = _figure_class()(figsize=st.run_size)
    ax1, ax2 = fig.subplots(1, 2)
    banded = False
    drawn = 0
    for k, s in enumerate(data):
        color = f"C{k}"
        if s.has("gamma"):
            banded |= _plot_band(ax1, s.steps, *s.cols["gamma"], color=color)
        if s.has("rho"):
            banded |= _plot_band(ax1, s.steps, *s.cols["rho"], color=color, ls="--")
        if s.has("gamma") and s.has("rho"):
            ax2.plot(s.cols["rho"][0], s.cols["gamma"][0], color=color, marker=".", ms=3,
                     label=s.label)
            drawn += 1
    if not drawn:
        _tell("the runs' metrics have no gamma_max_pos, gamma_max_neg and rho_mean columns; "
              "gamma_rho is empty")
    ax1.set(xlabel=STEP_LABEL, ylabel=r"$\gamma$ (solid), $\rho$ (dashed)")
    ax2.set(xlabel=RHO_DEF, ylabel=GAMMA_DEF)
    ax1.set_title(st.title(r"signal learning $\gamma$ and noise memorization $\rho$", ""))
    means = " (means over seeds)" if any(s.k > 1 for s in data) else ""
    ax2.set_title(st.title(r"$\gamma$ against $\rho$ over training" + means, ""))
    lim = max(ax2.get_xlim()[1], ax2.get_ylim()[1])
    ax2.plot([0, lim], [0, lim], color="grey", lw=0.8, ls=":")
    handles = [Line2D([], [], color="0.3", label="signal learning " + GAMMA_DEF),
               Line2D([], [], color="0.3", ls="--", label="noise memorization " + RHO_DEF)]
    if banded:
        handles.append(_band_handle(band, _seeds_text(data)))
    ax1.legend(handles=handles, fontsize=st.small_font)
    if drawn:
        ax2.legend(fontsize=st.legend_font)
    return st.finish(fig)


def _run_plot(runs, out, formats, style, band, which):
    _band(band)
    _style(style)
    _formats(formats)  # bad arguments before the runs are read
    data = _series(runs, band)

    def make(st):
        if "loss_error" in which:
            yield "loss_error", _loss_error_figure(data, st, band)
        if "gamma_rho" in which:
            yield "gamma_rho", _gamma_rho_figure(data, st, band)
    return _render(make, out, formats, style)


def loss_error(runs, out=None, *, formats=None, style="default", band="minmax"):
    """loss_error.png: training loss (log scale) and test error against the step, one line per
    configuration (several seeds of one: their mean and band). runs: a pegr.Run, a dict of them
    (pegr.compare's), a run directory, or a list. formats, style, band: see the module.

    Example::

        >>> pegr.plot.loss_error(pegr.compare(["gd", "pegr"], preset="tiny"), out="figs")  # doctest: +SKIP
        ['figs/loss_error.png']
    """
    return _run_plot(runs, out, formats, style, band, ("loss_error",))


def gamma_rho(runs, out=None, *, formats=None, style="default", band="minmax"):
    """gamma_rho.png: signal learning gamma (GAMMA_DEF: the mean over the classes of
    gamma_max_pos, gamma_max_neg) and noise memorization rho (rho_mean) against the step, and
    gamma against rho. runs, formats, style, band as for loss_error.

    Example::

        >>> figs = pegr.plot.gamma_rho(run)          # doctest: +SKIP
        >>> figs["gamma_rho.png"]                    # a Figure: a notebook shows it
    """
    return _run_plot(runs, out, formats, style, band, ("gamma_rho",))


def runs(runs, out=None, *, formats=None, style="default", band="minmax"):
    """Both run figures (RUN_FIGURES: loss_error, gamma_rho), what
    ``python3 tools/plot.py RUN_DIR...`` writes. runs, formats, style, band as for loss_error.

    Example::

        >>> pegr.plot.runs(pegr.train("pegr", preset="tiny"), out="figs")   # doctest: +SKIP
        ['figs/loss_error.png', 'figs/gamma_rho.png']
        >>> pegr.plot.runs(seeds, out="figs", formats="pdf", style="paper")  # doctest: +SKIP
        ['figs/loss_error.pdf', 'figs/gamma_rho.pdf']
    """
    return _run_plot(runs, out, formats, style, band, ("loss_error", "gamma_rho"))


# ---- sweep: line plots and phase diagrams of a `pegr sweep` directory (results.csv, sweep.json) ----

def _cell(row, key):
    v = row.get(key)
    return v.strip() if isinstance(v, str) else ""


def _num(s):
    try:
        return float(s) if s != "" else float("nan")
    except (ValueError, TypeError):  # text, or None for a short csv row
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


def _boundary_text(desc):
    return BOUNDARY_LABEL + (f" ({desc})" if desc else "")


class _Grid:
    """A sweep's rows placed on the grid of one column (yaxis None: a line plot) or two (x, y:
    a heatmap), by method."""

    def __init__(self, sweep_dir, header, rows, meta, xaxis, yaxis):
        self.dir, self.header, self.meta = sweep_dir, header, meta
        self.xaxis, self.yaxis = xaxis, yaxis
        skipped = 0
        placed = []
        for r in rows:
            xs, ys = _cell(r, xaxis), (_cell(r, yaxis) if yaxis else "-")
            if xs == "" or ys == "":
                skipped += 1
                continue
            placed.append((r, _axis_key(xs), _axis_key(ys) if yaxis else None))
        if skipped:
            _tell(f"skipped {skipped} row(s) with an empty {xaxis}" + (f" or {yaxis}" if yaxis else ""))
        if not placed:
            raise ValueError(f"{os.path.join(sweep_dir, 'results.csv') if sweep_dir else 'the sweep'} "
                             f"has no runs to plot")
        self.xs, self.xnum = _grid_values([p[1] for p in placed])
        if yaxis:
            self.ys, self.ynum = _grid_values([p[2] for p in placed])
        else:
            self.ys, self.ynum = [None], False
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
                  "q", "sigma0", "lam", "lr", "steps", "batch", "sam_rho"]
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
        if metric == "gamma":  # GAMMA_DEF: the mean over the classes
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

    def cell_values(self, method, metric):
        """({(j, i): finite values of the non-diverged seeds}, cells where every seed diverged,
        cells where some did, number of diverged runs), the maps shaped (ny, nx)."""
        import numpy as np
        vals = {}
        alldiv = np.zeros((self.ny, self.nx), bool)
        somediv = np.zeros((self.ny, self.nx), bool)
        ndiv = 0
        for (j, i), rows in self.cells[method].items():
            ok = [r for r in rows if not self.diverged(r)]
            ndiv += len(rows) - len(ok)
            alldiv[j, i] = not ok
            somediv[j, i] = bool(ok) and len(ok) < len(rows)
            vals[(j, i)] = [v for v in (self.row_value(r, metric) for r in ok) if v == v]
        return vals, alldiv, somediv, ndiv

    def aggregate(self, method, metric):
        """(mean over the non-diverged seeds, cells where every seed diverged, cells where some did,
        number of diverged runs), each map shaped (ny, nx)."""
        import numpy as np
        vals, alldiv, somediv, ndiv = self.cell_values(method, metric)
        mean = np.full((self.ny, self.nx), np.nan)
        for (j, i), v in vals.items():
            if v:
                mean[j, i] = float(np.mean(v))
        return mean, alldiv, somediv, ndiv

    def line(self, method, metric, band):
        """(mean, low, high) over the x values (a line plot's row 0), and the diverged runs."""
        vals, _, _, ndiv = self.cell_values(method, metric)
        stats = [_stats(vals.get((0, i), []), band) for i in range(self.nx)]
        mean, lo, hi = (list(c) for c in zip(*stats))
        return mean, lo, hi, ndiv

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
        fy = np.linspace(-0.5, self.ny - 0.5, k if self.yaxis else 2)
        coord = {}
        if self.xnum:
            coord[self.xaxis] = _index_to_value(fx, self.xs, _use_log(self.xs))[None, :] * np.ones((len(fy), 1))
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
        desc = ", ".join(f"{_symbol(k_)} = {_fmt(v)}" if v is not None else f"{_symbol(k_)} of each cell"
                         for k_, v in fixed.items())
        return fx, fy, field, desc

    def boundary_on_line(self):
        """(x positions where n SNR^q crosses 1 along the axis, side or None, description) of a
        line plot: positions in axis values (cell indices for a non-numeric axis); side "< 1" or
        "> 1" when it does not cross. None without the parameters."""
        import numpy as np
        b = self.boundary()
        if b is None:
            return None
        fx, _, field, desc = b
        f = np.ma.filled(field[0].astype(float), np.nan)
        ts = []
        for a in range(len(f) - 1):
            if np.isfinite(f[a]) and np.isfinite(f[a + 1]) and (f[a] < 0) != (f[a + 1] < 0):
                ts.append(fx[a] + (fx[a + 1] - fx[a]) * f[a] / (f[a] - f[a + 1]))
        if not ts:
            return [], "< 1" if np.nanmax(f) <= 0 else "> 1", desc
        ts = np.asarray(ts)
        pos = _index_to_value(ts, self.xs, _use_log(self.xs)) if self.xnum else ts
        return [float(p) for p in pos], None, desc

    # drawing --------------------------------------------------------------------------------------
    def draw(self, fig, ax, z, cmap, vmin, vmax, cbar_label, title, st, alldiv=None, somediv=None):
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
        ax.set_xlabel(_axis_label(self.xaxis))
        ax.set_ylabel(_axis_label(self.yaxis))
        ax.set_title(title, fontsize=st.title_font)
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
                    ax.text(i, j, f"{v:.3g}{star}", ha="center", va="center", fontsize=st.cell_font,
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
            if lo < 0 < hi:
                cs = ax.contour(fx, fy, field, levels=[0.0], colors="white", linewidths=2.0, linestyles="--")
                outline = [pe.Stroke(linewidth=4.0, foreground="black"), pe.Normal()]
                if isinstance(cs, Artist):  # matplotlib >= 3.8: the contour set is one collection
                    cs.set_path_effects(outline)
                else:
                    for c in cs.collections:
                        c.set_path_effects(outline)
                handles.append(Line2D([], [], color="white", lw=2, ls="--", path_effects=outline,
                                      label=_boundary_text(desc)))
            else:
                side = "< 1" if hi <= 0 else "> 1"
                handles.append(Line2D([], [], color="none", label=_boundary_text(desc).replace(
                    "= 1$", f"{side}$") + " on the whole grid"))
        ax.set_xlim(-0.5, self.nx - 0.5)
        ax.set_ylim(-0.5, self.ny - 0.5)
        if handles:  # below the x axis label: about 0.6 inch (0.9 with rotated ticks) under the
            # axes, less for the paper's smaller text; in inches, so a later tight layout that
            # shrinks the axes keeps the legend clear of the label
            from matplotlib.transforms import offset_copy
            drop = (0.9 if self.nx > 8 else 0.6) * (0.7 if st.paper else 1.0)
            ax.legend(handles=handles, fontsize=st.small_font, loc="upper center",
                      bbox_to_anchor=(0.5, 0.0), ncol=1, frameon=False,
                      bbox_transform=offset_copy(ax.transAxes, fig=fig, y=-drop, units="inches"))
        return im

    def draw_lines(self, ax, stem, label, st, band, legend=True):
        """One line per method (the mean over seeds) with its band, the chance level for the test
        error, the boundary as a vertical line. The legend's handles (drawn in ax when legend)."""
        from matplotlib.lines import Line2D
        import numpy as np
        pos = list(self.xs) if self.xnum else list(range(self.nx))
        banded = False
        for k, m in enumerate(self.methods):
            mean, lo, hi, ndiv = self.line(m, stem, band)
            text = m + (f" ({ndiv} diverged run{'s' if ndiv != 1 else ''} excluded)" if ndiv else "")
            banded |= _plot_band(ax, pos, mean, lo, hi, color=f"C{k}", label=text, marker="o")
        if stem == "test_error":
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        if self.xnum and _use_log(self.xs) and min(self.xs) > 0:
            ax.set_xscale("log")
        if self.xnum and self.nx <= 12:  # the grid's own values as ticks
            from matplotlib.ticker import NullFormatter
            ax.set_xticks(pos)
            ax.set_xticklabels([_fmt(v) for v in self.xs])
            ax.xaxis.set_minor_formatter(NullFormatter())
        elif not self.xnum:
            ax.set_xticks(pos)
            ax.set_xticklabels([_fmt(v) for v in self.xs])
        ax.set_xlabel(_axis_label(self.xaxis))
        ax.set_ylabel(label)
        handles, _ = ax.get_legend_handles_labels()
        if banded:
            k = max(self.seeds(m) for m in self.methods)
            handles.append(_band_handle(band, f"{k} seeds"))
        b = self.boundary_on_line()
        if b is not None:
            xs, side, desc = b
            for x in xs:
                ax.axvline(x, color="black", lw=1.0, ls="--")
            if xs:
                handles.append(Line2D([], [], color="black", lw=1.0, ls="--", label=_boundary_text(desc)))
            else:
                handles.append(Line2D([], [], color="none", label=_boundary_text(desc).replace(
                    "= 1$", f"{side}$") + " on the whole axis"))
        if legend:
            ax.legend(handles=handles, fontsize=st.legend_font if not st.paper else st.small_font)
        return handles


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


def _present_metrics(sw):
    present = []
    for metric in METRICS:
        if sw.has_metric(metric[0]):
            present.append(metric)
        else:
            _tell(f"results.csv lacks the columns for {metric[0]}; skipping its figures")
    return present


def _line_figures(sw, st, band):
    """(stem, Figure) of a one-axis sweep: each metric against the axis, then the summary."""
    Figure = _figure_class()
    present = _present_metrics(sw)
    for stem, title, label, _ in present:
        fig = Figure(figsize=st.lines_size())
        ax = fig.subplots()
        sw.draw_lines(ax, stem, label, st, band)
        ax.set_title(st.title(f"{title} over {_symbol(sw.xaxis)}", ""), fontsize=st.title_font)
        yield stem, st.finish(fig)
    if present:
        fig = Figure(figsize=st.lines_size(len(present)))
        axes = fig.subplots(1, len(present), squeeze=False)[0]
        handles = []
        for ax, (stem, title, label, _) in zip(axes, present):
            handles = sw.draw_lines(ax, stem, label, st, band, legend=False)
        # one legend for the panels, in a strip below them: inside a panel it covered the curves
        # or, at a paper's sizes, the first panel's axis label
        font = st.small_font if st.paper else st.legend_font
        ncol = min(len(handles), 4)
        rows = -(-len(handles) // ncol) if ncol else 0
        strip = min(0.45, (rows * font * 1.5 + 4) / 72 / fig.get_size_inches()[1])
        fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=font, frameon=False)
        top = 1.0
        if not st.paper:
            short = {"test_error": "test error", "gamma": r"$\gamma$", "rho": r"$\rho$"}
            fig.suptitle(f"{', '.join(short[m[0]] for m in present)} over {_symbol(sw.xaxis)}")
        yield "summary", st.finish(fig, rect=(0, strip, 1, top))


def _sweep_figures(sw, st):
    """(stem, Figure) of each phase diagram of the two-axis grid sw, in order."""
    import numpy as np
    Figure = _figure_class()

    def seeds_text(method, ndiv):
        k = sw.seeds(method)
        t = f"mean over {k} seed{'s' if k != 1 else ''}"
        return t + (f", {ndiv} diverged run{'s' if ndiv != 1 else ''} excluded" if ndiv else "")

    def short_title(method):  # paper: the method and the seeds; the colour bar says the metric
        return f"{method}, mean of {sw.seeds(method)} seed{'s' if sw.seeds(method) != 1 else ''}"

    agg = {}
    for stem, title, label, cmap in _present_metrics(sw):
        agg[stem] = {m: sw.aggregate(m, stem) for m in sw.methods}
        if stem == "test_error":
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0, ceil=0.5)
        else:
            vmin, vmax = _limits([a[0] for a in agg[stem].values()], floor=0.0)
        for m in sw.methods:
            z, alldiv, somediv, ndiv = agg[stem][m]
            fig = Figure(figsize=st.heat_size(sw))
            ax = fig.subplots()
            sw.draw(fig, ax, z, cmap, vmin, vmax, f"{label} ({m})",
                    st.title(f"{m}: {title}\n{seeds_text(m, ndiv)}", short_title(m)), st, alldiv, somediv)
            yield f"{stem}_{_safe(m)}", st.finish(fig)

    diff = None
    te = agg.get("test_error", {})
    if "gd" in te and "pegr" in te:
        zg, dg, sg, ng = te["gd"]
        zp, dp, spd, npd = te["pegr"]
        diff = (zg - zp, dg | dp, sg | spd,
                st.title(f"test error: gd minus pegr (> 0: pegr better)\n"
                         f"gd {seeds_text('gd', ng)}; pegr {seeds_text('pegr', npd)}",
                         "gd minus pegr (> 0: pegr better)"))
        lim = float(np.nanmax(np.abs(diff[0]))) if np.isfinite(diff[0]).any() else 0.5
        lim = max(lim, 1e-3)
        fig = Figure(figsize=st.heat_size(sw))
        ax = fig.subplots()
        sw.draw(fig, ax, diff[0], "RdBu_r", -lim, lim, "test error (gd) $-$ test error (pegr)", diff[3],
                st, diff[1], diff[2])
        yield "test_error_gd_minus_pegr", st.finish(fig)
    elif te:
        _tell("no gd and pegr pair; no difference map")

    if te:
        panels = len(sw.methods) + (1 if diff is not None else 0)
        fig = Figure(figsize=st.heat_size(sw, panels))
        axes = fig.subplots(1, panels, squeeze=False)
        vmin, vmax = _limits([a[0] for a in te.values()], floor=0.0, ceil=0.5)
        for ax, m in zip(axes[0], sw.methods):
            z, alldiv, somediv, ndiv = te[m]
            sw.draw(fig, ax, z, "viridis", vmin, vmax, "test error",
                    st.title(f"{m}: test error\n{seeds_text(m, ndiv)}", short_title(m)), st, alldiv, somediv)
        if diff is not None:
            lim = max(float(np.nanmax(np.abs(diff[0]))) if np.isfinite(diff[0]).any() else 0.5, 1e-3)
            sw.draw(fig, axes[0][-1], diff[0], "RdBu_r", -lim, lim, "gd $-$ pegr",
                    st.title("test error: gd minus pegr\n(> 0: pegr better)", "gd minus pegr"), st,
                    diff[1], diff[2])
        if not st.paper:  # the axes, never the directory: a figure keeps its title when moved
            fig.suptitle(f"test error over {_symbol(sw.xaxis)} $\\times$ {_symbol(sw.yaxis)}")
            fig.tight_layout()
        yield "summary", st.finish(fig)


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


TABLE_METRICS = ("test_error", "train_error", "gamma", "rho")
_TABLE_NEEDS = {"gamma": ["gamma_max_pos", "gamma_max_neg"], "rho": ["rho_mean"]}


def table(source, by=None, metrics=TABLE_METRICS, fmt="markdown"):
    """A sweep's final metrics as a table of mean +- sample standard deviation over seeds: one
    row per method and grid point (by=: other results.csv columns to group by; default method
    and sweep.json's axes), the seeds counted, and how many runs diverged (their metrics are left
    out of the mean, as in the figures). metrics: results.csv columns, or "gamma" (GAMMA_DEF, as on
    the figures) and "rho" (rho_mean). fmt "markdown" (for a README or a paper's notes) or "csv"
    (mean and std in columns of their own). Returns the text; no matplotlib needed."""
    _, header, rows, meta = _read_sweep(source)
    if by is None:
        axes = meta.get("axes") if isinstance(meta.get("axes"), list) else []
        by = ["method"] + [a for a in axes if isinstance(a, str) and a in header]
    elif isinstance(by, str):
        by = [c for c in by.split(",") if c]
    metrics = list(metrics.split(",") if isinstance(metrics, str) else metrics)
    for c in list(by) + [n for m in metrics for n in _TABLE_NEEDS.get(m, [m])]:
        if c not in header:
            raise ValueError(f"no column '{c}' in results.csv (it has {', '.join(header)})")
    if fmt not in ("markdown", "csv"):
        raise ValueError(f"fmt must be markdown or csv, not {fmt!r}")
    groups = {}
    for r in rows:
        groups.setdefault(tuple(_cell(r, c) for c in by), []).append(r)
    first = {}  # the first column (the method) in the order results.csv has it, the rest by value
    for key in groups:
        first.setdefault(key[0] if key else "", len(first))

    def order(key):
        rest = tuple((0, k, "") if isinstance(k, float) else (1, 0.0, k)
                     for k in (_axis_key(v) for v in key[1:]))
        return (first.get(key[0], 0) if key else 0,) + rest
    keys = sorted(groups, key=order)

    def stats(vals):
        vals = [v for v in vals if v == v]
        if not vals:
            return float("nan"), float("nan")
        mean = sum(vals) / len(vals)
        std = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 \
            else float("nan")
        return mean, std

    lines = []
    if fmt == "csv":
        lines.append(",".join(list(by) + ["seeds", "diverged"] +
                              [f"{m}_{w}" for m in metrics for w in ("mean", "std")]))
    else:
        head = list(by) + ["seeds"] + metrics + ["diverged"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        grp = groups[key]
        diverged = [_cell(r, "diverged") not in ("", "0", "no", "false") for r in grp]
        kept = [r for r, dv in zip(grp, diverged) if not dv]
        cells = [stats([_Grid.row_value(r, m) for r in kept]) for m in metrics]
        if fmt == "csv":
            lines.append(",".join(list(key) + [str(len(grp)), str(sum(diverged))] +
                                  [f"{v:.6g}" for c in cells for v in c]))
        else:
            def pm(c):
                return "-" if c[0] != c[0] else (f"{c[0]:.3g}" if c[1] != c[1]
                                                 else f"{c[0]:.3g} ± {c[1]:.2g}")
            shown = [_fmt(_axis_key(v)) if v else v for v in key]  # 0.1, not 0.10000000000000001
            lines.append("| " + " | ".join(shown + [str(len(grp))] + [pm(c) for c in cells] +
                                           [str(sum(diverged))]) + " |")
    return "\n".join(lines) + "\n"


def _choose_axes(header, meta, x, y, where):
    """(x, y) of the grid; y None for a line plot: a sweep over one axis, or x alone where the
    sweep does not name two."""
    axes = meta.get("axes")
    if isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, str) for a in axes):
        if x and not y:
            y = axes[1] if x != axes[1] else axes[0]
        elif y and not x:
            x = axes[0] if y != axes[0] else axes[1]
        elif not x:
            x, y = axes
    elif isinstance(axes, list) and len(axes) == 1 and isinstance(axes[0], str) and not x:
        x = axes[0]  # a one-axis sweep: a line plot (or a heatmap against y= when given)
    elif not x:
        why = "is missing" if not meta else f"has axes {axes!r}, not one or two"
        raise ValueError(f"{where} {why}: say which columns to plot with x=AXIS, y=AXIS, or "
                         f"x=AXIS alone for a line plot (tools/plot.py: --x AXIS [--y AXIS]) "
                         f"(columns: {', '.join(header)})")
    for a in (x, y):
        if a is not None and a not in header:
            raise ValueError(f"results.csv has no column {a!r} (columns: {', '.join(header)})")
    if x == y:
        raise ValueError(f"x and y are both {x!r}")
    return x, y


def _grid(source, x=None, y=None):
    sweep_dir, header, rows, meta = _read_sweep(source)
    where = os.path.join(sweep_dir, "sweep.json") if sweep_dir else "the frame's attrs['axes']"
    x, y = _choose_axes(header, meta, x or None, y or None, where)
    return _Grid(sweep_dir, header, rows, meta, x, y)


def sweep(source, out=None, x=None, y=None, *, formats=None, style="default", band="minmax"):
    """The figures of a sweep (the files listed in this module's docstring), what
    ``python3 tools/plot.py sweep SWEEP_DIR`` writes: heatmaps over two grid columns, line plots
    (mean over seeds, band) over one. source: a pegr.Sweep, its DataFrame (``to_pandas()``; x
    needed unless ``frame.attrs["axes"]`` names the columns), a results.csv path or a sweep
    directory. x, y: the columns of the grid (default: sweep.json's axes; x alone where it
    names no two axes: a line plot). out: a directory, or None for {file name: Figure}.
    formats, style, band: see the module.

    Example::

        >>> sw = pegr.sweep(grid={"n": [20, 40], "snr": [0.5, 1.0]}, preset="tiny", out="sw")  # doctest: +SKIP
        >>> pegr.plot.sweep(sw, out="sw/plots")        # doctest: +SKIP
        ['sw/plots/test_error_gd.png', ..., 'sw/plots/summary.png']
        >>> pegr.plot.sweep(sw, out="paper", formats="pdf", style="paper")   # doctest: +SKIP
    """
    _band(band)
    _style(style)
    _formats(formats)
    g = _grid(source, x, y)
    if g.yaxis is None:
        return _render(lambda st: _line_figures(g, st, band), out, formats, style)
    return _render(lambda st: _sweep_figures(g, st), out, formats, style)


def sweep_figure_names(methods, columns=None, formats=None, axes=2):
    """The file names sweep() writes for these methods (in order) when results.csv has the
    columns (None: all of them), in the formats (default png), for a sweep over axes = 2
    columns (heatmaps) or 1 (line plots) -- for checking a directory of figures."""
    have = None if columns is None else set(columns)
    stems = []
    for stem, _, _, _ in METRICS:
        need = {"gamma": ["gamma_max_pos", "gamma_max_neg"], "rho": ["rho_mean"]}.get(stem, [stem])
        if have is None or have.issuperset(need):
            stems += [stem] if axes == 1 else [f"{stem}_{_safe(m)}" for m in methods]
    if axes == 1:
        if stems:
            stems.append("summary")
    elif have is None or "test_error" in have:
        if "gd" in methods and "pegr" in methods:
            stems.append("test_error_gd_minus_pegr")
        stems.append("summary")
    return [f"{s}.{fmt}" for s in stems for fmt in _formats(formats)]
