"""Rendering and CLIP models in one process (a notebook, the demo): Mesa's llvmpipe and
triton's bundled LLVM used to segfault when triton loaded second. Runs in a fresh interpreter
because pytest's own import order would hide the bug."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import torch
    from clip2point.render.cameras import get_view_preset
    from clip2point.datasets.mesh_io import load_mesh
    from clip2point.render.rgb import RGBRenderer
    mesh = load_mesh(sys.argv[1])
    with RGBRenderer(size=32) as renderer:
        rgb = renderer.render(mesh, get_view_preset(6), light_seed=0).rgb
    import torchvision  # pulls in triton after the GL context exists
    from clip2point.train.models import create_clip
    bundle = create_clip("c2p-tiny")
    feats = bundle.model.encode_image(torch.zeros(1, 3, 224, 224))
    print("ok", rgb.shape[0], tuple(feats.shape))
    """
)


def test_render_then_build_clip_in_one_process(shared_data) -> None:
    mesh = shared_data / "meshes" / "classic" / "spot.obj"
    proc = subprocess.run(
        [sys.executable, "-c", "import sys\n" + SCRIPT, str(mesh)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-2000:]}"
    assert proc.stdout.strip().splitlines()[-1] == "ok 6 (1, 64)"
