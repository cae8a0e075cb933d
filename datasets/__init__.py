"""Datasets: mesh and point loading, surface sampling, the shard format and its readers,
ShapeNet/ModelNet/ScanObjectNN/manifest loaders and the built-in synthetic ShapeNet-style mesh set.
The lowest stage: imports nothing from ``render``, ``inspection``, ``train`` or ``eval``."""
