"""``--recipe faithful|improved``: a group of defaults (the reference's training, or the project's
faster choices), each overridable, recorded with every run; ``--negatives`` decides whether a
rank's NT-Xent sees the global batch or its own share (the reference's DataParallel)."""

from __future__ import annotations

import pytest
import torch

from clip2point.cli import build_parser
from clip2point.train import step
from clip2point.train.config import TrainConfig
from clip2point.train.losses import pretrain_loss
from clip2point.train.models import build_pretrain_model, create_clip


def test_recipes_set_defaults_that_single_flags_override() -> None:
    faithful = TrainConfig.from_flat(shards="s", out="o")
    assert (faithful.optim.optimizer, faithful.runtime.precision, faithful.optim.negatives) == ("lamb", "fp32", "per-device")
    assert (faithful.optim.eta_min, faithful.validation.val_views) == (1e-5, 10)
    assert faithful.fidelity() == {"recipe": "faithful", "faithful": True, "departures": [], "choices": {
        "optimizer": "lamb", "precision": "fp32", "negatives": "per-device", "eta_min": 1e-5, "val_views": 10,
        "val_prompts": "reference"}}
    improved = TrainConfig.from_flat(shards="s", out="o", recipe="improved")
    assert (improved.optim.optimizer, improved.runtime.precision, improved.optim.negatives) == ("lamb-timm", "auto", "gathered")
    mixed = TrainConfig.from_flat(shards="s", out="o", negatives="gathered", val_views=6)
    assert mixed.optim.optimizer == "lamb" and mixed.fidelity()["departures"] == ["negatives", "val_views"]
    # a config read back from config.json holds resolved values: it rebuilds the same run
    assert TrainConfig.from_dict(improved.to_dict()) == improved


def test_cli_flags_reach_the_config() -> None:
    from clip2point.train.cli import config_from_args

    argv = ["pretrain", "--shards", "s", "--out", "o", "--recipe", "improved", "--optimizer", "lamb", "--val-views", "6"]
    parser, _ = build_parser(argv)
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    assert (cfg.recipe, cfg.optim.optimizer, cfg.runtime.precision, cfg.optim.negatives, cfg.validation.val_views) == (
        "improved", "lamb", "auto", "gathered", 6)


def test_per_device_negatives_need_two_objects_per_rank() -> None:
    from clip2point.errors import ConfigError

    with pytest.raises(ConfigError, match="--negatives per-device .* leaves 1 object per loss"):
        TrainConfig.from_flat(shards="s", out="o", batch_size=4).optim.micro_batch(4)
    assert TrainConfig.from_flat(shards="s", out="o", batch_size=4, negatives="gathered").optim.micro_batch(4) == 1


@pytest.mark.parametrize("negatives", ["per-device", "gathered"])
def test_negatives_choose_the_batch_each_loss_sees(negatives: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in 'gather' that appends another rank's features, per-device losses ignore it
    (the reference's DataParallel: each GPU's NT-Xent over its share) and gathered ones use it."""
    other = torch.randn(3, 64, generator=torch.Generator().manual_seed(5))
    monkeypatch.setattr(step, "gather_with_grad", lambda x: torch.cat([x, other]))
    bundle = create_clip("c2p-tiny-64", None)
    model = build_pretrain_model(bundle)
    cfg = TrainConfig.from_flat(shards="s", out="o", model="c2p-tiny-64", num_points=64, negatives=negatives)
    batch = step.Batch(points=torch.rand(4, 80, 3), elev=torch.zeros(4), azim=torch.zeros(4), dist=torch.ones(4),
                       image_feats=torch.randn(4, 64, generator=torch.Generator().manual_seed(6)))
    gen = lambda: step.step_generator(0, 0, 0, 0, torch.device("cpu"))  # noqa: E731
    parts = step.compute_loss(model, model.image_encoder, batch, gen(), data=cfg.data, optim=cfg.optim, precision="fp32",
                              image_size=64)
    with torch.no_grad():
        feats = model.depth_encoder(step.depth_pair_input(batch, cfg.data, gen(), 64).flatten(0, 1)).view(4, 2, -1)
    share = (lambda x: x) if negatives == "per-device" else (lambda x: torch.cat([x, other]))
    expected = pretrain_loss(share(feats[:, 0]), share(feats[:, 1]), share(batch.image_feats), model.balance)
    assert float(parts.total.detach()) == pytest.approx(float(expected.total.detach()), rel=1e-5)


def test_checkpoints_from_before_recipes_resume_only_with_their_own_optimiser() -> None:
    """A run written before recipes used timm's LAMB under the name "lamb": it resumes with
    ``--recipe improved --eta-min 1e-6`` and is refused by the faithful defaults."""
    from clip2point.train.config import resume_differences

    old = {k: v for k, v in TrainConfig.from_flat(shards="s", out="o", recipe="improved", eta_min=1e-6, val_views=6).to_dict().items()
           if k not in ("recipe", "negatives", "val_prompts")}
    old["optimizer"] = "lamb"
    assert resume_differences(old, TrainConfig.from_flat(shards="s", out="o", recipe="improved", eta_min=1e-6)) == []
    diffs = resume_differences(old, TrainConfig.from_flat(shards="s", out="o"))
    assert any(d.startswith("optimizer: checkpoint 'lamb-timm', now 'lamb'") for d in diffs)
