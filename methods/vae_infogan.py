"""VAE-InfoGAN: the unrolled-InfoGAN report's §IV hybrid (Khandait; code:
akhandait/disentangled-representation-learning, `vaeinfogan/train_betainfo.py`,
`models_betainfo.py`): a VAE-GAN (`bench.methods.vae_gan`) whose discriminator also
carries InfoGAN's Q head. Q recovers the last `info_latents` latents (the report's
"variables we maximise information for") from generated images; the other latents are
incompressible noise. The prior is N(0, I) on every latent, and the KL covers them all.

On top of the VAE-GAN phases, with z ~ q(z|x), z_i its info latents, z_p ~ N(0, I):
  "Dec" (decoder and Q head) adds lambda_info * [NLL(z_i | Q(Dec(z))) + NLL(z_p,i | Q(Dec(z_p)))]
  "Enc" adds lambda_info * NLL(z_i | Q(Dec(z))), Q's answer held fixed: it pulls the
        encoder's info latents toward what Q reads back from their reconstruction.
NLL is the Gaussian negative log-likelihood under Q's mean and learned std (its constant
dropped), summed over the info latents, batch mean; lambda_info = 0.1 (the author's).
Q reads D's trunk and trains only its own head, as the author's (D's trunk learns from the
GAN loss alone). With `k` > 0 the decoder's GAN loss sees D after k steps of the
author's first-order look-ahead (default k = 2 and `unroll_rule=lookahead`, as
`train_betainfo.py`; `bench.methods.lookahead`); Q, like the feature loss, uses the current
(restored) D, and L_feat's target f(x) is read from it too (`real_features="after_d"`, as
`train_betainfo.py` reads it after restoring D; VAE-GAN's default follows `train_vaegan.py`).

The KL per latent is logged for the two groups, `kl_info` and `kl_incompressible` (per
image and per latent, the author's `lossesKLLa` / `lossesKLNoi`, the report's Fig. 15).

Optional categorical code (`n_categories` = K > 0; not in the report): c ~ Cat(K) joins
the decoder's input, the encoder infers q(c|x) (see `bench.methods.vae`), Q's categorical
head recovers c (cross-entropy, weight `lambda_disc`) with the same three terms (target:
argmax of the encoder's relaxed sample, c of the prior sample; the encoder's logits pulled
toward Q's argmax), and real images are clustered by argmax q(c|x). Without it,
clustering is k-means on the posterior means.

Departures from the author's code, beyond VAE-GAN's (which apply here too, with the
author's hybrid settings: beta 1, lambda 1e-6, lr Enc/Dec 1e-3, Dis 2e-4):
- Q's loss is added to the decoder's and encoder's phases, and Q's head is trained in the
  decoder's phase with its learning rate (the author's lrQ = lrD = 1e-3), instead of a
  second update of Q, Dec and Enc per step by a separate backward pass.
- Latent 10 with 5 info latents (`latent`, `info_latents`), not 128 with 10; Q's head is
  the suite's InfoGAN head (fc 128 bn lrelu on D's fc 256 features), not fc 1024 on D's
  last conv features; its variance is softplus(.)^2 + 1e-4 (the suite's `InfoHead`), not
  (softplus(.) + 1e-5)^2.
- beta scales the KL (the author's `beta * tuple` only runs at beta = 1).
"""

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
