"""``clip2point inspect SHARDS gallery``: what the build writes, reuse on rebuild, selection flags,
node folders, unreadable shards. What a person sees in a browser: ``test_gallery_browser.py``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from gallery_fixtures import ABSENT, GOOD, SKIPPED, collection, split_into_nodes

from clip2point.cli import main
from clip2point.datasets.shards.merge import merge_shard_folders
from clip2point.errors import ConfigError
from clip2point.inspection.gallery import GallerySettings, build_gallery
from clip2point.inspection.gallery.images import assets_of
from clip2point.inspection.gallery.pages import card, failures_page
from clip2point.inspection.gallery.records import GalleryObject, slug
from clip2point.inspection.summary import open_target

__all__ = ["collection"]  # the session fixture, imported for pytest


def _build(shards: Path, out: Path, **settings: object):
    return build_gallery(open_target(shards), GallerySettings(out=out, **settings))


def _pictures(site: Path) -> dict[str, float]:
    return {str(p.relative_to(site)): p.stat().st_mtime_ns for p in (site / "thumbs").rglob("*") if p.is_file()}


def test_every_object_gets_a_page_and_pictures_are_reused(collection: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = _build(collection, site, thumb_view=1)
    index = json.loads((collection / "index.json").read_text())
    assert (first.objects, first.made, first.reused, first.picture_errors) == (11, 5, 0, 0)
    for record in index["objects"]:
        for path in assets_of(record["hash"], 1).all():
            assert (site / path).stat().st_size > 0, path
    assert len(list((site / "objects").rglob("*.html"))) == 11 and len(list((site / "classes").glob("*.html"))) == 3
    before = _pictures(site)
    assert len(before) == 15

    again = _build(collection, site, thumb_view=1)
    assert (again.made, again.reused) == (0, 5) and _pictures(site) == before  # nothing read or rewritten

    lost = site / assets_of(index["objects"][0]["hash"], 1).thumb
    lost.unlink()
    assert _build(collection, site, thumb_view=1).made == 1 and lost.is_file()
    assert _build(collection, site, thumb_view=2).made == 5  # another view on the thumbnails: new files


def test_selection_flags_choose_the_objects_shown(collection: Path, tmp_path: Path) -> None:
    report = _build(collection, tmp_path / "a", classes=("chair", "car"), per_class=2)
    assert report.objects == 4 and report.made == 1  # car: absent, beetle; chair: empty, garbage (by id)
    assert sorted(p.stem for p in (tmp_path / "a" / "classes").glob("*.html")) == ["car", "chair"]
    index = (tmp_path / "a" / "index.html").read_text()
    assert "This gallery shows 4 of the folder&#x27;s 11 objects (--classes chair car --per-class 2)" in index
    failures = (tmp_path / "a" / "failures.html").read_text()
    assert f">{ABSENT}</a>" in failures and f"<td class=\"id\">03001627-nofaces</td>" in failures  # listed, no page
    report = _build(collection, tmp_path / "b", statuses=("failed", "skipped"))
    assert (report.objects, report.made) == (6, 0)


@pytest.mark.parametrize("settings,message", [
    ({"classes": ("chair", "sofa")}, r"--classes: no objects of class 'sofa' in the shards; classes there: car, chair, table"),
    ({"thumb_view": 6}, r"--thumb-view 6: the shards have 6 views \(0 to 5\)"),
    ({"per_class": 0}, r"--per-class must be an integer >= 1; got 0 \(objects of each class\)"),
    ({"statuses": ("ok",)}, r"--status must be one of rendered, failed, skipped; got 'ok'"),
])
def test_bad_selection_is_one_clear_error(collection: Path, tmp_path: Path, settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _build(collection, tmp_path / "site", **settings)


def test_a_folder_that_is_not_a_gallery_is_never_written_into(collection: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--out .*shards is not empty and holds no gallery \(gallery.json\)"):
        _build(collection, collection)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty and holds no gallery"):
        _build(collection, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_file_names_of_ids_and_classes_are_safe_and_distinct() -> None:
    assert slug("02958343-beetle") == "02958343-beetle"
    odd = [slug(t) for t in ("a/b", "a_b", "A_b", "../x", "trash bin")]
    assert len(set(odd)) == 5 and all(re.fullmatch(r"[a-z0-9._-]+", s) for s in odd)


def test_text_from_the_shards_is_escaped() -> None:
    evil = GalleryObject('<img src=x onerror="alert(1)">', "<b>chair</b>", "failed", "0", "train",
                         reason="</td><script>alert(2)</script>")
    html = card(evil, {"<b>chair</b>": slug("<b>chair</b>")}, 0, "../") + failures_page([evil], {}, set(), [])
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>chair" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_merged_node_folders_give_the_same_gallery(collection: Path, tmp_path: Path) -> None:
    nodes = [tmp_path / "node0", tmp_path / "node1"]
    split_into_nodes(collection, nodes)
    merged = tmp_path / "merged"
    merge_shard_folders(merged, nodes)
    one, other = _build(collection, tmp_path / "one"), _build(merged, tmp_path / "other")
    assert (one.objects, one.made) == (other.objects, other.made) == (11, 5)
    pages = sorted(str(p.relative_to(tmp_path / "one")) for p in (tmp_path / "one").rglob("*.html"))
    assert pages == sorted(str(p.relative_to(tmp_path / "other")) for p in (tmp_path / "other").rglob("*.html"))
    assert _pictures(tmp_path / "one").keys() == _pictures(tmp_path / "other").keys()


def test_an_unreadable_shard_is_shown_not_fatal(collection: Path, tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    shutil.copytree(collection, shards)
    index = json.loads((shards / "index.json").read_text())
    damaged = sorted({o["shard_id"] for o in index["objects"]})[0]
    victims = [o["object_id"] for o in index["objects"] if o["shard_id"] == damaged]
    path = shards / f"shard-{damaged:05d}.h5"
    path.write_bytes(path.read_bytes()[:4000])
    report = _build(shards, tmp_path / "site")
    assert report.picture_errors == len(victims) and report.made == 5 - len(victims)
    page = next((tmp_path / "site" / "objects").glob(f"*/{victims[0]}.html")).read_text()
    assert "cannot open as HDF5, the file is truncated or corrupt" in page and "<canvas" not in page
    assert "Unreadable shards" in (tmp_path / "site" / "index.html").read_text()


def test_cli_builds_the_site(collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["inspect", str(collection), "gallery", "--out", str(tmp_path / "site"), "--workers", "2"])
    out = capsys.readouterr().out
    assert code == 0 and re.fullmatch(
        rf"wrote {re.escape(str(tmp_path / 'site' / 'index.html'))}: 11 objects, 16 pages, 5 thumbnails made, "
        r"0 reused, \d+\.\d s\n", out)
    marker = json.loads((tmp_path / "site" / "gallery.json").read_text())
    assert marker["format"] == "clip2point-gallery" and marker["thumb_view"] == 0  # views6 has no oblique view
    ids = json.loads(re.search(r"window.GALLERY_DATA = (.*);", (tmp_path / "site" / "data" / "objects.js").read_text()
                               ).group(1))["objects"]
    assert sorted(r[0] for r in ids) == sorted([*GOOD, ABSENT, SKIPPED, "03001627-empty", "03001627-garbage",
                                                "03001627-nanvertex", "03001627-nofaces"])


def test_one_shard_file_makes_a_gallery_too(collection: Path, tmp_path: Path) -> None:
    index = json.loads((collection / "index.json").read_text())
    shard = next(s for s in index["shards"] if s["file"])
    rows = sorted(o["object_id"] for o in index["objects"] if o["shard_id"] == shard["shard_id"])
    report = _build(collection / shard["file"], tmp_path / "site")
    assert (report.objects, report.made, report.picture_errors) == (len(rows), len(rows), 0)
    assert sorted(p.stem for p in (tmp_path / "site" / "objects").rglob("*.html")) == rows
