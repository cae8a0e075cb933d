"""clip2point: CLIP2Point (ICCV 2023) as a fast, resumable, tested pipeline.

Stages live in sub-packages: ``clip2point.datasets`` (mesh loading, shards, readers, synthetic and
downstream sets), ``clip2point.render`` (meshes to RGB and depth views, the generation job),
``clip2point.inspection`` (summary, verify, gallery), ``clip2point.train`` (image-depth
pre-training) and ``clip2point.eval`` (zero/few-shot); this package holds the core they share and
the entry points (``cli``, ``demo``). ARCHITECTURE.md says which imports may never exist.
Importing this package has no side effects (no GL context, no model loading).
"""

__version__ = "0.1.0"
