"""Adversarial Autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial
Autoencoders", 2015, arXiv:1511.05644), unsupervised clustering (Sec. 6).

The paper reading and every departure in full: docs/ledger.md, section `aae`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from bench import rng
from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Probability
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import fp32, gan_bce
from bench.methods.nets import build
from bench.registry import register_method


@register_method("aae")
class AAE(Method):
    """Autoencoder whose codes are matched to Cat(K) x N(0, I) adversarially; clusters by argmax y."""

    generates = True
    reconstructs = True
    soft_clusters = True
    labels_by_held_out = True  # the AAE paper's labelling, from a validation set
    protocol_keys = ("n_categories",)

    @dataclass
    class Config:
        n_categories: PositiveInt = 16
        style_dim: PositiveInt = 10
        hidden: PositiveInt = 1000  # encoder / decoder width (the paper: 3000)
        d_hidden: PositiveInt = 1000  # discriminator width (the paper: 3000)
        lr_ae: PositiveFloat = 1e-3
        lr_d: PositiveFloat = 2e-4
        lr_g: PositiveFloat = 2e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.999
        d_input_noise: NonNegativeFloat = 0.3  # std of Gaussian noise added to every discriminator input
        optimizer: Literal["adam", "sgd"] = "adam"  # sgd: the paper's, with `momentum`
        momentum: Probability = 0.9  # SGD's
        lr_decay_step: NonNegativeInt = 0  # from this step on every rate is divided by 10 (0: never)

    presets = {
        "smoke": {"steps": 300},
        # 100 epochs of 60,000 images at batch 100, with the paper's 3000-unit layers
        "paper": {"steps": 100 * 60000 // 100, "batch_size": 100, "hidden": 3000, "d_hidden": 3000},
    }

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        cfg = config
        # SGD and a rate that changes mid-run step eagerly on a GPU (Adam steps are graphed)
        self.cuda_graphs = cfg.optimizer == "adam" and not cfg.lr_decay_step
        c, h, w = self.image_shape
        k, s = cfg.n_categories, cfg.style_dim
        self.code_spec = CodeSpec(categorical=k, continuous=0, noise=s)
        self.encoder = build(["flatten", f"fc {cfg.hidden} relu", f"fc {cfg.hidden} relu"], (c, h, w))
        self.cat_head = nn.Linear(cfg.hidden, k)
        self.style_head = nn.Linear(cfg.hidden, s)
        self.decoder = build(
            [f"fc {cfg.hidden} relu", f"fc {cfg.hidden} relu", f"fc {c * h * w} tanh",
             f"reshape {c} {h} {w}"],
            (k + s,),
        )
        self.d_cat = build([f"fc {cfg.d_hidden} relu", f"fc {cfg.d_hidden} relu", "fc 1"], (k,))
        self.d_gauss = build([f"fc {cfg.d_hidden} relu", f"fc {cfg.d_hidden} relu", "fc 1"], (s,))

    # -- encoder / decoder ---------------------------------------------------------------
    def encode(self, x) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(category logits, category probabilities y, style z)."""
        hidden = self.encoder(x)
        logits = self.cat_head(hidden)
        return logits, fp32(logits).softmax(dim=1).to(logits.dtype), self.style_head(hidden)

    def decode(self, y, z):
        return self.decoder(torch.cat([y, z.to(y.dtype)], dim=1))

    # -- losses --------------------------------------------------------------------------
    def ae_loss(self, x):
        _, y, z = self.encode(x)
        return {"loss": F.mse_loss(fp32(self.decode(y, z)), x)}

    def _adversarial(self, net, code, real: bool) -> torch.Tensor:
        """BCE of discriminator `net` on `code` (plus instance noise) against the label real/fake."""
        std = self.config.d_input_noise
        return gan_bce(net(code + std * rng.randn_like(code) if std > 0 else code), real)

    def d_loss(self, x):
        n, k = len(x), self.config.n_categories
        with torch.no_grad():
            _, fake_y, fake_z = self.encode(x)
        real_y = info_codes.one_hot(rng.randint(k, (n,), device=x.device), k, fake_y.dtype)
        real_z = rng.randn(n, self.config.style_dim, device=x.device, dtype=fake_z.dtype)
        d_cat = self._adversarial(self.d_cat, real_y, True) + self._adversarial(self.d_cat, fake_y, False)
        d_gauss = self._adversarial(self.d_gauss, real_z, True) + self._adversarial(self.d_gauss, fake_z, False)
        return {"loss": d_cat + d_gauss, "d_cat": d_cat, "d_gauss": d_gauss}

    def g_loss(self, x):
        _, y, z = self.encode(x)
        g_cat, g_gauss = self._adversarial(self.d_cat, y, True), self._adversarial(self.d_gauss, z, True)
        return {"loss": g_cat + g_gauss, "g_cat": g_cat, "g_gauss": g_gauss}

    def phases(self):
        cfg = self.config
        encoder = [self.encoder, self.cat_head, self.style_head]
        schedule = {"optimizer": cfg.optimizer, "momentum": cfg.momentum, "decay_at": cfg.lr_decay_step}
        return [
            Phase("AE", [*encoder, self.decoder], self.ae_loss, cfg.lr_ae, **schedule),
            Phase("D", [self.d_cat, self.d_gauss], self.d_loss, cfg.lr_d, **schedule),
            Phase("G", encoder, self.g_loss, cfg.lr_g, **schedule),
        ]

    # -- inference -----------------------------------------------------------------------
    def cluster(self, x):
        logits, _, _ = self.encode(x)
        return logits.argmax(dim=1)

    def cluster_probabilities(self, x):
        _, y, _ = self.encode(x)
        return y

    def embed(self, x):
        _, y, z = self.encode(x)
        return torch.cat([y, z], dim=1)

    def to_latent(self, x):
        """[y, z]: the category probabilities and the style code, as the decoder takes them."""
        _, y, z = self.encode(x)
        return torch.cat([y, z.to(y.dtype)], dim=1)

    def from_latent(self, z):
        return self.decoder(z)

    # -- generator -----------------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        return info_codes.sample_codes(n, cfg.style_dim, cfg.n_categories, 0, self.device, "normal", generator)

    def generate(self, codes):
        onehot = info_codes.one_hot(codes["categorical"], self.config.n_categories, codes["noise"].dtype)
        return self.decode(onehot, codes["noise"])
