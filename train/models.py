"""open_clip towers for image-depth pre-training (SPEC §5) and the text prompts of SPEC §6.

The frozen image tower and the trained depth tower are two copies of one CLIP visual tower;
the text tower is only used to build zero-shot prompts. Weights come from an open_clip tag
(online) or a local file (offline); the package's own tiny configs make the same code path
testable on CPU: ``c2p-tiny`` has ViT-B/32's input geometry (224², 32-px patches), ``c2p-tiny-64``
takes 64² pictures in 16-px patches and learns in seconds; ``c2p-standin-64`` is the architecture
of the CPU stand-in for CLIP that ``train/standin.py`` fits (its weights are never CLIP's).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from clip2point.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

MODEL_CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
STANDIN_PREFIX = "c2p-standin"  # train/standin.py's models: never to be mistaken for CLIP
_RANDOM_INIT_SEED = 0  # random-init towers are seeded so a run can rebuild the same base weights


@dataclass(frozen=True)
class ClipBundle:
    """A CLIP model with its tokenizer; ``model.visual`` maps [B,3,H,W] to [B,embed_dim]."""

    model: nn.Module
    tokenizer: Callable[[Sequence[str]], torch.Tensor]
    embed_dim: int
    model_name: str
    pretrained: str | None


@contextlib.contextmanager
def _quiet_open_clip() -> Iterator[None]:
    """open_clip logs each creation stage at INFO on the root logger; keep them for --verbose."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def packaged_model_names() -> tuple[str, ...]:
    """The model names whose configs ship in ``train/model_configs`` (``c2p-tiny``, ``c2p-tiny-64``)."""
    return tuple(sorted(p.stem for p in MODEL_CONFIG_DIR.glob("*.json")))


def register_model_configs() -> None:
    """Make the package's configs known to open_clip; idempotent."""
    import open_clip

    known = set(open_clip.list_models())
    if not set(packaged_model_names()) <= known:
        open_clip.add_model_config(MODEL_CONFIG_DIR)


def available_models() -> list[str]:
    import open_clip

    register_model_configs()
    return list(open_clip.list_models())


def _check_model_name(model_name: str) -> None:
    models = available_models()
    if model_name not in models:
        near = [m for m in models if m.lower().startswith(model_name.lower()[:5])][:8]
        raise ConfigError(
            f"unknown model {model_name!r}; use an open_clip model name such as ViT-B-32 "
            f"or one of the package's tiny models {', '.join(packaged_model_names())}"
            + (f" (close names: {', '.join(near)})" if near else "")
        )


def _is_pretrained_tag(model_name: str, pretrained: str) -> bool:
    import open_clip

    return bool(open_clip.get_pretrained_cfg(model_name, pretrained))


def _tag_quick_gelu(model_name: str, pretrained: str | None) -> bool:
    """Whether the weights of tag ``pretrained`` were trained with QuickGELU (OpenAI's are):
    the model built for them must use it too, here and in an exported config."""
    import open_clip

    return pretrained is not None and bool(open_clip.get_pretrained_cfg(model_name, str(pretrained)).get("quick_gelu"))


def open_clip_model_config(model_name: str, pretrained: str | None) -> dict:
    """The full open_clip model config ``create_clip(model_name, pretrained)`` builds from (the
    package's tiny configs included), as written into an exported ``open_clip_config.json``."""
    import open_clip

    _check_model_name(model_name)
    config = dict(open_clip.get_model_config(model_name))
    if _tag_quick_gelu(model_name, pretrained):
        config["quick_gelu"] = True
    return config


def _create_from_tag(model_name: str, tag: str) -> nn.Module:
    import open_clip

    from clip2point.train.hub import offline_unless_reachable  # noqa: PLC0415

    quick_gelu = _tag_quick_gelu(model_name, tag)
    try:
        with offline_unless_reachable():  # offline: the message below at once, not after minutes of retries
            return open_clip.create_model(model_name, pretrained=tag, force_quick_gelu=quick_gelu)
    except RuntimeError as exc:  # open_clip wraps every download failure in RuntimeError
        raise ConfigError(
            f"could not fetch the {tag!r} weights for {model_name} ({exc}); when offline, download them "
            f"once on a machine with network (open_clip.create_model({model_name!r}, pretrained={tag!r}) "
            f"and torch.save(model.state_dict(), 'weights.pt')) and pass --pretrained weights.pt"
        ) from exc


def _create_from_file(model_name: str, path: Path) -> nn.Module:
    import open_clip

    if not path.is_file():
        raise ConfigError(
            f"--pretrained {str(path)!r} is neither an open_clip tag for {model_name} "
            f"(tags: {', '.join(open_clip.list_pretrained_tags_by_model(model_name)) or 'none'}) nor an existing file"
        )
    try:
        return open_clip.create_model(model_name, pretrained=str(path))
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, StopIteration, EOFError, OSError,
            pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise _weights_file_error(model_name, path, exc) from exc


def _weights_file_error(model_name: str, path: Path, exc: BaseException) -> CheckpointError:
    """Why ``path`` is not ``model_name``'s weights, in one line: torch's own messages paste
    multi-line loading advice or a list of every missing key (kilobytes), which hides the cause."""
    from clip2point.train.checkpoint import SCHEMA, error_cause, load_torch_file

    prefix = f"not a state dict of {model_name} weights"
    if path.suffix in (".safetensors", ".npz", ".npy"):
        return CheckpointError(path, f"{prefix} ({error_cause(exc)})")
    raw = load_torch_file(path, what=f"{model_name} weights file")  # raises for empty, garbage, pickled code
    if isinstance(raw, dict) and raw.get("schema") == SCHEMA:
        return CheckpointError(path, f"is a clip2point pre-training checkpoint, not CLIP weights; continue its "
                                     f"run with `pretrain --resume {path}`, evaluate it with `--ckpt {path}` "
                                     "(zeroshot, fewshot)")
    if isinstance(raw, dict) and str(raw.get("schema", "")).startswith("clip2point"):
        return CheckpointError(path, f"is a clip2point file ({raw['schema']}), not CLIP weights")
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else raw
    if not isinstance(state, dict):
        return CheckpointError(path, f"{prefix} (it holds a {type(state).__name__}, not a dict of tensors)")
    reason = _key_mismatch(model_name, state) or _size_mismatch(exc) or error_cause(exc)
    return CheckpointError(path, f"{prefix} ({reason})")


def _key_mismatch(model_name: str, state: dict) -> str:
    """``N missing keys (e.g. a, b, c), M unexpected (e.g. x)``; empty when the names all match."""
    expected = set(_create_random(model_name).state_dict())
    given = {str(k).removeprefix("module.") for k in state}
    parts = [f"{len(keys)} {label} key{'s' if len(keys) != 1 else ''} (e.g. {', '.join(sorted(keys)[:3])})"
             for label, keys in (("missing", expected - given), ("unexpected", given - expected)) if keys]
    return ", ".join(parts)


def _size_mismatch(exc: BaseException) -> str:
    """torch's first ``size mismatch for NAME: ...`` line and how many more there are ('' if none)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip().startswith("size mismatch")]
    return lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "") if lines else ""



def _create_random(model_name: str, seed: int = _RANDOM_INIT_SEED) -> nn.Module:
    import open_clip

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return open_clip.create_model(model_name)


def create_clip(model_name: str, pretrained: str | Path | None = None, device: str | torch.device = "cpu", *,
                init_seed: int = _RANDOM_INIT_SEED) -> ClipBundle:
    """Build a CLIP model from a tag, a local weights file, or a random init seeded by
    ``init_seed`` (``pretrained=None``)."""
    import open_clip

    _check_model_name(model_name)
    with _quiet_open_clip():
        if pretrained is None:
            model = _create_random(model_name, init_seed)
        elif _is_pretrained_tag(model_name, str(pretrained)):
            model = _create_from_tag(model_name, str(pretrained))
        else:
            model = _create_from_file(model_name, Path(pretrained))
        tokenizer = open_clip.get_tokenizer(model_name)
    if model_name.startswith(STANDIN_PREFIX):
        log.info("%s is a STAND-IN for CLIP (a small model fitted to synthetic renders by `clip2point standin`), "
                 "not CLIP", model_name)
    model = model.to(device).eval()
    embed_dim = int(open_clip.get_model_config(model_name)["embed_dim"])
    return ClipBundle(model, tokenizer, embed_dim, model_name, None if pretrained is None else str(pretrained))


def weights_hash(module: nn.Module, *, exclude: str | None = None) -> str:
    """sha256 over a module's tensors (names, dtypes, shapes, bytes): identifies base weights.
    ``exclude``: leave out the tensors under this name prefix (``"visual."``: the text tower only)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        if exclude is not None and name.startswith(exclude):
            continue
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")  # 0-dim too
    return digest.hexdigest()


@torch.no_grad()
def encode_prompts(bundle: ClipBundle, prompt_names: Sequence[str], template: str = "image of a {}") -> torch.Tensor:
    """L2-normalised text features [C, D] of ``template`` filled with each name as given (SPEC §6);
    ``datasets.prompts.prompt_class_names`` turns label names into prompt names (the reference
    keeps ModelNet10's "night_stand", so no underscore is replaced here).

    The template is checked here, where it is used, so every caller gets the same clear error
    instead of ``str.format``'s IndexError/KeyError: exactly one empty ``{}`` and no other field."""
    import string  # noqa: PLC0415

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:  # an unmatched brace
        raise ConfigError(f"prompt template {template!r} is malformed ({exc}); "
                          "write '{{' for a literal brace") from None
    if not fields:
        raise ConfigError(f"prompt template {template!r} needs a '{{}}' where the class name goes")
    if fields != [""]:
        raise ConfigError(f"prompt template {template!r} must hold exactly one '{{}}' (the class name) and no "
                          f"other '{{...}}' field, e.g. 'image of a {{}}'")
    prompts = [template.format(name) for name in prompt_names]
    device = next(bundle.model.parameters()).device
    tokens = bundle.tokenizer(prompts).to(device)
    return F.normalize(bundle.model.encode_text(tokens).float(), dim=-1)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A detached, eval-mode copy whose parameters take no gradient."""
    clone = copy.deepcopy(module).eval()
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone


class PretrainModel(nn.Module):
    """Frozen image tower, trainable depth tower (same init) and the loss balance weight w."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.image_encoder = frozen_copy(visual)
        self.depth_encoder = copy.deepcopy(visual).train()
        for p in self.depth_encoder.parameters():
            p.requires_grad_(True)
        self.balance = nn.Parameter(torch.ones(()))  # w of SPEC §5, initialised to 1

    def forward(self, depth_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Depth features [M, D] and w: the trainable part, the only thing DDP has to sync."""
        return self.depth_encoder(depth_images), self.balance

    def train(self, mode: bool = True) -> "PretrainModel":
        super().train(mode)
        self.image_encoder.eval()  # frozen: never in training mode (dropout, norms)
        return self

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """What a checkpoint stores: the image tower is rebuilt from the base weights."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("image_encoder.")}

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("image_encoder.")]
        if missing or unexpected:
            raise KeyError(f"missing keys {missing[:5]}, unexpected keys {list(unexpected)[:5]}")


def build_pretrain_model(bundle: ClipBundle) -> PretrainModel:
    return PretrainModel(bundle.model.visual)


def load_depth_encoder(ckpt_path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ClipBundle]:
    """The trained depth tower of a pre-training checkpoint (eval mode) and its CLIP bundle."""
    from clip2point.train.checkpoint import read_checkpoint

    path = Path(ckpt_path)
    ckpt = read_checkpoint(path)
    bundle = create_clip(ckpt.config["model"], ckpt.config["pretrained"], device=device)
    base = weights_hash(bundle.model.visual)
    if base != ckpt.base_weights:
        raise CheckpointError(
            path, f"was trained from other {ckpt.config['model']} base weights than {ckpt.config['pretrained']!r} "
            "gives now; pass the same weights file used for pre-training"
        )
    model = build_pretrain_model(bundle)
    try:
        model.load_trainable_state_dict(ckpt.model)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(path, f"does not fit model {ckpt.config['model']} ({exc})") from exc
    encoder = frozen_copy(model.depth_encoder).to(device)
    return encoder, bundle
