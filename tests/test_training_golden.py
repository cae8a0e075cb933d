"""Pre-training pieces against the reference programs' own outputs (``golden/README.md``, file
``clip2point_training_golden.npz``): pc_norm (a), torch_optimizer LAMB as pretraining.py builds it,
alone and with its scheduler (c), the learning-rate sequence (d), NT-Xent and the total loss (e)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from clip2point.datasets.sampling import normalize_unit_sphere
from clip2point.train import step
from clip2point.train.config import TrainConfig
from clip2point.train.losses import nt_xent, pretrain_loss
from clip2point.train.schedule import build_optimizer, build_scheduler

PARAMS = ("W64x64", "v512", "w_scalar")


@pytest.fixture(scope="module")
def golden(shared_data: Path) -> dict[str, np.ndarray]:
    with np.load(shared_data / "golden" / "clip2point_training_golden.npz") as data:
        return {k: data[k] for k in data.files}


def test_pc_norm_is_the_reference_pc_norm_and_pc_normalize(golden: dict[str, np.ndarray]) -> None:
    """One function (numpy and torch) serves both reference normalisations, atol 1e-5."""
    for points in (golden["pc_norm_in"], torch.from_numpy(golden["pc_norm_in"])):
        out = np.asarray(normalize_unit_sphere(points))
        np.testing.assert_allclose(out, golden["pc_norm_out"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(out, golden["pc_normalize_out"], atol=1e-5, rtol=0)


def test_training_clouds_are_normalised_after_subsampling(golden: dict[str, np.ndarray]) -> None:
    """Item 7: the depth pair of a cloud scaled ×25 and moved is the depth pair of the cloud itself
    (before the fix the raw subset was projected: a radius-25 cloud fills or leaves the view)."""
    cfg = TrainConfig.from_flat(shards="s", out="o", num_points=512)
    points = torch.from_numpy(golden["pc_norm_in"][:3])
    moved = points * 25 + torch.tensor([3.0, -7.0, 11.0])

    def pair(clouds: torch.Tensor) -> torch.Tensor:
        batch = step.Batch(points=clouds, elev=torch.tensor([0.0, 90.0, 225.0]), azim=torch.tensor([0.0, 0.0, 45.0]),
                           dist=torch.ones(3))
        return step.depth_pair_input(batch, cfg.data, step.step_generator(0, 3, 0, 0, torch.device("cpu")), 64)

    a, b = pair(points), pair(moved)
    assert (a != a.flatten()[0]).any()  # not an empty picture
    # equal up to float rounding: a point on a disc's edge can tip a pixel (24 of 73,728 here)
    assert (a - b).abs().gt(1e-3).float().mean() < 1e-3


class ThreeParams(nn.Module):
    """The golden's three tensors; the scalar is named like the model's balance weight w."""

    def __init__(self, golden: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.from_numpy(golden["lamb_W64x64_init"]).clone())
        self.v = nn.Parameter(torch.from_numpy(golden["lamb_v512_init"]).clone())
        self.balance = nn.Parameter(torch.from_numpy(golden["lamb_w_scalar_init"]).clone())

    def tensors(self) -> tuple[nn.Parameter, ...]:
        return self.W, self.v, self.balance


@pytest.mark.parametrize("scheduled", [False, True])
def test_lamb_steps_equal_torch_optimizer_lamb_of_the_reference(golden: dict[str, np.ndarray], scheduled: bool) -> None:
    """Item 6: the default optimiser is the reference's (no bias correction, norm clamp 10, no
    clipping, w decayed too); with the scheduler at 2 iterations per epoch (T_0 = 4)."""
    config = json.loads(str(golden["lamb_config_json"]))
    cfg = TrainConfig.from_flat(shards="s", out="o")
    assert (cfg.optim.optimizer, cfg.optim.lr, cfg.optim.weight_decay) == ("lamb", config["lr"], config["weight_decay"])
    model = ThreeParams(golden)
    opt = build_optimizer(model, cfg.optim)
    sched = build_scheduler(opt, cfg.optim, int(golden["lamb_sched_iters_per_epoch"])) if scheduled else None
    prefix = "lamb_sched_" if scheduled else "lamb_"
    lrs = []
    for k in range(5):
        for p, name in zip(model.tensors(), PARAMS):
            p.grad = torch.tensor(golden[f"lamb_{name}_grads"][k])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        for p, name in zip(model.tensors(), PARAMS):
            np.testing.assert_allclose(p.detach().numpy(), golden[f"{prefix}{name}_after_step"][k], atol=1e-6, rtol=0,
                                       err_msg=f"{name} after step {k}")
        if not scheduled:
            ratios = [float(opt.state[p]["trust_ratio"]) for p in model.tensors()]
            np.testing.assert_allclose(ratios, golden["lamb_trust_ratio"][k], rtol=1e-5)
    np.testing.assert_allclose(lrs, golden[f"{prefix}lr_per_step"], rtol=1e-12)


def test_learning_rate_sequence_is_the_references(golden: dict[str, np.ndarray]) -> None:
    """Item 5: our scheduler construction, T_0 = 2 epochs, floor 1e-5, stepped after each step."""
    cfg = TrainConfig.from_flat(shards="s", out="o")
    assert cfg.optim.eta_min == float(golden["sched_eta_min"]) and cfg.optim.lr == float(golden["sched_base_lr"])
    opt = build_optimizer(ThreeParams(golden), cfg.optim)
    sched = build_scheduler(opt, cfg.optim, int(golden["sched_iters_per_epoch"]))
    assert sched.T_0 == int(golden["sched_T_0"]) and sched.T_mult == int(golden["sched_T_mult"])
    lrs = []
    for _ in range(len(golden["sched_lr"])):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradients: nothing moves, the schedule still advances
        sched.step()
    np.testing.assert_allclose(lrs, golden["sched_lr"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", [0, 1, 2])
def test_nt_xent_and_total_loss_equal_lightly_and_clip2point_forward(golden: dict[str, np.ndarray], case: int) -> None:
    """(e): lightly's NTXentLoss (τ 0.07) and CLIP2Point.forward's loss, terms and gradients."""
    g = {k.removeprefix(f"total_case{case}_"): torch.from_numpy(v) for k, v in golden.items()
         if k.startswith(f"total_case{case}_")}
    temperature = float(golden["ntxent_temperature"])
    a, b = (torch.from_numpy(golden[f"ntxent_case{case}_out{i}"]) for i in (0, 1))
    assert float(nt_xent(a, b, temperature)) == pytest.approx(float(golden[f"ntxent_case{case}_loss"]), abs=1e-5)
    d1, d2 = g["f_depth1"].clone().requires_grad_(True), g["f_depth2"].clone().requires_grad_(True)
    w = g["w"].clone().requires_grad_(True)
    parts = pretrain_loss(d1, d2, g["f_image"], w, temperature)
    parts.total.backward()
    for got, key in ((parts.total, "loss"), (parts.cross, "image_loss"), (parts.intra, "depth_loss")):
        assert float(got.detach()) == pytest.approx(float(g[key]), abs=1e-5), key
    assert float(w.grad) == pytest.approx(float(g["grad_w"]), abs=1e-5)
    torch.testing.assert_close(d1.grad, g["grad_f_depth1"], atol=1e-7, rtol=0)
    torch.testing.assert_close(d2.grad, g["grad_f_depth2"], atol=1e-7, rtol=0)
