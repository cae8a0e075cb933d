"""Depth projector: the disc raster against a slow obvious reference, cube geometry, z order,
zoom, the three presets' conventions and the input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clip2point.errors import ConfigError
from clip2point.render.cameras import get_view_preset, view_counts
from clip2point.render.depth import (
    CLIP_MEAN,
    CLIP_STD,
    DepthMaps,
    available_depth_presets,
    depth_to_image,
    get_depth_preset,
    project_depth,
    to_clip_input,
)
from clip2point.render.depth.discs import rasterize_discs


def slow_rasterize(view: torch.Tensor, size: int, radius: float) -> torch.Tensor:
    """PyTorch3D's naive point rasteriser written out: for every point, test every pixel centre
    (+x left, +y up, pixel (0,0) top-left), keep the nearest z; ``inf`` where uncovered."""
    centres = -1.0 + (2.0 * torch.arange(size, dtype=torch.float32) + 1.0) / size
    ndc_y = centres.flip(0)[:, None].expand(size, size)  # row 0 is the top (+y)
    ndc_x = centres.flip(0)[None, :].expand(size, size)  # column 0 is the left (+x)
    r2 = torch.tensor(radius, dtype=torch.float32) ** 2
    out = torch.full((view.shape[0], size, size), math.inf)
    for n in range(view.shape[0]):
        for px, py, pz in view[n].tolist():
            if pz < 0:
                continue
            dx, dy = torch.tensor(px) - ndc_x, torch.tensor(py) - ndc_y
            hit = (dx * dx + dy * dy < r2) & (pz < out[n])
            out[n][hit] = pz
    return out


@pytest.mark.parametrize(("size", "radius"), [(32, 0.1), (48, 0.02), (40, 0.13)])
def test_disc_raster_equals_the_slow_reference(size: int, radius: float) -> None:
    gen = torch.Generator().manual_seed(size)
    view = torch.rand(3, 60, 3, generator=gen) * torch.tensor([2.4, 2.4, 2.0]) - torch.tensor([1.2, 1.2, 0.3])
    view[0, :2, :2] = torch.tensor([[1e12, 0.0], [0.0, -1e12]])  # far off the image: no effect
    depth, mask = rasterize_discs(view, size=size, radius=radius)
    slow = slow_rasterize(view, size, radius)
    assert torch.equal(mask, torch.isfinite(slow))
    assert torch.equal(depth, torch.where(mask, slow, torch.zeros_like(slow)))
    assert 0 < int(mask.sum()) < mask.numel()


def cube_surface(half: float, per_edge: int) -> torch.Tensor:
    """Points on all six faces of an axis-aligned cube, on a regular grid per face."""
    t = torch.linspace(-half, half, per_edge)
    u, v = torch.meshgrid(t, t, indexing="ij")
    u, v = u.reshape(-1), v.reshape(-1)
    side = torch.full_like(u, half)
    faces = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            coords = [u, v]
            coords.insert(axis, sign * side)
            faces.append(torch.stack(coords, dim=-1))
    return torch.cat(faces)


def test_cube_seen_face_on_is_a_square_of_the_expected_side() -> None:
    half, size = 0.5, 224
    maps = project_depth(cube_surface(half, 65)[None], [0.0], [0.0], 1.0)
    mask, depth = maps.mask[0, 0], maps.depth[0, 0]
    centres = -1.0 + (2.0 * torch.arange(size) + 1.0) / size
    reach = (centres.abs() < half + 0.02).nonzero().flatten()  # pixel centres a disc can reach
    expected_side = len(reach)
    assert expected_side == 116
    rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
    assert (rows.min().item(), rows.max().item()) == (reach.min().item(), reach.max().item())
    assert (cols.min().item(), cols.max().item()) == (reach.min().item(), reach.max().item())
    inner = (centres.abs() < half).nonzero().flatten()
    interior = mask[inner.min() : inner.max() + 1, inner.min() : inner.max() + 1]
    assert bool(interior.all())
    # the front face (z_view = 1 − 0.5) hides the back face (z_view = 1.5) everywhere inside
    torch.testing.assert_close(
        depth[inner.min() : inner.max() + 1, inner.min() : inner.max() + 1],
        torch.full((len(inner), len(inner)), 0.5),
        atol=1e-6,
        rtol=0,
    )


def test_nearer_point_wins_regardless_of_order() -> None:
    near, far = [0.1, 0.2, 0.3], [0.1, 0.2, -0.4]  # camera at +z: larger world z is nearer
    a = project_depth(torch.tensor([[near, far]]), [0.0], [0.0], 1.0)
    b = project_depth(torch.tensor([[far, near]]), [0.0], [0.0], 1.0)
    assert torch.equal(a.depth, b.depth)
    covered = a.depth[a.mask]
    torch.testing.assert_close(covered, torch.full_like(covered, 0.7))
    # +x is left in the image: a point at world +x (camera at +z, so view x = −0.1) is right of centre
    col = a.mask[0, 0].any(dim=0).nonzero().float().mean().item()
    row = a.mask[0, 0].any(dim=1).nonzero().float().mean().item()
    assert col > 111.5 and row < 111.5  # right of and above the centre


def test_dist_jitter_zooms() -> None:
    points = cube_surface(0.5, 33)[None]
    widths = []
    for dist in (0.9, 1.0, 1.1):
        mask = project_depth(points, [0.0], [0.0], dist).mask[0, 0]
        widths.append(int(mask.any(dim=0).sum()))
    assert widths[0] > widths[1] > widths[2]
    # the square's half side in NDC is 0.5/dist (+ the disc radius), so its pixel width follows
    for width, dist in zip(widths, (0.9, 1.0, 1.1)):
        assert abs(width - (0.5 / dist + 0.02) * 224) <= 1.0


def test_views_broadcast_over_the_batch() -> None:
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(2, 200, 3, generator=gen) - 0.5
    elev, azim, dist = get_view_preset(6).tensors()
    shared = project_depth(points, elev, azim, dist)
    per_cloud = project_depth(points, elev.expand(2, -1), azim.expand(2, -1), dist.expand(2, -1))
    assert torch.equal(shared.depth, per_cloud.depth)
    mixed = project_depth(points, torch.tensor([[0.0], [90.0]]), torch.tensor([[0.0], [0.0]]), 1.0)
    first = project_depth(points[:1], [0.0], [0.0], 1.0)
    second = project_depth(points[1:], [90.0], [0.0], 1.0)
    assert torch.equal(mixed.depth, torch.cat([first.depth, second.depth]))


def test_faithful_image_formula_and_clip_input() -> None:
    depth = torch.zeros(1, 1, 4, 4)
    depth[0, 0, 1, 1], depth[0, 0, 2, 2], depth[0, 0, 3, 0] = 0.5, 1.0, 2.0
    maps = DepthMaps(depth=depth, mask=depth > 0)
    image = depth_to_image(maps)
    assert image[0, 0, 0, 0] == 1.0  # background is white
    scale = 200.0 / 255.0
    torch.testing.assert_close(image[0, 0, [1, 2, 3], [1, 2, 0]], torch.tensor([0.0, 0.25, 0.75]) * scale)
    clip = to_clip_input(image)
    assert clip.shape == (1, 1, 3, 4, 4)
    expected_bg = (1.0 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    torch.testing.assert_close(clip[0, 0, :, 0, 0], expected_bg)


def test_presets_differ_as_their_methods_do() -> None:
    gen = torch.Generator().manual_seed(3)
    points = torch.nn.functional.normalize(torch.randn(1, 1024, 3, generator=gen), dim=-1) * 0.8
    elev, azim, dist = get_view_preset(6).tensors()
    faithful = project_depth(points, elev, azim, dist)
    pc = project_depth(points, elev, azim, dist, preset="pointclip")
    v2 = project_depth(points, elev, azim, dist, preset="pointclip-v2")
    assert faithful.depth.shape[-1] == 224 and pc.depth.shape[-1] == 128 and v2.depth.shape[-1] == 110
    pc_cover = pc.mask.flatten(2).sum(-1)
    assert bool((pc_cover <= 1024).all())  # one pixel per point: sparse
    frac = {name: m.mask.float().mean().item() for name, m in (("c2p", faithful), ("pc", pc), ("v2", v2))}
    assert frac["pc"] < frac["c2p"] < frac["v2"]  # no disc < discs < densified
    pc_img, v2_img = depth_to_image(pc, "pointclip"), depth_to_image(v2, "pointclip-v2")
    assert pc_img.shape[-1] == v2_img.shape[-1] == 224
    assert pc_img[0, 0, 0, 0] == 0.0 and v2_img[0, 0, 0, 0] == 1.0  # black vs white background
    assert torch.allclose(v2_img.amin(dim=(-2, -1)), torch.zeros(1, 6), atol=1e-6)  # nearest is black
    assert torch.equal(to_clip_input(pc_img, "pointclip")[:, :, 1], pc_img)  # no mean/std


@pytest.mark.parametrize("preset", ["clip2point", "pointclip", "pointclip-v2"])
def test_presets_share_the_image_orientation(preset: str) -> None:
    """A blob at world +x and +y, seen from the front (camera on +z), sits top-right in every
    preset: view +x is left, so world +x lands right of centre; +y is up."""
    gen = torch.Generator().manual_seed(2)
    blob = torch.randn(1, 200, 3, generator=gen) * 0.05 + torch.tensor([0.4, 0.3, 0.0])
    anchor = torch.tensor([[[-0.4, -0.3, 0.0]]])  # a lone point bottom-left keeps v2's box centred
    mask = project_depth(torch.cat([blob, anchor], dim=1), [0.0], [0.0], 1.0, preset=preset).mask[0, 0]
    rows, cols = mask.nonzero().float().unbind(-1)
    centre = (mask.shape[-1] - 1) / 2
    assert cols.median() > centre and rows.median() < centre


def test_pointclip_pixel_holds_the_harmonic_mean_depth() -> None:
    points = torch.tensor([[[0.0, 0.0, 0.4], [0.0, 0.0, -0.2], [0.0, 0.0, 0.1]]])
    maps = project_depth(points, [0.0], [0.0], 1.0, preset="pointclip")
    assert int(maps.mask.sum()) == 1
    z = 1.6 - torch.tensor([0.4, -0.2, 0.1])  # view z plus PointCLIP's shift
    torch.testing.assert_close(maps.depth[maps.mask], (3.0 / (1.0 / z).sum()).reshape(1))


def test_pointclip_v2_ignores_dist_and_fills_gaps() -> None:
    gen = torch.Generator().manual_seed(5)
    points = torch.rand(1, 300, 3, generator=gen) - 0.5
    near = project_depth(points, [30.0], [20.0], 0.9, preset="pointclip-v2")
    far = project_depth(points, [30.0], [20.0], 1.1, preset="pointclip-v2")
    torch.testing.assert_close(near.depth, far.depth)
    sparse = project_depth(points, [30.0], [20.0], 1.0, preset="clip2point", size=110)
    assert near.mask.sum() > sparse.mask.sum()


def test_every_preset_runs_on_a_batch_and_is_registered() -> None:
    assert available_depth_presets() == ("clip2point", "pointclip", "pointclip-fewshot", "pointclip-unmirrored",
                                         "pointclip-v2")
    points = torch.rand(2, 64, 3) - 0.5
    for name in available_depth_presets():
        maps = project_depth(points, [0.0, 90.0, 180.0], [0.0, 0.0, 45.0], 1.0, preset=name, size=64)
        assert maps.depth.dtype == torch.float32 and maps.mask.dtype == torch.bool
        assert maps.depth.shape[:2] == (2, 3)
        assert bool((maps.depth[~maps.mask] == 0).all())
        assert torch.isfinite(depth_to_image(maps, name)).all()


def test_bad_inputs_are_rejected_with_clear_messages() -> None:
    points = torch.zeros(1, 5, 3)
    with pytest.raises(ConfigError, match="unknown depth preset 'pointclip3'; choose one of clip2point, pointclip, pointclip-fewshot, "
                                         "pointclip-unmirrored, pointclip-v2"):
        get_depth_preset("pointclip3")
    with pytest.raises(ConfigError, match=r"points must be \[B,P,3\] with P > 0; got shape \(5, 3\)"):
        project_depth(torch.zeros(5, 3), [0.0], [0.0])
    with pytest.raises(ConfigError, match="NaN or infinite"):
        project_depth(torch.full((1, 5, 3), float("nan")), [0.0], [0.0])
    with pytest.raises(ConfigError, match=r"elev must be a number, \[V\] or \[B,V\] with B=1"):
        project_depth(points, torch.zeros(3, 2), [0.0])
    with pytest.raises(ConfigError, match="the same number of views; got 2, 3 and 1"):
        project_depth(points, [0.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ConfigError, match="dist must be positive"):
        project_depth(points, [0.0], [0.0], 0.0)
    with pytest.raises(ConfigError, match=r"size must be an integer in \[8, 4096\]; got 4"):
        project_depth(points, [0.0], [0.0], size=4)
    with pytest.raises(ConfigError, match="got 100000"):  # refused before hundreds of GB are asked for
        project_depth(points, [0.0], [0.0], size=100_000)


def test_numpy_points_are_accepted() -> None:
    points = np.random.default_rng(0).uniform(-0.5, 0.5, (1, 50, 3))
    maps = project_depth(points, [0.0], [0.0])
    assert maps.depth.shape == (1, 1, 224, 224) and bool(maps.mask.any())


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(4, 1024, 3, generator=gen) - 0.5
    for name in available_depth_presets():  # each through its own cameras (roll and mirror included)
        views = get_view_preset(view_counts(name)[0], name)
        elev, azim, dist = views.tensors()
        orientation = views.orientation()
        cpu = project_depth(points, elev, azim, dist, **orientation, preset=name)
        gpu = project_depth(points.cuda(), elev.cuda(), azim.cuda(), dist.cuda(),
                            **{key: value.cuda() for key, value in orientation.items()}, preset=name)
        assert gpu.depth.is_cuda
        both = cpu.mask & gpu.mask.cpu()
        assert (cpu.mask != gpu.mask.cpu()).float().mean() < 1e-4
        torch.testing.assert_close(gpu.depth.cpu()[both], cpu.depth[both], atol=1e-5, rtol=0)
