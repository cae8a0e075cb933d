"""Cameras: view presets, PyTorch3D's look-at (including the camera on the up axis), the
OpenGL pose for pyrender and the ModelNet alignment."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from clip2point.datasets.frames import align_modelnet
from clip2point.errors import ConfigError
from clip2point.render.cameras import (
    ViewPreset, camera_positions, get_view_preset, look_at_view_transform, opengl_camera_pose,
)


def pytorch3d_look_at_rotation(camera_position: torch.Tensor) -> torch.Tensor:
    """PyTorch3D 0.7's look_at_rotation (at = origin, up = +y), written out as the slow
    reference: normalise with eps 1e-5, rebuild a near-zero x axis from y × z."""
    up = torch.tensor([[0.0, 1.0, 0.0]]).expand_as(camera_position)
    z_axis = F.normalize(-camera_position, eps=1e-5)
    x_axis = F.normalize(torch.cross(up, z_axis, dim=1), eps=1e-5)
    y_axis = F.normalize(torch.cross(z_axis, x_axis, dim=1), eps=1e-5)
    is_close = torch.isclose(x_axis, torch.tensor(0.0), atol=5e-3).all(dim=1, keepdim=True)
    replacement = F.normalize(torch.cross(y_axis, z_axis, dim=1), eps=1e-5)
    x_axis = torch.where(is_close, replacement, x_axis)
    return torch.stack([x_axis, y_axis, z_axis], dim=1).transpose(1, 2)


def test_presets_are_the_spec_views() -> None:
    ten, six = get_view_preset(10), get_view_preset(6)
    assert ten.elev == (0, 90, 180, 270, 225, 225, 315, 315, 0, 0)
    assert ten.azim == (0, 0, 0, 0, -45, 45, -45, 45, -90, 90)
    assert six.elev == (0, 0, 0, 0, 90, -90) and six.azim == (0, 90, 180, 270, 0, 180)
    assert ten.dist == six.dist == 1.0 and (ten.num_views, six.num_views) == (10, 6)
    elev, azim, dist = six.tensors()
    assert elev.dtype == torch.float32 and dist.tolist() == [1.0] * 6 and azim.tolist() == list(six.azim)


def test_unknown_preset_and_bad_views_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"no view preset with 12 views; choose one of \[6, 10\]"):
        get_view_preset(12)
    with pytest.raises(ConfigError, match="elev and azim need the same non-zero length"):
        ViewPreset("bad", elev=(0.0, 1.0), azim=(0.0,))
    with pytest.raises(ConfigError, match="dist must be a positive number"):
        ViewPreset("bad", elev=(0.0,), azim=(0.0,), dist=0.0)


def test_camera_positions_follow_the_spherical_convention() -> None:
    pos = camera_positions(2.0, [0.0, 0.0, 90.0, 30.0], [0.0, 90.0, 0.0, 60.0])
    e, a = math.radians(30), math.radians(60)
    expected = [[0, 0, 2], [2, 0, 0], [0, 2, 0], [2 * math.cos(e) * math.sin(a), 2 * math.sin(e), 2 * math.cos(e) * math.cos(a)]]
    torch.testing.assert_close(pos, torch.tensor(expected, dtype=torch.float32), atol=1e-6, rtol=0)


ANGLES = [(e, a) for e in (0.0, 30.0, 90.0, 180.0, 225.0, 270.0, 315.0, -90.0, -45.0) for a in (-90.0, -45.0, 0.0, 45.0, 180.0)]


def test_look_at_is_a_rotation_centred_on_the_camera() -> None:
    elev, azim = torch.tensor(ANGLES).T
    dist = torch.full_like(elev, 1.7)
    R, T = look_at_view_transform(dist, elev, azim)
    eye = torch.eye(3).expand_as(R)
    torch.testing.assert_close(R.transpose(1, 2) @ R, eye, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(len(ANGLES)), atol=1e-6, rtol=0)
    centre = camera_positions(dist, elev, azim)
    torch.testing.assert_close((centre[:, None] @ R)[:, 0] + T, torch.zeros_like(T), atol=1e-6, rtol=0)
    # the world origin sits straight ahead at distance dist (+z points into the scene)
    torch.testing.assert_close(T, torch.tensor([0.0, 0.0, 1.7]).expand_as(T), atol=1e-6, rtol=0)


def test_look_at_matches_pytorch3d_including_the_up_axis() -> None:
    elev, azim = torch.tensor(ANGLES).T
    R, _ = look_at_view_transform(1.0, elev, azim)
    reference = pytorch3d_look_at_rotation(camera_positions(1.0, elev, azim))
    torch.testing.assert_close(R, reference, atol=2e-6, rtol=0)


def test_top_view_orientation_is_pytorch3ds() -> None:
    """cos(90°) in float32 is −4.4e-8: the camera sits just past the pole, so the top view's
    +x axis is world +x (not −x as the limit from below would give). Deterministic."""
    R1, _ = look_at_view_transform(1.0, 90.0, 0.0)
    R2, _ = look_at_view_transform(1.0, 90.0, 0.0)
    assert torch.equal(R1, R2)
    x_axis, y_axis, z_axis = [1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]  # looking down, image-up = +z
    torch.testing.assert_close(R1[0], torch.tensor([x_axis, y_axis, z_axis]).T, atol=1e-6, rtol=0)


def test_grid_shaped_angles_keep_their_shape() -> None:
    elev = torch.tensor([[0.0, 90.0, 45.0], [10.0, 20.0, 30.0]])
    R, T = look_at_view_transform(1.0, elev, torch.zeros_like(elev))
    assert R.shape == (2, 3, 3, 3) and T.shape == (2, 3, 3)
    R_flat, _ = look_at_view_transform(1.0, elev.reshape(-1), torch.zeros(6))
    torch.testing.assert_close(R.reshape(6, 3, 3), R_flat)


def test_opengl_pose_looks_at_the_origin_with_mirrored_x() -> None:
    elev, azim = torch.tensor(ANGLES).T
    dist = torch.full_like(elev, 2.0)
    R, T = look_at_view_transform(dist, elev, azim)
    pose = opengl_camera_pose(R, T)
    assert pose.shape == (len(ANGLES), 4, 4)
    torch.testing.assert_close(pose[:, 3], torch.tensor([0.0, 0, 0, 1]).expand(len(ANGLES), 4))
    torch.testing.assert_close(pose[:, :3, 3], camera_positions(dist, elev, azim), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(pose[:, :3, :3]), torch.ones(len(ANGLES)), atol=1e-6, rtol=0)
    # A world point in OpenGL camera coordinates is PyTorch3D's view point with x and z negated.
    point = torch.tensor([0.3, -0.2, 0.5])
    gl = (torch.linalg.inv(pose) @ torch.cat([point, torch.ones(1)]))[:, :3]
    view = point @ R + T
    torch.testing.assert_close(gl, view * torch.tensor([-1.0, 1.0, -1.0]), atol=1e-5, rtol=0)


def obj_vertices(path: Path) -> np.ndarray:
    """The OBJ's ``v`` records, centred on their mean and scaled to max norm 1 (SPEC §4)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        rows = [line.split()[1:4] for line in handle if line.startswith("v ")]
    v = np.asarray(rows, dtype=np.float64)
    v -= v.mean(axis=0)
    return v / np.linalg.norm(v, axis=1).max()


def fraction_inside(vertices: np.ndarray, pose: np.ndarray, mask: np.ndarray, *, mirror: bool = False) -> float:
    """Share of vertices that a 60° OpenGL camera at ``pose`` puts inside ``mask`` (grown by a
    pixel so rounding on the silhouette edge does not count)."""
    world_to_camera = np.linalg.inv(pose)
    cam = vertices @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    if mirror:
        cam[:, 0] *= -1
    focal = 1.0 / math.tan(math.radians(30.0))
    size = mask.shape[-1]
    col = np.floor((focal * cam[:, 0] / -cam[:, 2] + 1) / 2 * size).astype(int)
    row = np.floor((1 - focal * cam[:, 1] / -cam[:, 2]) / 2 * size).astype(int)
    on_image = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    grown = ndimage.binary_dilation(mask, iterations=1)
    inside = np.zeros(len(vertices), dtype=bool)
    inside[on_image] = grown[row[on_image], col[on_image]]
    return float(inside.mean())


def test_opengl_pose_reproduces_the_reference_silhouettes(shared_data: Path) -> None:
    """Mesh vertices seen through the pose land inside PyTorch3D's silhouettes (golden data);
    the same check on a mirrored camera fails, so the test can see a flip."""
    with np.load(shared_data / "golden" / "rgb_silhouettes_golden.npz") as golden:
        names, masks = golden["names"], golden["mask"]
        R, T = look_at_view_transform(float(golden["dist"]), golden["elev"], golden["azim"])
    poses = opengl_camera_pose(R, T).double().numpy()
    mirrored = []
    for name, mesh_masks in zip(names, masks):
        vertices = obj_vertices(shared_data / "meshes" / str(name))
        for pose, mask in zip(poses, mesh_masks):
            if mask.sum() < 50:  # a flat model seen edge-on has no silhouette to test
                continue
            assert fraction_inside(vertices, pose, mask) >= 0.99, f"{name}: vertices outside the silhouette"
            mirrored.append(fraction_inside(vertices, pose, mask, mirror=True))
    assert np.mean(mirrored) < 0.9


def test_opengl_pose_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"R must be \[N,3,3\] and T \[N,3\]"):
        opengl_camera_pose(torch.eye(3)[None].expand(2, 3, 3), torch.zeros(3, 3))


def test_align_modelnet_turns_z_up_into_y_up() -> None:
    basis = np.eye(3, dtype=np.float32)
    out = align_modelnet(basis)
    # rows: x -> -z, y -> -x, z -> +y  (p · R_x(π/2) · R_y(−π/2))
    np.testing.assert_allclose(out, [[0, 0, -1], [-1, 0, 0], [0, 1, 0]], atol=1e-7)
    assert out.dtype == np.float32
    torch_out = align_modelnet(torch.from_numpy(basis).double())
    assert torch_out.dtype == torch.float64
    np.testing.assert_allclose(torch_out.numpy(), out, atol=1e-7)
    with pytest.raises(ValueError, match="last dimension of 3"):
        align_modelnet(np.zeros((4, 2)))
