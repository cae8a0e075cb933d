"""The RGB light (``--light``): the reference's three types and explicit directions, pointing
from the surface towards the light, and a random light that is one seeded draw per object."""

from __future__ import annotations

import numpy as np
import pytest

from clip2point.errors import ConfigError
from clip2point.render.cameras import get_view_preset
from clip2point.render.rgb import camera_poses
from clip2point.render.rgb.light import light_directions, light_poses, parse_light

PRESET = get_view_preset(10)


@pytest.mark.parametrize(("text", "canonical"), [
    ("random", "random"), (" HeadLight ", "headlight"), ("fixed", "fixed"), ("0,1,0", "0,1,0"),
    ("-1, 0.5 ,2e0", "-1,0.5,2"),
])
def test_light_forms_are_canonical(text: str, canonical: str) -> None:
    assert parse_light(text) == canonical


@pytest.mark.parametrize("text", ["sun", "1,2", "0,0,0", "1,nan,0", "1,2,3,4", ""])
def test_a_bad_light_is_one_sentence_naming_the_flag(text: str) -> None:
    with pytest.raises(ConfigError, match=rf"^--light {text!r}: use one of random, headlight, fixed or a non-zero "):
        parse_light(text)


def test_fixed_and_explicit_directions_are_constant_unit_vectors() -> None:
    np.testing.assert_allclose(light_directions("fixed", PRESET, seed=0), np.tile([0.0, 1.0, 0.0], (10, 1)))
    np.testing.assert_allclose(light_directions("0,0,-2", PRESET, seed=0), np.tile([0.0, 0.0, -1.0], (10, 1)))


def test_headlight_points_at_each_camera() -> None:
    cameras = camera_poses(PRESET, 2.0)[:, :3, 3]
    np.testing.assert_allclose(light_directions("headlight", PRESET, seed=0), cameras / 2.0, atol=1e-6)


def test_random_is_one_seeded_reference_draw_per_object() -> None:
    """The reference draws 1 − 2·rand(3) once per render call: one direction for all views."""
    first = light_directions("random", PRESET, seed=11)
    draw = 1.0 - 2.0 * np.random.default_rng(11).random(3)
    np.testing.assert_allclose(first, np.tile(draw / np.linalg.norm(draw), (10, 1)))
    np.testing.assert_array_equal(first, light_directions("random", PRESET, seed=11))
    assert not np.allclose(first, light_directions("random", PRESET, seed=12))


def test_light_pose_z_axis_is_the_direction() -> None:
    """pyrender shines along the node's −z, so the node's z is the direction towards the light."""
    directions = light_directions("headlight", PRESET, seed=0)
    poses = light_poses(directions)
    np.testing.assert_allclose(poses[:, :3, 2], directions, atol=1e-12)
    for pose in poses:
        np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)
        assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)
