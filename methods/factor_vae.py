"""FactorVAE (Kim & Mnih, "Disentangling by Factorising", ICML 2018), as disentanglement-lib
builds it (`methods/unsupervised/vae.py`, `FactorVAE`; the study's shared.gin).

The VAE's loss is the ELBO's plus gamma * TC, the total correlation of q(z) estimated by a
discriminator D that tells a batch of sampled codes z from the same codes with every
dimension permuted independently across the batch: TC ~ mean(D_0(z) - D_1(z)), D's two
logits. D (six fc 1000 layers, leaky ReLU 0.2, two logits: dlib's `fc_discriminator`) learns
by maximising 0.5 mean log p_0(z) + 0.5 mean log p_1(perm z), softmax probabilities clipped
to [1e-6, 1 - 1e-6], with its own Adam (lr 1e-4, betas 0.5, 0.9).

The paper reading and every departure in full: docs/ledger.md, section `factor_vae`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench import rng
from bench.config import Beta, NonNegativeFloat, PositiveFloat
from bench.methods.base import Phase
from bench.methods.beta_vae import DLIB_STUDY, BetaVAE, DlibVAEConfig
from bench.methods.gan import fp32
from bench.methods.nets import build
from bench.registry import register_method


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Each column of z (N, D) shuffled across the batch on its own (dlib's `shuffle_codes`);
    the permutations are drawn through `bench.rng`."""
    order = rng.rand_like(z).argsort(dim=0)
    return z.gather(0, order)


@register_method("factor_vae")
class FactorVAE(BetaVAE):
    """VAE + gamma * total correlation from a discriminator on permuted latents (dlib's FactorVAE)."""

    @dataclass
    class Config(DlibVAEConfig):
        gamma: NonNegativeFloat = 40.0  # dlib's study grid: 10, 20, 30, 40, 50, 100
        lr_d: PositiveFloat = 1e-4
        beta1_d: Beta = 0.5
        beta2_d: Beta = 0.9

    presets = {"paper": DLIB_STUDY}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        self.discriminator = build(["fc 1000 lrelu"] * 6 + ["fc 2"], (config.latent,))

    def regularizer(self, kl, post, z):
        logits = fp32(self.discriminator(z))
        tc = (logits[:, 0] - logits[:, 1]).mean()
        return {"regularizer": kl + self.config.gamma * tc, "tc": tc}

    def discriminator_loss(self, x):
        with torch.no_grad():
            z, _ = self.sample_posterior(self.posterior(x))
        probs = F.softmax(fp32(self.discriminator(z)), dim=1).clamp(1e-6, 1 - 1e-6)
        probs_permuted = F.softmax(fp32(self.discriminator(permute_dims(z))), dim=1).clamp(1e-6, 1 - 1e-6)
        return {"loss": -(0.5 * probs[:, 0].log().mean() + 0.5 * probs_permuted[:, 1].log().mean())}

    def phases(self):
        cfg = self.config
        return [Phase("VAE", [self.encoder, self.decoder], self.vae_loss, cfg.lr),
                Phase("D", [self.discriminator], self.discriminator_loss, cfg.lr_d, betas=(cfg.beta1_d, cfg.beta2_d))]
