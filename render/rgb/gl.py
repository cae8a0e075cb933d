"""The pyrender pieces the RGB renderer changes: which shaders run (with which extra defines,
e.g. ``TWO_SIDED`` for the improved shading) and how many samples the offscreen framebuffer has.

pyrender always renders into a 4x multisampled framebuffer and shades with its PBR shader.
For 224-pixel training views under software GL both cost time without helping CLIP, and the
PBR shader leaves the back side of single-sided meshes black. We keep pyrender's scene and
context management and swap only these two internals.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import Any

SHADER_DIR = Path(__file__).resolve().parent / "shaders"


def offscreen_renderer(pyrender: ModuleType, size: int, *, samples: int,
                       defines: dict[str, int] | None = None) -> Any:
    """A ``pyrender.OffscreenRenderer`` (one GL context; build once per process and reuse)
    whose renderer uses our Phong shaders compiled with ``defines`` added to pyrender's, and
    ``samples`` MSAA samples (0 = none)."""
    offscreen = pyrender.OffscreenRenderer(size, size)
    # pyrender has no hook to choose the renderer class, so we replace the private one it
    # just built; that is safe because Renderer.__init__ creates no GL objects.
    offscreen._renderer = _renderer_class(pyrender)(size, size, samples=samples, defines=dict(defines or {}))
    return offscreen


def gl_strings() -> dict[str, str]:
    """Vendor, renderer and version of the current GL context (e.g. Mesa llvmpipe and its LLVM
    and vector width): rendered pixels depend on them, and the lock cannot pin a system driver."""
    from OpenGL import GL  # noqa: PLC0415  (imported after pyrender chose the GL platform)

    out = {}
    for name in ("GL_VENDOR", "GL_RENDERER", "GL_VERSION"):
        value = GL.glGetString(getattr(GL, name))
        out[name] = value.decode("utf-8", "replace") if value else "unknown"
    return out


def close_offscreen(offscreen: Any) -> None:
    """Free one renderer's GL resources and context without ``eglTerminate``.

    pyrender's ``OffscreenRenderer.delete`` terminates the EGL display, and EGL displays are
    shared per device within a process, so closing one renderer would kill every other
    renderer of the process (e.g. a perspective and an orthographic one side by side)."""
    platform = offscreen._platform
    egl_context = getattr(platform, "_egl_context", None)
    if egl_context is None:  # not EGL: pyrender's own teardown is safe
        offscreen.delete()
        return
    from OpenGL import EGL  # noqa: PLC0415

    platform.make_current()
    offscreen._renderer.delete()
    EGL.eglMakeCurrent(platform._egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
    EGL.eglDestroyContext(platform._egl_display, egl_context)
    # the platform's __del__ terminates its display unless it no longer holds one
    platform._egl_context = platform._egl_display = None
    offscreen._renderer = offscreen._platform = None


@functools.cache
def _renderer_class(pyrender: ModuleType) -> type:
    """Build the subclass lazily: pyrender must not be imported at module import time."""
    from OpenGL import GL  # noqa: PLC0415  (imported after pyrender chose the GL platform)

    class DefinesProgramCache(pyrender.shader_program.ShaderProgramCache):
        """pyrender's program cache, adding fixed defines to every program it compiles."""

        def __init__(self, shader_dir: str, defines: dict[str, int]) -> None:
            super().__init__(shader_dir=shader_dir)
            self._extra_defines = defines

        def get_program(self, vertex_shader: str, fragment_shader: str, geometry_shader: str | None = None,
                        defines: dict[str, int] | None = None) -> Any:
            return super().get_program(vertex_shader, fragment_shader, geometry_shader,
                                       defines={**(defines or {}), **self._extra_defines})

    class SampledRenderer(pyrender.Renderer):
        """pyrender's renderer with our shader folder, extra defines and a chosen MSAA sample count."""

        def __init__(self, width: int, height: int, *, samples: int, defines: dict[str, int]) -> None:
            super().__init__(width, height)
            self._samples = samples
            self._program_cache = DefinesProgramCache(str(SHADER_DIR), defines)

        def _configure_main_framebuffer(self) -> None:
            fresh = self._main_fb is None or self._main_fb_dims != (self.viewport_width, self.viewport_height)
            super()._configure_main_framebuffer()
            if fresh:  # re-specify the storage pyrender just allocated with 4 samples
                for buffer, fmt in ((self._main_cb_ms, GL.GL_RGBA), (self._main_db_ms, GL.GL_DEPTH_COMPONENT24)):
                    GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buffer)
                    GL.glRenderbufferStorageMultisample(
                        GL.GL_RENDERBUFFER, self._samples, fmt, self.viewport_width, self.viewport_height
                    )

    return SampledRenderer
