"""Prompt template sets (``clip2point zeroshot --templates NAME|FILE``): the sentences the class
names go into, separate from which names go in (``datasets.prompts``, ``--prompts``).

A set of several templates is a prompt ensemble: each class's text feature is the mean of its
L2-normalised features over the templates, renormalised (``eval.encoders.text_features``). The
shipped sets (``prompt_templates.json``) each name the file their exact text comes from; a user's
own set is a JSON list of strings (or ``{"templates": [...], "source": "..."}``) or a text file
with one template per line. Every template holds one ``{}`` where the class name goes.

A JSON file of several named lists (ULIP's ``data/templates.json``: ``{"modelnet40_64": [...],
...}``) is read one list at a time, ``FILE:KEY``; that is how ULIP's 64 ModelNet templates are used,
as ULIP ships them, since their text could not be checked here to ship a copy. CLIP's own ImageNet
ensembles (80 and 7 templates) are read from the installed open_clip
(``open_clip.zero_shot_metadata``) rather than copied, so their text is exactly the library's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clip2point.errors import ConfigError

TEMPLATES_FILE = Path(__file__).resolve().parent / "prompt_templates.json"


@dataclass(frozen=True)
class TemplateSet:
    """``name``: a shipped set's name, the file it was read from, or "custom" (one ``--prompt``)."""

    name: str
    templates: tuple[str, ...]
    source: str

    def record(self) -> dict[str, Any]:
        """What a result JSON stores: the set, its source and every template used."""
        return {"name": self.name, "source": self.source, "templates": list(self.templates)}


# Sets whose text lives in the installed open_clip: name -> attribute of open_clip.zero_shot_metadata.
LIBRARY_SETS = {"clip-imagenet-80": "OPENAI_IMAGENET_TEMPLATES", "clip-imagenet-7": "SIMPLE_IMAGENET_TEMPLATES"}


@functools.cache
def _file_sets() -> dict[str, TemplateSet]:
    with open(TEMPLATES_FILE, encoding="utf-8") as fh:
        sets = json.load(fh)["sets"]
    return {name: TemplateSet(name, tuple(entry["templates"]), entry["source"]) for name, entry in sets.items()}


def shipped_set_names() -> list[str]:
    """Every shipped name (no library import: the CLI's help lists them)."""
    return [*_file_sets(), *LIBRARY_SETS]


def shipped_template_sets() -> dict[str, TemplateSet]:
    """Every shipped set, the open_clip ones read from the installed library."""
    return {**_file_sets(), **{name: _library_set(name) for name in LIBRARY_SETS}}


@functools.cache
def _library_set(name: str) -> TemplateSet:
    """CLIP's ImageNet prompt ensemble as open_clip holds it (functions of the class name, called
    with ``{}`` to give the template); the source names the open_clip version it came from."""
    import open_clip  # noqa: PLC0415 - only when the set is asked for (importing it loads torch)
    from open_clip import zero_shot_metadata  # noqa: PLC0415

    attribute = LIBRARY_SETS[name]
    templates = tuple(make("{}") for make in getattr(zero_shot_metadata, attribute))
    source = (f"open_clip {open_clip.__version__} open_clip/zero_shot_metadata.py {attribute}: CLIP's ImageNet "
              "prompt ensemble (Radford et al. 2021, the CLIP repository's Prompt_Engineering_for_ImageNet notebook)")
    return TemplateSet(name, _checked(Path(name), list(templates)), source)


def single_template(template: str) -> TemplateSet:
    """One ``--prompt`` template as a set: the shipped "reference" set when it is the reference's."""
    reference = _file_sets()["reference"]
    return reference if (template,) == reference.templates else TemplateSet("custom", (template,), "--prompt")


def scored_templates(prompt: str, templates: TemplateSet | None) -> TemplateSet:
    """What an evaluation scores with: its ensemble (``--templates``), else its one ``--prompt``
    as a set of one. Zero-shot, few-shot and the result's fidelity record all ask here."""
    return templates or single_template(prompt)


def resolve_templates(value: str) -> TemplateSet:
    """``--templates``: a shipped set's name, a JSON / text file of templates, or ``FILE.json:KEY``
    (one named list of a file holding several, as ULIP's ``data/templates.json``)."""
    if value in _file_sets():
        return _file_sets()[value]
    if value in LIBRARY_SETS:
        return _library_set(value)
    path, key = _path_and_key(value)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--templates {path}: unreadable ({exc})") from None
    if path.suffix.lower() != ".json":
        return TemplateSet(str(path), _checked(path, [line.strip() for line in text.splitlines() if line.strip()]),
                           f"file {path}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--templates {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    source, templates = _json_templates(path, data, key)
    return TemplateSet(str(path) if key is None else f"{path}:{key}", _checked(path, templates), source)


def _path_and_key(value: str) -> tuple[Path, str | None]:
    """``value`` as a file, or as ``FILE.json:KEY`` when only the part before the last ``:`` is a file."""
    if Path(value).is_file():
        return Path(value), None
    head, sep, key = value.rpartition(":")
    if sep and key and Path(head).is_file() and head.lower().endswith(".json"):
        return Path(head), key
    raise ConfigError(f"--templates {value!r} is neither a shipped set ({', '.join(shipped_set_names())}) nor a file "
                      "(FILE, or FILE.json:KEY for one list of a file of named lists)")


def _json_templates(path: Path, data: Any, key: str | None) -> tuple[str, Any]:
    """(source, templates) of a JSON template file: a list, ``{"templates": [...], "source": ...}``,
    or with ``key`` one list of ``{"NAME": [...], ...}``."""
    source = f"file {path}"
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            names = ", ".join(sorted(data)) if isinstance(data, dict) else "none: it holds one list"
            raise ConfigError(f"--templates {path}:{key}: the file has no list named {key!r} (its names: {names})")
        return f"{source}, list {key!r}", data[key]
    if isinstance(data, dict) and "templates" not in data:
        lists = sorted(name for name, entry in data.items() if isinstance(entry, list))
        if lists:
            raise ConfigError(f"--templates {path} holds several named lists ({', '.join(lists)}); "
                              f"choose one with --templates {path}:NAME")
    if isinstance(data, dict):
        return str(data.get("source", source)), data.get("templates")
    return source, data


def _checked(path: Path, templates: Any) -> tuple[str, ...]:
    """A non-empty list of strings, each with exactly one ``{}`` and no other field."""
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
        raise ConfigError(f"--templates {path}: expected a non-empty list of template strings, "
                          'e.g. ["a point cloud model of {}.", "a 3D model of {}."]')
    bad = [t for t in templates if t.replace("{{", "").replace("}}", "").count("{") != 1 or "{}" not in t]
    if bad:
        raise ConfigError(f"--templates {path}: template {bad[0]!r} must hold exactly one '{{}}' (the class name)")
    return tuple(templates)
