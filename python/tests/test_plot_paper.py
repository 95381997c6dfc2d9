# test_plot_paper.py: pegr.plot's figures for a paper -- PDF/SVG/PNG files, math-text labels, one gamma, mean and band over seeds, 1-D line plots vs 2-D heatmaps, the labelled boundary, titles without directories, --style paper.
"""On synthetic runs and sweeps written here (results.csv, sweep.json, metrics.csv, config.json with
known values), so every expected number is computed by hand: no training, no libpegr call.
matplotlib with the Agg backend; skipped without matplotlib."""
import json
import math
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from pegr import plot
from conftest import SOURCE_ROOT

PLOT_PY = os.path.join(SOURCE_ROOT, "tools", "plot.py")
# every directory written here carries this mark: no title may show it
MARK = "dirmarkQX"


@pytest.fixture
def mpl():
    m = pytest.importorskip("matplotlib")
    m.use("Agg")
    return m


# ---- synthetic inputs ------------------------------------------------------------------------

COLS = ["run_id", "method", "seed", "n", "d", "mu_norm", "snr", "sigma_p", "q", "label_noise",
        "test_error", "gamma_max_pos", "gamma_max_neg", "rho_mean", "diverged"]


def _gd_error(n, snr, seed):
    return (0.1 if n * snr ** 3 > 1 else 0.5) + 0.01 * seed


def _pegr_error(seed):
    return 0.05 + 0.01 * seed ** 2  # 0.05, 0.06, 0.09: min-max and +-std bands differ


def _write_sweep(root, name, points, axes, seeds=(0, 1, 2), methods=("gd", "pegr")):
    """A sweep directory: the methods at each (n, mu_norm) point of points, the seeds; d = 1000,
    sigma_p = 1, q = 3. gamma_max_pos = 1 + seed, gamma_max_neg = 2 + seed (gamma = 1.5 + seed)."""
    d = os.path.join(root, name)
    os.makedirs(d)
    lines, k = [",".join(COLS)], 0
    for method in methods:
        for n, mu in points:
            snr = mu / math.sqrt(1000)
            for seed in seeds:
                k += 1
                te = _gd_error(n, snr, seed) if method == "gd" else _pegr_error(seed)
                row = [k, method, seed, n, 1000, mu, repr(snr), 1, 3, 0, te, 1 + seed, 2 + seed,
                       0.1 * (seed + 1), 0]
                lines.append(",".join(str(v) for v in row))
    with open(os.path.join(d, "results.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "sweep.json"), "w") as f:
        json.dump({"axes": axes, "methods": list(methods), "seeds": list(seeds)}, f)
    return d


@pytest.fixture
def sweep2d(tmp_path):
    return _write_sweep(tmp_path, MARK + "-2d", [(n, mu) for n in (20, 50, 200) for mu in (3, 12)],
                        ["n", "mu_norm"], seeds=(0, 1))


@pytest.fixture
def sweep_pegr(tmp_path):
    """A small two-axis sweep of pegr alone: four figures, for the tests that write every format."""
    return _write_sweep(tmp_path, MARK + "-pegr", [(n, mu) for n in (20, 200) for mu in (3, 12)],
                        ["n", "mu_norm"], seeds=(0,), methods=("pegr",))


@pytest.fixture
def sweep1d(tmp_path):
    # SNR = mu / sqrt(1000) over 0.1 .. 0.8 at n = 50: n SNR^3 = 1 at SNR = 50^(-1/3) = 0.271
    return _write_sweep(tmp_path, MARK + "-1d", [(50, s * math.sqrt(1000)) for s in (0.1, 0.2, 0.4, 0.8)],
                        ["mu_norm"])


def _write_run(root, name, method, seed, scale, lr=0.1, lam=0.01):
    """A `pegr train --out` directory: 3 logged steps, values scaled by `scale`."""
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "metrics.csv"), "w") as f:
        f.write("step,train_loss,test_error,gamma_max_pos,gamma_max_neg,rho_mean\n")
        for step, t in ((0, 0.0), (10, 1.0), (20, 2.0)):
            f.write(f"{step},{0.7 / (1 + t * scale)},{0.5 - 0.1 * t * scale},{t * scale},"
                    f"{t * scale * 1.5},{0.1 * t * scale}\n")
    cfg = {"pegr_version": "x", "data": {"n": 50, "d": 1000, "mu_norm": 3, "seed": seed},
           "model": {"m": 10, "q": 3, "sigma0": 0.01},
           "training": {"method": method, "lam": lam, "lr": lr, "steps": 20},
           "device": {"description": "host"}}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return d


@pytest.fixture
def run_dirs(tmp_path):
    """pegr over seeds 0, 1, 2 (scales 1, 2, 3) and one gd run."""
    root = tmp_path / (MARK + "-runs")
    os.makedirs(root)
    pegr_runs = [_write_run(root, f"{MARK}-pegr-{s}", "pegr", s, 1 + s) for s in range(3)]
    gd = _write_run(root, f"{MARK}-gd", "gd", 0, 0.5)
    return pegr_runs, gd


def _script(*args, check=True):
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, PLOT_PY] + [str(a) for a in args], capture_output=True,
                         text=True, env=env)
    if check:
        assert out.returncode == 0, out.stderr
    return out


# ---- file formats -----------------------------------------------------------------------------

def _check_file(path):
    """A valid file of the kind its extension names."""
    with open(path, "rb") as f:
        data = f.read()
    ext = os.path.splitext(path)[1]
    if ext == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    elif ext == ".pdf":
        assert data.startswith(b"%PDF-"), path
        assert b"%%EOF" in data[-64:], path
    elif ext == ".svg":
        root = ET.fromstring(data)
        assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg"), (path, root.tag)
    else:
        raise AssertionError(f"unexpected file {path}")


def test_every_format_is_written_and_valid(mpl, sweep_pegr, sweep1d, run_dirs, tmp_path):
    fmts = ["png", "pdf", "svg"]
    got = plot.sweep(sweep_pegr, out=tmp_path / "2d", formats="png,pdf,svg")
    names = plot.sweep_figure_names(["pegr"], formats=fmts)
    assert [os.path.basename(p) for p in got] == names
    assert names[:3] == ["test_error_pegr.png", "test_error_pegr.pdf", "test_error_pegr.svg"]
    assert len(names) == 4 * 3
    assert sorted(os.listdir(tmp_path / "2d")) == sorted(names)  # no temporary files left
    got1 = plot.sweep(sweep1d, out=tmp_path / "1d", formats=["svg"])
    assert [os.path.basename(p) for p in got1] == plot.sweep_figure_names(
        ["gd", "pegr"], formats=["svg"], axes=1)
    got_runs = plot.runs(run_dirs[0], out=tmp_path / "runs", formats=("pdf", "svg", "png", "pdf"))
    assert [os.path.basename(p) for p in got_runs] == [
        "loss_error.pdf", "loss_error.svg", "loss_error.png",
        "gamma_rho.pdf", "gamma_rho.svg", "gamma_rho.png"]
    for p in got + got1 + got_runs:
        _check_file(p)
    # the default stays png alone, named as before
    assert [os.path.basename(p) for p in plot.runs(run_dirs[1], out=tmp_path / "png")] == \
        list(plot.RUN_FIGURES)


def test_a_bad_format_style_or_band_is_refused(mpl, sweep2d, run_dirs, tmp_path):
    with pytest.raises(ValueError, match="'jpg' is not one of png, pdf, svg"):
        plot.sweep(sweep2d, out=tmp_path / "x", formats="png,jpg")
    with pytest.raises(ValueError, match="style 'poster'"):
        plot.runs(run_dirs[1], style="poster")
    with pytest.raises(ValueError, match="band 'iqr'"):
        plot.runs(run_dirs[1], band="iqr")
    assert not os.path.exists(tmp_path / "x")
    out = _script("sweep", sweep2d, "--format", "png,gif", "--out", tmp_path / "y", check=False)
    assert out.returncode == 2 and "'gif' is not one of png, pdf, svg" in out.stderr


def test_the_script_writes_every_format_and_style(mpl, sweep_pegr, sweep1d, run_dirs, tmp_path):
    said = _script("sweep", sweep_pegr, "--out", tmp_path / "s", "--format", "pdf,svg", "--style",
                   "paper", "--band", "std").stdout.split()
    names = plot.sweep_figure_names(["pegr"], formats=["pdf", "svg"])
    assert said == [w for n in names for w in ("wrote", str(tmp_path / "s" / n))]
    for n in names:
        _check_file(tmp_path / "s" / n)
    _script("sweep", sweep1d, "--out", tmp_path / "l", "--format", "svg")
    assert sorted(os.listdir(tmp_path / "l")) == sorted(
        plot.sweep_figure_names(["gd", "pegr"], formats=["svg"], axes=1))
    # the options may come before the positional words
    _script("--format", "pdf", "--style", "paper", run_dirs[1], "--out", tmp_path / "r")
    assert sorted(os.listdir(tmp_path / "r")) == ["gamma_rho.pdf", "loss_error.pdf"]


# ---- notation ---------------------------------------------------------------------------------

def _draw(fig):
    """Render on Agg: math text that does not parse raises here."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    return fig


def test_labels_are_math_text_with_one_gamma(mpl, sweep2d, sweep1d, run_dirs):
    heat = plot.sweep(sweep2d)
    ax = _draw(heat["gamma_gd.png"]).axes[0]
    assert ax.get_xlabel() == "$n$ (training examples)"
    assert ax.get_ylabel() == r"signal strength $\Vert\mu\Vert$"
    cbar = heat["gamma_gd.png"].axes[1]
    assert cbar.get_ylabel().startswith(plot.GAMMA_DEF)
    assert plot.GAMMA_DEF in ax.get_title()
    assert heat["rho_pegr.png"].axes[1].get_ylabel().startswith(plot.RHO_DEF)
    # the heatmap's gamma: the mean over the classes, (1 + seed + 2 + seed) / 2 over seeds 0, 1
    assert float(ax.images[0].get_array()[0, 0]) == pytest.approx(2.0)

    lines = plot.sweep(sweep1d)
    ax = _draw(lines["gamma.png"]).axes[0]
    assert ax.get_ylabel() == plot.GAMMA_DEF
    assert ax.get_xlabel() == r"signal strength $\Vert\mu\Vert$"
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([2.5] * 4)  # seeds 0, 1, 2
    assert _draw(lines["rho.png"]).axes[0].get_ylabel() == plot.RHO_DEF
    snr = plot.sweep(sweep1d, x="snr")["test_error.png"].axes[0]
    assert snr.get_xlabel().startswith(r"$\mathrm{SNR} = \Vert\mu\Vert")
    assert snr.get_ylabel() == "test error"

    fig = _draw(plot.gamma_rho(run_dirs[1])["gamma_rho.png"])
    over_steps, against = fig.axes
    assert against.get_ylabel() == plot.GAMMA_DEF and against.get_xlabel() == plot.RHO_DEF
    assert over_steps.get_xlabel() == "step $t$"
    # the run figure's gamma is the heatmaps' gamma: (pos + neg) / 2 = (t + 1.5 t) / 2 * 0.5, not min
    assert list(over_steps.get_lines()[0].get_ydata()) == pytest.approx([0.0, 0.625, 1.25])
    assert "gamma = mean_j" in plot.__doc__ and "GAMMA_DEF" in plot.gamma_rho.__doc__


# ---- bands over seeds, line plots, heatmaps -------------------------------------------------

def _bands(ax):
    from matplotlib.collections import PolyCollection
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _band_range(coll):
    ys = coll.get_paths()[0].vertices[:, 1]
    return float(ys.min()), float(ys.max())


def test_a_one_axis_sweep_is_a_line_plot_with_a_band(mpl, sweep1d):
    figs = plot.sweep(sweep1d)
    assert list(figs) == plot.sweep_figure_names(["gd", "pegr"], axes=1) == \
        ["test_error.png", "gamma.png", "rho.png", "summary.png"]
    ax = figs["test_error.png"].axes[0]
    assert not ax.images  # no heatmap
    gd, pegr = ax.get_lines()[:2]
    assert list(gd.get_xdata()) == pytest.approx([s * math.sqrt(1000) for s in (0.1, 0.2, 0.4, 0.8)])
    assert list(pegr.get_ydata()) == pytest.approx([(0.05 + 0.06 + 0.09) / 3] * 4)
    bands = _bands(ax)
    assert len(bands) == 2  # one per method
    assert _band_range(bands[1]) == pytest.approx((0.05, 0.09))  # min to max over the seeds
    std = plot.sweep(sweep1d, band="std")["test_error.png"].axes[0]
    s = math.sqrt(sum((v - 0.2 / 3) ** 2 for v in (0.05, 0.06, 0.09)) / 2)
    assert _band_range(_bands(std)[1]) == pytest.approx((0.2 / 3 - s, 0.2 / 3 + s))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "band: min to max over 3 seeds" in texts
    assert any("band: mean $\\pm$ 1 std over 3 seeds" == t.get_text()
               for t in std.get_legend().get_texts())
    summary = figs["summary.png"]
    assert len(summary.axes) == 3 and all(_bands(a) for a in summary.axes)
    # x= alone on a two-axis sweep's results gives a line plot too
    two = plot.sweep(os.path.join(sweep1d, "results.csv"), x="snr")
    assert sorted(two) == sorted(figs) and not two["gamma.png"].axes[0].images


def test_a_two_axis_sweep_is_a_heatmap(mpl, sweep2d):
    figs = plot.sweep(sweep2d)
    assert list(figs) == plot.sweep_figure_names(["gd", "pegr"])
    for name in ("test_error_gd.png", "gamma_pegr.png", "test_error_gd_minus_pegr.png"):
        ax = figs[name].axes[0]
        assert len(ax.images) == 1 and not _bands(ax)
        assert ax.images[0].get_array().shape == (2, 3)  # mu_norm x n


def test_runs_of_one_configuration_are_a_mean_with_a_band(mpl, run_dirs):
    pegr_runs, gd = run_dirs
    fig = plot.loss_error(pegr_runs + [gd])["loss_error.png"]
    ax_loss, ax_err = fig.axes
    assert len(ax_err.get_lines()) == 3  # pegr's mean, gd, the chance level
    pegr_line, gd_line = ax_err.get_lines()[:2]
    # test error 0.5 - 0.1 t scale at t = 2, scales 1, 2, 3: 0.3, 0.1, -0.1
    assert list(pegr_line.get_ydata()) == pytest.approx([0.5, 0.3, 0.1])
    bands = _bands(ax_err)
    assert len(bands) == 1  # gd ran once: no band
    assert _band_range(bands[0]) == pytest.approx((-0.1, 0.5))
    texts = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert texts == [r"pegr ($\eta=0.1$, $\lambda=0.01$, 3 seeds)", r"gd ($\eta=0.1$, seed 0)",
                     "band: min to max over 3 seeds"]


def test_the_boundary_is_labelled_in_the_legend(mpl, sweep2d, sweep1d):
    heat = plot.sweep(sweep2d)
    for name in ("test_error_gd.png", "rho_pegr.png", "summary.png"):
        texts = [t.get_text() for t in heat[name].axes[0].get_legend().get_texts()]
        assert any(t.startswith(r"theory: $n\,\mathrm{SNR}^q = 1$") for t in texts), (name, texts)
    ax = plot.sweep(sweep1d, x="snr")["test_error.png"].axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith(r"theory: $n\,\mathrm{SNR}^q = 1$ ($n$ = 50, $q$ = 3") for t in texts)
    vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(vlines) == 1
    assert vlines[0].get_xdata()[0] == pytest.approx(50 ** (-1 / 3), rel=1e-9)


def _titles(fig):
    out = [ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right")]
    sup = getattr(fig, "_suptitle", None)
    return out + ([sup.get_text()] if sup is not None else [])


def test_no_directory_name_in_a_title(mpl, sweep2d, sweep1d, run_dirs):
    figs = dict(plot.sweep(sweep2d))
    figs.update({"1d-" + k: v for k, v in plot.sweep(sweep1d).items()})
    figs.update(plot.runs(os.path.dirname(run_dirs[1])))  # the parent: its run directories
    for style in ("default", "paper"):
        figs.update({style + k: v for k, v in plot.sweep(sweep2d, style=style).items()})
    for name, fig in figs.items():
        for t in _titles(fig):
            assert MARK not in t and "plots" not in t, (name, t)
    assert _titles(figs["summary.png"])[-1] == r"test error over $n$ $\times$ $\Vert\mu\Vert$"


# ---- the paper style --------------------------------------------------------------------------

def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def _pdf_size_in(path):
    with open(path, "rb") as f:
        box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", f.read())
    return float(box.group(1)) / 72, float(box.group(2)) / 72


def test_paper_style_sets_a_two_column_page(mpl, sweep2d, sweep1d, run_dirs, tmp_path):
    default = plot.sweep(sweep2d)
    paper = plot.sweep(sweep2d, style="paper")
    assert tuple(default["test_error_gd.png"].get_size_inches()) != (3.3, 2.9)
    assert tuple(paper["test_error_gd.png"].get_size_inches()) == pytest.approx((3.3, 2.9))
    assert paper["summary.png"].get_size_inches()[0] == pytest.approx(6.9)
    assert plot.sweep(sweep1d, style="paper")["gamma.png"].get_size_inches()[0] == pytest.approx(3.3)
    assert tuple(plot.runs(run_dirs[1], style="paper")["loss_error.png"].get_size_inches()) == \
        pytest.approx((6.9, 2.4))
    ax = paper["test_error_gd.png"].axes[0]
    assert ax.xaxis.label.get_fontsize() == 8 and ax.title.get_fontsize() == 8
    assert default["test_error_gd.png"].axes[0].xaxis.label.get_fontsize() == 10
    # saved at exactly the size (no cropping): a 6.9 x 2.4 in PDF page, 300 dpi in PNG
    got = plot.gamma_rho(run_dirs[1], out=tmp_path / "p", formats="pdf,png", style="paper")
    assert _pdf_size_in(got[0]) == pytest.approx((6.9, 2.4), abs=0.01)
    assert _png_size(got[1]) == (2070, 720)
    # the script: --style paper changes the files' size
    _script("sweep", sweep1d, "--out", tmp_path / "cli-default")
    _script("sweep", sweep1d, "--out", tmp_path / "cli-paper", "--style", "paper")
    w_default = _png_size(tmp_path / "cli-default" / "gamma.png")
    assert _png_size(tmp_path / "cli-paper" / "gamma.png") == (990, 720) != w_default
