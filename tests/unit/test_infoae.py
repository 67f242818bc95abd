"""InfoAE's reconstruction term L_R under its three readings, known answers: the L2 norm of
each image's error (the default), its square summed over the pixels, the per-pixel mean."""

import pytest
import torch

from bench.methods.infoae import reconstruction_error

DIFF = torch.tensor([[[3.0, 4.0]], [[0.0, 0.0]]])  # two 1x2 "images": errors (3, 4) and (0, 0)


@pytest.mark.parametrize("loss, reduction, expected", [
    ("mse", "norm", (5 + 0) / 2), ("mse", "sum", (25 + 0) / 2), ("mse", "mean", (12.5 + 0) / 2),
    ("l1", "norm", (7 + 0) / 2), ("l1", "sum", (7 + 0) / 2), ("l1", "mean", (3.5 + 0) / 2),
])
def test_reconstruction_error_of_each_reading(loss, reduction, expected):
    assert reconstruction_error(DIFF, loss, reduction).item() == pytest.approx(expected)


def test_the_norm_has_a_finite_gradient_at_a_perfect_reconstruction():
    diff = DIFF.clone().requires_grad_()
    reconstruction_error(diff, "mse", "norm").backward()
    assert torch.isfinite(diff.grad).all() and torch.equal(diff.grad[1], torch.zeros(1, 2))
    assert torch.allclose(diff.grad[0], torch.tensor([[0.3, 0.4]]))  # (3, 4) / 5, halved by the batch mean
