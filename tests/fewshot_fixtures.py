"""Fixtures shared by the few-shot tests: random-weight tiny-CLIP towers and one torch thread."""

from __future__ import annotations

import copy
from typing import Iterator

import pytest
import torch
from torch import nn

from clip2point.eval.encoders import Encoders, load_encoders
from clip2point.eval.settings import EncoderSettings


def perturbed(module: nn.Module, seed: int) -> nn.Module:
    """A second frozen tower for the dual path: the same tiny CLIP with seeded weight noise."""
    gen = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.data.add_(0.05 * torch.randn(p.shape, generator=gen))
    return module


@pytest.fixture(scope="module")
def tiny() -> Encoders:
    encoders = load_encoders(EncoderSettings("c2p-tiny"), ("clip",))
    encoders.visual["pretrained"] = perturbed(copy.deepcopy(encoders.visual["clip"]), seed=1)
    encoders.ids["pretrained"] = "perturbed"
    return encoders


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """The adapters are tiny: on a shared 2-core machine one thread is several times faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
