"""Which way is up: ShapeNet's y-up frame (the one the cameras and the depth projector use) and
ModelNet's z-up frame, with the one rotation between them (SPEC §6).

It lives with the data because a point set's ``frame`` is a property of its source
(``PointSet.frame``): the evaluation rotates z-up clouds from the data, not from a name, and
``synth --modelnet-out`` writes meshes in ModelNet's frame with the inverse rotation.
"""

from __future__ import annotations

import math
from typing import Sequence, TypeVar

import numpy as np
import torch

__all__ = ["axis_angle_matrix", "MODELNET_TO_SHAPENET", "align_modelnet"]


def axis_angle_matrix(axis_angle: Sequence[float]) -> np.ndarray:
    """Rotation matrix (float64, column-vector convention) of an axis-angle vector (Rodrigues)."""
    v = np.asarray(axis_angle, dtype=np.float64)
    angle = float(np.linalg.norm(v))
    if angle == 0.0:
        return np.eye(3)
    k = v / angle
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * K + (1.0 - math.cos(angle)) * (K @ K)


# Row-vector points p map to p @ MODELNET_TO_SHAPENET: ModelNet's z-up frame to ShapeNet's y-up.
MODELNET_TO_SHAPENET: np.ndarray = axis_angle_matrix((math.pi / 2, 0.0, 0.0)) @ axis_angle_matrix(
    (0.0, -math.pi / 2, 0.0)
)

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def align_modelnet(points: ArrayT) -> ArrayT:
    """Rotate ModelNet points ``[..., 3]`` into ShapeNet's frame, ``p · R_x(π/2) · R_y(−π/2)``
    (SPEC §6). Returns the same array type, and the same dtype for floating input."""
    if points.shape[-1] != 3:
        raise ValueError(f"points must have a last dimension of 3; got shape {tuple(points.shape)}")
    if isinstance(points, torch.Tensor):
        points = points if points.is_floating_point() else points.float()
        return points @ torch.as_tensor(MODELNET_TO_SHAPENET, dtype=points.dtype, device=points.device)
    points = np.asarray(points)
    dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float32
    return (points @ MODELNET_TO_SHAPENET).astype(dtype, copy=False)
