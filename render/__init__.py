"""Meshes to paired modalities: RGB views (pyrender, EGL) and depth maps projected from points.

Nothing here imports ``clip2point.train`` or ``clip2point.eval``; the depth projector is plain
torch (no GL) so training and evaluation can use it on any device.
"""
