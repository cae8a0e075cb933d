"""Headless OpenGL setup. EGL is the supported backend (pyrender pins PyOpenGL 3.1.0, which
works with EGL; OSMesa needs a newer PyOpenGL). The platform must be chosen before pyrender
or OpenGL is first imported, so every GL user imports pyrender through ``import_pyrender``."""

from __future__ import annotations

import os
from types import ModuleType


def import_pyrender() -> ModuleType:
    """Import pyrender with ``PYOPENGL_PLATFORM=egl`` unless the user chose a platform."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender  # noqa: PLC0415  (deliberately late: the env var must be set first)

    return pyrender
