"""DIP-VAE-I and DIP-VAE-II (Kumar et al., "Variational Inference of Disentangled Latent
Concepts from Unlabeled Observations", ICLR 2018), as disentanglement-lib builds them
(`methods/unsupervised/vae.py`, `DIPVAE`; the study registers them as two models).

loss = reconstruction + KL + lambda_od * sum of the squared off-diagonal entries of a
covariance + lambda_d * sum of (its diagonal - 1)^2, with lambda_d = lambda_d_factor *
lambda_od. DIP-VAE-I (their Eq. 6) takes the batch covariance of the posterior means;
DIP-VAE-II (Eq. 7) adds the mean of the posterior covariances, diag(exp(log_var)).
The batch covariance is dlib's: E[mu mu^T] - E[mu] E[mu]^T (divided by N, not N - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import NonNegativeFloat
from bench.methods.beta_vae import DLIB_STUDY, BetaVAE, DlibVAEConfig
from bench.methods.gan import fp32
from bench.registry import register_method


def covariance(mean: torch.Tensor) -> torch.Tensor:
    """The batch covariance of mean (N, D), (D, D), normalised by N."""
    centred = mean - mean.mean(dim=0)
    return centred.T @ centred / len(mean)


def dip_regularizer(cov: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    """lambda_od * sum of squared off-diagonal entries + lambda_d * sum (diagonal - 1)^2."""
    diagonal = torch.diagonal(cov)
    off_diagonal = cov - torch.diag_embed(diagonal)
    return lambda_od * off_diagonal.square().sum() + lambda_d * (diagonal - 1).square().sum()


class DIPVAE(BetaVAE):
    """VAE + a penalty pushing a covariance of the codes towards the identity."""

    dip_type = "i"

    presets = {"paper": DLIB_STUDY}

    def regularizer(self, kl, post, z):
        cfg = self.config
        cov = covariance(fp32(post.mean))
        if self.dip_type == "ii":
            cov = cov + torch.diag_embed(fp32(post.log_variance()).exp().mean(dim=0))
        dip = dip_regularizer(cov, cfg.lambda_od, cfg.lambda_d_factor * cfg.lambda_od)
        return {"regularizer": kl + dip, "dip": dip}


@register_method("dip_vae_i")
class DIPVAEI(DIPVAE):
    """DIP-VAE-I: the covariance of the posterior means towards the identity (dlib's DIPVAE, type i)."""

    @dataclass
    class Config(DlibVAEConfig):
        lambda_od: NonNegativeFloat = 10.0  # dlib's study grid: 1, 2, 5, 10, 20, 50
        lambda_d_factor: NonNegativeFloat = 10.0  # the study's, fixed


@register_method("dip_vae_ii")
class DIPVAEII(DIPVAE):
    """DIP-VAE-II: the covariance of the aggregate posterior towards the identity (dlib's DIPVAE, type ii)."""

    dip_type = "ii"

    @dataclass
    class Config(DlibVAEConfig):
        lambda_od: NonNegativeFloat = 10.0  # dlib's study grid: 1, 2, 5, 10, 20, 50
        lambda_d_factor: NonNegativeFloat = 1.0  # the study's, fixed
