"""Materials and procedural texture images of the synthetic set.

A material is what one ``usemtl`` group of a ShapeNet OBJ carries: a diffuse colour (``Kd``)
and optionally a texture image (``map_Kd ../images/textureN.png``). Texture pixels are a pure
function of the spec (pattern, colours, seed), and the PNG file around them is written here, byte
by byte, with uncompressed ("stored") deflate blocks: an encoder's output is its own to change
between releases (Pillow's zlib became zlib-ng; libjpeg-turbo's encoder and, worse, JPEG
*decoding* are not bit-exact across versions), so neither the set's bytes nor the renders of its
textures may depend on one. ShapeNet ships .jpg textures too; the synthetic set does not.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

RGB = tuple[float, float, float]

PATTERNS = ("wood", "fabric", "stripes", "checker", "label")
TEXTURE_SIZE = 128


@dataclass(frozen=True)
class Texture:
    """A procedural image: ``pattern`` drawn with ``base`` and ``accent`` colours."""

    pattern: str
    base: RGB
    accent: RGB
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown texture pattern {self.pattern!r}; use one of {PATTERNS}")


@dataclass(frozen=True)
class Material:
    """One OBJ material group. Textured materials keep ``kd`` white because renderers multiply
    the base colour with the image (trimesh/pyrender do), and the image carries the colour."""

    name: str
    kd: RGB
    texture: Texture | None = None


def solid(name: str, kd: RGB) -> Material:
    return Material(name, tuple(float(c) for c in kd))  # type: ignore[arg-type]


def textured(name: str, texture: Texture) -> Material:
    return Material(name, (1.0, 1.0, 1.0), texture)


def jitter(rng: np.random.Generator, color: RGB, amount: float = 0.06) -> RGB:
    """A nearby colour, so two objects of one palette entry still differ a little: mostly a
    brightness change, with a hue shift small enough that dark greys do not turn purple."""
    base = np.asarray(color, dtype=np.float64)
    c = np.clip(base * (1.0 + rng.uniform(-2 * amount, 2 * amount)) + rng.uniform(-amount, amount, 3) * 0.3, 0.0, 1.0)
    return tuple(round(float(v), 4) for v in c)  # type: ignore[return-value]


def texture_seed(rng: np.random.Generator) -> int:
    """A texture's own seed, drawn from the object's generator."""
    return int(rng.integers(1 << 30))


def texture_image(tex: Texture, size: int = TEXTURE_SIZE) -> Image.Image:
    """Render the pattern to an RGB image."""
    rng = np.random.default_rng(tex.seed)
    v, u = np.mgrid[0:size, 0:size] / float(size)
    if tex.pattern == "wood":
        warp = 0.04 * np.sin(2 * np.pi * (u * 3.0 + rng.uniform()))
        rings = 0.5 + 0.5 * np.sin(2 * np.pi * (v + warp) * rng.uniform(9.0, 14.0))
        # products, not rings**3: numpy's float power is SIMD-dispatched per CPU
        weight = rings * rings * rings * 0.7 + rng.uniform(0.0, 0.15, (size, size))
    elif tex.pattern == "fabric":
        weave = ((np.floor(u * 32) + np.floor(v * 32)) % 2) * 0.25
        weight = weave + rng.uniform(0.0, 0.2, (size, size))
    elif tex.pattern == "stripes":
        weight = (np.floor(v * rng.integers(4, 9) * 2) % 2).astype(np.float64)
    elif tex.pattern == "checker":
        n = int(rng.integers(3, 7))
        weight = ((np.floor(u * n) + np.floor(v * n)) % 2).astype(np.float64)
    else:  # label: a plain band with a contrasting stripe and a block of "text"
        stripe = (np.abs(v - 0.5) < 0.12).astype(np.float64)
        text = ((np.abs(v - 0.3) < 0.04) & (np.abs(u - 0.5) < 0.2) & (np.floor(u * 40) % 3 != 0)).astype(np.float64)
        weight = np.maximum(stripe, text)
    weight = np.clip(weight, 0.0, 1.0)[..., None]
    rgb = (1.0 - weight) * np.asarray(tex.base) + weight * np.asarray(tex.accent)
    return Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mode="RGB")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` [H,W,3] uint8: no filter, stored deflate blocks, no metadata.
    Only checksums (CRC-32, Adler-32) come from zlib, and those are fixed by the format."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)  # filter type 0 on every row
    stream = bytearray(b"\x78\x01")  # zlib header: deflate, 32 KiB window, no dictionary
    for start in range(0, len(raw), 0xFFFF):
        block = raw[start : start + 0xFFFF]
        final = start + 0xFFFF >= len(raw)
        stream += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    stream += struct.pack(">I", zlib.adler32(raw))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", bytes(stream)) + _png_chunk(b"IEND", b"")


def save_texture(tex: Texture, path: str | Path | BinaryIO) -> None:
    """Write the texture as PNG bytes that depend on nothing but the spec."""
    data = png_bytes(np.asarray(texture_image(tex)))
    if isinstance(path, (str, Path)):
        Path(path).write_bytes(data)
    else:
        path.write(data)
