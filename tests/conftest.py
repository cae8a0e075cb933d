"""Shared fixtures: where ../shared/data lives, GPU marker handling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    env = os.environ.get("CLIP2POINT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (override with CLIP2POINT_SHARED_DATA)."""
    path = _shared_data()
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set CLIP2POINT_SHARED_DATA")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:  # the item's own marks: ``keywords`` also holds a sibling pytest.param's marks
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
