"""A CPU-sized STAND-IN for CLIP, trained here: ``clip2point standin --shards S --out standin.pt``.

CLIP2Point's claim needs a CLIP whose image and text towers agree on what an object is: its
plain visual tower then scores poorly on depth maps, and pre-training the depth tower against
the image tower makes depth maps readable to the text tower. No CLIP weights are reachable on
a CPU test machine, so this module fits a small open_clip model (``c2p-standin-64``: 64²
pictures in 16-px patches, a one-layer text tower) contrastively on the RGB renders of a shard
folder's training split against captions made from the class names with several templates.
The result is saved as a plain open_clip state dict, so every command loads it the way it
loads real weights (``--model c2p-standin-64 --pretrained standin.pt``).

It is NOT CLIP: it has seen a few hundred synthetic pictures, not 400 million photographs, and
knows only the shard folder's class names. It is named as a stand-in everywhere (model config,
default file name, the side-car JSON, log lines) so no number made with it can pass for CLIP's.

The loss is CLIP's symmetric InfoNCE made label-aware, because a batch holds several pictures
of one class and their captions are the same sentence: picture → caption is a softmax over one
caption per class (every class of the folder, so classes without pictures are pushed away too),
caption → picture a softmax over the batch with every picture of that class as a target.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from clip2point.errors import ConfigError
from clip2point.validation import check_choice, check_int, check_positive, flag_of

log = logging.getLogger(__name__)

STANDIN_MODEL = "c2p-standin-64"
STANDIN_KIND = "clip2point-standin (NOT CLIP: a small open_clip model fitted to synthetic renders)"
# Captions: SPEC's evaluation prompt and CLIP-style variants, so the text tower learns the class
# word rather than one sentence.
TEMPLATES = ("image of a {}", "a photo of a {}", "a rendering of a {}", "a 3d model of a {}",
             "a picture of the {}", "a {} on a white background", "an image of the {}", "a small {}")


@dataclass(frozen=True)
class StandinSettings:
    """What the stand-in is fitted on and how; the same settings and seed give the same weights
    (on the same machine and thread count: float reductions follow the thread split)."""

    shards: Path
    out: Path
    model: str = STANDIN_MODEL
    split: str = "train"
    steps: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    templates: tuple[str, ...] = TEMPLATES

    def __post_init__(self) -> None:
        object.__setattr__(self, "shards", Path(self.shards))
        object.__setattr__(self, "out", Path(self.out))
        for name in ("steps", "batch_size"):
            check_int(getattr(self, name), flag_of(name), low=1)
        check_positive(self.lr, "--lr")
        check_choice(self.split, "--split", ("train", "test"))
        if not self.templates or any(t.count("{}") != 1 for t in self.templates):
            raise ConfigError("every caption template needs exactly one '{}' for the class name")


def standin_meta_path(weights: Path) -> Path:
    """The side-car JSON beside a stand-in weights file (``standin.pt`` → ``standin.json``)."""
    return Path(weights).with_suffix(".json")


def captions(class_names: Sequence[str], templates: Sequence[str], rng: random.Random) -> list[str]:
    """One caption per class, each with a template drawn from ``rng``."""
    return [rng.choice(templates).format(name.replace("_", " ")) for name in class_names]


def label_aware_clip_loss(image_feats: torch.Tensor, text_feats: torch.Tensor, labels: torch.Tensor,
                          logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss of L2-normalised pictures [B,D] and class captions [C,D].

    Picture → caption: cross-entropy over the C captions. Caption → picture: for each class in
    the batch, a softmax over the B pictures whose target spreads evenly over that class's
    pictures (plain InfoNCE would call a same-class picture a negative). Both are 0 when every
    picture sits on its caption."""
    logits = logit_scale.exp().clamp(max=100) * image_feats @ text_feats.T  # [B,C]
    to_text = F.cross_entropy(logits, labels)
    present = labels.unique()
    target = (labels[None, :] == present[:, None]).float()
    target = target / target.sum(dim=1, keepdim=True)
    # KL rather than cross-entropy: the same gradients, and 0 at the optimum (a spread target's
    # entropy is not a loss the model could remove)
    to_image = F.kl_div(F.log_softmax(logits.T[present], dim=1), target, reduction="batchmean")
    return (to_text + to_image) / 2


def _rgb_views(shards: Path, split: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """uint8 [N·V,H,W,3] pictures of ``split``, their labels [N·V] and the folder's class names."""
    from clip2point.datasets.torch_dataset import ShardDataset

    data = ShardDataset(shards, split=split, view="all", fields=("rgb",))  # names an empty split itself
    rgb = torch.stack([data[i]["rgb"] for i in range(len(data))])  # [N,V,H,W,3]
    labels = torch.from_numpy(data.labels)[:, None].expand(-1, rgb.shape[1]).reshape(-1)
    return rgb.flatten(0, 1), labels, tuple(data.class_names)


@torch.no_grad()
def rgb_zero_shot_accuracy(model: torch.nn.Module, tokenizer, rgb: torch.Tensor, labels: torch.Tensor,
                           class_names: Sequence[str], prompt: str = TEMPLATES[0]) -> float:
    """Top-1 % of pictures whose nearest caption ``prompt`` is their class: how well the
    stand-in knows the pictures, the premise CLIP brings (reported, never trained on test)."""
    from clip2point.train.encoding import tower_input_size
    from clip2point.train.step import rgb_to_clip_input

    model.eval()
    size = tower_input_size(model.visual)
    text = F.normalize(model.encode_text(tokenizer([prompt.format(n.replace("_", " ")) for n in class_names])), dim=-1)
    hits = 0
    for start in range(0, len(rgb), 256):
        feats = F.normalize(model.encode_image(rgb_to_clip_input(rgb[start:start + 256], size)), dim=-1)
        hits += int(((feats @ text.T).argmax(dim=1) == labels[start:start + 256]).sum())
    return 100.0 * hits / max(len(rgb), 1)


def fit_standin(settings: StandinSettings) -> Path:
    """Fit the stand-in, save its state dict to ``settings.out`` and a side-car JSON beside it."""
    from clip2point.train.checkpoint import torch_save_atomic
    from clip2point.train.encoding import tower_input_size
    from clip2point.train.models import create_clip
    from clip2point.train.step import rgb_to_clip_input

    started = time.perf_counter()
    rgb, labels, class_names = _rgb_views(settings.shards, settings.split)
    log.info("stand-in for CLIP (not CLIP): fitting %s on %d %s pictures of %d classes, %d steps",
             settings.model, len(rgb), settings.split, len(labels.unique()), settings.steps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        rng = random.Random(settings.seed)
        bundle = create_clip(settings.model, None, init_seed=settings.seed)
        model, tokenizer = bundle.model.train(), bundle.tokenizer
        size = tower_input_size(model.visual)
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings.lr, total_steps=settings.steps,
                                                       pct_start=0.1)
        losses = []
        for _ in range(settings.steps):
            pick = torch.randint(len(rgb), (min(settings.batch_size, len(rgb)),))
            images = F.normalize(model.encode_image(rgb_to_clip_input(rgb[pick], size)), dim=-1)
            texts = F.normalize(model.encode_text(tokenizer(captions(class_names, settings.templates, rng))), dim=-1)
            loss = label_aware_clip_loss(images, texts, labels[pick], model.logit_scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
    train_acc = rgb_zero_shot_accuracy(model, tokenizer, rgb, labels, class_names)
    held_out = _held_out_accuracy(model, tokenizer, settings)
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    torch_save_atomic(model.state_dict(), settings.out)
    meta = {"kind": STANDIN_KIND, "model": settings.model, "weights": str(settings.out),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()},
            "class_names": list(class_names), "pictures": len(rgb), "loss_first": losses[0], "loss_last": sum(losses[-10:]) / len(losses[-10:]),
            "rgb_zero_shot_train": train_acc, "rgb_zero_shot_held_out": held_out,
            "seconds": round(time.perf_counter() - started, 1)}
    standin_meta_path(settings.out).write_text(json.dumps(meta, indent=2) + "\n")
    log.info("stand-in for CLIP (not CLIP): loss %.3f -> %.3f; RGB zero-shot %.1f%% train, %s held out; "
             "wrote %s", losses[0], meta["loss_last"], train_acc,
             "n/a" if held_out is None else f"{held_out:.1f}%", settings.out)
    return settings.out


def _held_out_accuracy(model: torch.nn.Module, tokenizer, settings: StandinSettings) -> float | None:
    """RGB zero-shot accuracy on the other split's pictures (None when it has none)."""
    other = "test" if settings.split == "train" else "train"
    try:
        rgb, labels, class_names = _rgb_views(settings.shards, other)
    except ConfigError:
        return None
    return rgb_zero_shot_accuracy(model, tokenizer, rgb, labels, class_names)


# ---------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", required=True, type=Path, help="shard folder of `clip2point render` (RGB views)")
    parser.add_argument("--out", type=Path, default=Path("standin.pt"),
                        help="weights file (an open_clip state dict; a side-car .json goes beside it)")
    parser.add_argument("--model", default=STANDIN_MODEL, help="open_clip config (default: the package's stand-in)")
    parser.add_argument("--split", default="train", help="which split's pictures to fit on (test objects stay held out)")
    parser.add_argument("--steps", type=int, default=StandinSettings.steps)
    parser.add_argument("--batch-size", type=int, default=StandinSettings.batch_size)
    parser.add_argument("--lr", type=float, default=StandinSettings.lr)
    parser.add_argument("--seed", type=int, default=StandinSettings.seed)


def run(args: argparse.Namespace) -> int:
    settings = StandinSettings(args.shards, args.out, model=args.model, split=args.split, steps=args.steps,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    out = fit_standin(settings)
    meta = json.loads(standin_meta_path(out).read_text())
    print(f"standin: wrote {out} (a stand-in for CLIP, not CLIP); use --model {settings.model} --pretrained {out}; "
          f"RGB zero-shot {meta['rgb_zero_shot_train']:.1f}% on its {settings.split} pictures")
    return 0
