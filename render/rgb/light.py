"""The directional light of the RGB views (SPEC §4): which way it points, per view.

A direction points from the surface **towards** the light, as PyTorch3D's
``DirectionalLights.direction`` does; pyrender shines a directional light along its node's −z,
so the node's z axis is the direction itself.

The reference (CLIP2Point ``render/render.py``, ``Renderer.light_direction``) has three types:
``fixed`` (0, 1, 0); ``random``, which in training mode draws ``1 − 2·rand(3)`` once per render
call (one direction for all views of the call) and otherwise falls back to the head-light; and
the head-light (the camera position, so each view is lit from where it is seen). ``X,Y,Z`` is a
constant direction of the user's choice.

``random`` is the render job's default. The reference's stored views (``data/rendering/NAME/
K.png``, read by ``ShapeNetRender``) were made by a script that is not published; the only code
that renders meshes is ``Renderer.forward(..., mesh=...)``, whose light type is hard-coded to
``random`` in ``Renderer.__init__``, and a freshly built ``nn.Module`` is in training mode, so
unless that script called ``.eval()`` every call drew a random direction. We draw it once per
object (the 10 views of one object are one render call there) from the object's own seed, so a
rerun gives the same bytes. ``headlight`` is what an ``.eval()``'d renderer gives.
"""

from __future__ import annotations

import math

import numpy as np

from clip2point.errors import ConfigError
from clip2point.render.cameras import ViewPreset, camera_positions

LIGHT_TYPES = ("random", "headlight", "fixed")
DEFAULT_LIGHT = "random"
FIXED_DIRECTION = (0.0, 1.0, 0.0)  # the reference's 'fixed': from above (+y is up)


def parse_light(text: str, flag: str = "--light") -> str:
    """``text`` in its canonical form (a type name, or ``X,Y,Z`` as three floats) or a
    ConfigError naming ``flag``; the canonical form is what shard configurations record."""
    value = str(text).strip().lower()
    if value in LIGHT_TYPES:
        return value
    try:
        xyz = [float(part) for part in value.split(",")]
    except ValueError:
        xyz = []
    if len(xyz) != 3 or not all(math.isfinite(c) for c in xyz) or math.hypot(*xyz) < 1e-6:
        raise ConfigError(f"{flag} {text!r}: use one of {', '.join(LIGHT_TYPES)} or a non-zero direction X,Y,Z "
                          "pointing from the surface towards the light")
    return ",".join(f"{c:g}" for c in xyz)


def light_directions(light: str, views: ViewPreset, seed: int) -> np.ndarray:
    """Unit directions towards the light, [V,3] float64, for ``parse_light``'s forms."""
    light = parse_light(light)
    if light == "headlight":
        directions = camera_positions(1.0, views.elev, views.azim).double().numpy()
    elif light == "random":
        directions = np.tile(1.0 - 2.0 * np.random.default_rng(seed).random(3), (views.num_views, 1))
    else:
        xyz = FIXED_DIRECTION if light == "fixed" else [float(c) for c in light.split(",")]
        directions = np.tile(np.asarray(xyz, dtype=np.float64), (views.num_views, 1))
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    return directions / np.maximum(norms, 1e-12)


def light_poses(directions: np.ndarray) -> np.ndarray:
    """pyrender node poses [V,4,4] whose z axis is each direction (the light shines along −z)."""
    poses = np.tile(np.eye(4), (len(directions), 1, 1))
    for pose, z in zip(poses, directions):
        helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        x = np.cross(helper, z)
        x /= np.linalg.norm(x)
        pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    return poses
