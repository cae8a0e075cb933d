"""The gallery as a person sees it: headless Chromium (the Debian package, driven by Playwright)
opens the generated pages from ``file://`` and the tests read what is on screen — counts,
thumbnails, views, what a filter hides, the failures with their reasons — with no console error,
failed load or script error on any page. Screenshots of the index and an object page are written
to the test's folder (and to ``$CLIP2POINT_GALLERY_SHOTS`` when set, to look at).

Without Chromium or Playwright the tests skip with the reason, except under CI (``CI=true``),
where they fail: CI installs both (``bash quickstart.sh test``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from gallery_fixtures import TEXTURES, collection

from clip2point.cli import main
from clip2point.inspection.gallery import GallerySettings, build_gallery
from clip2point.inspection.gallery.object_page import flagged_views
from clip2point.inspection.gallery.records import gallery_objects, slug
from clip2point.inspection.summary import open_target
from clip2point.inspection.verify import VerifySettings, verify_index

__all__ = ["collection"]  # the session fixture, imported for pytest


def _chromium() -> str | None:
    return os.environ.get("CLIP2POINT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    path = _chromium()
    missing = ("the Playwright client (pip install -e '.[dev]')" if sync_playwright is None
               else "Chromium (Debian package `chromium`)" if path is None else None)
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing} is not installed; CI must run the browser tests (bash quickstart.sh test installs it)")
        pytest.skip(f"{missing} is not installed (bash quickstart.sh test installs it)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(collection: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gallery-site") / "site"
    build_gallery(open_target(collection), GallerySettings(out=out, verify=True))
    return out


class Visit:
    """One browser tab that records every console error, script error and failed load."""

    def __init__(self, browser: Any, site: Path) -> None:
        self.site = site
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed to load {r.url}"))

    def open(self, relative: str) -> Any:
        self.page.goto((self.site / relative).as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def shot(self, folder: Path, name: str) -> Path:
        path = folder / name
        self.page.screenshot(path=str(path), full_page=True)
        extra = os.environ.get("CLIP2POINT_GALLERY_SHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, Path(extra) / name)
        return path


@pytest.fixture
def visit(browser: Any, site: Path) -> Iterator[Visit]:
    tab = Visit(browser, site)
    yield tab
    tab.page.close()
    assert tab.errors == [], "the pages logged errors"


def _index(collection: Path) -> dict[str, Any]:
    return json.loads((collection / "index.json").read_text())


def _visible(page: Any, selector: str) -> int:
    return page.locator(f"{selector}:visible").count()


def test_index_counts_equal_summary_json(visit: Visit, collection: Path, capsys: pytest.CaptureFixture,
                                         tmp_path: Path) -> None:
    assert main(["inspect", str(collection), "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    page = visit.open("index.html")
    stats = {el.get_attribute("data-stat"): int(el.locator("b").inner_text()) for el in page.locator(".stat").all()}
    assert (stats["rendered"], stats["failed"], stats["skipped"]) == (summary["objects"], summary["failed"], summary["skipped"])
    assert (stats["classes"], stats["shards"]) == (len(summary["classes"]), summary["shards"])
    statuses = {s["status"] for s in TEXTURES.values()}
    assert {k: v for k, v in stats.items() if k.startswith("texture:")} == {
        f"texture:{s}": sum(t["status"] == s for t in TEXTURES.values()) for s in statuses}
    rows = {row.get_attribute("data-class"): {c.get_attribute("data-count"): int(c.inner_text())
                                               for c in row.locator("td[data-count]").all()}
            for row in page.locator("#classes tbody tr").all()}
    assert {name: r["rendered"] for name, r in rows.items()} == summary["classes"]
    assert sum(r["failed"] for r in rows.values()) == summary["failed"]
    assert sum(r["skipped"] for r in rows.values()) == summary["skipped"]
    assert page.locator("#count").inner_text() == "11 of 11 objects match"
    assert visit.shot(tmp_path, "gallery-index.png").stat().st_size > 0


def test_class_page_shows_a_thumbnail_per_object(visit: Visit, collection: Path) -> None:
    objects = gallery_objects(_index(collection))
    for name in sorted({o.class_name for o in objects}):
        mine = [o for o in objects if o.class_name == name]
        page = visit.open(f"classes/{slug(name)}.html")
        assert page.locator("h1").inner_text() == name
        assert page.locator("#cards .card").count() == len(mine)
        assert page.locator("#cards img.thumb").count() == sum(o.status == "rendered" for o in mine)
        for thumb in page.locator("#cards img.thumb").all():
            thumb.scroll_into_view_if_needed()  # lazily loaded: loads once on screen
        page.wait_for_function("[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth == 256)")
        reasons = page.locator("#cards .noimg").all_inner_texts()
        assert sorted(reasons) == sorted(f"{o.status}: {o.reason}" for o in mine if o.status != "rendered")


def test_clicking_an_object_opens_its_page_with_all_views(visit: Visit, collection: Path, tmp_path: Path) -> None:
    record = next(o for o in _index(collection)["objects"] if o["object_id"] == "02958343-spot")
    page = visit.open("classes/car.html")
    page.locator('#cards .card[data-id="02958343-spot"]').click()
    page.wait_for_url("**/objects/car/02958343-spot.html")
    assert page.locator("h1").inner_text() == "02958343-spot"
    assert page.locator("figure.view").count() == 6 and page.locator("figure.view img.rgb").count() == 6
    assert page.locator("figure.view img.depth").count() == 6
    page.wait_for_function("[...document.querySelectorAll('figure.view img')].every(i => i.complete && i.naturalWidth > 0)")
    record_text = page.locator("#record").inner_text()
    assert record["hash"] in record_text and "refused_outside: ../../../../outside.png" in record_text
    assert page.locator("#points").get_attribute("data-drawn") == "2048"
    drawn = "(() => { const c = document.getElementById('points'); return c.toDataURL(); })()"
    dark = ("(() => { const c = document.getElementById('points'); const d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4)"
            " { if (d[i] < 200) n++; } return n; })()")
    first = page.evaluate(drawn)
    assert page.evaluate(dark) > 500  # the points are drawn
    page.wait_for_timeout(300)
    assert page.evaluate(drawn) != first  # and turning
    visit.shot(tmp_path, "gallery-object.png")
    page.locator('a[rel="prev"]').click()
    page.wait_for_url("**/objects/car/02958343-beetle.html")


def test_filters_hide_and_recount(visit: Visit, collection: Path) -> None:
    page = visit.open("classes/chair.html")
    assert page.locator("#count").inner_text() == "6 of 6 objects shown"
    page.select_option('select[name="status"]', "failed")
    assert _visible(page, "#cards .card") == 4 and page.locator("#count").inner_text() == "4 of 6 objects shown"
    page.fill('input[name="q"]', "nofaces")
    assert page.locator("#cards .card:visible .id").all_inner_texts() == ["03001627-nofaces"]
    page.select_option('select[name="status"]', "")
    page.fill('input[name="q"]', "")
    assert _visible(page, "#cards .card") == 6

    page = visit.open("index.html")
    page.select_option('select[name="status"]', "failed")
    assert page.locator("#count").inner_text() == "5 of 11 objects match"
    rows = {r.get_attribute("data-class"): r for r in page.locator("#classes tbody tr").all()}
    assert rows["chair"].locator('td[data-count="failed"]').inner_text() == "4"
    assert rows["chair"].locator('td[data-count="rendered"]').inner_text() == "0"
    assert rows["car"].locator('td[data-count="total"]').inner_text() == "1"
    assert not rows["table"].is_visible()  # no failed table
    failed = sorted(f["object_id"] for f in _index(collection)["failures"])
    assert sorted(page.locator("#matches li a").all_inner_texts()) == failed
    page.select_option('select[name="status"]', "")
    page.select_option('select[name="texture"]', "refused_outside")
    assert page.locator("#matches li a").all_inner_texts() == ["02958343-spot"]
    page.select_option('select[name="texture"]', "")
    flagged = verify_index(collection, _index(collection), VerifySettings())["bad_objects"]
    page.select_option('select[name="verify"]', "flagged")
    assert sorted(page.locator("#matches li a").all_inner_texts()) == sorted(flagged)
    page.select_option('select[name="verify"]', "")
    page.select_option('select[name="class"]', "car")
    page.fill('input[name="q"]', "be")
    assert page.locator("#matches li a").all_inner_texts() == ["02958343-beetle"]
    page.locator("#matches li a").click()
    page.wait_for_url("**/objects/car/02958343-beetle.html")


def test_the_views_verify_flagged_are_marked(visit: Visit, collection: Path) -> None:
    report = verify_index(collection, _index(collection), VerifySettings())
    # The alligator mesh is flat (every z is 0): seen edge-on its views are blank, which verify reports.
    assert "04379243-alligator" in report["bad_objects"]
    for object_id in report["bad_objects"]:
        found = [p["message"] for p in report["problems"] if p["object_id"] == object_id]
        page = visit.open("index.html")
        page.fill('input[name="q"]', object_id)
        page.locator("#matches li a").click()
        page.wait_for_load_state("load")
        marked = {int(v) for v in page.locator("figure.view.flagged").evaluate_all("els => els.map(e => e.dataset.view)")}
        assert marked == flagged_views(found) and marked
        assert all(f in page.locator("#record").inner_text() for f in found)


def test_failures_page_lists_every_failure_with_its_reason(visit: Visit, collection: Path) -> None:
    index = _index(collection)
    page = visit.open("failures.html")

    def table(anchor: str) -> dict[str, str]:
        rows = page.locator(f"h2#{anchor} + table tbody tr").all()
        return {r.locator("td.id").inner_text(): r.locator("td.reason").inner_text() for r in rows}

    assert table("failed") == {f["object_id"]: f["reason"] for f in index["failures"]}
    assert table("skipped") == {s["object_id"]: s["reason"] for s in index["skipped"]}
    lost = {k for k, t in TEXTURES.items() if t["status"] not in ("textured", "untextured_by_source")}
    assert set(table("textures")) == lost
    page.locator("h2#failed + table a", has_text="03001627-garbage").click()
    page.wait_for_url("**/objects/chair/03001627-garbage.html")
    assert "not a text OBJ file" in page.locator("#record").inner_text()
