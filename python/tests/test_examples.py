# test_examples.py: examples/notebook.py runs and prints the test errors of `pegr train --compare`.
import os
import re
import subprocess
import sys

from conftest import SOURCE_ROOT


def test_notebook_example_prints_the_cli_test_errors(cli, tmp_path):
    table = cli("train", "--compare", "gd,pegr", "--preset", "tiny", "--steps", 40, "--device",
                "host", "--out", tmp_path / "cli", "--quiet").stdout
    want = {}
    for line in table.splitlines():
        cells = line.split()
        if len(cells) > 3 and cells[0] in ("gd", "pegr") and cells[1] != "(failed)":
            want.setdefault(cells[0], cells[3])  # method train_loss train_err test_err ...
    assert set(want) == {"gd", "pegr"}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    script = os.path.join(SOURCE_ROOT, "examples", "notebook.py")
    out = subprocess.run([sys.executable, script, "--device", "host", "--steps", "40", "--out",
                          str(tmp_path / "fig.png")], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = out.stdout
    got = dict(re.findall(r"^(\w+)\s+test error (\S+)", out, re.M))
    assert got == want
    if "wrote" in out:
        assert (tmp_path / "fig.png").stat().st_size > 1000
