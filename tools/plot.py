#!/usr/bin/env python3
"""plot.py: pictures of pegr runs and sweeps -- the command line of pegr.plot (python/pegr/plot.py).

    python3 tools/plot.py RUN_DIR... [--out DIR] [FIGURE OPTIONS]

Each RUN_DIR is a `pegr train --out` directory (metrics.csv, config.json); with `--compare`, pass
its per-method subdirectories (or the parent: its subdirectories are found). Writes into --out
(default: the first run's parent directory) loss_error.png and gamma_rho.png. Runs that differ
only in the seed are drawn as their mean with a band.

    python3 tools/plot.py sweep SWEEP_DIR [--out DIR] [--x AXIS [--y AXIS]] [FIGURE OPTIONS]

SWEEP_DIR is a `pegr sweep` directory: results.csv and sweep.json (its "axes": the grid columns;
without it, or with other than one or two axes, --x is required). Writes into --out (default
SWEEP_DIR/plots), over two axes the phase diagrams: test_error_METHOD.png, gamma_METHOD.png,
rho_METHOD.png, test_error_gd_minus_pegr.png, summary.png; over one axis (a one-axis sweep, or
--x alone) the line plots: test_error.png, gamma.png, rho.png, summary.png.

    python3 tools/plot.py table SWEEP_DIR [--by COLUMNS] [--metrics COLUMNS] [--csv]

prints the sweep's final metrics as a markdown table (--csv: csv): mean +- sample standard
deviation over seeds per method and grid point (--by: other results.csv columns), the seed count
and how many runs diverged (left out of the means). Needs no matplotlib.

FIGURE OPTIONS: --format png,pdf,svg (each figure in each format; default png), --style paper
(8 pt text, 3.3 in one-column and 6.9 in page-wide figures, tight layout), --band minmax|std
(the shaded band over seeds: smallest to largest value, default, or mean +- one std).

The figures are pegr.plot's (one implementation for this script and notebooks; its docstring says
what each shows). The module is loaded from its file, so this script needs neither libpegr nor an
installed pegr package: only matplotlib (apt-get install python3-matplotlib, or pip install
matplotlib) and numpy.
"""
import argparse
import importlib.util
import os
import sys

_PLOT_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python", "pegr",
                        "plot.py")


def load_plot():
    """python/pegr/plot.py as a module of its own (not through the pegr package, which would
    load libpegr)."""
    spec = importlib.util.spec_from_file_location("pegr_plot", _PLOT_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _wrote(paths):
    for p in paths:
        print(f"wrote {p}")


# the options that take a value, for finding the first positional word (_first_positional)
_VALUED = ("--out", "--x", "--y", "--format", "--style", "--band", "--by", "--metrics")


def _add_figure_options(p, plot):
    def formats(text):
        try:
            return plot._formats(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    p.add_argument("--format", type=formats, default=["png"], metavar="FORMATS",
                   help="comma-separated file formats: png, pdf, svg (default png)")
    p.add_argument("--style", choices=plot.STYLES, default="default",
                   help="paper: font and figure sizes for a two-column page (default: default)")
    p.add_argument("--band", choices=plot.BANDS, default="minmax",
                   help="the band over seeds: minmax (smallest to largest value, default) or std "
                        "(mean +- one standard deviation)")


def _figure_kw(a):
    return {"formats": a.format, "style": a.style, "band": a.band}


def sweep_main(plot, argv):
    p = argparse.ArgumentParser(prog="plot.py sweep",
                                description="Phase diagrams (two axes) or line plots (one axis) "
                                            "of a `pegr sweep` directory.")
    p.add_argument("sweep_dir", help="a pegr sweep output directory (results.csv, sweep.json)")
    p.add_argument("--out", help="where to write the figures (default: SWEEP_DIR/plots)")
    p.add_argument("--x", help="results.csv column for the x axis (default: sweep.json's first axis)")
    p.add_argument("--y", help="results.csv column for the y axis (default: sweep.json's second axis; "
                               "none: a line plot over x)")
    _add_figure_options(p, plot)
    a = p.parse_args(argv)
    if not os.path.isdir(a.sweep_dir):
        sys.exit(f"plot.py sweep: {a.sweep_dir} is not a directory (give a `pegr sweep` output directory)")
    if not os.path.isfile(os.path.join(a.sweep_dir, "results.csv")):
        hint = "is it a `pegr sweep` output directory?"
        if os.path.isfile(os.path.join(a.sweep_dir, "metrics.csv")):
            hint = "it holds metrics.csv: plot a run directory with `plot.py RUN_DIR`"
        sys.exit(f"plot.py sweep: {os.path.join(a.sweep_dir, 'results.csv')} does not exist ({hint}); "
                 f"to plot a run directory named 'sweep', write it as ./sweep")
    try:
        _wrote(plot.sweep(a.sweep_dir, out=a.out or os.path.join(a.sweep_dir, "plots"), x=a.x, y=a.y,
                          **_figure_kw(a)))
    except ValueError as e:
        sys.exit(f"plot.py sweep: {e}")
    except ImportError as e:
        sys.exit(f"plot.py sweep: {e}")
    return 0


def table_main(plot, argv):
    p = argparse.ArgumentParser(prog="plot.py table",
                                description="A sweep's final metrics, mean +- std over seeds, as a "
                                            "markdown (or csv) table.")
    p.add_argument("sweep_dir", help="a pegr sweep output directory (results.csv, sweep.json)")
    p.add_argument("--by", help="comma-separated results.csv columns to group by (default: method "
                                "and the sweep's grid axes)")
    p.add_argument("--metrics", default=",".join(plot.TABLE_METRICS),
                   help="comma-separated results.csv columns to summarize (default: %(default)s)")
    p.add_argument("--csv", action="store_true", help="csv instead of markdown")
    a = p.parse_args(argv)
    try:
        sys.stdout.write(plot.table(a.sweep_dir, by=a.by, metrics=a.metrics,
                                    fmt="csv" if a.csv else "markdown"))
    except ValueError as e:
        sys.exit(f"plot.py table: {e}")
    return 0


def _first_positional(argv):
    """Index in argv of the first word that is not an option or an option's value, or None."""
    k = 0
    while k < len(argv):
        t = argv[k]
        if t == "--":
            return k + 1 if k + 1 < len(argv) else None
        if t in _VALUED:
            k += 2
            continue
        if t.startswith("-") and t != "-":
            k += 1
            continue
        return k
    return None


def main(argv):
    plot = load_plot()
    k = _first_positional(argv)
    if k is not None and argv[k] == "sweep":
        return sweep_main(plot, argv[:k] + argv[k + 1:])
    if k is not None and argv[k] == "table":
        return table_main(plot, argv[:k] + argv[k + 1:])
    p = argparse.ArgumentParser(description="Plot pegr runs (or a sweep: plot.py sweep SWEEP_DIR).")
    p.add_argument("runs", nargs="+", help="pegr train --out directories")
    p.add_argument("--out", help="where to write the figures (default: the first run's parent)")
    _add_figure_options(p, plot)
    a = p.parse_args(argv)
    try:
        runs = plot.find_runs(a.runs)
        _wrote(plot.runs(runs, out=a.out or os.path.dirname(os.path.abspath(runs[0])), **_figure_kw(a)))
    except (ValueError, ImportError) as e:
        sys.exit(f"plot.py: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
