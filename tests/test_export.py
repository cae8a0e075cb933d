"""``clip2point export``: a pre-trained depth tower as an open_clip folder that open_clip alone
loads, scoring zero-shot exactly as ``zeroshot --ckpt`` does."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from clip2point.cli import main
from clip2point.eval.encoders import Encoders, load_encoders
from clip2point.eval.settings import DataSettings, EncoderSettings, ViewSettings
from clip2point.eval.zeroshot import ZeroShotConfig, run_zeroshot
from clip2point.train.config import TrainConfig
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from train_support import tiny_weights_file, write_random_shards  # noqa: E402

# Runs in a fresh interpreter where importing clip2point fails: the folder must stand alone.
OPEN_CLIP_ONLY = textwrap.dedent("""
    import json, sys
    class NoClip2Point:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "clip2point":
                raise ImportError("clip2point must not be imported here")
    sys.meta_path.insert(0, NoClip2Point())
    import numpy as np, open_clip, torch
    import torch.nn.functional as F
    folder, images, prompts, out = sys.argv[1:]
    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + folder)
    tokenizer = open_clip.get_tokenizer("local-dir:" + folder)
    model.eval()
    views = torch.from_numpy(np.load(images))  # [N,V,3,H,W] depth pictures from clip2point's projector
    with torch.no_grad():
        text = F.normalize(model.encode_text(tokenizer(json.load(open(prompts)))).float(), dim=-1)
        feats = F.normalize(model.encode_image(views.flatten(0, 1)).float(), dim=-1).view(*views.shape[:2], -1)
    np.save(out, torch.einsum("nvd,cd->nc", feats, text).numpy())
    assert not any(m.split(".")[0] == "clip2point" for m in sys.modules)
""")


class Recorder(nn.Module):
    """The depth tower, keeping the pictures zero-shot feeds it: the export must score exactly those."""

    def __init__(self, inner: nn.Module, images: list[torch.Tensor]) -> None:
        super().__init__()
        self.inner, self.images, self.image_size = inner, images, inner.image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.images.append(x.detach().clone())
        return self.inner(x)


def recording(encoders: Encoders) -> tuple[Encoders, dict[str, list]]:
    """``encoders`` whose depth tower and tokenizer record their inputs (the pictures, the prompts)."""
    seen: dict[str, list] = {"images": [], "prompts": []}
    tokenizer = encoders.bundle.tokenizer

    def tokenize(prompts: list[str]) -> torch.Tensor:
        seen["prompts"].extend(prompts)
        return tokenizer(prompts)

    encoders.visual["pretrained"] = Recorder(encoders.visual["pretrained"], seen["images"])
    return replace(encoders, bundle=replace(encoders.bundle, tokenizer=tokenize)), seen


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Shards, base weights and a checkpoint after two real pre-training steps of c2p-tiny."""
    root = tmp_path_factory.mktemp("export")
    shards, weights = write_random_shards(root / "shards"), tiny_weights_file(root / "tiny.pt")
    config = TrainConfig.from_flat(shards=str(shards), out=str(root / "run"), model="c2p-tiny", pretrained=str(weights),
                                   batch_size=8, epochs=1, num_workers=0, checkpoint_every=1, log_every=1, progress=False,
                                   num_points=64)
    assert train(config).step == 2
    return shards, weights, root / "run" / "checkpoints" / "last.pt"


def test_open_clip_alone_loads_the_export_and_scores_as_zeroshot(trained: tuple[Path, Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    shards, weights, ckpt = trained
    out = tmp_path / "hub"
    assert main(["export", str(ckpt), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "open_clip_config.json", "open_clip_model.safetensors"]
    written = json.loads((out / "open_clip_config.json").read_text())
    assert written["model_cfg"]["vision_cfg"]["image_size"] == 224 and written["clip2point"]["step"] == 2
    assert written["clip2point"]["input"]["depth_preset"] == "clip2point"
    card = (out / "README.md").read_text()
    assert "library_name: open_clip" in card and "depth preset `clip2point`" in card and "0.48145466" in card

    views = ViewSettings(6, "clip2point")
    data = DataSettings("shards", shards, num_points=64)
    config = ZeroShotConfig(data, EncoderSettings("c2p-tiny", ckpt=ckpt), views)
    encoders, seen = recording(load_encoders(config.encoder, ("pretrained",)))
    result = run_zeroshot(config, encoders=encoders)
    images = torch.cat(seen["images"])  # [N*V,3,H,W], object-major
    np.save(tmp_path / "views.npy", images.view(len(result.logits), 6, *images.shape[1:]).numpy())
    (tmp_path / "prompts.json").write_text(json.dumps(seen["prompts"]))
    script = tmp_path / "open_clip_only.py"
    script.write_text(OPEN_CLIP_ONLY)
    done = subprocess.run([sys.executable, str(script), str(out), str(tmp_path / "views.npy"),
                           str(tmp_path / "prompts.json"), str(tmp_path / "logits.npy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "logits.npy")
    assert theirs.shape == result.logits.shape == (6, 3)
    np.testing.assert_allclose(theirs, result.logits, rtol=0, atol=1e-5)
    # the export is the trained tower, not the base CLIP tower: plain CLIP scores differently
    plain = run_zeroshot(ZeroShotConfig(data, EncoderSettings("c2p-tiny", pretrained=str(weights)), views))
    assert np.abs(plain.logits - theirs).max() > 1e-3


def test_export_refuses_a_folder_with_other_files(trained: tuple[Path, Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "hub"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", str(trained[2]), "--out", str(out)]) == 2
    assert f"{out}: is not empty (notes.txt); pass --force" in capsys.readouterr().err
    (out / "notes.txt").unlink()
    assert main(["export", str(trained[2]), "--out", str(out)]) == 0
    assert main(["export", str(trained[2]), "--out", str(out)]) == 2  # an earlier export needs --force
    assert main(["export", str(trained[2]), "--out", str(out), "--force"]) == 0
    assert main(["export", str(out / "missing.pt"), "--out", str(tmp_path / "x")]) == 2
    assert "missing.pt: no such checkpoint file" in capsys.readouterr().err


def test_exported_config_keeps_quick_gelu_of_openai_weights() -> None:
    from clip2point.train.models import open_clip_model_config

    assert open_clip_model_config("ViT-B-32", "openai")["quick_gelu"] is True
    assert "quick_gelu" not in open_clip_model_config("c2p-tiny", None)
