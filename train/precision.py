"""The one numeric-precision helper of the package: training, validation and evaluation all run
their encoders through ``autocast(device, precision)`` with a precision resolved here, so a run's
choice (and the reference's fp32) holds for every forward pass — no second copy with its own dtype.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ContextManager

from clip2point.errors import ConfigError
from clip2point.validation import check_choice

if TYPE_CHECKING:  # torch is imported where it is used: the CLIs read PRECISIONS without loading it
    import torch

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` is bf16 on CUDA and fp32 on CPU; fp16 needs CUDA (the CPU has no fast fp16 path)."""
    import torch  # noqa: PLC0415

    device = torch.device(device)
    check_choice(precision, "--precision", PRECISIONS)
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("--precision fp16 needs a CUDA device; use fp32 (or bf16) on the CPU")
    return precision


def autocast(device: torch.device | str, precision: str) -> ContextManager[Any]:
    """Autocast to ``precision`` (a resolved one: fp32, bf16 or fp16) on ``device``; fp32 is a no-op."""
    import torch  # noqa: PLC0415

    device = torch.device(device)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Compute:
    """Where and how a pass of a frozen or evaluated encoder runs: the device, the resolved precision
    (``autocast``'s) and the batch size. One record instead of the same three keywords threaded
    through validation and the feature cache."""

    device: torch.device
    precision: str
    batch_size: int
