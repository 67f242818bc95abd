"""VAE-InfoGAN: the unrolled-InfoGAN report's §IV hybrid (Khandait; code:
akhandait/disentangled-representation-learning, `vaeinfogan/train_betainfo.py`,
`models_betainfo.py`): a VAE-GAN (`bench.methods.vae_gan`) whose discriminator also
carries InfoGAN's Q head. Q recovers the last `info_latents` latents (the report's
"variables we maximise information for") from generated images; the other latents are
incompressible noise. The prior is N(0, I) on every latent, and the KL covers them all.

The paper reading and every departure in full: docs/ledger.md, section `vae_infogan`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from bench.config import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from bench.errors import BenchError
from bench.methods.base import Phase
from bench.methods.gan import InfoHead, fp32, gaussian_nll
from bench.methods.vae import gaussian_kl
from bench.methods.vae_gan import D_PARTS, VAEGAN
from bench.registry import register_method


@register_method("vae_infogan")
class VAEInfoGAN(VAEGAN):
    """VAE-GAN + a Q head recovering the info latents (and an optional categorical code)."""

    @dataclass
    class Config(VAEGAN.Config):
        info_latents: NonNegativeInt = 5  # the last latents, which Q recovers
        n_categories: NonNegativeInt = 0  # K of an optional categorical code (0: none)
        lambda_info: NonNegativeFloat = 0.1  # Q's Gaussian NLL on the info latents
        lambda_disc: NonNegativeFloat = 1.0  # Q's cross-entropy on the categorical code
        temperature: PositiveFloat = 0.67  # of the relaxed categorical sample (JointVAE's)
        beta: NonNegativeFloat = 1.0
        k: NonNegativeInt = 2
        real_features: Literal["before_d", "after_d"] = "after_d"  # train_betainfo.py: from the restored D
        lr_enc: PositiveFloat = 1e-3
        lr_dec: PositiveFloat = 1e-3
        lr_dis: PositiveFloat = 2e-4
        unroll_lr: PositiveFloat = 2e-4

    # paper: VAE-GAN's (the author's 20 epochs at batch 64, on our 60,000 images). smoke: each
    # look-ahead step is one more D step on a fresh batch, so 100 steps with a one-step look-ahead
    presets = {**VAEGAN.presets, "smoke": {"steps": 100, "k": 1}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        if config.info_latents == 0 and config.n_categories == 0:
            raise BenchError("vae_infogan needs info_latents > 0 or n_categories > 0: Q has nothing to recover")
        super().__init__(config, image_shape)
        self.temperature = config.temperature
        self.q_head = InfoHead(["fc 128 bn lrelu"], self.d_rest.out_shape[0], config.n_categories,
                               config.info_latents, learn_std=True)

    @staticmethod
    def code_split(config) -> dict:
        return {"n_info": config.info_latents, "n_categories": config.n_categories}

    def latent_groups(self):
        split = self.latent - self.n_info
        groups = {"incompressible": list(range(split)), "info": list(range(split, self.latent))}
        return {name: idx for name, idx in groups.items() if idx}

    # -- Q ------------------------------------------------------------------------------------
    def q_losses(self, trunk: torch.Tensor, z_info: torch.Tensor, index: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Q's NLL of the info latents `z_info` and cross-entropy of the categories `index`
        (when there is a categorical code), from D's trunk features of generated images."""
        logits, mean, var = (fp32(t) for t in self.q_head.codes(trunk))
        out = {}
        if self.n_info:  # gaussian_nll averages over the info latents too: x n_info sums them
            out["nll"] = gaussian_nll(mean, z_info, var) * self.n_info
        if self.n_categories:
            out["ce"] = F.cross_entropy(logits, index)
        return out

    def _weighted(self, q: dict[str, torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        return cfg.lambda_info * q.get("nll", 0.0) + cfg.lambda_disc * q.get("ce", 0.0)

    def dec_loss(self, x):
        out, made = self.dec_terms(x)
        split = self.latent - self.n_info
        recon_index = made["c"].argmax(dim=1) if made["c"] is not None else None
        q_recon = self.q_losses(made["t_recon"], made["z"][:, split:], recon_index)
        q_prior = self.q_losses(made["t_prior"], made["z_p"][:, split:], made["index_p"])
        q = self._weighted(q_recon) + self._weighted(q_prior)
        named = {f"q_{k}_{which}": v for which, terms in (("recon", q_recon), ("prior", q_prior))
                 for k, v in terms.items()}
        return {**out, "loss": out["loss"] + q, **named}

    def enc_loss(self, x):
        out, made = self.enc_terms(x)
        post, split = made["post"], self.latent - self.n_info
        with torch.no_grad():  # Q's reading of the reconstruction is the encoder's target
            logits, mean, var = (fp32(t) for t in self.q_head.codes(self.d_rest(made["f_recon"])))
        q_enc = {}
        if self.n_info:
            q_enc["nll"] = gaussian_nll(mean, made["z"][:, split:], var) * self.n_info
        if self.n_categories:  # the encoder's q(c|x) pulled toward Q's category
            q_enc["ce"] = F.cross_entropy(fp32(post.logits), logits.argmax(dim=1))
        kl = gaussian_kl(fp32(post.mean), fp32(post.std)).detach()
        # slices, not index lists: no host-to-device copy inside a captured step
        groups = {"kl_incompressible": kl[:, :split], "kl_info": kl[:, split:]}
        groups = {name: part.mean() for name, part in groups.items() if part.shape[1]}
        named = {f"q_{k}_enc": v for k, v in q_enc.items()}
        return {**out, "loss": out["loss"] + self._weighted(q_enc), **named, **groups}

    def phases(self):
        cfg = self.config
        return [
            Phase("Dis", [getattr(self, part) for part in D_PARTS], self.dis_loss, cfg.lr_dis),
            Phase("Dec", [self.decoder, self.q_head], self.dec_loss, cfg.lr_dec),
            Phase("Enc", [self.encoder], self.enc_loss, cfg.lr_enc),
        ]
