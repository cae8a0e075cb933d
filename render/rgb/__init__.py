"""RGB views of a textured mesh with pyrender (SPEC §4): the image half of each image-depth pair.

One ``RGBRenderer`` owns one GL context for its whole life (creating a context costs far more
than rendering an object), builds the pyrender scene once per object and moves only the camera
and the light between views. The light (``rgb.light``) is a type or a direction; a random light
is seeded, so an object renders to the same pixels on every run. ``camera="orthographic"`` is
the aligned mode: the camera of the faithful depth projector, so RGB and depth share pixels.

``shading="faithful"`` (default) is the reference's PyTorch3D look (SPEC §4, golden
``rgb_phong_golden.npz``): untextured parts white, back faces lit with their own normal (ambient
only when facing away from the light), textures through a 4×4 atlas per face with clamped UVs.
``shading="improved"`` lights both sides, paints untextured parts light grey and samples the
full texture with repeat-wrap (README, "Deliberate differences", RGB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from clip2point.datasets.mesh_io import LoadedMesh
from clip2point.render.cameras import ViewPreset, look_at_view_transform, opengl_camera_pose
from clip2point.render.gl import import_pyrender
from clip2point.render.rgb.gl import close_offscreen, gl_strings, offscreen_renderer
from clip2point.render.rgb.light import DEFAULT_LIGHT, light_directions, light_poses, parse_light
from clip2point.render.rgb.scene import SHADINGS, build_pyrender_mesh
from clip2point.validation import check_choice, check_image_size, check_int, check_positive, check_range

CAMERAS = ("perspective", "orthographic")
ORTHO_ZNEAR = 0.01  # the orthographic camera keeps the whole unit sphere, as the projector does


class RGBViews(NamedTuple):
    """``rgb`` uint8 [V,H,W,3] on a white background; ``mask`` bool [V,H,W], the pixels the
    mesh covers (from the depth buffer, so white parts of the object count too)."""

    rgb: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class RGBSettings:
    """How views are rendered. Defaults are SPEC §4 (camera) and PyTorch3D's Phong defaults
    (ambient 0.5, diffuse 0.3), which the reference renderer used. ``light`` is a
    ``rgb.light.parse_light`` form; ``shading`` one of ``SHADINGS``; ``max_texture_size`` bounds
    the textures the improved shading uploads (the faithful atlas samples the full image)."""

    size: int = 224
    yfov_deg: float = 60.0
    znear: float = 1.0
    zfar: float = 100.0
    camera: Literal["perspective", "orthographic"] = "perspective"
    ambient: float = 0.5
    diffuse: float = 0.3
    msaa_samples: int = 0
    max_texture_size: int = 1024
    shading: Literal["faithful", "improved"] = "faithful"
    light: str = DEFAULT_LIGHT

    def __post_init__(self) -> None:
        check_image_size(self.size, "--size")
        check_choice(self.shading, "--shading", SHADINGS)
        object.__setattr__(self, "light", parse_light(self.light, "--light"))
        check_choice(self.camera, "--camera", CAMERAS)
        # No flag sets the rest (keyword arguments of RGBRenderer): the messages name the keyword.
        check_range(self.yfov_deg, "yfov_deg", low=0, high=180, low_open=True, high_open=True, hint="degrees")
        check_positive(self.znear, "znear", finite=True)
        check_range(self.zfar, "zfar", low=self.znear, high=math.inf, low_open=True, hint="beyond znear")
        check_range(self.ambient, "ambient", low=0, high=1)
        check_range(self.diffuse, "diffuse", low=0, high=1)
        check_choice(self.msaa_samples, "msaa_samples", (0, 2, 4, 8))
        check_int(self.max_texture_size, "max_texture_size", low=16, hint="pixels")


class RGBRenderer:
    """Renders ``LoadedMesh`` objects to RGB views. Build once per process and reuse it for
    every object; not thread-safe. Keyword arguments are ``RGBSettings`` fields
    (``yfov_deg``, ``znear``, ``zfar``, ``camera``, ``shading``, ``light``, ...)."""

    def __init__(self, size: int = 224, **settings: Any) -> None:
        self.settings = RGBSettings(size=size, **settings)
        self._pyrender = import_pyrender()
        defines = {"TWO_SIDED": 1} if self.settings.shading == "improved" else {}
        self._offscreen = offscreen_renderer(self._pyrender, self.settings.size, samples=self.settings.msaa_samples,
                                             defines=defines)
        self._flags = self._pyrender.RenderFlags.SKIP_CULL_FACES  # SPEC §4: draw both sides
        self.gl_info = gl_strings()  # the context is current now; pixels depend on this driver

    def render(self, mesh: LoadedMesh, views: ViewPreset, *, light_seed: int) -> RGBViews:
        """All views of one object: camera at ``2·views.dist`` (SPEC §4), one directional
        light per view as ``settings.light`` says (``light_seed`` draws a random one)."""
        if self._offscreen is None:
            raise RuntimeError("RGBRenderer.render called after close()")
        pyrender, s = self._pyrender, self.settings
        poses = camera_poses(views, 2.0 * views.dist)
        lights = light_poses(light_directions(s.light, views, light_seed))
        scene = pyrender.Scene(bg_color=(1.0, 1.0, 1.0, 1.0), ambient_light=(s.ambient,) * 3)
        scene.add(build_pyrender_mesh(pyrender, mesh, max_texture_size=s.max_texture_size, shading=s.shading))
        camera_node = scene.add(self._camera(views.dist), pose=poses[0])
        light_node = scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=s.diffuse), pose=lights[0])
        rgb = np.empty((views.num_views, s.size, s.size, 3), dtype=np.uint8)
        mask = np.empty((views.num_views, s.size, s.size), dtype=bool)
        for i in range(views.num_views):
            scene.set_pose(camera_node, poses[i])
            scene.set_pose(light_node, lights[i])
            rgb[i], depth = self._offscreen.render(scene, flags=self._flags)
            mask[i] = depth > 0
        return RGBViews(rgb, mask)

    def _camera(self, dist: float) -> Any:
        s = self.settings
        if s.camera == "orthographic":
            return self._pyrender.OrthographicCamera(xmag=dist, ymag=dist, znear=ORTHO_ZNEAR, zfar=s.zfar)
        return self._pyrender.PerspectiveCamera(
            yfov=math.radians(s.yfov_deg), znear=s.znear, zfar=s.zfar, aspectRatio=1.0
        )

    def close(self) -> None:
        """Free the GL context (idempotent)."""
        if self._offscreen is not None:
            close_offscreen(self._offscreen)
            self._offscreen = None

    def __enter__(self) -> RGBRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def camera_poses(views: ViewPreset, distance: float) -> np.ndarray:
    """OpenGL camera-to-world poses [V,4,4] (float64) of a preset's views at ``distance``."""
    R, T = look_at_view_transform(distance, views.elev, views.azim)
    return opengl_camera_pose(R, T).double().numpy()
