"""β-VAE (Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR 2017), as the unrolled-InfoGAN report's §IV builds it
(akhandait/disentangled-representation-learning, `vaeinfogan/train.py`), and the base of
disentanglement-lib's VAE family (`factor_vae`, `beta_tcvae`, `dip_vae_i`, `dip_vae_ii`,
`annealed_vae`), each a subclass that overrides `regularizer` (dlib's `BaseVAE` shape:
loss = reconstruction + regularizer(KL, posterior, z)).

The paper reading and every departure in full: docs/ledger.md, section `beta_vae`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from bench.config import Beta, NonNegativeFloat, PositiveFloat, PositiveInt
from bench.methods.base import Phase
from bench.methods.gan import fp32
from bench.methods.vae import Posterior, VariationalMethod
from bench.registry import register_method

# disentanglement-lib's study (Locatello et al. 2019, unsupervised_study_v1/shared.gin):
# batch 64, 300,000 steps, for every model of the family
DLIB_STUDY = {"steps": 300_000, "batch_size": 64}


@dataclass
class VAEConfig:
    """What every model of the family has: dlib's shared.gin where it applies."""

    latent: PositiveInt = 10
    n_clusters: PositiveInt = 10
    lr: PositiveFloat = 1e-4
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    # squared_error: the author's; bernoulli: dlib's sigmoid cross-entropy on logits
    reconstruction: Literal["squared_error", "bernoulli"] = "squared_error"
    # softplus: the author's std = softplus(.) + 1e-5; log_var: dlib's encoder outputs log std^2
    posterior: Literal["softplus", "log_var"] = "softplus"


@dataclass
class DlibVAEConfig(VAEConfig):
    """The defaults of disentanglement-lib's models: Bernoulli decoder, log-variance posterior."""

    reconstruction: Literal["squared_error", "bernoulli"] = "bernoulli"
    posterior: Literal["softplus", "log_var"] = "log_var"


@register_method("beta_vae")
class BetaVAE(VariationalMethod):
    """Gaussian VAE with beta-weighted KL; clusters by k-means on the posterior means."""

    @dataclass
    class Config(VAEConfig):
        beta: NonNegativeFloat = 4.0

    # paper: the author's 20 epochs at batch 64, counted on our 60,000 training images
    # (20 x 60000 / 64; on CelebA's 202,599 images they were 63,320 steps). smoke: 500 steps
    # take about 20 s on one core of the 2-core CI CPU, evaluation included
    presets = {"paper": {"steps": 20 * 60000 // 64, "batch_size": 64}}

    def __init__(self, config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape, config.latent, n_info=config.latent,
                         log_var=config.posterior == "log_var",
                         logits_decoder=config.reconstruction == "bernoulli")

    def reconstruction_loss(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) up to constants, summed over pixels, averaged over the batch."""
        if self.logits_decoder:  # dlib's bernoulli_loss(activation="logits"): pixels in [0, 1]
            logits = fp32(self.decode_logits(z))
            target = (x.to(logits.dtype) + 1) / 2
            return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(dim=1).mean()
        recon = fp32(self.decode(z))
        return (recon - x).square().flatten(1).sum(dim=1).mean()

    def regularizer(self, kl: torch.Tensor, post: Posterior, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"regularizer": what joins the reconstruction term, ...terms to log}; dlib's
        `regularizer(kl_loss, z_mean, z_logvar, z_sampled)`."""
        return {"regularizer": self.config.beta * kl}

    def vae_loss(self, x):
        post = self.posterior(x)
        z, _ = self.sample_posterior(post)
        recon = self.reconstruction_loss(x, z)
        kl = self.kl_terms(post)["kl"]
        terms = self.regularizer(kl, post, z)
        return {"loss": recon + terms.pop("regularizer"), "recon": recon, "kl": kl, **terms}

    def phases(self):
        return [Phase("VAE", [self.encoder, self.decoder], self.vae_loss, self.config.lr)]
