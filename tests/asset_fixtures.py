"""Untrusted-asset fixtures the safety and collection tests write: textured meshes, GLB/glTF
files whose images or buffers point elsewhere, and PNG headers that declare huge images."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

RED, GREEN = (220, 30, 30), (30, 200, 60)


def textured_box(colour: tuple[int, int, int] = RED, seed: int = 0) -> trimesh.Trimesh:
    """A box with UVs and a small solid-colour texture (its colour shows in any render)."""
    box = trimesh.creation.box(extents=(1.0, 0.8, 0.6))
    uv = np.random.default_rng(seed).random((len(box.vertices), 2))
    image = Image.fromarray(np.full((8, 8, 3), colour, np.uint8))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    return box


def write_png(path: Path, colour: tuple[int, int, int] = GREEN, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), colour, np.uint8)).save(path)
    return path


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` pixels but holds almost no data: only
    a loader that decodes before checking the header would spend memory on it."""
    small = path.with_suffix(".tmp.png")
    write_png(small, size=1)
    data = bytearray(small.read_bytes())
    small.unlink()
    ihdr = 8 + 4  # signature, then the IHDR chunk's length field
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    path.write_bytes(bytes(data))
    return path


def write_textured_obj(folder: Path, map_kd: str, *, mtllib: str = "model.mtl", name: str = "model") -> Path:
    """``folder/name.obj`` (a textured box) whose material library says ``map_Kd map_kd``."""
    folder.mkdir(parents=True, exist_ok=True)
    box = textured_box()
    lines = [f"mtllib {mtllib}"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in box.vertices]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in box.visual.uv]
    lines += ["usemtl skin"] + [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in box.faces]
    path = folder / f"{name}.obj"
    path.write_text("\n".join(lines) + "\n")
    if mtllib and not Path(mtllib).is_absolute() and ".." not in mtllib:
        (folder / mtllib).write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {map_kd}\n")
    return path


def write_glb(path: Path, mesh: trimesh.Trimesh) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(trimesh.Scene(mesh).export(file_type="glb"))
    return path


def _glb_chunks(data: bytes) -> tuple[dict, bytes]:
    length = struct.unpack_from("<I", data, 12)[0]
    tree = json.loads(data[20:20 + length])
    rest = data[20 + length:]
    return tree, rest


def _glb_bytes(tree: dict, rest: bytes) -> bytes:
    text = json.dumps(tree).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def write_glb_with_uri(path: Path, mesh: trimesh.Trimesh, *, image_uri: str | None = None,
                       buffer_uri: str | None = None) -> Path:
    """A GLB of ``mesh`` whose first image (or first buffer) is an external ``uri`` instead of
    embedded bytes: what an Objaverse upload can contain."""
    write_glb(path, mesh)
    tree, rest = _glb_chunks(path.read_bytes())
    if image_uri is not None:
        tree["images"][0] = {"uri": image_uri, "mimeType": "image/png"}
    if buffer_uri is not None:
        tree["buffers"][0]["uri"] = buffer_uri
    path.write_bytes(_glb_bytes(tree, rest))
    return path


def write_objaverse_layout(root: Path, meshes: dict[str, Path | None], lvis: dict[str, list[str]]) -> Path:
    """The folder ``objaverse.load_objects`` fills: ``object-paths.json`` (uid ->
    ``glbs/000-NNN/UID.glb``) and ``lvis-annotations.json`` (category -> uids). ``meshes`` maps a
    uid to a GLB written elsewhere, moved into place, or None for a listed but absent object."""
    paths = {}
    for number, (uid, source) in enumerate(sorted(meshes.items())):
        relative = f"glbs/000-{number % 3:03d}/{uid}.glb"
        paths[uid] = relative
        if source is not None:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            source.rename(root / relative)
    root.mkdir(parents=True, exist_ok=True)
    (root / "object-paths.json").write_text(json.dumps(paths))
    (root / "lvis-annotations.json").write_text(json.dumps(lvis))
    return root
