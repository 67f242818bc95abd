"""β-TCVAE (Chen et al., "Isolating Sources of Disentanglement in Variational Autoencoders",
NeurIPS 2018), as disentanglement-lib builds it (`methods/unsupervised/vae.py`, `BetaTCVAE`).

Their Eq. 4 with alpha = gamma = 1: loss = reconstruction + KL + (beta - 1) * TC, the total
correlation of q(z) estimated on the batch by minibatch-weighted sampling as dlib writes it:
log q(z_j) ~ logsumexp_i log q(z_j | x_i) and log prod_l q(z_jl) ~ sum_l logsumexp_i
log q(z_jl | x_i), TC = mean_j of their difference. dlib drops the estimator's constants
(log of batch size x data set size, once per latent and once overall), which shift the TC
by a constant and change no gradient; so does the suite, so its logged `tc` is dlib's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from bench.config import NonNegativeFloat
from bench.methods.beta_vae import DLIB_STUDY, BetaVAE, DlibVAEConfig
from bench.methods.gan import fp32
from bench.registry import register_method


def gaussian_log_density(samples: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(samples; mean, exp(log_var)), elementwise (broadcasting)."""
    return -0.5 * ((samples - mean).square() * torch.exp(-log_var) + log_var + math.log(2 * math.pi))


def total_correlation(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """dlib's minibatch estimate of TC(q(z)) from sampled z, means and log-variances (N, D)."""
    log_q = gaussian_log_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])  # (j, i, l)
    log_q_product = torch.logsumexp(log_q, dim=1).sum(dim=1)
    log_q_joint = torch.logsumexp(log_q.sum(dim=2), dim=1)
    return (log_q_joint - log_q_product).mean()


@register_method("beta_tcvae")
class BetaTCVAE(BetaVAE):
    """VAE + (beta - 1) * total correlation by minibatch-weighted sampling (dlib's BetaTCVAE)."""

    @dataclass
    class Config(DlibVAEConfig):
        beta: NonNegativeFloat = 6.0  # dlib's study grid: 1, 2, 4, 6, 8, 10

    presets = {"paper": DLIB_STUDY}

    def regularizer(self, kl, post, z):
        tc = total_correlation(fp32(z), fp32(post.mean), fp32(post.log_variance()))
        return {"regularizer": kl + (self.config.beta - 1) * tc, "tc": tc}
