"""Run metrics: ``RUN/metrics.jsonl`` + TensorBoard while training, a learning-curve PNG at the end."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class MetricsLog:
    """Appends one JSON record per line (flushed, so a killed run keeps what it logged) and
    mirrors scalars to TensorBoard when it is installed."""

    def __init__(self, run_dir: Path, *, resume_step: int | None = None) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step is not None:
            self._truncate_after(resume_step)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._tb = _summary_writer(run_dir / "tensorboard")

    def _truncate_after(self, step: int) -> None:
        """Drop records a killed run wrote past the checkpoint we resume from: they are redone."""
        if not self.path.is_file():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def write(self, kind: str, step: int, values: dict[str, Any]) -> None:
        self._fh.write(json.dumps({"kind": kind, "step": step, **values}, sort_keys=True) + "\n")
        self._fh.flush()
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def _summary_writer(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed: metrics go to metrics.jsonl only (pip install tensorboard)")
        return None
    return SummaryWriter(str(folder))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_curves(metrics_path: Path, png_path: Path) -> Path:
    """Training loss terms, w and learning rate by step; validation metrics by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(metrics_path)
    train = [r for r in records if r["kind"] == "train"]
    val = [r for r in records if r["kind"] == "val"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    steps = [r["step"] for r in train]
    for key in ("loss", "cross", "intra"):
        axes[0].plot(steps, [r[key] for r in train], label=key)
    axes[0].set(title="training loss", xlabel="step")
    axes[0].legend()
    axes[1].plot(steps, [r["w"] for r in train], label="balance w")
    axes[1].plot(steps, [r["lr"] / max(r["lr"] for r in train) for r in train], label="lr / max lr", alpha=0.7)
    axes[1].set(title="balance weight and schedule", xlabel="step")
    axes[1].legend()
    metric_keys = sorted({k for r in val for k in r if k.endswith("top1")})
    for key in metric_keys:
        pts = [(r["step"], r[key]) for r in val if key in r]
        axes[2].plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
    axes[2].set(title="validation (top-1)", xlabel="step", ylim=(0, 1))
    if metric_keys:
        axes[2].legend()
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
