"""Each SPEC §5 loss against a straightforward loop over the explicit 2N×2N matrix."""

from __future__ import annotations

import math

import pytest
import torch

from clip2point.train.losses import balance_loss, nt_xent, pretrain_loss

TAU = 0.07


def reference_nt_xent(a: torch.Tensor, b: torch.Tensor, tau: float) -> float:
    """SimCLR, written out: z = [a; b] normalised, row i's positive is its partner, the
    denominator runs over every other row; mean over the 2N rows (float64, plain loops)."""
    z = [v / math.sqrt(sum(float(x) ** 2 for x in v)) for v in torch.cat([a, b]).double()]
    n2 = len(z)
    n = n2 // 2
    sim = [[float(torch.dot(z[i], z[j])) / tau for j in range(n2)] for i in range(n2)]
    total = 0.0
    for i in range(n2):
        positive = (i + n) % n2
        denom = sum(math.exp(sim[i][k]) for k in range(n2) if k != i)
        total += -math.log(math.exp(sim[i][positive]) / denom)
    return total / n2


@pytest.mark.parametrize("n,d,seed", [(1, 4, 0), (4, 8, 1), (9, 16, 2)])
def test_nt_xent_matches_the_explicit_matrix(n: int, d: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)
    assert nt_xent(a, b, TAU).item() == pytest.approx(reference_nt_xent(a, b, TAU), rel=1e-5)


def test_nt_xent_is_symmetric_scale_free_and_small_for_aligned_pairs() -> None:
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    torch.testing.assert_close(nt_xent(a, b), nt_xent(b, a))
    torch.testing.assert_close(nt_xent(3.0 * a, 0.5 * b), nt_xent(a, b))
    one_hot = torch.eye(6, 8)
    # identical orthogonal pairs: the positive has logit 1/τ, each of the 10 negatives 0
    expected = -math.log(math.exp(1 / 0.5) / (math.exp(1 / 0.5) + 10))
    assert nt_xent(one_hot, one_hot, 0.5).item() == pytest.approx(expected, rel=1e-5)


def test_nt_xent_rejects_mismatched_batches() -> None:
    with pytest.raises(ValueError, match=r"two \[N,D\] feature batches of one shape"):
        nt_xent(torch.zeros(3, 4), torch.zeros(2, 4))


def test_balance_loss_formula_and_gradient_of_w() -> None:
    cross, intra = torch.tensor(2.5), torch.tensor(1.7)
    w = torch.tensor(1.3, requires_grad=True)
    loss = balance_loss(cross, intra, w)
    assert loss.item() == pytest.approx(2.5 + 1.7 / 1.3**2 + math.log(2.3), rel=1e-6)
    loss.backward()
    # d/dw [intra / w² + log(w + 1)] = −2·intra / w³ + 1 / (w + 1)
    assert w.grad.item() == pytest.approx(-2 * 1.7 / 1.3**3 + 1 / 2.3, rel=1e-5)


def test_pretrain_loss_combines_the_reference_terms() -> None:
    gen = torch.Generator().manual_seed(4)
    d1, d2, img = (torch.randn(5, 8, generator=gen) for _ in range(3))
    w = torch.tensor(0.8)
    parts = pretrain_loss(d1, d2, img, w, TAU)
    cross = reference_nt_xent((d1 + d2) / 2, img, TAU)
    intra = reference_nt_xent(d1, d2, TAU)
    assert parts.cross.item() == pytest.approx(cross, rel=1e-5)
    assert parts.intra.item() == pytest.approx(intra, rel=1e-5)
    assert parts.total.item() == pytest.approx(cross + intra / 0.64 + math.log(1.8), rel=1e-5)
    assert parts.w.item() == pytest.approx(0.8)
