"""Deep comparison of two trimesh scenes loaded from one OBJ (the fast reader against trimesh)."""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh
from PIL import Image


def _same_array(a: Any, b: Any, what: str) -> None:
    if a is None or b is None:
        assert a is None and b is None, f"{what}: {type(a).__name__} vs {type(b).__name__}"
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def _same_material(a: Any, b: Any, what: str) -> None:
    assert type(a) is type(b), f"{what}: {type(a).__name__} vs {type(b).__name__}"
    if a is None:
        return
    for key in sorted(set(vars(a)) | set(vars(b))):
        x, y = getattr(a, key, None), getattr(b, key, None)
        if isinstance(x, Image.Image) or isinstance(y, Image.Image):
            assert isinstance(x, Image.Image) and isinstance(y, Image.Image), f"{what}.{key}"
            assert (x.size, x.mode, x.info) == (y.size, y.mode, y.info), f"{what}.{key}: image header"
            assert x.tobytes() == y.tobytes(), f"{what}.{key}: pixels"
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            _same_array(x, y, f"{what}.{key}")
        elif not key.startswith("_"):
            assert x == y, f"{what}.{key}: {x!r} vs {y!r}"


def assert_same_scene(fast: trimesh.Scene, reference: trimesh.Scene) -> None:
    """Geometry names and order, graph, and for every geometry the arrays, visual, material,
    cached vertex normals, attributes and metadata are equal (bitwise)."""
    assert list(fast.geometry) == list(reference.geometry)
    assert fast.graph.nodes_geometry == reference.graph.nodes_geometry
    for node in reference.graph.nodes_geometry:
        for x, y in zip(fast.graph[node], reference.graph[node]):
            _same_array(x, y, f"graph[{node}]") if isinstance(y, np.ndarray) else None
            assert not isinstance(y, str) or x == y
    for name, ref in reference.geometry.items():
        got = fast.geometry[name]
        assert type(got) is type(ref), name
        _same_array(got.vertices, ref.vertices, f"{name}.vertices")
        _same_array(got.faces, ref.faces, f"{name}.faces")
        assert got.visual.kind == ref.visual.kind and type(got.visual) is type(ref.visual), name
        _same_array(getattr(got.visual, "uv", None), getattr(ref.visual, "uv", None), f"{name}.uv")
        _same_material(getattr(got.visual, "material", None), getattr(ref.visual, "material", None), name)
        _same_array(got._cache.cache.get("vertex_normals"), ref._cache.cache.get("vertex_normals"), f"{name}.vn")
        assert got.metadata == ref.metadata, f"{name}.metadata: {got.metadata} vs {ref.metadata}"
        assert set(got.vertex_attributes) == set(ref.vertex_attributes), name
        assert set(got.face_attributes) == set(ref.face_attributes), name
