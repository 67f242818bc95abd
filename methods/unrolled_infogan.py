"""Unrolled InfoGAN (Khandait, "Unsupervised Disentangled Representation Learning", IIT
Bombay project report), on the suite's InfoGAN, with three procedures (`unroll_rule`).

The paper reading and every departure in full: docs/ledger.md, section `unrolled_infogan`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from bench.config import NonNegativeFloat, NonNegativeInt, PositiveFloat
from bench.errors import BenchError
from bench.methods import lookahead, unroll
from bench.methods.base import Phase
from bench.methods.gan import fp32, gan_bce
from bench.methods.infogan import InfoGAN
from bench.registry import register_method

# Metz et al.'s 2-D mixture experiment (docs/ledger.md): a plain GAN (a single constant
# category, no mutual-information term), z ~ N(0, I_256), Adam 1e-4 (beta1 0.5) for D and G,
# orthogonal weights, the saddle objective, D's Adam unrolled through K steps on the step's
# own minibatch; evaluated every 5,000 steps from step 0 (their Fig. 1's columns)
MIXTURE_2D = dict(batch_size=512, log_every=500, eval_at_start=True, tsne_points=0, morphometrics=False,
                  n_categories=1, n_continuous=0, lambda_disc=0.0, lambda_cont=0.0, noise_dim=256,
                  noise="normal", lr_d=1e-4, lr_g=1e-4, init="orthogonal", g_loss="minimax", unroll_rule="adam")


@register_method("unrolled_infogan")
class UnrolledInfoGAN(InfoGAN):
    """InfoGAN whose generator sees D after K look-ahead steps; Q uses the current D."""

    reads_optimizer_state = True  # the look-ahead steps D's own optimizer

    @dataclass
    class Config(InfoGAN.Config):
        k: NonNegativeInt = 10  # look-ahead D steps (the report compares 0, 5, 7, 10; 10 is its best)
        unroll_rule: Literal["lookahead", "folded_q", "adam", "sgd"] = "lookahead"
        unroll_lr: PositiveFloat = 2e-4  # eta of eq. 8, for unroll_rule=sgd
        lr_q: PositiveFloat = 1e-3  # Q's own Adam (lookahead, folded_q)
        # the report's code, where it differs from InfoGAN's authors
        noise: Literal["uniform", "normal"] = "normal"
        init: Literal["authors", "pytorch", "xavier", "orthogonal"] = "xavier"
        q_learn_std: bool = True
        lambda_cont: NonNegativeFloat = 0.1
        # G's GAN loss: -log D(G(z)) (the report's code), or log(1 - D(G(z))), the saddle
        # objective of Metz et al.'s eq. 4, which their 2-D experiment descends
        g_loss: Literal["non_saturating", "minimax"] = "non_saturating"

    protocol_keys = ("k",)
    # the report's code: 20 epochs at batch 64. The smoke run is a CPU regression check: 50
    # steps with a one-step look-ahead. On the 2-D mixtures, the report's Fig. 3 is Metz et
    # al.'s experiment: a plain GAN (one constant category, no MI term), their MLPs, Adam
    # unrolled through its own steps, the saddle objective, 25,000 steps at batch 512
    presets = {"paper": {"steps": 20 * 60000 // 64, "batch_size": 64}, "smoke": {"steps": 50, "k": 1},
               **{f"{preset}@{dataset}": {**MIXTURE_2D, **length} for dataset in ("ring2d", "grid2d")
                  for preset, length in (("paper", {"steps": 25000, "eval_every": 5000, "checkpoint_every": 5000}),
                                         ("smoke", {"steps": 500, "eval_every": 250}))}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        if config.unroll_rule == "folded_q" and config.k:
            raise BenchError(f"unroll_rule=folded_q is the report's train.py, which has no look-ahead: use k=0, "
                             f"not k={config.k}")
        if config.unroll_rule == "folded_q" and config.lr_q != config.lr_g:
            raise BenchError(f"unroll_rule=folded_q steps Q's head with G's Adam: lr_q ({config.lr_q:g}) must "
                             f"equal lr_g ({config.lr_g:g})")
        super().__init__(config, image_shape)
        if config.init == "xavier":
            self.apply(report_init)
        elif config.init == "orthogonal":
            self.apply(orthogonal_init)
        # the look-ahead takes optimizer steps and fresh batches inside a loss: eager only
        self.cuda_graphs = lookahead.graphable(config.k, config.unroll_rule)
        self.lookahead = lookahead.LookAhead("D")
        self._d_optimizer: torch.optim.Optimizer | None = None
        self._codes: dict[str, torch.Tensor] | None = None  # z, c of the step's G phase, for its Q phase

    def bind_optimizers(self, optimizers):
        self._d_optimizer = optimizers["D"]
        self.lookahead.bind_optimizers(optimizers)

    def bind_training_data(self, train_x):
        self.lookahead.bind_training_data(train_x)

    def phases(self):
        cfg = self.config
        if cfg.unroll_rule == "folded_q":
            return [
                Phase("D", [self.trunk, self.d_head], self.lookahead_d_loss, cfg.lr_d),
                Phase("G", [self.generator, self.q_head], self.folded_g_loss, cfg.lr_g),
            ]
        if cfg.unroll_rule != "lookahead":
            return super().phases()
        return [
            Phase("D", [self.trunk, self.d_head], self.lookahead_d_loss, cfg.lr_d),
            Phase("G", [self.generator], self.lookahead_g_loss, cfg.lr_g),
            Phase("Q", [self.q_head, self.generator], self.lookahead_q_loss, cfg.lr_q),
        ]

    # -- the report's code: look-ahead D, then G, then Q -----------------------------------------
    def _d_gan(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return gan_bce(self.d_head(self.trunk(real)), True) + gan_bce(self.d_head(self.trunk(fake)), False)

    def lookahead_d_loss(self, x):
        with torch.no_grad():
            fake = self.generate(self.sample_codes(len(x)))
        gan = self._d_gan(x, fake)
        return {"loss": gan, "d_gan": gan}

    def lookahead_g_loss(self, x):
        codes = self._codes = self.sample_codes(len(x))
        if self.config.k:
            with torch.no_grad():
                fake = self.generate(codes)
            ahead = self.lookahead.advance(self._d_named(), self.config.k, lambda real: self._d_gan(real, fake), len(x))
            logit = self._d_logit(ahead, {}, self.generate(codes))
        else:
            logit = self.d_head(self.trunk(self.generate(codes)))
        gan = self._g_gan(logit)
        return {"loss": gan, "g_gan": gan}

    def report_q_terms(self, features: torch.Tensor, codes: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """(weighted Q loss, its logged terms) as the code computes and logs them: the
        categorical CE and `lambda_cont` x the learned-std Gaussian NLL (`report_nll`)."""
        cfg = self.config
        out = fp32(self.q_head(features))
        k, c = cfg.n_categories, cfg.n_continuous
        q_disc = F.cross_entropy(out[:, :k], codes["categorical"])
        terms = {"q_disc": q_disc}
        loss = cfg.lambda_disc * q_disc
        if c:
            std = F.softplus(out[:, k + c:]) + 1e-5
            terms["q_cont"] = cfg.lambda_cont * report_nll(out[:, k:k + c], std, codes["continuous"])
            loss = loss + terms["q_cont"]
        return loss, terms

    def lookahead_q_loss(self, x):
        loss, terms = self.report_q_terms(self.trunk(self.generate(self._codes)), self._codes)
        return {"loss": loss, **terms}

    def _g_gan(self, fake_logit: torch.Tensor) -> torch.Tensor:
        """G's GAN loss on D's logits of its fakes (`g_loss`)."""
        if self.config.g_loss == "minimax":
            return -gan_bce(fake_logit, False)  # mean log(1 - D(G(z)))
        return gan_bce(fake_logit, True)

    def folded_g_loss(self, x):
        """The code's train.py: G's GAN loss and the Q terms in one backward pass, from one D pass."""
        codes = self.sample_codes(len(x))
        features = self.trunk(self.generate(codes))
        gan = self._g_gan(self.d_head(features))
        q, terms = self.report_q_terms(features, codes)
        return {"loss": gan + q, "g_gan": gan, **terms}

    # -- the differentiable unroll of the report's equations ---------------------------------------
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
        gan = self._g_gan(logit)
        info_total, info = self.info_total(features, codes)
        return {"loss": gan + info_total, "g_gan": gan, **info}


def report_nll(mean: torch.Tensor, std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The report's code's Gaussian NLL: 0.5 log(2 pi std^2 + 1e-6) + (c - mean)^2 /
    (2 std^2 + 1e-6), summed over the codes, averaged over the batch."""
    var = std.square()
    nll = 0.5 * torch.log(2 * math.pi * var + 1e-6) + (target - mean).square() / (2 * var + 1e-6)
    return nll.sum(dim=1).mean()


@torch.no_grad()
def orthogonal_init(module: nn.Module) -> None:
    """Metz et al.'s 2-D networks: orthogonal weights scaled by 0.8, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight, gain=0.8)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def report_init(module: nn.Module) -> None:
    """The report's code's initialisation: Xavier-normal weights for convs and deconvs (their
    biases and linear layers as PyTorch makes them), BatchNorm scale N(1, 0.02) and shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_normal_(module.weight)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
