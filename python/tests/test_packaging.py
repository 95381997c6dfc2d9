# test_packaging.py: every module of the package is installed by python/meson.build (the wheel holds them all).
import os
import re

from conftest import SOURCE_ROOT


def test_meson_installs_every_module():
    pkg = os.path.join(SOURCE_ROOT, "python", "pegr")
    with open(os.path.join(SOURCE_ROOT, "python", "meson.build")) as f:
        build = f.read()
    call = build[build.index("py.install_sources("):]
    call = call[:call.index(")")]
    listed = set(re.findall(r"'pegr/([^']+\.py)'", call))
    assert listed == {f for f in os.listdir(pkg) if f.endswith(".py")}
