"""Provenance: every output records the releases that can change its bytes, so a difference between
two runs can be traced to the release that moved."""

from __future__ import annotations

import json
import zlib
from importlib import metadata
from pathlib import Path

import h5py

from clip2point.datasets.shards import write_shard
from shard_fixtures import synthetic_object
from clip2point.provenance import code_version, library_versions
from clip2point.render.job.run import run_render_job
from job_helpers import small_config, synthetic_cache  # noqa: F401  (an autouse fixture)

BYTE_RELEVANT = ("numpy", "torch", "trimesh", "h5py", "pillow", "pyrender", "PyOpenGL", "open_clip_torch", "timm")


def test_library_versions_name_every_byte_relevant_release() -> None:
    libs = library_versions()
    for name in BYTE_RELEVANT:
        assert libs[name] == metadata.version(name), name
    assert libs["hdf5"] == h5py.version.hdf5_version
    assert libs["zlib"] == zlib.ZLIB_RUNTIME_VERSION
    assert libs["python"].count(".") == 2 and libs["numpy_blas"]


def test_shards_and_config_record_the_library_versions(tmp_path: Path) -> None:
    write_shard(tmp_path, 0, [synthetic_object("obj-000")], [], attrs={"config": {"views": 2}})
    with h5py.File(tmp_path / "shard-00000.h5", "r") as h5:
        recorded = json.loads(h5.attrs["code_version"])
    assert recorded["libraries"] == library_versions()
    assert code_version()["libraries"] == library_versions()


def test_a_shard_marker_records_the_gl_driver_it_was_rendered_with(tmp_path: Path) -> None:
    """The lock cannot pin the system's GL driver, and rendered pixels depend on it."""
    out = tmp_path / "job"
    run_render_job(small_config(out, limit=1), workers=1, progress=False)
    gl = json.loads((out / "shard-00000.json").read_text())["stats"]["gl"]
    assert set(gl) == {"GL_VENDOR", "GL_RENDERER", "GL_VERSION"} and all(gl.values())
