"""An object of the synthetic set: coloured, optionally textured parts, normalised the way
ShapeNetCore v2 normalises ``model_normalized.obj`` (y up, bounding box centred on the origin,
bounding-box diagonal of length 1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence, TypeVar

import numpy as np
import trimesh

from clip2point.datasets.synthetic.geometry import lathe, planar_uv
from clip2point.datasets.synthetic.materials import Material
from clip2point.datasets.synthetic.primitives import as_mesh, transformed

T = TypeVar("T")


@dataclass
class Part:
    """One mesh piece written as one ``usemtl`` group. ``uv`` is [V,2] when textured."""

    mesh: trimesh.Trimesh
    material: Material
    uv: np.ndarray | None = None


@dataclass
class Assembly:
    """Parts collected by a class generator, in the order they are written."""

    parts: list[Part] = field(default_factory=list)

    def add(self, mesh: trimesh.Trimesh, material: Material, uv: np.ndarray | None = None) -> None:
        """Add a part; a textured material without UVs gets planar ones."""
        if material.texture is not None and uv is None:
            mesh, uv = planar_uv(mesh)
        if material.texture is None:
            uv = None
        self.parts.append(Part(mesh, material, uv))

    def add_lathe(self, profile: Sequence[tuple[float, float]], material: Material, sections: int = 28) -> None:
        """Add a surface of revolution about +y with its natural (around, along) UVs."""
        mesh, uv = lathe(profile, sections=sections)
        self.add(mesh, material, uv)

    def add_all(self, meshes: Iterable[trimesh.Trimesh], material: Material) -> None:
        for mesh in meshes:
            self.add(mesh, material)

    @property
    def num_faces(self) -> int:
        return sum(len(p.mesh.faces) for p in self.parts)

    def bounds(self) -> np.ndarray:
        """[2,3] min/max over all parts."""
        verts = np.concatenate([p.mesh.vertices for p in self.parts])
        return np.stack([verts.min(axis=0), verts.max(axis=0)])

    def transformed(self, matrix: np.ndarray) -> "Assembly":
        """Copy with every part moved by a 4x4 rigid transform (UVs travel with the vertices)."""
        return Assembly([Part(transformed(p.mesh, matrix), p.material, p.uv) for p in self.parts])

    def normalized(self) -> "Assembly":
        """Copy centred on the bounding-box centre and scaled to a unit diagonal (ShapeNet v2)."""
        lo, hi = self.bounds()
        dx, dy, dz = (float(v) for v in hi - lo)
        # Our own sum, not np.linalg.norm: that is a BLAS ddot whose kernel (and last bit) is the CPU's.
        center, diag = (lo + hi) / 2.0, math.sqrt(dx * dx + dy * dy + dz * dz)
        if not np.isfinite(diag) or diag <= 0.0:
            raise ValueError("assembly has an empty or degenerate bounding box")
        out = Assembly()
        for p in self.parts:
            mesh = as_mesh((p.mesh.vertices - center) / diag, p.mesh.faces.copy())
            out.parts.append(Part(mesh, p.material, p.uv))
        return out


def choice(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One option, drawn with the object's own generator (deterministic per object)."""
    return options[int(rng.integers(len(options)))]


def mirrored_x(points: Sequence[float]) -> list[tuple[float, float, float]]:
    """The two x-mirrored copies of a point (left/right legs, wheels, engines)."""
    x, y, z = points
    return [(-x, y, z), (x, y, z)]
