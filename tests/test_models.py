"""train.models and train.encoding: tiny open_clip config, weight loading, prompts, view features."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from clip2point.errors import CheckpointError, ConfigError
from clip2point.train import models
from clip2point.train.models import ClipBundle, create_clip, encode_prompts, weights_hash

TINY = "c2p-tiny"


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights file of the tiny model with non-default random values (seed 7)."""
    import open_clip

    models.register_model_configs()
    torch.manual_seed(7)
    model = open_clip.create_model(TINY)
    path = tmp_path_factory.mktemp("weights") / "c2p-tiny.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def bundle(tiny_weights: Path) -> ClipBundle:
    return create_clip(TINY, tiny_weights)


def test_tiny_config_is_registered_with_the_shapes_it_declares(bundle: ClipBundle) -> None:
    assert TINY in models.available_models()
    assert bundle.embed_dim == 64
    out = bundle.model.visual(torch.zeros(2, 3, 224, 224))
    assert out.shape == (2, 64)
    assert bundle.model.visual.conv1.kernel_size == (32, 32)
    assert len(bundle.model.visual.transformer.resblocks) == 2


def test_local_file_gives_exactly_its_weights(bundle: ClipBundle, tiny_weights: Path) -> None:
    saved = torch.load(tiny_weights, weights_only=True)
    for name, tensor in bundle.model.state_dict().items():
        torch.testing.assert_close(tensor, saved[name], rtol=0, atol=0, msg=name)
    assert bundle.pretrained == str(tiny_weights)


def test_random_init_is_seeded_so_base_weights_can_be_rebuilt() -> None:
    a, b = create_clip(TINY), create_clip(TINY)
    assert weights_hash(a.model.visual) == weights_hash(b.model.visual)
    assert a.pretrained is None


def test_weights_hash_changes_with_any_value(bundle: ClipBundle) -> None:
    visual = models.frozen_copy(bundle.model.visual)
    before = weights_hash(visual)
    with torch.no_grad():
        visual.proj[0, 0] += 1e-3
    assert weights_hash(visual) != before


def test_unknown_model_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'ViT-Q-99'.*c2p-tiny"):
        create_clip("ViT-Q-99")


def test_missing_weights_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"neither an open_clip tag for c2p-tiny.*nor an existing file"):
        create_clip(TINY, tmp_path / "absent.pt")


def test_foreign_weights_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a state dict of c2p-tiny weights"):
        create_clip(TINY, path)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"garbage\.pt: unreadable c2p-tiny weights file: not a torch file$"):
        create_clip(TINY, garbage)


def test_pretrained_mismatch_is_summarised_not_dumped(tmp_path: Path) -> None:
    """torch lists every missing key (kilobytes for a real model): give counts and three names."""
    path = tmp_path / "foreign.pt"
    torch.save({"conv.weight": torch.zeros(3), "head.bias": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError) as info:
        create_clip(TINY, path)
    message = str(info.value)
    assert re.search(r"\(\d+ missing keys \(e\.g\. [\w.]+, [\w.]+, [\w.]+\), 2 unexpected keys \(e\.g\. conv\.weight, "
                     r"head\.bias\)\)$", message), message
    assert "\n" not in message and len(message) < 400


def test_pretrained_given_a_clip2point_checkpoint_points_to_resume_and_ckpt(tmp_path: Path) -> None:
    from clip2point.train.checkpoint import Checkpoint, Progress, write_checkpoint

    path = write_checkpoint(tmp_path / "best.pt", Checkpoint(config={"model": TINY}, base_weights="ab",
                                                              model={"balance": torch.ones(())}, progress=Progress()))
    with pytest.raises(CheckpointError, match=r"best\.pt: is a clip2point pre-training checkpoint, not CLIP weights; "
                       r".*--resume .*best\.pt.*--ckpt .*best\.pt"):
        create_clip(TINY, path)


def test_openai_tag_offline_says_to_pass_a_local_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import open_clip.factory

    def offline(*args: object, **kwargs: object) -> str:
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(open_clip.factory, "download_pretrained", offline)
    with pytest.raises(ConfigError, match=r"'openai' weights for ViT-B-32.*download them once.*--pretrained"):
        create_clip("ViT-B-32", "openai")


def test_encode_prompts_matches_the_text_tower_on_names_as_given(bundle: ClipBundle) -> None:
    """Names are used as given (the reference's ModelNet10 prompt keeps "night_stand")."""
    feats = encode_prompts(bundle, ["night_stand", "chair"])
    assert feats.shape == (2, 64)
    torch.testing.assert_close(feats.norm(dim=-1), torch.ones(2))
    with torch.no_grad():
        ref = bundle.model.encode_text(bundle.tokenizer(["image of a night_stand"]))[0]
    torch.testing.assert_close(feats[0], ref / ref.norm(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="needs a '{}'"):
        encode_prompts(bundle, ["chair"], template="a photo")


def test_pretrain_model_freezes_the_image_tower_only(bundle: ClipBundle) -> None:
    model = models.build_pretrain_model(bundle)
    model.train()
    assert not model.image_encoder.training and model.depth_encoder.training
    assert not any(p.requires_grad for p in model.image_encoder.parameters())
    assert all(p.requires_grad for p in model.depth_encoder.parameters())
    assert model.balance.item() == 1.0
    assert weights_hash(model.depth_encoder) == weights_hash(bundle.model.visual)
    state = model.trainable_state_dict()
    assert "balance" in state and not any(k.startswith("image_encoder.") for k in state)


def test_view_summed_logits_equals_a_loop_over_views() -> None:
    from clip2point.train.encoding import view_summed_logits

    gen = torch.Generator().manual_seed(0)
    feats = torch.nn.functional.normalize(torch.randn(3, 4, 8, generator=gen), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(5, 8, generator=gen), dim=-1)
    ref = torch.zeros(3, 5)
    for b in range(3):
        for c in range(5):
            ref[b, c] = sum(float(feats[b, v] @ text[c]) for v in range(4))
    torch.testing.assert_close(view_summed_logits(feats, text), ref)
    with pytest.raises(ValueError, match=r"\[B,V,D\].*\[C,D\]"):
        view_summed_logits(feats[0], text)


def test_encode_depth_views_equals_per_object_projection(bundle: ClipBundle) -> None:
    from clip2point.render.cameras import get_view_preset
    from clip2point.render.depth import depth_to_image, project_depth, to_clip_input
    from clip2point.train.encoding import encode_depth_views

    gen = torch.Generator().manual_seed(1)
    points = torch.randn(2, 256, 3, generator=gen)
    points = points / points.norm(dim=-1).amax(dim=1, keepdim=True)[..., None]
    preset = get_view_preset(6)
    elev, azim = torch.tensor(preset.elev), torch.tensor(preset.azim)
    encoder = bundle.model.visual
    with torch.no_grad():
        feats = encode_depth_views(encoder, points, elev, azim, 1.0)
        assert feats.shape == (2, 6, 64)
        torch.testing.assert_close(feats.norm(dim=-1), torch.ones(2, 6))
        for b in range(2):
            img = to_clip_input(depth_to_image(project_depth(points[b : b + 1], elev, azim, 1.0)))[0]
            assert img.shape == (6, 3, 224, 224)
            ref = encoder(img)
            ref = ref / ref.norm(dim=-1, keepdim=True)
            torch.testing.assert_close(feats[b], ref, rtol=1e-4, atol=1e-5)
    assert not math.isnan(float(feats.sum()))


def _write_run_checkpoint(path: Path, bundle: ClipBundle, model: models.PretrainModel) -> None:
    from clip2point.train.checkpoint import Checkpoint, Progress, write_checkpoint

    config = {"model": bundle.model_name, "pretrained": bundle.pretrained}
    write_checkpoint(path, Checkpoint(config=config, base_weights=weights_hash(bundle.model.visual),
                                      model=model.trainable_state_dict(), progress=Progress(1, 5, 0)))


def test_load_depth_encoder_returns_the_trained_tower(bundle: ClipBundle, tmp_path: Path) -> None:
    model = models.build_pretrain_model(bundle)
    with torch.no_grad():
        for p in model.depth_encoder.parameters():
            p.add_(0.01)
    _write_run_checkpoint(tmp_path / "last.pt", bundle, model)
    encoder, loaded = models.load_depth_encoder(tmp_path / "last.pt")
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    assert weights_hash(encoder) == weights_hash(model.depth_encoder)
    assert weights_hash(loaded.model.visual) == weights_hash(bundle.model.visual)


def test_load_depth_encoder_rejects_other_base_weights(bundle: ClipBundle, tmp_path: Path) -> None:
    other = create_clip(TINY)  # seeded random init, not the file the run used
    _write_run_checkpoint(tmp_path / "run.pt", other, models.build_pretrain_model(other))
    tampered = torch.load(tmp_path / "run.pt", weights_only=True)
    tampered["base_weights"] = "0" * 64
    torch.save(tampered, tmp_path / "run.pt")
    with pytest.raises(CheckpointError, match=r"run\.pt: was trained from other c2p-tiny base weights"):
        models.load_depth_encoder(tmp_path / "run.pt")
