"""``clip2point inspect SHARDS gallery``: a static, offline website of every object in a shard folder.

The site opens from the file system (no server, no network): an index with counts per class and
status, a page per class with thumbnails, a page per object with all its views and its points,
and a failures page. Modules: :mod:`.records` (what the gallery says about each object, from the
shard index), :mod:`.images` (thumbnails, view sheets and point previews, content-addressed so a
rebuild reuses them), :mod:`.pages` and :mod:`.object_page` (HTML), :mod:`.build` (the command).
The CSS, JavaScript and page layout are package data in ``static/``.
"""

from clip2point.inspection.gallery.build import GallerySettings, build_gallery

__all__ = ["GallerySettings", "build_gallery"]
