"""LatentGAN-AE (Kalwar, Aich & Dixit, "LatentGAN Autoencoder: Learning Disentangled Latent
Distribution", 2022, arXiv:2204.02010).

A conv autoencoder trained with pixel MSE (eq. 1), and a GAN in its latent space: G maps
(P ~ N(0, I) 64-d, c ~ Cat(10), U1, U2 ~ U(-1, 1)) -> a 64-d latent; D tells Enc(x) from
G(.); Q shares D's trunk and recovers c (cross-entropy, weight lambda_disc = 0.1) and U1,
U2 (Gaussian NLL with unit std, i.e. regression, weight lambda_cont = 1) (eq. 3).
Architecture: Table 2 (`architecture` selects Tables 3/4 specs for other image shapes).
Adam lr 2e-4, betas (0.5, 0.9), batch 128, PyTorch's default init (the paper: DCGAN init
hurts).

The paper reading and every departure in full: docs/ledger.md, section `latentgan_ae`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench import rng
from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Probability
from bench.methods import info_codes
from bench.methods.autoencoder import ArchitectureName, ConvAutoencoder, architecture
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import InfoHead, fp32, gan_bce
from bench.methods.nets import build
from bench.registry import register_method


@register_method("latentgan_ae")
class LatentGANAE(Method):
    """Conv autoencoder + InfoGAN in its 64-d latent space; clusters by Q's Cat head on Enc(x)."""

    generates = True
    reconstructs = True

    @dataclass
    class Config:
        architecture: ArchitectureName = "table2_mnist32"
        noise_dim: PositiveInt = 64
        n_categories: PositiveInt = 10
        n_continuous: NonNegativeInt = 2
        lambda_disc: NonNegativeFloat = 0.1
        lambda_cont: NonNegativeFloat = 1.0
        label_noise: Probability = 0.1
        lr: PositiveFloat = 2e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.9
        q_learn_std: bool = False

    presets = {"paper": {"steps": 50 * 60000 // 128, "batch_size": 128}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        cfg = config
        arch = architecture(cfg.architecture, self.image_shape)
        self.code_spec = CodeSpec(cfg.n_categories, cfg.n_continuous, (-1.0, 1.0), cfg.noise_dim)
        self.autoencoder = ConvAutoencoder(arch)
        self.trunk = build(arch.d_trunk_spec(), (arch.latent,))
        width = arch.d_widths[-1]
        self.d_head = nn.Linear(width, 1)
        self.q_head = InfoHead([], width, cfg.n_categories, cfg.n_continuous, cfg.q_learn_std)
        self.generator = build(arch.generator_spec(), (cfg.noise_dim + cfg.n_categories + cfg.n_continuous,))

    # -- codes -------------------------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        return info_codes.sample_codes(n, cfg.noise_dim, cfg.n_categories, cfg.n_continuous,
                                       self.device, "normal", generator)

    def generate_latent(self, codes):
        return self.generator(info_codes.generator_input(codes, self.config.n_categories))

    def generate(self, codes):
        return self.autoencoder.decoder(self.generate_latent(codes))

    def to_latent(self, x):
        return self.autoencoder.encoder(x)

    def from_latent(self, z):
        return self.autoencoder.decoder(z)

    # -- losses ------------------------------------------------------------------------------
    def _info(self, features, codes):
        info = self.q_head.losses(features, codes)
        return InfoHead.weighted(info, self.config.lambda_disc, self.config.lambda_cont), info

    def _noisy_label(self, logit, real: bool):
        noise = rng.rand_like(logit) * self.config.label_noise
        return 1 - noise if real else noise

    def ae_loss(self, x):
        return {"loss": self.autoencoder.reconstruction_loss(x)}

    def d_loss(self, x):
        codes = self.sample_codes(len(x))
        with torch.no_grad():
            real_z = self.autoencoder.encoder(x)
            fake_z = self.generate_latent(codes)
        real_f, fake_f = self.trunk(real_z), self.trunk(fake_z)
        real_logit, fake_logit = fp32(self.d_head(real_f)), fp32(self.d_head(fake_f))  # labels drawn in fp32
        gan = (gan_bce(real_logit, self._noisy_label(real_logit, True))
               + gan_bce(fake_logit, self._noisy_label(fake_logit, False)))
        info_total, _ = self._info(fake_f, codes)
        return {"loss": gan + info_total, "d_gan": gan}

    def g_loss(self, x):
        codes = self.sample_codes(len(x))
        features = self.trunk(self.generate_latent(codes))
        gan = gan_bce(self.d_head(features), True)
        info_total, info = self._info(features, codes)
        return {"loss": gan + info_total, "g_gan": gan, **info}

    def phases(self):
        cfg = self.config
        return [
            Phase("AE", [self.autoencoder], self.ae_loss, cfg.lr),
            Phase("D", [self.trunk, self.d_head, self.q_head], self.d_loss, cfg.lr),
            Phase("G", [self.generator], self.g_loss, cfg.lr),
        ]

    # -- inference -----------------------------------------------------------------------------
    def cluster(self, x):
        logits, _, _ = self.q_head.codes(self.trunk(self.autoencoder.encoder(x)))
        return logits.argmax(dim=1)

    def embed(self, x):
        return self.autoencoder.encoder(x)
