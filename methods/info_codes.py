"""InfoGAN-style latent codes and the variational mutual-information loss on them.

Shared by every method whose generator takes (noise, Cat(K), continuous codes) and
whose Q network recovers the codes: InfoGAN, LatentGAN-AE, unrolled InfoGAN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods import random_draws


def fp32(t: torch.Tensor) -> torch.Tensor:
    """Losses in at least fp32: upcasts bf16 activations under autocast, keeps float64."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def bce(logit: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of discriminator logits against all-real or all-fake targets."""
    logit = fp32(logit)
    return F.binary_cross_entropy_with_logits(logit, torch.full_like(logit, float(real)))


def sample_codes(n: int, noise_dim: int, n_categories: int, n_continuous: int, device,
                 noise: str = "uniform", generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """noise ~ U(-1, 1) or N(0, I); categorical ~ Cat(K); continuous ~ U(-1, 1)."""

    def uniform(*shape):
        return random_draws.rand(*shape, generator=generator, device=device) * 2 - 1

    if noise == "uniform":
        z = uniform(n, noise_dim)
    elif noise == "normal":
        z = random_draws.randn(n, noise_dim, generator=generator, device=device)
    else:
        raise ValueError(f"noise must be 'uniform' or 'normal', got {noise!r}")
    return {
        "noise": z,
        "categorical": random_draws.randint(n_categories, (n,), generator=generator, device=device),
        "continuous": uniform(n, n_continuous),
    }


def one_hot(index: torch.Tensor, n_categories: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot rows, like `F.one_hot(index, n).to(dtype)` but without its range check, which
    reads a GPU value on the host (a CUDA graph cannot hold that)."""
    out = torch.zeros(index.shape[0], n_categories, dtype=dtype, device=index.device)
    return out.scatter(1, index[:, None], 1.0)  # out of place: seed-batched steps vmap this


def generator_input(codes: dict[str, torch.Tensor], n_categories: int) -> torch.Tensor:
    """[noise, one-hot(categorical), continuous], the generator's input vector."""
    onehot = one_hot(codes["categorical"], n_categories, codes["noise"].dtype)
    return torch.cat([codes["noise"], onehot, codes["continuous"]], dim=1)


def split_q(out: torch.Tensor, n_categories: int, n_continuous: int, learn_std: bool):
    """Q's raw output -> (categorical logits, continuous means, continuous variances)."""
    logits, mean = out[:, :n_categories], out[:, n_categories : n_categories + n_continuous]
    if learn_std:
        var = F.softplus(out[:, n_categories + n_continuous :]).square() + 1e-4
    else:  # fixed unit std: the NLL is half the squared error
        var = torch.ones_like(mean)
    return logits, mean, var


def q_outputs(n_categories: int, n_continuous: int, learn_std: bool) -> int:
    return n_categories + n_continuous * (2 if learn_std else 1)


def gaussian_nll(mean: torch.Tensor, target: torch.Tensor, var: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """`F.gaussian_nll_loss` (mean reduction, constant dropped) without its check that var
    is non-negative: that check reads a GPU value on the host, which a CUDA graph cannot
    hold. Same operations otherwise, so the same numbers."""
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    return (0.5 * (torch.log(var) + (mean - target) ** 2 / var)).mean()


def info_losses(logits, mean, var, codes) -> dict[str, torch.Tensor]:
    """Negative variational MI bound terms: CE on the categorical code, Gaussian NLL on
    the continuous ones (constant dropped). Computed in fp32 under autocast."""
    losses = {"q_disc": F.cross_entropy(fp32(logits), codes["categorical"])}
    if mean.shape[1]:  # with no continuous codes the NLL would be a mean over nothing (NaN)
        losses["q_cont"] = gaussian_nll(fp32(mean), codes["continuous"], fp32(var))
    return losses
