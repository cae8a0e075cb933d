"""A small collection with every kind of object the gallery must show, rendered by the real job:
five meshes of ``../shared/data/meshes`` in ShapeNet layout (three classes), four broken meshes,
a listed-but-absent model and an id on the paper's skip list. Texture statuses, which the shards
do not record yet (the collections issue adds them to each object's record), are written into
the markers' object records the way that field will arrive, so the gallery's handling of them is
tested now."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
from job_helpers import BROKEN_MESHES, small_config, write_mesh, write_split

from clip2point.datasets.shards import build_index
from clip2point.render.job.run import run_render_job

GOOD = {"02958343-beetle": "classic/beetle.obj", "02958343-spot": "classic/spot.obj",
        "03001627-suzanne": "classic/suzanne.obj", "04379243-teapot": "classic/teapot_pytorch3d.obj",
        "04379243-alligator": "classic/alligator.obj"}
SKIPPED = "03001627-u45c7b89f-d996-4c29-aecf-4b760d1fb2b6"
ABSENT = "02958343-absent"
TEXTURES = {"02958343-beetle": {"status": "textured", "detail": ""},
            "02958343-spot": {"status": "refused_outside", "detail": "../../../../outside.png: outside the object's folder"},
            "03001627-suzanne": {"status": "untextured_by_source", "detail": ""},
            "04379243-teapot": {"status": "over_budget", "detail": "big.png: 30000x30000 pixels"},
            "04379243-alligator": {"status": "textured", "detail": ""}}


def write_collection(shared_data: Path, root: Path) -> Path:
    """The ShapeNet-layout tree with its train/test lists."""
    for object_id, mesh in GOOD.items():
        write_mesh(root, object_id, (shared_data / "meshes" / mesh).read_bytes())
    for object_id, text in BROKEN_MESHES.items():
        write_mesh(root, object_id, text)
    ids = sorted(GOOD)
    write_split(root, train=[*ids[:4], *BROKEN_MESHES, ABSENT], test=[ids[4], SKIPPED])
    return root


def render_collection(shared_data: Path, folder: Path) -> Path:
    """Render the collection (6 views of 64², 3 objects per shard) into ``folder``."""
    tree = write_collection(shared_data, folder.parent / f"{folder.name}-meshes")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LP_NUM_THREADS", "1")
        run_render_job(small_config(folder, shapenet_root=tree), progress=False)
    return folder


def add_texture_statuses(folder: Path, textures: Mapping[str, Mapping[str, Any]] = TEXTURES) -> None:
    """Set the markers' object records' ``texture_status``/``texture_detail`` (as the shard writer
    records them) to ``textures`` — statuses the shared meshes cannot all produce — and rebuild the index."""
    for marker in sorted(folder.glob("shard-*.json")):
        data = json.loads(marker.read_text())
        for record in data["objects"]:
            if record["object_id"] in textures:
                record["texture_status"] = textures[record["object_id"]]["status"]
                record["texture_detail"] = textures[record["object_id"]]["detail"]
        marker.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    build_index(folder)


def split_into_nodes(folder: Path, nodes: list[Path]) -> None:
    """Copy a folder's shards to node folders as ``--num-nodes len(nodes)`` runs would have left
    them (shard k on node k % N), each with the job's configuration and skip list."""
    for rank, node in enumerate(nodes):
        node.mkdir(parents=True)
        for name in ("config.json", "skipped.json"):
            if (folder / name).is_file():
                shutil.copy2(folder / name, node / name)
        for marker in sorted(folder.glob("shard-*.json")):
            shard_id = int(marker.stem.split("-")[1])
            if shard_id % len(nodes) == rank:
                shutil.copy2(marker, node / marker.name)
                if marker.with_suffix(".h5").is_file():
                    shutil.copy2(marker.with_suffix(".h5"), node / marker.with_suffix(".h5").name)


@pytest.fixture(scope="session")
def collection(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The rendered collection with texture statuses (render once per test session)."""
    folder = render_collection(shared_data, tmp_path_factory.mktemp("gallery") / "shards")
    add_texture_statuses(folder)
    yield folder
