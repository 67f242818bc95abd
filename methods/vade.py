"""VaDE (Jiang, Zheng, Tan, Tang & Zhou, "Variational Deep Embedding: An Unsupervised and
Generative Approach to Clustering", IJCAI 2017, arXiv:1611.05148), as its authors' code
(slim1017/VaDE, `VaDE.py`) trains it on MNIST.

The paper reading and every departure in full: docs/ledger.md, section `vade`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.mixture import GaussianMixture
from torch import nn

from bench import rng
from bench.config import Beta, PositiveFloat, PositiveInt
from bench.datasets.base import to_float
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import fp32
from bench.methods.stacked_autoencoder import StackedAutoencoder, hidden_widths, initialise
from bench.registry import register_method
from bench.tracking import progress

STEPS_PER_EPOCH = 60000 // 100  # MNIST's training split at the authors' batch of 100


@register_method("vade")
class VaDE(Method):
    """VAE with a Gaussian-mixture prior; clusters by p(c | z)."""

    generates = True
    reconstructs = True
    soft_clusters = True

    @dataclass
    class Config:
        n_clusters: PositiveInt = 10
        latent: PositiveInt = 10
        hidden: PositiveInt = 500  # hidden layers (h, h, 4h)
        pretrain_steps: PositiveInt = 50 * STEPS_PER_EPOCH
        pretrain_lr: PositiveFloat = 0.001
        lr: PositiveFloat = 0.002
        eps: PositiveFloat = 1e-4  # Adam's, as the code sets it
        lr_decay: PositiveFloat = 0.9
        decay_every: PositiveInt = 10 * STEPS_PER_EPOCH
        lr_floor: PositiveFloat = 0.0002
        beta1: Beta = 0.9
        beta2: Beta = 0.999
        pi: Literal["authors", "softmax"] = "authors"
        cluster_z: Literal["mean", "sample"] = "mean"

    presets = {
        "paper": {"steps": 50 * STEPS_PER_EPOCH + 3000 * STEPS_PER_EPOCH, "batch_size": 100, "log_every": 600,
                  "checkpoint_every": 30000, "eval_every": 60000},
        "quick": {"pretrain_steps": 1000, "batch_size": 100},  # of the preset's 2,000 steps
        # narrower layers (128-128-512): seconds on a CPU
        "smoke": {"steps": 1300, "batch_size": 64, "hidden": 128, "pretrain_steps": 1000, "decay_every": 300,
                  "log_every": 50, "checkpoint_every": 650},
    }

    @classmethod
    def input_shape(cls, config, data):
        return data.native_shape if data.native_shape is not None else data.image_shape

    def __init__(self, config: Config, image_shape=(1, 28, 28)):
        super().__init__(config, image_shape)
        cfg = config
        k, d = cfg.n_clusters, cfg.latent
        self.code_spec = CodeSpec(k, 0, (-2.0, 2.0), d)
        widths = hidden_widths(cfg.hidden)
        self.autoencoder = StackedAutoencoder(int(np.prod(self.image_shape)), d, "glorot", widths, output="sigmoid")
        self.logvar = nn.Linear(widths[-1], d)
        initialise(self.logvar, "glorot")
        self.pi_weights = nn.Parameter(torch.full((k,), 1.0 / k) if cfg.pi == "authors" else torch.zeros(k))
        self.mu_c = nn.Parameter(torch.zeros(k, d))
        self.var_c = nn.Parameter(torch.ones(k, d))

    # -- the model -----------------------------------------------------------------------------------
    def to_input(self, x):
        return (x.flatten(1) + 1) / 2

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z | x)."""
        layers = self.autoencoder.encoders
        h = self.to_input(x)
        for layer in layers[:-1]:
            h = F.relu(layer(h))
        return layers[-1](h), self.logvar(h)

    def log_pi(self) -> torch.Tensor:
        if self.config.pi == "softmax":
            return F.log_softmax(self.pi_weights, dim=0)
        return self.pi_weights.clamp_min(1e-10).log()

    def mixture_log_density(self, z: torch.Tensor) -> torch.Tensor:
        """(N, K): the log of pi_c N(z | mu_c, var_c), as gamma's numerator (the authors' code
        weighs log pi_c by the code's dimension)."""
        var = self.var_c.clamp_min(1e-6)
        log_normal = -0.5 * (torch.log(2 * math.pi * var)[None] + (z[:, None, :] - self.mu_c[None]).square() / var[None])
        weight = z.shape[1] if self.config.pi == "authors" else 1
        return weight * self.log_pi()[None] + log_normal.sum(dim=2)

    def gamma(self, z: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.mixture_log_density(z), dim=1)

    def elbo_terms(self, x) -> dict[str, torch.Tensor]:
        inputs = self.to_input(x)
        mean, logvar = self.posterior(x)
        mean, logvar = fp32(mean), fp32(logvar)
        z = mean + torch.exp(logvar / 2) * rng.randn_like(mean)
        logits = fp32(self.autoencoder.decode_logits(z))
        recon = F.binary_cross_entropy_with_logits(logits, inputs, reduction="none").sum(dim=1)
        log_gamma = F.log_softmax(self.mixture_log_density(z), dim=1)
        gamma = log_gamma.exp()
        var = self.var_c.clamp_min(1e-6)
        per_cluster = 0.5 * (torch.log(2 * math.pi * var)[None] + logvar.exp()[:, None, :] / var[None]
                             + (mean[:, None, :] - self.mu_c[None]).square() / var[None]).sum(dim=2)
        kl = ((gamma * per_cluster).sum(dim=1) - 0.5 * (logvar + 1 + math.log(2 * math.pi)).sum(dim=1)
              - (gamma * self.log_pi()[None]).sum(dim=1) + (gamma * log_gamma).sum(dim=1))
        return {"loss": (recon + kl).mean(), "recon": recon.mean(), "kl": kl.mean()}

    # -- training ------------------------------------------------------------------------------------
    def phases(self):
        cfg = self.config
        ae = self.autoencoder

        def pretrain(x):
            inputs = self.to_input(x)
            return {"loss": F.binary_cross_entropy_with_logits(fp32(ae.decode_logits(ae.encode(inputs))), inputs)}

        return [
            Phase("AE", [ae], pretrain, cfg.pretrain_lr, steps=(0, cfg.pretrain_steps)),
            Phase("VaDE", [ae, self.logvar, self.pi_weights, self.mu_c, self.var_c], self.elbo_terms, cfg.lr,
                  eps=cfg.eps, decay_every=cfg.decay_every, lr_decay=cfg.lr_decay, lr_floor=cfg.lr_floor,
                  steps=(cfg.pretrain_steps, None)),
        ]

    def refresh_due(self, step):
        return step == self.config.pretrain_steps

    def refresh(self, step, train_x):
        """The mixture fitted to the pretrained mean codes of the training images."""
        codes = torch.cat([self.posterior(to_float(train_x[i : i + 4096]))[0] for i in range(0, len(train_x), 4096)])
        seed = int(np.random.randint(2**31 - 1))  # numpy's global state, seeded per run
        with progress.stage(f"Gaussian mixture of the pretrained codes, K={self.config.n_clusters}"):
            gmm = GaussianMixture(self.config.n_clusters, covariance_type="diag", random_state=seed)
            gmm.fit(fp32(codes).cpu().double().numpy())
        self.mu_c.copy_(torch.from_numpy(gmm.means_))
        self.var_c.copy_(torch.from_numpy(gmm.covariances_))

    def shared_prefix(self):
        """The pretrained autoencoder, for VaDE runs that differ after it (ablations)."""
        cfg = self.config
        key = f"vade-ae:{self.autoencoder.dims}:{cfg.pretrain_steps}:{cfg.pretrain_lr}:{cfg.n_clusters}:{cfg.pi}"
        return cfg.pretrain_steps, key

    # -- inference and generation -----------------------------------------------------------------------
    def _code(self, x):
        mean, logvar = self.posterior(x)
        if self.config.cluster_z == "sample":
            return mean + torch.exp(logvar / 2) * torch.randn_like(mean)
        return mean

    def cluster_probabilities(self, x):
        return self.gamma(fp32(self._code(x)))

    def cluster(self, x):
        return self.cluster_probabilities(x).argmax(dim=1)

    def embed(self, x):
        return self.posterior(x)[0]

    def to_latent(self, x):
        return self.posterior(x)[0]

    def from_latent(self, z):
        return (2 * self.autoencoder.decode(z) - 1).reshape(-1, *self.image_shape)

    def mixture_weights(self) -> torch.Tensor:
        """pi, normalised (the authors' free weights may not sum to 1)."""
        weights = self.log_pi().exp().detach()
        return weights / weights.sum()

    def sample_codes(self, n, generator=None):
        weights = self.mixture_weights().float()
        index = torch.multinomial(weights.to(generator.device) if generator is not None else weights, n,
                                  replacement=True, generator=generator)
        noise = rng.randn(n, self.config.latent, generator=generator, device=self.device, dtype=self.mu_c.dtype)
        return {"noise": noise, "categorical": index.to(self.device),
                "continuous": torch.zeros(n, 0, device=self.device, dtype=self.mu_c.dtype)}

    def generate(self, codes):
        c = codes["categorical"]
        z = self.mu_c[c] + self.var_c.clamp_min(1e-6)[c].sqrt() * codes["noise"]
        return (2 * self.autoencoder.decode(z) - 1).reshape(-1, *self.image_shape)
