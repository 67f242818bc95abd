"""Unrolled InfoGAN (Khandait, "Unsupervised Disentangled Representation Learning", IIT
Bombay project report; code: akhandait/disentangled-representation-learning), on the
suite's InfoGAN.

The generator minimises g_K = f(theta_G, theta_D^K(theta_G, theta_D)) - lambda L_I(G, Q)
(eq. 13): its GAN term is judged by the discriminator after K optimizer steps on f, with
gradients flowing back through those K steps (eq. 11: the second term is how D would
respond to G), while the mutual-information term uses the current, non-unrolled D trunk
and Q head, as the paper says. K = 0 is exactly InfoGAN (tested step for step).

Our readings where the paper is silent:
- The unrolled steps descend D's GAN loss only (f = V(D, G) in eqs. 8-10), not the MI
  term that D's real update also carries; they update D's trunk and logit head (Q's head
  does not enter f).
- Every unrolled step uses the same real batch and the same fakes G(z, c) as the
  generator loss (as Metz et al.'s reference notebook does), so K = 0 draws no extra
  random numbers.
- Update rule `unroll_rule`: "adam" [default] continues the trainer's D optimizer from
  its current Adam moments (lr, betas, eps read from it), as Metz et al. unroll Adam;
  "sgd" is eq. 8 literally, theta - eta * grad with eta = `unroll_lr`.
- BatchNorm running statistics are not advanced by the unrolled (look-ahead) passes.
- Network, codes, learning rates and the `paper` length are InfoGAN's (`bench.methods.infogan`);
  the paper reports none of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch.func import functional_call

from bench.config import NonNegativeInt, PositiveFloat
from bench.methods import unroll
from bench.methods.gan import fp32, gan_bce
from bench.methods.infogan import InfoGAN
from bench.registry import register_method


@register_method("unrolled_infogan")
class UnrolledInfoGAN(InfoGAN):
    """InfoGAN whose generator sees D after K differentiable unrolled steps; Q uses the current D."""

    reads_optimizer_state = True  # the unroll continues D's Adam

    @dataclass
    class Config(InfoGAN.Config):
        k: NonNegativeInt = 10  # unrolled D steps (the paper compares 0, 5, 7, 10; 10 is its best)
        unroll_rule: Literal["adam", "sgd"] = "adam"
        unroll_lr: PositiveFloat = 2e-4  # eta of eq. 8, for unroll_rule=sgd

    protocol_keys = ("k",)
    # the smoke run is a CPU regression check: each unrolled step is a double backward
    # through D (2-core CPU, batch 64: 0.5 s/step at k=0, 2.1 at k=1, 12 at k=10), so it
    # trains 50 steps with a one-step unroll
    presets = {**InfoGAN.presets, "smoke": {"steps": 50, "k": 1}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        self._d_optimizer: torch.optim.Optimizer | None = None

    def bind_optimizers(self, optimizers):
        self._d_optimizer = optimizers["D"]

    # -- the discriminator as a function of its parameters -----------------------------------
    def _d_named(self) -> dict[str, torch.nn.Parameter]:
        return {**{f"trunk.{k}": p for k, p in self.trunk.named_parameters()},
                **{f"d_head.{k}": p for k, p in self.d_head.named_parameters()}}

    def _d_logit(self, params: unroll.Params, buffers: unroll.Params, x: torch.Tensor) -> torch.Tensor:
        trunk = {k[len("trunk."):]: v for k, v in params.items() if k.startswith("trunk.")}
        head = {k[len("d_head."):]: v for k, v in params.items() if k.startswith("d_head.")}
        features = functional_call(self.trunk, {**trunk, **buffers}, (x,))
        return fp32(functional_call(self.d_head, head, (features,)))

    def unrolled_discriminator(self, x: torch.Tensor, fake: torch.Tensor,
                               buffers: unroll.Params) -> unroll.Params:
        """D's trunk + head parameters after K steps on its GAN loss against `fake`,
        as differentiable functions of `fake` (hence of G)."""
        cfg = self.config
        named = self._d_named()
        start = {k: p.detach().requires_grad_() for k, p in named.items()}

        def d_gan_loss(params):
            return gan_bce(self._d_logit(params, buffers, x), True) + gan_bce(self._d_logit(params, buffers, fake), False)

        adam = None
        if cfg.unroll_rule == "adam":
            if self._d_optimizer is None:
                raise RuntimeError("unroll_rule=adam needs the trainer's D optimizer (bind_optimizers)")
            adam = unroll.AdamState.from_optimizer(self._d_optimizer, named)
        return unroll.unroll(d_gan_loss, start, cfg.k, cfg.unroll_rule, cfg.unroll_lr, adam)

    def g_loss(self, x):
        codes = self.sample_codes(len(x))
        fake = self.generate(codes)
        features = self.trunk(fake)  # the current D: Q's MI term, and the GAN term when K = 0
        if self.config.k == 0:
            logit = self.d_head(features)
        else:
            # look-ahead passes use copies of BN's running statistics, so they leave no trace
            buffers = {k: b.clone() for k, b in self.trunk.named_buffers()}
            logit = self._d_logit(self.unrolled_discriminator(x, fake, buffers), buffers, fake)
        gan = gan_bce(logit, True)
        info_total, info = self.info_total(features, codes)
        return {"loss": gan + info_total, "g_gan": gan, **info}
