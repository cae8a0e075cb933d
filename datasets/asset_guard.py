"""Reading a mesh's external assets (material libraries, textures, glTF buffers and images) as
untrusted input: only from inside the object's own folder, only within a byte and pixel budget,
and with every refusal or loss written down so it can become the object's texture status.

Why: a mesh file names its assets itself. trimesh's own resolver, as the loader used it, read
``map_Kd /abs/file.png`` or ``../../../../file.png`` and put that file's pixels into the shards,
a dataset a user may publish. ``ConfinedResolver`` is the only resolver the loader gives trimesh:
names that are absolute, carry a URI scheme (``file:``, ``http:``...) or resolve (symlinks
followed) outside ``root`` are refused, never opened. A refused, missing, oversized or
undecodable asset does not fail the object: it renders untextured and the ``AssetLedger``
records which file and why, in the shards' ``TEXTURE_STATUSES`` vocabulary.
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import trimesh
from PIL import Image

from clip2point.datasets.shards.file_format import LOST_TEXTURE_STATUSES

# When one object has several problems, the status names the most serious (a refusal is a
# possible attack, a budget a possible bomb); the detail lists them all.
_SEVERITY = ("refused_outside", "over_budget", "undecodable", "missing")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: ``C:`` is a drive
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".tif", ".tiff", ".webp")
_NOT_IMAGES = (".mtl", ".bin", ".gltf", ".glb")


@dataclass(frozen=True)
class AssetBudget:
    """Bounds on what one object may make the loader read and decode. Defaults: 8192² texture
    pixels (268 MB decoded as RGBA, under PIL's own 89 M-pixel bomb warning) and 512 MiB per file
    (Objaverse's largest GLBs are a few hundred MB)."""

    max_texture_pixels: int = 8192 * 8192
    max_file_bytes: int = 512 * 1024 * 1024


DEFAULT_BUDGET = AssetBudget()


class AssetRefused(PermissionError):
    """An asset the resolver would not read; an ``OSError``, which trimesh treats as missing."""


@dataclass
class AssetLedger:
    """What happened to one object's assets while it loaded: (status, detail naming the file)."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    served: list[str] = field(default_factory=list)  # asset names read, as the mesh file wrote them

    def record(self, status: str, detail: str) -> None:
        if status not in LOST_TEXTURE_STATUSES:
            raise ValueError(f"not a lost-texture status: {status!r}")
        if (status, detail) not in self.problems:
            self.problems.append((status, detail))

    def verdict(self, has_texture: bool) -> tuple[str, str]:
        """(texture_status, texture_detail) of the object; ``has_texture``: any part kept one."""
        if self.problems:
            status = next(s for s in _SEVERITY if any(p[0] == s for p in self.problems))
            return status, "; ".join(f"{s}: {d}" for s, d in self.problems)
        return ("textured", "") if has_texture else ("untextured_by_source", "")


def is_remote_or_absolute(name: str) -> bool:
    """A URI with a scheme (``file:``, ``http:``...), or an absolute or home-relative path."""
    name = name.strip()
    return bool(_SCHEME.match(name)) or name.startswith(("/", "\\", "~")) or bool(re.match(r"^[A-Za-z]:", name))


class ConfinedResolver(trimesh.resolvers.Resolver):
    """Serves trimesh the assets of one mesh file: names relative to the file's folder, only
    when their real path lies inside ``root`` (a folder; a file as ``root`` allows nothing but
    itself: a self-contained GLB) and within ``budget``; every refusal is recorded
    in ``ledger`` and raised as ``AssetRefused`` (never a fallback to another candidate file,
    unlike trimesh's ``FilePathResolver``, which also tries the bare file name)."""

    def __init__(self, source: Path, root: Path, budget: AssetBudget, ledger: AssetLedger) -> None:
        self.parent = Path(source).parent
        self.root = Path(root).resolve()
        self.budget = budget
        self.ledger = ledger
        self.file_name = Path(source).name  # trimesh names the OBJ's geometry after it

    def get(self, name: str) -> bytes:
        path = self._inside(name)
        size = path.stat().st_size
        if size > self.budget.max_file_bytes:
            return self._refuse("over_budget", f"{name} is {size} bytes, more than the "
                                f"{self.budget.max_file_bytes}-byte budget (--max-file-bytes)")
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix in _IMAGE_SUFFIXES or suffix not in _NOT_IMAGES and _looks_like_image(data):
            self._check_image(name, data)
        self.ledger.served.append(name.strip())
        return data

    def _inside(self, name: str) -> Path:
        name = name.strip()
        if not name or is_remote_or_absolute(name):
            return self._refuse("refused_outside", f"{name or '(empty name)'} is absolute or a URI; only files "
                                "inside the object's folder are read")
        path = (self.parent / name).resolve()
        if not path.is_relative_to(self.root):
            return self._refuse("refused_outside", f"{name} resolves to {path}, outside the object's assets ({self.root})")
        if not path.is_file():
            return self._refuse("missing", f"{name} not found")
        return path

    def _check_image(self, name: str, data: bytes) -> None:
        """Header only (PIL reads pixels lazily): refuse before anything is decoded."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    width, height = image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            self._refuse("over_budget", f"{name}: {exc}")
        except (OSError, ValueError, SyntaxError) as exc:
            self._refuse("undecodable", f"{name}: {exc}")
        if width * height > self.budget.max_texture_pixels:
            self._refuse("over_budget", f"{name} is {width}x{height} pixels, more than the "
                         f"{self.budget.max_texture_pixels}-pixel budget (--max-texture-pixels)")

    def _refuse(self, status: str, detail: str) -> Path:
        self.ledger.record(status, detail)
        raise AssetRefused(detail)

    def keys(self) -> list[str]:
        return []  # trimesh lists keys only for archives; listing the folder would reveal nothing useful

    def namespaced(self, namespace: str) -> "ConfinedResolver":
        return ConfinedResolver(self.parent / namespace / "_", self.root, self.budget, self.ledger)

    def write(self, name: str, data: bytes | str) -> None:
        raise AssetRefused(f"the loader never writes assets (asked to write {name})")


def _looks_like_image(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"


@contextmanager
def pil_limits_off() -> Iterator[None]:
    """PIL's own bomb guard off while trimesh opens images (it would drop an oversized texture
    silently, inside trimesh's ``except BaseException``): images open lazily, header only, and
    ``check_texture`` applies this job's budget before any pixel is decoded."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def check_texture(image: Image.Image, what: str, budget: AssetBudget, ledger: AssetLedger) -> bool:
    """Decode ``image`` if its header fits the pixel budget; False (recorded) when it must be dropped."""
    width, height = image.size
    if width * height > budget.max_texture_pixels:
        ledger.record("over_budget", f"{what} is {width}x{height} pixels, more than the "
                      f"{budget.max_texture_pixels}-pixel budget (--max-texture-pixels)")
        return False
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        ledger.record("undecodable", f"{what} cannot be decoded ({exc})")
        return False
    return True


def gltf_image_count(path: Path, budget: AssetBudget) -> int:
    """How many images a .glb/.gltf declares (its JSON header; 0 for other files or a header
    that cannot be read): an embedded image whose header PIL cannot read is dropped by trimesh
    without a trace, and this count is how the loader notices."""
    try:
        with path.open("rb") as f:
            if path.suffix.lower() == ".gltf":
                tree = json.loads(f.read(budget.max_file_bytes))
            else:
                magic, _, _, length, kind = struct.unpack("<4sIIII", f.read(20))
                if magic != b"glTF" or kind != 0x4E4F534A or length > budget.max_file_bytes:
                    return 0
                tree = json.loads(f.read(length))
    except (OSError, ValueError, struct.error):
        return 0
    images = tree.get("images") if isinstance(tree, dict) else None
    return len(images) if isinstance(images, list) else 0
