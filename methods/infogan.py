"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets", NIPS 2016,
arXiv:1606.03657), MNIST setting, as the authors' code (openai/InfoGAN,
`launchers/run_mnist_exp.py`, `infogan/models/regularized_gan.py`) trains it, and 64x64 for dSprites.

The paper reading and every departure in full: docs/ledger.md, section `infogan`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import InfoHead, gan_bce
from bench.methods.nets import batch_statistics, build
from bench.registry import register_method

# (D/Q trunk, generator up to its last layer) per input size; "lrelu" takes `leaky_slope`.
# 28x28: the authors' MNIST network; 32x32: the same on MNIST padded to 32x32. 64x64
# (dSprites): four stride-2 stages down to 4x4 on each side, the shape of the 64x64 table of
# LatentGAN-AE (Table 3), with narrower layers (32-64-128-128 instead of 64-...-1024) so that
# a smoke run stays minutes on a CPU.
ARCHITECTURES = {
    (28, 28): (
        ["conv 64 k4 s2 lrelu", "conv 128 k4 s2 bn lrelu", "flatten", "fc 1024 bn lrelu"],
        ["fc 1024 bn relu", "fc 6272 bn relu", "reshape 128 7 7", "deconv 64 k4 s2 bn relu"],
    ),
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
    # 2-D points (ring2d, grid2d): the MLPs of Metz et al.'s mixture-of-Gaussians experiment
    # (docs/ledger.md): D scales its input by 1/4, then one hidden ReLU layer of
    # 128; G has two hidden ReLU layers of 128, then a linear output
    (2,): (["scale 0.25", "fc 128 relu"], ["fc 128 relu", "fc 128 relu"]),
}


@register_method("infogan")
class InfoGAN(Method):
    """GAN + mutual information with Cat(10) and 2 continuous codes; clusters by Q's Cat head."""

    generates = True
    architectures = ARCHITECTURES  # a subclass may bring its own (the tests' small one)

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
        native_input: bool = True  # the authors' 28x28 MNIST; False: the suite's 32x32 padding
        leaky_slope: NonNegativeFloat = 0.01  # the authors' code (the paper: 0.1)
        init: Literal["authors", "pytorch"] = "authors"
        mi_cont: Literal["sum", "mean"] = "sum"  # over the continuous codes
        eval_bn: Literal["batch", "running"] = "batch"  # BatchNorm statistics when evaluating
        noise: Literal["uniform", "normal"] = "uniform"  # the 62-d z: U(-1, 1) as the authors' code

    # the authors' code: 50 "epochs" x 100 updates at batch 128
    presets = {"paper": {"steps": 5000, "batch_size": 128}}

    @classmethod
    def input_shape(cls, config, data):
        if config.native_input and data.native_shape is not None:
            return data.native_shape
        return data.image_shape

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        c, *size = self.image_shape
        key = tuple(size) if size else (c,)  # images by height x width, points by their dimension
        cfg = config
        self.code_spec = CodeSpec(cfg.n_categories, cfg.n_continuous, (-1.0, 1.0), cfg.noise_dim)
        if key not in self.architectures:
            sizes = ", ".join("x".join(map(str, k)) for k in self.architectures if len(k) == 2)
            points = " and ".join(f"{k[0]}-d points" for k in self.architectures if len(k) == 1)
            raise BenchError(f"{self.name} has architectures for {sizes} images{' and ' + points if points else ''}, "
                             f"not {'x'.join(map(str, key))}")
        trunk, generator = (self._slope(spec) for spec in self.architectures[key])
        self.trunk = build(trunk, self.image_shape)
        (features,) = self.trunk.out_shape
        self.d_head = nn.Linear(features, 1)
        self.q_head = InfoHead(self._slope(["fc 128 bn lrelu"]), features, cfg.n_categories, cfg.n_continuous,
                               cfg.q_learn_std, sum_continuous=cfg.mi_cont == "sum")
        output = f"deconv {c} k4 s2 tanh" if size else f"fc {c}"  # points: a linear output
        self.generator = build([*generator, output], (cfg.noise_dim + cfg.n_categories + cfg.n_continuous,))
        if cfg.init == "authors":
            self.apply(authors_init)

    def _slope(self, spec: list[str]) -> list[str]:
        return [line.replace("lrelu", f"lrelu{self.config.leaky_slope}") for line in spec]

    def _evaluating(self):
        """How D, Q and G run outside training: with BatchNorm on the batch's statistics
        (`eval_bn="batch"`, the authors' code) or on its running statistics."""
        if not self.training and self.config.eval_bn == "batch":
            return batch_statistics(self)
        return contextlib.nullcontext()

    # -- codes and generator ---------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        return info_codes.sample_codes(n, cfg.noise_dim, cfg.n_categories, cfg.n_continuous,
                                       self.device, cfg.noise, generator)

    def generate(self, codes):
        with self._evaluating():
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
        with self._evaluating():
            logits, _, _ = self.q_head.codes(self.trunk(x))
        return logits.argmax(dim=1)

    def embed(self, x):
        with self._evaluating():
            logits, mean, _ = self.q_head.codes(self.trunk(x))
        return torch.cat([logits.softmax(dim=1), mean], dim=1)


@torch.no_grad()
def authors_init(module: nn.Module) -> None:
    """The authors' initialisation (their `custom_ops`): conv weights from a normal of std
    0.02 truncated at two std, deconv and linear weights N(0, 0.02), biases 0, BatchNorm
    scale N(1, 0.02) and shift 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
    elif isinstance(module, (nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, std=0.02)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)
