"""``zeroshot`` and ``fewshot`` start from the same weights as ``pretrain`` when ``--pretrained``
is left out: openai for open_clip models, seeded random for the package's tiny configs; a failed
few-shot run leaves no empty adapter folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from clip2point.cli import main
from clip2point.eval.cli_common import pretrained_flag, resolve_pretrained
from clip2point.train import hub
from clip2point.train.config import TrainConfig


@pytest.mark.parametrize("model", ["ViT-B-32", "ViT-B-16", "c2p-tiny", "c2p-tiny-64"])
def test_the_default_is_pretrains_default(model: str) -> None:
    assert resolve_pretrained("auto", model, None) == TrainConfig.from_flat(shards="s", out="o", model=model).model.pretrained


def test_a_checkpoint_or_an_explicit_value_wins(tmp_path: Path) -> None:
    assert resolve_pretrained("auto", "ViT-B-32", tmp_path / "best.pt") is None
    assert resolve_pretrained(pretrained_flag("none"), "ViT-B-32", None) is None
    assert resolve_pretrained("weights.pt", "ViT-B-32", None) == "weights.pt"


def test_zeroshot_without_pretrained_asks_for_the_openai_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture) -> None:
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache("timm/vit_base_patch32_clip_224.openai", "open_clip_pytorch_model.bin"), str):
        pytest.skip("the openai ViT-B-32 weights are cached here; the run would start")
    monkeypatch.setattr(hub, "hub_reachable", lambda host=hub.HUB_HOST: False)  # as on a machine without network
    rc = main(["zeroshot", "--dataset", "shards", "--data", str(tmp_path), "--model", "ViT-B-32", "--device", "cpu",
               "--out", str(tmp_path / "zs.json")])
    assert rc == 2 and "'openai' weights for ViT-B-32" in capsys.readouterr().err  # was: random weights, exit 0


def test_a_failed_fewshot_run_leaves_no_empty_adapter_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from pointset_fixtures import make_off_folder

    root = make_off_folder(tmp_path / "ModelNet40", ("bed", "chair"), per_split=1)
    out = tmp_path / "results" / "fs16.json"
    rc = main(["fewshot", "--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny", "--paths", "clip",
               "--num-points", "64", "--shots", "16", "--seeds", "0", "--device", "cpu", "--out", str(out)])
    assert rc == 2 and "fewer than --shots + --val-per-class" in capsys.readouterr().err
    assert not (tmp_path / "results" / "fs16-adapters").exists()
