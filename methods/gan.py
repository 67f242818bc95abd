"""The loss pieces every GAN-based method shares: the discriminator's binary
cross-entropy, and InfoGAN's Q head with the variational mutual-information bound."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.methods.nets import build


def fp32(t: torch.Tensor) -> torch.Tensor:
    """Losses in at least fp32: upcasts bf16 activations under autocast, keeps float64."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def gan_bce(logit: torch.Tensor, target: bool | torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of discriminator logits against all-real (True), all-fake
    (False) or per-sample (a tensor, e.g. noisy labels) targets, in at least fp32."""
    logit = fp32(logit)
    if isinstance(target, bool):
        target = torch.full_like(logit, float(target))
    return F.binary_cross_entropy_with_logits(logit, target)


def gaussian_nll(mean: torch.Tensor, target: torch.Tensor, var: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """`F.gaussian_nll_loss` (mean reduction, constant dropped) without its check that var
    is non-negative: that check reads a GPU value on the host, which a CUDA graph cannot
    hold. Same operations otherwise, so the same numbers."""
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    return (0.5 * (torch.log(var) + (mean - target) ** 2 / var)).mean()


class InfoHead(nn.Sequential):
    """Q: the layers of `spec` on top of shared features, then one output per categorical
    logit and per continuous code (its mean, and with `learn_std` its std). It recovers the
    codes a generator was given; `losses` is the negative variational MI bound."""

    def __init__(self, spec: list[str], features: int, n_categories: int, n_continuous: int,
                 learn_std: bool = False, sum_continuous: bool = False):
        outputs = n_categories + n_continuous * (2 if learn_std else 1)
        super().__init__(*build([*spec, f"fc {outputs}"], (features,)))
        self.n_categories, self.n_continuous, self.learn_std = n_categories, n_continuous, learn_std
        self.sum_continuous = sum_continuous

    def codes(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(categorical logits, continuous means, continuous variances)."""
        out, k, c = self(features), self.n_categories, self.n_continuous
        logits, mean = out[:, :k], out[:, k : k + c]
        if self.learn_std:
            var = F.softplus(out[:, k + c :]).square() + 1e-4
        else:  # fixed unit std: the NLL is half the squared error
            var = torch.ones_like(mean)
        return logits, mean, var

    def losses(self, features: torch.Tensor, codes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """CE on the categorical code, Gaussian NLL on the continuous ones (constant
        dropped; averaged over the batch and over the codes, or summed over the codes with
        `sum_continuous`), in at least fp32."""
        logits, mean, var = self.codes(features)
        out = {"q_disc": F.cross_entropy(fp32(logits), codes["categorical"])}
        if mean.shape[1]:  # with no continuous codes the NLL would be a mean over nothing (NaN)
            nll = gaussian_nll(fp32(mean), codes["continuous"], fp32(var))
            out["q_cont"] = nll * mean.shape[1] if self.sum_continuous else nll
        return out

    @staticmethod
    def weighted(losses: dict[str, torch.Tensor], disc: float, cont: float) -> torch.Tensor:
        """disc x q_disc + cont x q_cont (when there are continuous codes)."""
        total = disc * losses["q_disc"]
        if "q_cont" in losses:
            total = total + cont * losses["q_cont"]
        return total
