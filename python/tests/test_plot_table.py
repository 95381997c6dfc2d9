# test_plot_table.py: pegr.plot.table / `tools/plot.py table` -- a sweep's final metrics as mean +-
# sample std over seeds per method and grid point, diverged runs counted and left out.
import os
import subprocess
import sys

import pytest

from pegr import plot

HEADER = ("run_id,method,seed,lam,test_error,train_error,gamma_max_pos,gamma_max_neg,rho_mean,"
          "diverged,wall_seconds")
ROWS = [  # two methods x two lam x seeds; one pegr run diverged (NaN metrics)
    "a,pegr,0,0.1,0.0,0.0,4,2,0.2,0,1",
    "b,pegr,1,0.1,0.2,0.0,6,4,0.4,0,1",
    "c,pegr,2,0.1,,,,,,1,1",
    "d,gd,0,0.1,0.5,0.0,0,0,4,0,1",
    "e,gd,0,0.010000000000000000208,0.4,0.0,0,0,4,0,1",
    "f,pegr,0,0.010000000000000000208,0.1,0.0,1,1,1,0,1",
]


@pytest.fixture
def sweep_dir(tmp_path):
    (tmp_path / "results.csv").write_text(HEADER + "\n" + "\n".join(ROWS) + "\n")
    (tmp_path / "sweep.json").write_text('{"axes": ["lam"]}')
    return tmp_path


def test_markdown_means_stds_and_diverged(sweep_dir):
    lines = plot.table(sweep_dir).splitlines()
    assert lines[0] == "| method | lam | seeds | test_error | train_error | gamma | rho | diverged |"
    # methods in results.csv's order, lam by value (0.01 shown as 0.01, not its 17 digits)
    assert [l.split(" | ")[:2] for l in lines[2:]] == [["| pegr", "0.01"], ["| pegr", "0.1"],
                                                      ["| gd", "0.01"], ["| gd", "0.1"]]
    # pegr at 0.1: two finished seeds, test error 0 and 0.2: mean 0.1, sample std 0.141;
    # gamma = mean over the classes of gamma_max: 3 and 5 -> 4 +- 1.41; the diverged run counted
    assert lines[3] == "| pegr | 0.1 | 3 | 0.1 ± 0.14 | 0 ± 0 | 4 ± 1.4 | 0.3 ± 0.14 | 1 |"
    assert lines[4] == "| gd | 0.01 | 1 | 0.4 | 0 | 0 | 4 | 0 |"  # one seed: no std


def test_csv_and_chosen_columns(sweep_dir):
    out = plot.table(sweep_dir, by="method", metrics="test_error", fmt="csv").splitlines()
    assert out[0] == "method,seeds,diverged,test_error_mean,test_error_std"
    assert out[1].startswith("pegr,4,1,0.1,0.1")  # 0, 0.2, 0.1 -> mean 0.1, std 0.1
    assert out[2].startswith("gd,2,0,0.45,0.0707")


def test_refusals(sweep_dir, tmp_path):
    with pytest.raises(ValueError, match="no column 'sigma'"):
        plot.table(sweep_dir, by="method,sigma")
    with pytest.raises(ValueError, match="markdown or csv"):
        plot.table(sweep_dir, fmt="html")
    (sweep_dir / "sub").mkdir()
    with pytest.raises(ValueError, match="does not exist"):
        plot.table(sweep_dir / "sub")


def test_command_line(sweep_dir):
    script = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "tools", "plot.py")
    r = subprocess.run([sys.executable, script, "table", str(sweep_dir), "--by", "method"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[2].startswith("| pegr | 4 |")
    r = subprocess.run([sys.executable, script, "table", str(sweep_dir), "--metrics", "nope"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no column 'nope'" in r.stderr
