"""Learned-prior AAE (Wang, Ko & Peng, "Learning Priors for Adversarial Autoencoders",
ICLR 2018 workshop; extended as arXiv:1909.04443), unsupervised setting, on the suite's
1x32x32 input.

An adversarial autoencoder whose prior is learned: a code generator CG maps a simple
prior to the 64-d code space, z_c = CG(z, s) with z ~ N(0, I) (`noise_dim`) and, in the
unsupervised setting, s ~ Cat(K) (K = `n_categories` = 10), one-hot (Figure 2b). Networks:

The paper reading and every departure in full: docs/ledger.md, section `learned_prior_aae`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.autoencoder import ArchitectureName, ConvAutoencoder, architecture
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import InfoHead, fp32, gan_bce
from bench.methods.nets import build
from bench.registry import register_method


@register_method("learned_prior_aae")
class LearnedPriorAAE(Method):
    """AAE whose prior is a learned code generator CG(z, s); clusters by Q's Cat head on D_I(x)."""

    generates = True
    reconstructs = True

    @dataclass
    class Config:
        prior: Literal["learned", "fixed"] = "learned"  # learned: CG(z, s); fixed: [one-hot(s), c, z], the baseline
        architecture: ArchitectureName = "table2_mnist32"
        noise_dim: PositiveInt = 64  # CG's noise z (learned prior only)
        n_categories: PositiveInt = 10
        n_continuous: NonNegativeInt = 0
        cg_hidden: PositiveInt = 512
        dc_hidden: PositiveInt = 512
        lambda_info: NonNegativeFloat = 1.0  # CE on s
        lambda_cont: NonNegativeFloat = 1.0  # Gaussian NLL on continuous codes (when n_continuous > 0)
        lambda_adv: NonNegativeFloat = 1.0  # the encoder's adversarial loss against D_C
        feature_weight: NonNegativeFloat = 1.0  # the learned-similarity (D_I feature) reconstruction
        pixel_weight: NonNegativeFloat = 0.0  # optional pixel MSE reconstruction term
        lr: PositiveFloat = 2e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.999

    # the setting the paper itself varies: learned prior vs the fixed-prior baseline
    protocol_keys = ("prior",)
    # smoke: 100 steps, ~1.4 s each on one core of the 2-core CI CPU (D_I and the autoencoder
    # both run in most phases); paper: no length given, 50 epochs at batch 128
    presets = {
        "smoke": {"steps": 100},
        "paper": {"steps": 50 * 60000 // 128, "batch_size": 128},
    }

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        cfg = config
        arch = architecture(cfg.architecture, self.image_shape)
        self.latent = arch.latent
        if cfg.prior == "fixed":
            noise = arch.latent - cfg.n_categories - cfg.n_continuous
            if noise < 0:
                raise BenchError(
                    f"prior=fixed needs n_categories + n_continuous <= {arch.latent}, "
                    f"got {cfg.n_categories} + {cfg.n_continuous}"
                )
        else:
            noise = cfg.noise_dim
        self.code_spec = CodeSpec(cfg.n_categories, cfg.n_continuous, (-1.0, 1.0), noise)
        self.autoencoder = ConvAutoencoder(arch)
        self.code_generator = (
            build([f"fc {cfg.cg_hidden} relu", f"fc {cfg.cg_hidden} relu", f"fc {arch.latent}"],
                  (noise + cfg.n_categories + cfg.n_continuous,))
            if cfg.prior == "learned" else None
        )
        self.code_discriminator = build([f"fc {cfg.dc_hidden} lrelu", f"fc {cfg.dc_hidden} lrelu", "fc 1"],
                                        (arch.latent,))
        c, h, w = self.image_shape
        self.di_conv = build(["conv 64 k4 s2 lrelu", "conv 128 k4 s2 bn lrelu"], (c, h, w))
        self.di_fc = build(["flatten", "fc 1024 bn lrelu"], self.di_conv.out_shape)
        self.di_head = nn.Linear(1024, 1)
        self.q_head = InfoHead(["fc 128 bn lrelu"], 1024, cfg.n_categories, cfg.n_continuous)

    # -- codes and generator ---------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        return info_codes.sample_codes(n, self.code_spec.noise, cfg.n_categories, cfg.n_continuous,
                                       self.device, "normal", generator)

    def prior_code(self, codes) -> torch.Tensor:
        """z_c: CG(z, s) for the learned prior, [one-hot(s), c, z] for the fixed one."""
        if self.code_generator is not None:
            return self.code_generator(info_codes.generator_input(codes, self.config.n_categories))
        onehot = info_codes.one_hot(codes["categorical"], self.config.n_categories, codes["noise"].dtype)
        return torch.cat([onehot, codes["continuous"], codes["noise"]], dim=1)

    def generate(self, codes):
        return self.autoencoder.decoder(self.prior_code(codes))

    def to_latent(self, x):
        return self.autoencoder.encoder(x)

    def from_latent(self, z):
        return self.autoencoder.decoder(z)

    # -- D_I / Q -----------------------------------------------------------------------------
    def image_features(self, x) -> torch.Tensor:
        """D_I's last conv block: the learned similarity metric's feature space."""
        return self.di_conv(x)

    def _di(self, x):
        """D_I(x) -> (real/fake logit, trunk features for Q)."""
        features = self.di_fc(self.image_features(x))
        return self.di_head(features), features

    def _info(self, features, codes):
        info = self.q_head.losses(features, codes)
        return InfoHead.weighted(info, self.config.lambda_info, self.config.lambda_cont), info

    # -- losses ------------------------------------------------------------------------------
    def di_loss(self, x):
        """Eq. (1) for D_I, plus the MI bound for Q on the generated images."""
        codes = self.sample_codes(len(x))
        with torch.no_grad():
            fake = self.generate(codes)
        real_logit, _ = self._di(x)
        fake_logit, fake_f = self._di(fake)
        gan = gan_bce(real_logit, True) + gan_bce(fake_logit, False)
        info_total, _ = self._info(fake_f, codes)
        return {"loss": gan + info_total, "di_gan": gan}

    def prior_loss(self, x):
        """Prior improvement: CG and Dec fool D_I (eq. 1, non-saturating) + MI."""
        codes = self.sample_codes(len(x))
        logit, features = self._di(self.generate(codes))
        gan = gan_bce(logit, True)
        info_total, info = self._info(features, codes)
        return {"loss": gan + info_total, "prior_gan": gan, **info}

    def dc_loss(self, x):
        """Eq. (2) for D_C: prior codes are real, Enc(x) is fake."""
        with torch.no_grad():
            prior = self.prior_code(self.sample_codes(len(x)))
            encoded = self.autoencoder.encoder(x)
        dc_real = gan_bce(self.code_discriminator(prior), True)
        dc_fake = gan_bce(self.code_discriminator(encoded), False)
        return {"loss": dc_real + dc_fake, "dc_real": dc_real, "dc_fake": dc_fake}

    def reconstruction_terms(self, x) -> dict[str, torch.Tensor]:
        """Learned-similarity reconstruction error of x and the pixel MSE, from Enc(x)."""
        z = self.autoencoder.encoder(x)
        recon = self.autoencoder.decoder(z)
        features = fp32(self.image_features(torch.cat([x, recon])))
        real_f, recon_f = features[: len(x)], features[len(x):]
        return {
            "z": z,
            "recon_feature": F.mse_loss(recon_f, real_f),
            "recon_pixel": F.mse_loss(fp32(recon), x),
        }

    def aae_loss(self, x):
        """Regular AAE phase: Enc + Dec minimise the feature reconstruction and fool D_C."""
        cfg = self.config
        terms = self.reconstruction_terms(x)
        enc_adv = gan_bce(self.code_discriminator(terms.pop("z")), True)
        loss = (cfg.feature_weight * terms["recon_feature"] + cfg.pixel_weight * terms["recon_pixel"]
                + cfg.lambda_adv * enc_adv)
        return {"loss": loss, **terms, "enc_adv": enc_adv}

    def phases(self):
        lr = self.config.lr
        prior = [self.code_generator] if self.code_generator is not None else []  # none with prior=fixed
        return [
            Phase("DI", [self.di_conv, self.di_fc, self.di_head, self.q_head], self.di_loss, lr),
            Phase("prior", [*prior, self.autoencoder.decoder], self.prior_loss, lr),
            Phase("DC", [self.code_discriminator], self.dc_loss, lr),
            Phase("AAE", [self.autoencoder], self.aae_loss, lr),
        ]

    # -- inference -----------------------------------------------------------------------------
    def cluster(self, x):
        _, features = self._di(x)
        logits, _, _ = self.q_head.codes(features)
        return logits.argmax(dim=1)

    def embed(self, x):
        return self.autoencoder.encoder(x)
