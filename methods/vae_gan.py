"""VAE-GAN (Larsen, Sønderby, Larochelle & Winther, "Autoencoding beyond pixels using a
learned similarity metric", ICML 2016), as the unrolled-InfoGAN report's §IV builds it
(akhandait/disentangled-representation-learning, `vaeinfogan/train_vaegan.py`,
`train_vaegan_unrolled.py`).

The paper reading and every departure in full: docs/ledger.md, section `vae_gan`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call

from bench.config import Beta, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from bench.methods import lookahead, unroll
from bench.methods.base import Phase
from bench.methods.gan import fp32, gan_bce
from bench.methods.nets import build
from bench.methods.vae import VariationalMethod, checked_size
from bench.registry import register_method

# D up to the feature layer (a conv at 8x8, before its BN), then the rest of its trunk
DISCRIMINATORS = {
    (32, 32): (["conv 32 k4 s2 lrelu", "conv 64 k4 s2"],
               ["bn lrelu", "conv 64 k2 s2 bn lrelu", "flatten", "fc 256 bn lrelu"]),
    (64, 64): (["conv 32 k4 s2 lrelu", "conv 32 k4 s2 bn lrelu", "conv 64 k2 s2"],
               ["bn lrelu", "conv 64 k2 s2 bn lrelu", "flatten", "fc 256 bn lrelu"]),
}
D_PARTS = ("d_features", "d_rest", "d_head")  # the discriminator the unroll steps


@register_method("vae_gan")
class VAEGAN(VariationalMethod):
    """VAE whose reconstruction error lives in a GAN discriminator's features."""

    reads_optimizer_state = True  # the look-ahead steps D's optimizer; unroll_rule=adam continues its Adam

    @dataclass
    class Config:
        latent: PositiveInt = 10
        beta: NonNegativeFloat = 4.0
        lambda_feature: NonNegativeFloat = 1e-6  # the decoder's weight on L_feat
        feature_prior: bool = False  # the author's extra lambda ||f(Dec(z_p)) - f(x)||^2
        k: NonNegativeInt = 0  # unrolled D steps for the decoder's GAN loss (0: none)
        unroll_rule: Literal["lookahead", "adam", "sgd"] = "lookahead"  # the author's first-order look-ahead
        unroll_lr: PositiveFloat = 1e-4  # for unroll_rule=sgd
        real_features: Literal["before_d", "after_d"] = "before_d"  # f(x) from D before or after its update
        n_clusters: PositiveInt = 10
        lr_enc: PositiveFloat = 3e-4
        lr_dec: PositiveFloat = 3e-4
        lr_dis: PositiveFloat = 1e-4
        beta1: Beta = 0.0
        beta2: Beta = 0.9

    protocol_keys = ("k",)
    # paper: the author's 20 epochs (10, then 10 more from its checkpoint) at batch 64,
    # counted on our 60,000 training images (on CelebA's 202,599 they were 63,320 steps).
    # smoke: three networks' passes per step (2-core CPU, batch 64, 32x32: 0.22 s/step), so
    # 200 steps
    presets = {"paper": {"steps": 20 * 60000 // 64, "batch_size": 64}, "smoke": {"steps": 200}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape, config.latent, **self.code_split(config))
        features, rest = DISCRIMINATORS[checked_size(self.name, self.image_shape)]
        self.d_features = build(features, self.image_shape)
        self.d_rest = build(rest, self.d_features.out_shape)
        self.d_head = nn.Linear(self.d_rest.out_shape[0], 1)
        self._d_optimizer: torch.optim.Optimizer | None = None
        self.lookahead = lookahead.LookAhead("Dis")
        self.cuda_graphs = lookahead.graphable(config.k, config.unroll_rule)
        self._f_real: torch.Tensor | None = None  # f(x) of the step's Dis phase (real_features=before_d)

    @classmethod
    def inert_settings(cls, config):
        if not config.get("k"):  # nothing is unrolled: every rule is the same step
            return {"unroll_rule", "unroll_lr"}
        return set() if config.get("unroll_rule") == "sgd" else {"unroll_lr"}

    @staticmethod
    def code_split(config) -> dict:
        """How the latent divides into the generator's codes: all continuous here."""
        return {"n_info": config.latent}

    def bind_optimizers(self, optimizers):
        self._d_optimizer = optimizers["Dis"]
        self.lookahead.bind_optimizers(optimizers)

    def bind_training_data(self, train_x):
        self.lookahead.bind_training_data(train_x)

    # -- the discriminator ----------------------------------------------------------------
    def trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(feature-layer output, trunk output) of D on x."""
        f = self.d_features(x)
        return f, self.d_rest(f)

    def fakes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Dec(z) with z ~ q(z|x), Dec(z_p) with z_p ~ the prior)."""
        z, c = self.sample_posterior(self.posterior(x))
        z_p, c_p, _ = self.prior_sample(len(x))
        return self.decode(z, c), self.decode(z_p, c_p)

    @staticmethod
    def feature_error(f_fake: torch.Tensor, f_real: torch.Tensor) -> torch.Tensor:
        """||f_fake - f_real||^2 summed per image, batch mean (f_real is a fixed target)."""
        return (fp32(f_fake) - fp32(f_real).detach()).square().flatten(1).sum(dim=1).mean()

    def feature_target(self, x: torch.Tensor) -> torch.Tensor:
        """f(x), L_feat's target: from the Dis phase's pass of this batch (before D's update)
        with `real_features="before_d"`, else from the current D."""
        if self.config.real_features == "before_d" and self._f_real is not None:
            return self._f_real
        with torch.no_grad():
            return self.d_features(x)

    def _d_loss(self, x: torch.Tensor, recon: torch.Tensor, prior: torch.Tensor) -> dict[str, torch.Tensor]:
        f_real, t_real = self.trunk(x)
        real = gan_bce(self.d_head(t_real), True)
        fake = gan_bce(self.d_head(self.trunk(recon)[1]), False) + gan_bce(self.d_head(self.trunk(prior)[1]), False)
        return {"loss": real + fake, "dis_real": real, "dis_fake": fake, "f_real": f_real}

    def dis_loss(self, x):
        with torch.no_grad():
            recon, prior = self.fakes(x)
        out = self._d_loss(x, recon, prior)
        self._f_real = out.pop("f_real").detach()
        return out

    def lookahead_d_loss(self, real: torch.Tensor) -> torch.Tensor:
        """D's loss on a fresh real batch and fresh fakes (its reconstruction and a prior
        sample), as the author's look-ahead steps take it."""
        with torch.no_grad():
            recon, prior = self.fakes(real)
        return self._d_loss(real, recon, prior)["loss"]

    def dec_terms(self, x) -> tuple[dict, dict]:
        """The decoder's loss terms, and what later terms (the hybrid's Q) reuse."""
        cfg = self.config
        ahead = None
        if cfg.k and cfg.unroll_rule == "lookahead":  # D advanced and restored before anything reads it
            ahead = self.lookahead.advance(self._d_named(), cfg.k, self.lookahead_d_loss, len(x))
        with torch.no_grad():  # the encoder is not trained here: its outputs are inputs
            post = self.posterior(x)
            z, c = self.sample_posterior(post)
            f_real = self.feature_target(x)
        z_p, c_p, index_p = self.prior_sample(len(x))
        recon, prior = self.decode(z, c), self.decode(z_p, c_p)
        (f_recon, t_recon), (f_prior, t_prior) = self.trunk(recon), self.trunk(prior)
        if cfg.k == 0:
            gan = gan_bce(self.d_head(t_recon), True) + gan_bce(self.d_head(t_prior), True)
        elif ahead is not None:
            gan = gan_bce(self._d_logit(ahead, {}, recon), True) + gan_bce(self._d_logit(ahead, {}, prior), True)
        else:
            gan = self.unrolled_gan_loss(x, recon, prior)
        feature = self.feature_error(f_recon, f_real)
        loss = gan + cfg.lambda_feature * feature
        terms = {"dec_gan": gan, "feature": feature}
        if cfg.feature_prior:
            terms["feature_prior"] = self.feature_error(f_prior, f_real)
            loss = loss + cfg.lambda_feature * terms["feature_prior"]
        made = {"z": z, "c": c, "z_p": z_p, "index_p": index_p, "t_recon": t_recon, "t_prior": t_prior}
        return {"loss": loss, **terms}, made

    def dec_loss(self, x):
        return self.dec_terms(x)[0]

    def enc_terms(self, x) -> tuple[dict, dict]:
        post = self.posterior(x)
        z, c = self.sample_posterior(post)
        recon = self.decode(z, c)
        f_real = self.feature_target(x)
        self._f_real = None  # the step is over: the next reads its own Dis phase's
        f_recon = self.d_features(recon)
        kl = self.kl_terms(post)
        feature = self.feature_error(f_recon, f_real)
        out = {"loss": self.config.beta * kl["kl"] + feature, "enc_feature": feature, **kl}
        return out, {"post": post, "z": z, "c": c, "f_recon": f_recon}

    def enc_loss(self, x):
        return self.enc_terms(x)[0]

    def phases(self):
        cfg = self.config
        return [
            Phase("Dis", [getattr(self, part) for part in D_PARTS], self.dis_loss, cfg.lr_dis),
            Phase("Dec", [self.decoder], self.dec_loss, cfg.lr_dec),
            Phase("Enc", [self.encoder], self.enc_loss, cfg.lr_enc),
        ]

    # -- unrolling --------------------------------------------------------------------------
    def _d_named(self) -> dict[str, nn.Parameter]:
        return {f"{part}.{k}": p for part in D_PARTS for k, p in getattr(self, part).named_parameters()}

    def _d_logit(self, params: unroll.Params, buffers: unroll.Params, x: torch.Tensor) -> torch.Tensor:
        for part in D_PARTS:
            own = {k[len(part) + 1:]: v for k, v in {**params, **buffers}.items() if k.startswith(part + ".")}
            x = functional_call(getattr(self, part), own, (x,))
        return fp32(x)

    def unrolled_gan_loss(self, x: torch.Tensor, recon: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """The decoder's GAN loss against D after k differentiable steps on D's loss
        against these very fakes (so the decoder sees how D would answer it)."""
        cfg = self.config
        named = self._d_named()
        start = {k: p.detach().requires_grad_() for k, p in named.items()}
        # look-ahead passes use copies of BN's running statistics, so they leave no trace
        buffers = {f"{part}.{k}": b.clone() for part in D_PARTS for k, b in getattr(self, part).named_buffers()}

        def d_loss(params):
            return (gan_bce(self._d_logit(params, buffers, x), True)
                    + gan_bce(self._d_logit(params, buffers, recon), False)
                    + gan_bce(self._d_logit(params, buffers, prior), False))

        adam = None
        if cfg.unroll_rule == "adam":
            if self._d_optimizer is None:
                raise RuntimeError("unroll_rule=adam needs the trainer's Dis optimizer (bind_optimizers)")
            adam = unroll.AdamState.from_optimizer(self._d_optimizer, named)
        params = unroll.unroll(d_loss, start, cfg.k, cfg.unroll_rule, cfg.unroll_lr, adam)
        return gan_bce(self._d_logit(params, buffers, recon), True) + gan_bce(self._d_logit(params, buffers, prior), True)
