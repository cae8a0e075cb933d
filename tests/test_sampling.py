"""Surface sampling, farthest point sampling and unit-sphere normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from clip2point.datasets.sampling import farthest_point_sample, normalize_unit_sphere, sample_surface


def _two_triangles() -> trimesh.Trimesh:
    """Disjoint triangles with areas 0.5 (plane z=0) and 1.5 (plane z=5)."""
    vertices = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 5], [3, 0, 5], [0, 1, 5]]
    return trimesh.Trimesh(vertices=vertices, faces=[[0, 1, 2], [3, 4, 5]], process=False)


def test_sample_surface_is_seeded_and_float32() -> None:
    box = trimesh.creation.box()
    a = sample_surface(box, 1000, seed=3)
    assert a.dtype == np.float32 and a.shape == (1000, 3)
    np.testing.assert_array_equal(a, sample_surface(box, 1000, seed=3))
    assert not np.array_equal(a, sample_surface(box, 1000, seed=4))


def test_samples_lie_on_the_surface() -> None:
    box = trimesh.creation.box(extents=(2.0, 4.0, 6.0))
    points = sample_surface(box, 5000, seed=0).astype(np.float64)
    # on a box surface, at least one coordinate is at its face and none is outside
    relative = np.abs(points) / np.array([1.0, 2.0, 3.0])
    assert relative.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(relative.max(axis=1), 1.0, atol=1e-6)


def test_samples_are_area_weighted_and_inside_their_triangle() -> None:
    points = sample_surface(_two_triangles(), 20000, seed=0).astype(np.float64)
    big = points[:, 2] > 2.5
    assert big.mean() == pytest.approx(0.75, abs=0.01)
    small, large = points[~big], points[big]
    assert (small[:, :2] >= -1e-6).all() and (small[:, 0] + small[:, 1] <= 1 + 1e-6).all()
    assert (large[:, :2] >= -1e-6).all() and (large[:, 0] / 3 + large[:, 1] <= 1 + 1e-6).all()
    # uniform inside a triangle: the mean is its centroid
    np.testing.assert_allclose(large.mean(axis=0), [1.0, 1.0 / 3.0, 5.0], atol=0.02)


def test_sample_surface_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="needs n >= 1 points; got 0"):
        sample_surface(trimesh.creation.box(), 0, seed=0)
    flat = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [2, 0, 0]], faces=[[0, 1, 2]], process=False)
    with pytest.raises(ValueError, match="surface area 0.0"):
        sample_surface(flat, 10, seed=0)


def _slow_fps(points: np.ndarray, n: int) -> list[int]:
    """One cloud, the textbook loop: keep the point farthest from everything chosen so far."""
    chosen = [0]
    for _ in range(n - 1):
        gaps = [min(np.sum((p - points[c]) ** 2) for c in chosen) for p in points]
        chosen.append(int(np.argmax(gaps)))
    return chosen


def test_farthest_point_sample_matches_the_slow_reference() -> None:
    clouds = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 120, 3)))
    got = farthest_point_sample(clouds, 16)
    assert got.shape == (3, 16) and got.dtype == torch.int64
    for b in range(3):
        assert got[b].tolist() == _slow_fps(clouds[b].numpy(), 16)


def test_farthest_point_sample_spreads_points() -> None:
    """The two farthest-apart corners of a segment come first."""
    line = torch.linspace(0, 1, 101).unsqueeze(-1) * torch.tensor([1.0, 0.0, 0.0])
    idx = farthest_point_sample(line[None], 3)
    assert idx[0].tolist() == [0, 100, 50]


def test_farthest_point_sample_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"expects points \[B,P,3\]; got \(10, 3\)"):
        farthest_point_sample(torch.zeros(10, 3), 2)
    with pytest.raises(ValueError, match="cannot pick n=11 points from clouds of 10"):
        farthest_point_sample(torch.zeros(1, 10, 3), 11)


@pytest.mark.parametrize("as_torch", [False, True])
def test_normalize_unit_sphere(as_torch: bool) -> None:
    clouds = np.random.default_rng(1).normal(size=(2, 4, 50, 3)) * 7 + 3
    out = normalize_unit_sphere(torch.from_numpy(clouds) if as_torch else clouds)
    out = out.numpy() if as_torch else out
    np.testing.assert_allclose(out.mean(axis=-2), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1).max(axis=-1), 1.0)
    # a similarity transform: shape is kept
    scale = np.linalg.norm(clouds[0, 0, 1] - clouds[0, 0, 0]) / np.linalg.norm(out[0, 0, 1] - out[0, 0, 0])
    np.testing.assert_allclose(out[0, 0] * scale + clouds[0, 0].mean(axis=0), clouds[0, 0])


def test_normalize_unit_sphere_rejects_degenerate_clouds() -> None:
    with pytest.raises(ValueError, match="all coincide"):
        normalize_unit_sphere(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"expects points \[..., P, 3\]; got \(5, 2\)"):
        normalize_unit_sphere(np.ones((5, 2)))
