"""Prompt template sets (``clip2point zeroshot --templates NAME|FILE``): the sentences the class
names go into, separate from which names go in (``datasets.prompts``, ``--prompts``).

A set of several templates is a prompt ensemble: each class's text feature is the mean of its
L2-normalised features over the templates, renormalised (``eval.encoders.text_features``). The
shipped sets (``prompt_templates.json``) each name the file their exact text comes from; a user's
own set is a JSON list of strings (or ``{"templates": [...], "source": "..."}``) or a text file
with one template per line. Every template holds one ``{}`` where the class name goes.
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


@functools.cache
def shipped_template_sets() -> dict[str, TemplateSet]:
    with open(TEMPLATES_FILE, encoding="utf-8") as fh:
        sets = json.load(fh)["sets"]
    return {name: TemplateSet(name, tuple(entry["templates"]), entry["source"]) for name, entry in sets.items()}


def single_template(template: str) -> TemplateSet:
    """One ``--prompt`` template as a set: the shipped "reference" set when it is the reference's."""
    reference = shipped_template_sets()["reference"]
    return reference if (template,) == reference.templates else TemplateSet("custom", (template,), "--prompt")


def resolve_templates(value: str) -> TemplateSet:
    """``--templates``: a shipped set's name, or a JSON / text file of templates."""
    shipped = shipped_template_sets()
    if value in shipped:
        return shipped[value]
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"--templates {value!r} is neither a shipped set ({', '.join(shipped)}) nor a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--templates {path}: unreadable ({exc})") from None
    source = f"file {path}"
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--templates {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(data, dict):
            source = str(data.get("source", source))
            data = data.get("templates")
        templates = data
    else:
        templates = [line.strip() for line in text.splitlines() if line.strip()]
    return TemplateSet(str(path), _checked(path, templates), source)


def _checked(path: Path, templates: Any) -> tuple[str, ...]:
    """A non-empty list of strings, each with exactly one ``{}`` and no other field."""
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
        raise ConfigError(f"--templates {path}: expected a non-empty list of template strings, "
                          'e.g. ["a point cloud model of {}.", "a 3D model of {}."]')
    bad = [t for t in templates if t.replace("{{", "").replace("}}", "").count("{") != 1 or "{}" not in t]
    if bad:
        raise ConfigError(f"--templates {path}: template {bad[0]!r} must hold exactly one '{{}}' (the class name)")
    return tuple(templates)
