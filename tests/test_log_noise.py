"""One warning per problem file, and no GL library chatter in the log."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from clip2point.datasets.mesh_io import load_mesh

OBJ = "mtllib missing.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 3 4\nf 1 2 4\n"


def test_a_missing_material_library_is_warned_once_per_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "model.obj"
    path.write_text(OBJ)
    with caplog.at_level(logging.WARNING):
        for _ in range(4):  # a benchmark loads each mesh once per repeat and stage
            assert load_mesh(path).warnings == ("missing: missing.mtl not found; rendering untextured there",)
    assert caplog.text.count("missing.mtl not found") == 1
    other = tmp_path / "other.obj"
    other.write_text(OBJ)
    with caplog.at_level(logging.WARNING):
        load_mesh(other)
    assert caplog.text.count("missing.mtl not found") == 2  # another file: its own warning


def test_importing_the_gl_stack_logs_nothing_at_info() -> None:
    code = ("import logging; logging.basicConfig(level=logging.INFO); "
            "from clip2point.render.gl import import_pyrender; import_pyrender()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "OpenGL_accelerate" not in done.stderr and "OpenGL" not in done.stderr
