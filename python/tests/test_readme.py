# test_readme.py: the README's Python example, run as written, prints gd's and pegr's test errors
# equal to `pegr train --compare gd,pegr` on the same options (issue 15's "done when").
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import SOURCE_ROOT


def _readme_example():
    """The first ```python block of the README's "From Python" section."""
    path = os.path.join(SOURCE_ROOT, "README.md")
    if not os.path.isfile(path):
        pytest.skip("no README.md at %s" % path)
    text = open(path, encoding="utf-8").read()
    section = text.split("## From Python", 1)
    assert len(section) == 2, "the README has no 'From Python' section"
    block = re.search(r"```python\n(.*?)```", section[1], re.S)
    assert block, "the README's 'From Python' section has no python block"
    return block.group(1)


def test_readme_example_prints_the_commands_test_errors(cli, tmp_path):
    code = _readme_example()
    # The same options as the example's first call, spelled as the command takes them.
    call = re.search(r'pegr\.compare\(\["gd", "pegr"\], preset="(\w+)", seed=(\d+)\)', code)
    assert call, "the example's first call is not pegr.compare([\"gd\", \"pegr\"], preset=, seed=)"
    preset, seed = call.groups()

    # As a user runs it: a fresh directory (the example writes sweep-out/ there), the package
    # that `import pegr` finds in this interpreter.
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    printed = dict(re.findall(r"^(gd|pegr) test error (\S+)$", run.stdout, re.M))
    assert set(printed) == {"gd", "pegr"}, run.stdout
    assert re.search(r"^12 runs in sweep-out/results.csv$", run.stdout, re.M), run.stdout

    out = tmp_path / "cli"
    cli("train", "--compare", "gd,pegr", "--preset", preset, "--seed", seed, "--out", out)
    for method in ("gd", "pegr"):
        summary = json.loads((out / method / "summary.json").read_text())
        assert float(printed[method]) == summary["test_error"], (method, printed, summary)
