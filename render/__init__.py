"""Meshes to paired modalities: RGB views (pyrender, EGL) and depth maps projected from points,
and the generation job that writes them as shards.

Imports ``datasets`` (loading, sampling, the shard writer) and the core, nothing from
``inspection``, ``train`` or ``eval``; the depth projector is plain torch (no GL) so training and
evaluation can use it on any device.
"""
