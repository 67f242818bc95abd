"""InfoAE (Haque, Latif & Rana, "Disentangled Representation Learning with Information
Maximizing Autoencoder", 2019, arXiv:1904.08613), on the suite's 1x32x32 input in [-1, 1].

The extracted paper text lost every symbol, so what follows is this adapter's reading.
Names: E encoder, De decoder, G latent generator, C classifier (on latents), D image
discriminator, S self critic (on latents). x is a real image, n ~ U(-1, 1)^100 (the
paper says "uniform" but its bounds were lost: `noise_low`, `noise_high`) and
c ~ Cat(10, p=0.1), one-hot; "(, )" in the text is read as G(n, c).

The paper reading and every departure in full: docs/ledger.md, section `infoae`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from bench import rng
from bench.config import Beta, NonNegativeFloat, PositiveFloat, PositiveInt
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import fp32, gan_bce
from bench.methods.nets import build
from bench.registry import register_method


@register_method("infoae")
class InfoAE(Method):
    """Autoencoder whose latent space is generated from (noise, Cat(10)); clusters by C(E(x))."""

    generates = True
    reconstructs = True

    @dataclass
    class Config:
        noise_dim: PositiveInt = 100
        n_categories: PositiveInt = 10
        noise_low: float = -1.0  # the paper: "uniform distribution" (bounds lost)
        noise_high: float = 1.0
        latent_dim: PositiveInt = 64  # not stated in the paper
        hidden: PositiveInt = 512  # hidden width of the two-layer G, C, S (not stated)
        alpha: NonNegativeFloat = 1.0
        beta: NonNegativeFloat = 1.0
        gamma: NonNegativeFloat = 0.4
        weighting: Literal["gamma_class", "gamma_recon", "gamma_latent"] = "gamma_class"  # see the docstring
        recon_loss: Literal["mse", "l1"] = "mse"
        recon_reduction: Literal["norm", "sum", "mean"] = "norm"  # L_R of an image's error: its norm, its sum, its mean
        recon_weight: NonNegativeFloat = 1.0  # a further factor on L_R, on top of `weighting`
        d_on_recon: bool = True  # D also sees x_hat = De(E(x)) as fake
        generator_vs_critic: bool = False  # G also plays against S (min-max reading of eq. 2)
        class_e_through_decoder: bool = True  # L_CE's gradient also reaches De and G
        lr: PositiveFloat = 2e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.999

    # The paper states neither batch size nor training length: batch 64 (the DCGAN
    # default) and 20k steps (~21 epochs of the 60k training images).
    # smoke: 200 steps (0.65 s each on the 2-core CI CPU) keeps the test suite near 15 minutes
    presets = {"smoke": {"steps": 200}, "paper": {"steps": 20000, "batch_size": 64}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        cfg = config
        if not cfg.noise_low < cfg.noise_high:
            raise BenchError(f"noise_low={cfg.noise_low} must be below noise_high={cfg.noise_high}")
        c, h, w = self.image_shape
        if h % 8 or w % 8:  # three stride-2 convolutions down, three up: 28x28 would come back 24x24
            raise BenchError(f"{self.name} takes images whose sides are multiples of 8 (e.g. 32x32), not {h}x{w}")
        self.code_spec = CodeSpec(cfg.n_categories, 0, (-1.0, 1.0), cfg.noise_dim)
        conv_trunk = [
            "conv 64 k4 s2 lrelu",
            "conv 128 k4 s2 bn lrelu",
            "conv 256 k4 s2 bn lrelu",
            "flatten",
        ]
        self.encoder = build([*conv_trunk, f"fc {cfg.latent_dim}"], (c, h, w))
        self.decoder = build(
            [
                f"fc {256 * (h // 8) * (w // 8)} relu",
                f"reshape 256 {h // 8} {w // 8}",
                "deconv 128 k4 s2 bn relu",
                "deconv 64 k4 s2 bn relu",
                f"deconv {c} k4 s2 tanh",
            ],
            (cfg.latent_dim,),
        )
        self.latent_generator = build(
            [f"fc {cfg.hidden} relu", f"fc {cfg.latent_dim}"], (cfg.noise_dim + cfg.n_categories,)
        )
        self.classifier = build(
            [f"fc {cfg.hidden} relu", f"fc {cfg.n_categories}"], (cfg.latent_dim,)
        )
        self.discriminator = build([*conv_trunk, "fc 1"], (c, h, w))
        self.critic = build([f"fc {cfg.hidden} lrelu", "fc 1"], (cfg.latent_dim,))

    # -- codes and generator ---------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg, dev = self.config, self.device
        noise = rng.rand(n, cfg.noise_dim, generator=generator, device=dev)
        return {
            "noise": cfg.noise_low + (cfg.noise_high - cfg.noise_low) * noise,
            "categorical": rng.randint(cfg.n_categories, (n,), generator=generator, device=dev),
            "continuous": torch.zeros(n, 0, device=dev),
        }

    def latents(self, codes) -> torch.Tensor:
        """z = G(n, c)."""
        onehot = info_codes.one_hot(codes["categorical"], self.config.n_categories, codes["noise"].dtype)
        return self.latent_generator(torch.cat([codes["noise"], onehot], dim=1))

    def generate(self, codes):
        return self.decoder(self.latents(codes))

    # -- losses ----------------------------------------------------------------------------------
    def d_loss(self, x):
        """L_D: real x vs generated x' (and reconstructed x_hat)."""
        with torch.no_grad():
            fake = self.generate(self.sample_codes(len(x)))
            recon = self.decoder(self.encoder(x)) if self.config.d_on_recon else None
        d_real = gan_bce(self.discriminator(x), True)
        d_fake = gan_bce(self.discriminator(fake), False)
        out = {"d_real": d_real, "d_fake": d_fake}
        loss = d_real + d_fake
        if recon is not None:
            out["d_recon"] = gan_bce(self.discriminator(recon), False)
            loss = d_real + 0.5 * (d_fake + out["d_recon"])
        return {"loss": loss, **out}

    def s_loss(self, x):
        """L_S: G(n, c) is real, E(x) is fake."""
        with torch.no_grad():
            z = self.latents(self.sample_codes(len(x)))
            z_hat = self.encoder(x)
        s_real, s_fake = gan_bce(self.critic(z), True), gan_bce(self.critic(z_hat), False)
        return {"loss": s_real + s_fake, "s_real": s_real, "s_fake": s_fake}

    def ae_loss(self, x):
        """Equation 1, minimised by E, De, G and C."""
        cfg = self.config
        codes = self.sample_codes(len(x))
        z_hat = self.encoder(x)
        x_hat = self.decoder(z_hat)
        z = self.latents(codes)
        x_gen = self.decoder(z)
        z_re = self.encoder(x_gen if cfg.class_e_through_decoder else x_gen.detach())
        diff = fp32(x_hat) - fp32(x)
        terms = {
            "recon": reconstruction_error(diff, cfg.recon_loss, cfg.recon_reduction),
            "dec_gen_adv": gan_bce(self.discriminator(x_gen), True),  # L_De'
            "dec_recon_adv": gan_bce(self.discriminator(x_hat), True),  # L_De^
            "enc_adv": gan_bce(self.critic(z_hat), True),  # L_E
            "class_g": F.cross_entropy(fp32(self.classifier(z)), codes["categorical"]),  # L_CG
            "class_e": F.cross_entropy(fp32(self.classifier(z_re)), codes["categorical"]),  # L_CE
        }
        latent_adv = terms["enc_adv"]
        if cfg.generator_vs_critic:
            terms["gen_critic_adv"] = gan_bce(self.critic(z), False)
            latent_adv = latent_adv + terms["gen_critic_adv"]
        image_adv = terms["dec_gen_adv"] + terms["dec_recon_adv"]
        classes = terms["class_g"] + terms["class_e"]
        w_recon, w_image, w_latent, w_class = {
            "gamma_class": (1.0, cfg.alpha, cfg.beta, cfg.gamma),
            "gamma_recon": (cfg.gamma, cfg.alpha, cfg.beta, 1.0),
            "gamma_latent": (1.0, cfg.alpha, cfg.gamma, cfg.beta),
        }[cfg.weighting]
        loss = (
            cfg.recon_weight * w_recon * terms["recon"] + w_image * image_adv + w_latent * latent_adv + w_class * classes
        )
        return {"loss": loss, **terms}

    def phases(self):
        lr = self.config.lr
        return [
            Phase("D", [self.discriminator], self.d_loss, lr),
            Phase("S", [self.critic], self.s_loss, lr),
            Phase("AE", [self.encoder, self.decoder, self.latent_generator, self.classifier], self.ae_loss, lr),
        ]

    # -- inference -------------------------------------------------------------------------------
    def cluster(self, x):
        return self.classifier(self.encoder(x)).argmax(dim=1)

    def embed(self, x):
        return self.encoder(x)

    def to_latent(self, x):
        return self.encoder(x)

    def from_latent(self, z):
        return self.decoder(z)


def reconstruction_error(diff: torch.Tensor, loss: str, reduction: str) -> torch.Tensor:
    """L_R of x_hat - x, batch mean of a per-image value: with "mse", the L2 norm of the
    image's error ("norm"), its square, the summed squared error ("sum"), or the mean squared
    error per pixel ("mean"); with "l1", the absolute error summed ("norm", "sum": the L1
    norm) or averaged ("mean") over the pixels."""
    if reduction == "norm" and loss == "mse":  # its backward is 0, not NaN, at a perfect reconstruction
        return torch.linalg.vector_norm(diff.flatten(1), dim=1).mean()
    per_pixel = (diff.square() if loss == "mse" else diff.abs()).flatten(1)
    return (per_pixel.mean(dim=1) if reduction == "mean" else per_pixel.sum(dim=1)).mean()
