"""Headless OpenGL setup. EGL is the supported backend (pyrender pins PyOpenGL 3.1.0, which
works with EGL; OSMesa needs a newer PyOpenGL). The platform must be chosen before pyrender
or OpenGL is first imported, so every GL user imports pyrender through ``import_pyrender``."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from types import ModuleType


def _preload_triton() -> None:
    """Load triton's bundled LLVM before Mesa's llvmpipe loads the system LLVM.

    With both in one process, loading triton *after* a llvmpipe context exists segfaults
    (their LLVM symbols clash); the other order works. torch pulls triton in lazily (through
    torchvision / open_clip / torch.compile), so a notebook that renders and then builds a
    CLIP model would crash without this. No-op where triton is not installed.
    """
    if importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


def quiet_opengl_logging() -> None:
    """PyOpenGL logs at INFO on import ("No OpenGL_accelerate module loaded", the optional C
    speed-up it lacks) and pyrender never needs it: below WARNING its loggers say nothing a user
    can act on, so they are raised to WARNING unless someone chose a level for them."""
    for name in ("OpenGL", "OpenGL.acceleratesupport"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def import_pyrender() -> ModuleType:
    """Import pyrender with ``PYOPENGL_PLATFORM=egl`` unless the user chose a platform."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    quiet_opengl_logging()
    _preload_triton()
    import pyrender  # noqa: PLC0415  (deliberately late: the env var must be set first)

    return pyrender
