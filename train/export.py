"""``clip2point export CKPT --out DIR``: the pre-trained depth tower as an open_clip model folder.

Other tools load CLIP models through open_clip, not through clip2point. The folder holds the
whole CLIP model (text tower, logit scale) with its visual tower replaced by the checkpoint's
depth tower, laid out as a Hugging Face hub repository: ``open_clip_config.json`` (``model_cfg`` +
``preprocess_cfg``, plus a ``clip2point`` record of what the tower expects),
``open_clip_model.safetensors`` and a ``README.md`` model card. So
``open_clip.create_model_and_transforms('local-dir:DIR')`` builds it with nothing of clip2point
imported, and the folder can be pushed to the hub as it is. Zero-shot logits from it equal
``zeroshot --ckpt``'s when it is given the same depth pictures (SPEC §6: Σ_v cos(f_v, t_c)).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import torch

from clip2point.atomic_io import atomic_path
from clip2point.errors import PathError

log = logging.getLogger(__name__)

CONFIG_NAME = "open_clip_config.json"  # open_clip's HF_CONFIG_NAME
WEIGHTS_NAME = "open_clip_model.safetensors"  # the first name open_clip's local-dir loader looks for
CARD_NAME = "README.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ckpt", type=Path, help="pre-training checkpoint (RUN/checkpoints/best.pt)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created; must be empty or absent)")
    parser.add_argument("--force", action="store_true", help="replace the files of an earlier export in --out")


def run(args: argparse.Namespace) -> int:
    out = export_open_clip(args.ckpt, args.out, force=args.force)
    print(f"wrote {out}: load it with open_clip.create_model_and_transforms('local-dir:{out}')")
    return 0


def check_out_folder(out: Path, *, force: bool) -> None:
    """Refuse a file, or a folder holding anything, before the checkpoint is read: an export
    must never mix with other files (the hub would publish them); ``force`` allows replacing
    an earlier export's own files."""
    if out.exists() and not out.is_dir():
        raise PathError(out, "is a file; --out takes the folder to write the open_clip model into")
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if not (force and p.name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME)))
        if others:
            hint = "" if force else "; pass --force to replace an earlier export"
            raise PathError(out, f"is not empty ({', '.join(others[:5])}){hint}")


def exported_model(ckpt_path: Path) -> tuple[torch.nn.Module, Any]:
    """The CLIP model of the checkpoint's base weights with the depth tower as its visual
    tower, and its tokenizer."""
    from clip2point.train.models import load_depth_encoder  # noqa: PLC0415

    depth, bundle = load_depth_encoder(ckpt_path)  # validates the base weights and the tower's keys
    model = bundle.model.cpu().eval()
    model.visual.load_state_dict(depth.state_dict())
    return model, bundle.tokenizer


def input_description(config: dict[str, Any]) -> dict[str, Any]:
    """What the depth tower takes, recorded in the config and the card: the depth preset it was
    trained on, the camera sets that preset draws zero-shot views from, CLIP's mean/std."""
    from clip2point.render.cameras import get_view_preset, view_counts  # noqa: PLC0415
    from clip2point.render.depth import CLIP_MEAN, CLIP_STD, get_depth_preset  # noqa: PLC0415

    preset = get_depth_preset(config.get("depth_preset", "clip2point"))
    cameras = {}
    for n in view_counts(preset.name):
        views = get_view_preset(n, preset.name)
        cameras[str(n)] = {"elev": list(views.elev), "azim": list(views.azim), "dist": views.dist,
                           "roll": list(views.roll), "mirror": list(views.mirror)}
    return {"depth_preset": preset.name, "preset_description": preset.description, "raster": preset.native_size,
            "clip_normalize": preset.clip_normalize, "mean": list(CLIP_MEAN), "std": list(CLIP_STD),
            "channels": "the single-channel depth picture repeated to 3 channels", "cameras": cameras,
            "zero_shot_logits": "sum over views of cos(view feature, prompt feature); prompt 'image of a {}'"}


def open_clip_config(model_name: str, pretrained: str | None, model: torch.nn.Module,
                     extra: dict[str, Any]) -> dict[str, Any]:
    """``open_clip_config.json`` as open_clip's ``save_config_for_hf`` writes it (``model_cfg``
    complete, so the packaged tiny configs need no registration), plus our ``clip2point`` key."""
    from clip2point.train.models import open_clip_model_config  # noqa: PLC0415

    visual = model.visual
    preprocess = {"mean": list(getattr(visual, "image_mean", None) or extra["input"]["mean"]),
                  "std": list(getattr(visual, "image_std", None) or extra["input"]["std"])}
    return {"model_cfg": open_clip_model_config(model_name, pretrained), "preprocess_cfg": preprocess,
            "clip2point": extra}


def model_card(config: dict[str, Any]) -> str:
    """The hub's README: front matter for the hub, then what the model is and what it expects."""
    info = config["clip2point"]
    inp = info["input"]
    views = ", ".join(f"{n} views (elev {c['elev']}, azim {c['azim']})" for n, c in inp["cameras"].items())
    norm = (f"normalised with CLIP's mean {inp['mean']} and std {inp['std']}" if inp["clip_normalize"]
            else "in [0, 1], NOT mean/std-normalised (this preset feeds the picture as it is)")
    return f"""---
library_name: open_clip
tags:
- clip
- clip2point
- point-cloud
- depth
- zero-shot-classification
---

# CLIP2Point depth tower ({info['model']})

A CLIP model whose visual tower was pre-trained by clip2point's image-depth contrastive
pre-training (CLIP2Point) to encode **depth maps of point clouds**; the text tower and the
logit scale are those of the base weights (`{info['base_pretrained']}`). Exported from
`{info['checkpoint']}` (step {info['step']}, base weights sha256 `{info['base_weights'][:16]}…`).

## Load it

```python
import open_clip
model, _, _ = open_clip.create_model_and_transforms("local-dir:PATH/TO/THIS/FOLDER")
tokenizer = open_clip.get_tokenizer("local-dir:PATH/TO/THIS/FOLDER")
```

## What the visual tower expects

Not photographs: depth pictures made by clip2point's projector (`clip2point project`, or
`clip2point.train.encoding.depth_views_to_clip_input`), which the image transforms open_clip
returns do **not** make.

- depth preset `{inp['depth_preset']}`: {inp['preset_description']} (raster {inp['raster']}²,
  resized to the tower's input size);
- {inp['channels']}, {norm};
- point clouds centred and scaled into the unit sphere, y up (ModelNet meshes rotated as SPEC §6);
- cameras of this preset: {views}.

Zero-shot: {inp['zero_shot_logits']} — L2-normalise `model.encode_image` of every view and
`model.encode_text` of every class prompt, and add the view cosines per class.
"""


def export_open_clip(ckpt: Path, out: Path, *, force: bool = False) -> Path:
    """Write the open_clip folder for ``ckpt`` into ``out``; returns ``out``."""
    from safetensors.torch import save_file  # noqa: PLC0415

    from clip2point.provenance import code_version  # noqa: PLC0415
    from clip2point.train.checkpoint import read_checkpoint  # noqa: PLC0415

    ckpt, out = Path(ckpt), Path(out)
    check_out_folder(out, force=force)
    meta = read_checkpoint(ckpt)
    train_config = meta.config
    model, tokenizer = exported_model(ckpt)
    extra = {"checkpoint": str(ckpt), "step": meta.progress.step, "model": train_config["model"],
             "base_pretrained": train_config.get("pretrained"), "base_weights": meta.base_weights,
             "input": input_description(train_config), "code_version": code_version()}
    config = open_clip_config(train_config["model"], train_config.get("pretrained"), model, extra)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    with atomic_path(out / CONFIG_NAME) as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n")
    with atomic_path(out / CARD_NAME) as tmp:
        tmp.write_text(model_card(config))
    if hasattr(tokenizer, "save_pretrained"):  # HF tokenizers travel with the folder, as open_clip's save_for_hf does
        tokenizer.save_pretrained(str(out))
    log.info("exported %s (%d tensors) to %s", ckpt, len(state), out)
    return out

