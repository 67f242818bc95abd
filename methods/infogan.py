"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets", NIPS 2016,
arXiv:1606.03657), MNIST setting, on the suite's 32x32 input (and 64x64 for dSprites).

Latent: 62-d noise ~ U(-1, 1), c1 ~ Cat(10), c2, c3 ~ U(-1, 1) (as the authors' code,
`run_mnist_exp.py`). D and Q share a conv trunk (the paper's Table for MNIST:
conv64-conv128(bn)-fc1024(bn), lrelu 0.2); Q adds fc128(bn) and the code heads.
Generator: fc1024(bn)-fc(128x8x8)(bn)-deconv64(bn)-deconv1-tanh (8x8 instead of 7x7
because the input is padded to 32x32).

Losses: standard non-saturating GAN on D's logit. The mutual-information bound is
lambda_disc * CE(Q_cat(G(z, c)), c1) + lambda_cont * GaussianNLL(Q_cont, c2:3); as in
the authors' code it is minimised by both phases: D's (D trunk + D head + Q head, on
detached fakes) and G's. Q's continuous std is fixed at 1 unless `q_learn_std`.
Learning rates: D 2e-4, G 1e-3, Adam beta1 0.5 (the authors' code).

Clustering of a real image: argmax of Q's categorical head on D's trunk features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import InfoHead, gan_bce
from bench.methods.nets import build
from bench.registry import register_method

# (D/Q trunk, generator up to its last layer) per input size. 32x32: the paper's MNIST
# table. 64x64 (dSprites): four stride-2 stages down to 4x4 on each side, the shape of the
# 64x64 table of LatentGAN-AE (Table 3), with narrower layers (32-64-128-128 instead of
# 64-...-1024) so that a smoke run stays minutes on a CPU.
ARCHITECTURES = {
    (32, 32): (
        ["conv 64 k4 s2 lrelu", "conv 128 k4 s2 bn lrelu", "flatten", "fc 1024 bn lrelu"],
        ["fc 1024 bn relu", "fc 8192 bn relu", "reshape 128 8 8", "deconv 64 k4 s2 bn relu"],
    ),
    (64, 64): (
        ["conv 32 k4 s2 lrelu", "conv 64 k4 s2 bn lrelu", "conv 128 k4 s2 bn lrelu",
         "conv 128 k4 s2 bn lrelu", "flatten", "fc 1024 bn lrelu"],
        ["fc 1024 bn relu", "fc 2048 bn relu", "reshape 128 4 4", "deconv 128 k4 s2 bn relu",
         "deconv 64 k4 s2 bn relu", "deconv 32 k4 s2 bn relu"],
    ),
}


@register_method("infogan")
class InfoGAN(Method):
    """GAN + mutual information with Cat(10) and 2 continuous codes; clusters by Q's Cat head."""

    generates = True

    @dataclass
    class Config:
        noise_dim: PositiveInt = 62
        n_categories: PositiveInt = 10
        n_continuous: NonNegativeInt = 2
        lambda_disc: NonNegativeFloat = 1.0
        lambda_cont: NonNegativeFloat = 1.0
        lr_d: PositiveFloat = 2e-4
        lr_g: PositiveFloat = 1e-3
        beta1: Beta = 0.5
        beta2: Beta = 0.999
        q_learn_std: bool = False

    # the authors' code: 50 "epochs" x 100 updates at batch 128
    presets = {"paper": {"steps": 5000, "batch_size": 128}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        c, h, w = self.image_shape
        cfg = config
        self.code_spec = CodeSpec(cfg.n_categories, cfg.n_continuous, (-1.0, 1.0), cfg.noise_dim)
        if (h, w) not in ARCHITECTURES:
            sizes = ", ".join(f"{a}x{b}" for a, b in ARCHITECTURES)
            raise BenchError(f"{self.name} has architectures for {sizes} images, not {h}x{w}")
        trunk, generator = ARCHITECTURES[(h, w)]
        self.trunk = build(trunk, (c, h, w))
        self.d_head = nn.Linear(1024, 1)
        self.q_head = InfoHead(["fc 128 bn lrelu"], 1024, cfg.n_categories, cfg.n_continuous, cfg.q_learn_std)
        self.generator = build([*generator, f"deconv {c} k4 s2 tanh"],
                               (cfg.noise_dim + cfg.n_categories + cfg.n_continuous,))

    # -- codes and generator ---------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        return info_codes.sample_codes(n, cfg.noise_dim, cfg.n_categories, cfg.n_continuous,
                                       self.device, "uniform", generator)

    def generate(self, codes):
        return self.generator(info_codes.generator_input(codes, self.config.n_categories))

    # -- D / Q ---------------------------------------------------------------------------------
    def info_total(self, features, codes) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(lambda-weighted MI loss, its terms) of Q on `features` of images made from `codes`."""
        info = self.q_head.losses(features, codes)
        return InfoHead.weighted(info, self.config.lambda_disc, self.config.lambda_cont), info

    def d_loss(self, x):
        codes = self.sample_codes(len(x))
        with torch.no_grad():
            fake = self.generate(codes)
        real_f, fake_f = self.trunk(x), self.trunk(fake)
        gan = gan_bce(self.d_head(real_f), True) + gan_bce(self.d_head(fake_f), False)
        info_total, _ = self.info_total(fake_f, codes)
        return {"loss": gan + info_total, "d_gan": gan}

    def g_loss(self, x):
        codes = self.sample_codes(len(x))
        features = self.trunk(self.generate(codes))
        gan = gan_bce(self.d_head(features), True)
        info_total, info = self.info_total(features, codes)
        return {"loss": gan + info_total, "g_gan": gan, **info}

    def phases(self):
        cfg = self.config
        return [
            Phase("D", [self.trunk, self.d_head, self.q_head], self.d_loss, cfg.lr_d),
            Phase("G", [self.generator], self.g_loss, cfg.lr_g),
        ]

    # -- inference -------------------------------------------------------------------------------
    def cluster(self, x):
        logits, _, _ = self.q_head.codes(self.trunk(x))
        return logits.argmax(dim=1)

    def embed(self, x):
        logits, mean, _ = self.q_head.codes(self.trunk(x))
        return torch.cat([logits.softmax(dim=1), mean], dim=1)
