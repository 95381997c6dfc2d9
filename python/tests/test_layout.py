# test_layout.py: the ctypes mirrors in pegr/_lib.py against the C layout of include/pegr/.
"""Compiles a C program against include/pegr/pegr.h that prints sizeof and offsetof of every
mirrored struct and field (generated from the mirrors themselves, so a new field is covered as
soon as it is mirrored) and compares them with ctypes. A field the C struct lacks fails to
compile; a field or struct whose size or place differs fails the comparison; a struct that grew
in C (a new field not mirrored) fails on sizeof."""
import ctypes
import os
import shutil
import subprocess

import pytest

from pegr import _lib


def _c_program(include_dir):
    # every public header, not just the umbrella (sweep.h is not in pegr.h)
    headers = sorted(f for f in os.listdir(os.path.join(include_dir, "pegr")) if f.endswith(".h"))
    lines = ['#include <signal.h>', '#include <stddef.h>', '#include <stdio.h>'] + \
        ['#include "pegr/%s"' % h for h in headers] + ['int main(void) {']
    expected = []
    for st in _lib.STRUCTS:
        name = st.__name__
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (name, name))
        expected.append("%s %d" % (name, ctypes.sizeof(st)))
        for field, ftype in st._fields_:
            lines.append('printf("%s.%s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                         % (name, field, name, field, name, field))
            expected.append("%s.%s %d %d" % (name, field, getattr(st, field).offset,
                                              ctypes.sizeof(ftype)))
    for cname, ctype in _lib.SCALARS:
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
        expected.append("%s %d" % (cname, ctypes.sizeof(ctype)))
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n", expected


def test_struct_mirrors_match_c_layout(tmp_path, include_dir):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler (cc) to check the layouts with")
    src, expected = _c_program(include_dir)
    (tmp_path / "layout.c").write_text(src)
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-I", include_dir,
                    str(tmp_path / "layout.c"), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    got = [g for g in got if g]
    diffs = [(e, g) for e, g in zip(expected, got) if e != g]
    assert len(got) == len(expected)
    assert not diffs, "ctypes (left) vs C (right): %s" % diffs


def test_every_public_struct_we_pass_is_mirrored():
    # the structs the package hands to C by pointer are all in the checked list
    names = {st.__name__ for st in _lib.STRUCTS}
    assert {"pegr_train_config", "pegr_train_result", "pegr_train_callbacks", "pegr_eval_request",
            "pegr_backend_options", "pegr_dataset", "pegr_device_info", "pegr_error"} <= names
