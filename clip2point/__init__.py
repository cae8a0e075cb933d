"""clip2point: CLIP2Point (ICCV 2023) as a fast, resumable, tested pipeline.

Stages live in sub-packages: ``clip2point.render`` (meshes to RGB and depth views),
``clip2point.datasets`` (shards, readers, synthetic and downstream sets),
``clip2point.train`` (image-depth pre-training) and ``clip2point.eval`` (zero/few-shot).
Importing this package has no side effects (no GL context, no model loading).
"""

__version__ = "0.1.0"
