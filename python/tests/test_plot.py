# test_plot.py: pegr.plot's figures from a tiny Run and a tiny sweep, the same files as tools/plot.py, and its lazy matplotlib.
"""Each plot function writes its figure(s) (PNG files) from a Run, a compare dict, a run directory,
a Sweep, its DataFrame, a results.csv path and a sweep directory; out=None gives Figures. The
files equal in names and count what tools/plot.py writes for the same inputs. The figures need
matplotlib (skipped without it); the import checks do not."""
import os
import subprocess
import sys

import pytest

import pegr
from conftest import SOURCE_ROOT

PLOT_PY = os.path.join(SOURCE_ROOT, "tools", "plot.py")
SWEEP_PNGS = ["test_error_gd.png", "test_error_pegr.png", "gamma_gd.png", "gamma_pegr.png",
              "rho_gd.png", "rho_pegr.png", "test_error_gd_minus_pegr.png", "summary.png"]


def _pngs(d):
    names = sorted(os.listdir(d))
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", n
    return names


def _script(*args, env=None):
    out = subprocess.run([sys.executable, PLOT_PY] + [str(a) for a in args], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return pegr.compare(["gd", "pegr"], preset="tiny", steps=20, log_every=5, device="host",
                        progress=False, out=out), out


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    sw = pegr.sweep(grid={"n": [20, 30], "lam": [0.001, 0.01]}, methods=["gd", "pegr"],
                    seeds=range(1), preset="tiny", steps=20, device="host", progress=False,
                    out=out)
    assert sw.summary["found"] == 8
    return sw


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def test_run_figures_from_run_dict_and_directory(mpl, runs, tmp_path):
    compared, out = runs
    run = compared["pegr"]
    assert pegr.plot.runs(run, out=tmp_path / "one") == \
        [str(tmp_path / "one" / n) for n in pegr.plot.RUN_FIGURES]
    assert _pngs(tmp_path / "one") == sorted(pegr.plot.RUN_FIGURES)
    assert len(pegr.plot.loss_error(compared, out=tmp_path / "le")) == 1
    assert _pngs(tmp_path / "le") == ["loss_error.png"]
    assert len(pegr.plot.gamma_rho([run.dir, compared["gd"]], out=tmp_path / "gr")) == 1
    assert _pngs(tmp_path / "gr") == ["gamma_rho.png"]
    # the compare parent: its per-method directories are found
    pegr.plot.runs(out, out=tmp_path / "dir")
    assert _pngs(tmp_path / "dir") == sorted(pegr.plot.RUN_FIGURES)
    # out=None: Figures, one line per run
    figs = pegr.plot.runs(compared)
    assert list(figs) == list(pegr.plot.RUN_FIGURES)
    assert len(figs["loss_error.png"].axes[0].get_lines()) == 2
    assert figs["loss_error.png"].axes[0].get_legend().get_texts()[1].get_text() == \
        r"pegr ($\eta=0.1$, $\lambda=0.01$, seed 0)"


def test_run_figures_same_files_as_script(mpl, runs, tmp_path):
    _, out = runs
    said = _script(out, "--out", tmp_path / "script")
    mine = pegr.plot.runs(out, out=tmp_path / "module")
    assert _pngs(tmp_path / "script") == _pngs(tmp_path / "module") == sorted(pegr.plot.RUN_FIGURES)
    assert said.split() == [w for p in mine for w in ("wrote", p.replace("module", "script"))]


def test_sweep_figures_from_every_kind_of_source(mpl, sweep_dir, tmp_path):
    sw = sweep_dir
    got = pegr.plot.sweep(sw, out=tmp_path / "sw")
    assert [os.path.basename(p) for p in got] == pegr.plot.sweep_figure_names(["gd", "pegr"])
    assert sorted(os.path.basename(p) for p in got) == sorted(SWEEP_PNGS)
    assert _pngs(tmp_path / "sw") == sorted(SWEEP_PNGS)
    pegr.plot.sweep(os.path.join(sw.dir, "results.csv"), out=tmp_path / "csv")
    pegr.plot.sweep(sw.dir, out=tmp_path / "dir", x="lam", y="n")
    assert _pngs(tmp_path / "csv") == _pngs(tmp_path / "dir") == sorted(SWEEP_PNGS)
    figs = pegr.plot.sweep(sw)
    assert sorted(figs) == sorted(SWEEP_PNGS)
    assert figs["summary.png"].axes[0].get_xlabel() == "$n$ (training examples)"


def test_sweep_figures_from_a_dataframe(mpl, sweep_dir, tmp_path):
    pytest.importorskip("pandas")
    df = sweep_dir.to_pandas()
    with pytest.raises(ValueError, match="x=AXIS, y=AXIS"):
        pegr.plot.sweep(df, out=tmp_path / "none")
    pegr.plot.sweep(df, out=tmp_path / "df", x="n", y="lam")
    assert _pngs(tmp_path / "df") == sorted(SWEEP_PNGS)
    df.attrs["axes"] = ["n", "lam"]
    assert sorted(pegr.plot.sweep(df)) == sorted(SWEEP_PNGS)


def test_sweep_figures_same_files_as_script(mpl, sweep_dir, tmp_path):
    said = _script("sweep", sweep_dir.dir)  # default: SWEEP_DIR/plots
    mine = pegr.plot.sweep(sweep_dir, out=tmp_path / "module")
    assert _pngs(os.path.join(sweep_dir.dir, "plots")) == _pngs(tmp_path / "module")
    assert len(said.split()) == 2 * len(mine)


def test_sweep_refuses_what_is_not_a_sweep(tmp_path, runs):
    with pytest.raises(ValueError, match="results.csv does not exist"):
        pegr.plot.sweep(tmp_path)
    with pytest.raises(ValueError, match="holds metrics.csv"):
        pegr.plot.sweep(runs[0]["gd"].dir)
    with pytest.raises(TypeError):
        pegr.plot.sweep(42)
    with pytest.raises(ValueError, match="holds no metrics.csv"):
        pegr.plot.runs(tmp_path)
    with pytest.raises(TypeError):
        pegr.plot.runs([42])


def test_without_matplotlib_a_clear_error(monkeypatch, runs):
    # matplotlib made unimportable: the error names the install command; importing pegr.plot
    # itself never needed it
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        pegr.plot.runs(runs[0])


def test_plot_module_and_script_load_without_libpegr(tmp_path, runs):
    # tools/plot.py loads python/pegr/plot.py by path: no pegr package, no libpegr, no matplotlib
    # at import
    code = ("import importlib.util, sys; "
            "s = importlib.util.spec_from_file_location('p', %r); m = importlib.util.module_from_spec(s); "
            "s.loader.exec_module(m); "
            "assert not any(k == 'pegr' or k.startswith('pegr.') or k.startswith('matplotlib') "
            "for k in sys.modules), sorted(sys.modules); print(m.RUN_FIGURES)"
            % os.path.join(SOURCE_ROOT, "python", "pegr", "plot.py"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PEGR_LIBRARY")}
    env["PEGR_LIBRARY"] = str(tmp_path / "no-such-libpegr.so")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    _script(runs[1], "--out", tmp_path / "figs", env=env)
    assert _pngs(tmp_path / "figs") == sorted(pegr.plot.RUN_FIGURES)
