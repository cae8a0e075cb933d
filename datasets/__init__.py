"""Datasets: the shard format and its readers, ShapeNet/ModelNet/ScanObjectNN loaders and the
built-in synthetic ShapeNet-style mesh set. Never imports ``clip2point.train`` or ``eval``."""
