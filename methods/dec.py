"""DEC (Xie, Girshick & Farhadi, "Unsupervised Deep Embedding for Clustering Analysis",
ICML 2016, arXiv:1511.06335), as its authors' Caffe code (piiswrong/dec) trains it on MNIST,
with Guo's Keras re-implementation (XifengGuo/DEC-keras) as the other reading.

The paper reading and every departure in full: docs/ledger.md, section `dec`."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

from bench.config import Beta, NonNegativeFloat, PositiveFloat, PositiveInt, Probability
from bench.datasets.base import to_float
from bench.methods.base import Method, Phase
from bench.methods.gan import fp32
from bench.methods.stacked_autoencoder import READINGS, StackedAutoencoder, hidden_widths, pixel_scale, pretraining
from bench.registry import register_method
from bench.tracking import progress

EPSILON = 1e-7  # Keras' clip in its `kld` loss


def soft_assignment(z: torch.Tensor, centers: torch.Tensor, alpha: float) -> torch.Tensor:
    """Student's t kernel between embeddings and centres, normalised per row: Q."""
    q = 1.0 / (1.0 + (z[:, None, :] - centers[None]).square().sum(dim=2) / alpha)
    q = q ** ((alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor, frequency: torch.Tensor) -> torch.Tensor:
    """P: q^2 / f per cluster, normalised per row (f: Q's column sums over all images)."""
    weight = q.square() / frequency
    return weight / weight.sum(dim=1, keepdim=True)


@register_method("dec")
class DEC(Method):
    """Stacked autoencoder pretraining, then KL(P || Q) clustering of its embeddings."""

    soft_clusters = True
    reconstructs = True
    cuda_graphs = True

    @dataclass
    class Config:
        n_clusters: PositiveInt = 10
        latent: PositiveInt = 10
        hidden: PositiveInt = 500  # hidden layers (h, h, 4h): the paper's d-500-500-2000-10
        alpha: PositiveFloat = 1.0  # Student's t degrees of freedom
        # pretraining: "layerwise" (the paper's Caffe code) or "end_to_end" (DEC-keras)
        pretrain: Literal["layerwise", "end_to_end"] = "layerwise"
        layer_steps: PositiveInt = 50000  # per denoising autoencoder
        finetune_steps: PositiveInt = 100000
        pretrain_steps: PositiveInt = 300 * 60000 // 256  # end_to_end: DEC-keras' 300 epochs
        dropout: Probability = 0.2
        pretrain_lr: PositiveFloat | None = None  # None: the reading's (0.1 layerwise, 1.0 end_to_end)
        pixel_scale: PositiveFloat | None = None  # x [0, 1] pixels; None: the reading's (5.1 / 1.0)
        # clustering
        cluster_optimizer: Literal["sgd", "adam"] = "sgd"
        cluster_lr: PositiveFloat = 0.01
        momentum: Probability = 0.9
        beta1: Beta = 0.9
        beta2: Beta = 0.999
        update_interval: PositiveInt = 160  # the Caffe code's MNIST value (DEC-keras: 140)
        tol: NonNegativeFloat = 0.001
        n_init: PositiveInt = 20

    # stage lengths are the method's own settings; a preset's `steps` covers them all
    presets = {
        # the Caffe code: 4 x 50,000 + 100,000 pretraining steps, then DEC-keras' 20,000 cap
        "paper": {"steps": 4 * 50000 + 100000 + 20000, "batch_size": 256, "log_every": 500,
                  "checkpoint_every": 5000, "eval_every": 10000},
        # the preset's 2,000 steps: DEC-keras' end-to-end pretraining, then clustering
        "quick": {"pretrain": "end_to_end", "pretrain_steps": 1500, "update_interval": 100, "batch_size": 256},
        # the DEC-keras reading on narrower layers (128-128-512): seconds on a CPU
        "smoke": {"steps": 1650, "batch_size": 64, "hidden": 128, "pretrain": "end_to_end", "pretrain_steps": 1500,
                  "update_interval": 25, "log_every": 50, "checkpoint_every": 550},
    }

    @classmethod
    def input_shape(cls, config, data):
        return data.native_shape if data.native_shape is not None else data.image_shape

    def __init__(self, config: Config, image_shape=(1, 28, 28)):
        super().__init__(config, image_shape)
        cfg = config
        self.pre = pretraining(cfg)
        self.scale = pixel_scale(cfg)
        init = READINGS[cfg.pretrain][4]
        self.autoencoder = StackedAutoencoder(int(np.prod(self.image_shape)), cfg.latent, init, hidden_widths(cfg.hidden))
        self.centers = nn.Parameter(torch.zeros(cfg.n_clusters, cfg.latent))
        # at each renewal: the encoder and centres P is computed from, Q's column sums, the
        # fraction of images that changed cluster, and the stop rule's step and weights
        self.target = copy.deepcopy(self.autoencoder.encoders).requires_grad_(False)
        self.register_buffer("target_centers", torch.zeros(cfg.n_clusters, cfg.latent))
        self.register_buffer("frequency", torch.ones(cfg.n_clusters))
        self.register_buffer("delta_label", torch.zeros(()))
        self.register_buffer("stopped_at", torch.zeros(()))
        self.stopped = copy.deepcopy(nn.ModuleDict({"autoencoder": self.autoencoder})).requires_grad_(False)
        self.register_buffer("stopped_centers", torch.zeros(cfg.n_clusters, cfg.latent))
        self._labels: torch.Tensor | None = None  # the training images' clusters at the last renewal

    @property
    def cluster_start(self) -> int:
        return self.pre.end

    # -- inputs on the authors' scale ------------------------------------------------------------
    def to_input(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> flattened pixels x `pixel_scale` of their [0, 1] intensity."""
        return (x.flatten(1) + 1) * (0.5 * self.scale)

    def from_output(self, out: torch.Tensor) -> torch.Tensor:
        return (out / (0.5 * self.scale) - 1).clamp(-1, 1).reshape(-1, *self.image_shape)

    # -- training ----------------------------------------------------------------------------------
    def clustering_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """(KL(P || Q) of the batch, logged terms, the flattened inputs)."""
        inputs = self.to_input(x)
        q = soft_assignment(fp32(self.autoencoder.encode(inputs)), self.centers, self.config.alpha)
        with torch.no_grad():
            old = self.autoencoder.encode(inputs, [(m.weight, m.bias) for m in self.target])
            p = target_distribution(soft_assignment(fp32(old), self.target_centers, self.config.alpha), self.frequency)
        p, q_clipped = p.clamp(EPSILON, 1), q.clamp(EPSILON, 1)
        kl = (p * (p.log() - q_clipped.log())).sum(dim=1).mean()
        logged = {"delta_label": self.delta_label.clone(), "stopped_at": self.stopped_at.clone()}
        return kl, logged, inputs

    def cluster_loss(self, x):
        kl, logged, _ = self.clustering_terms(x)
        return {"loss": kl, "kl": kl, **logged}

    def cluster_trains(self) -> list:
        return [self.autoencoder.encoders, self.centers]

    def phases(self):
        cfg = self.config
        start = self.cluster_start
        if cfg.cluster_optimizer == "sgd":
            schedule = dict(optimizer="sgd", momentum=cfg.momentum)
        else:
            schedule = dict(betas=(cfg.beta1, cfg.beta2))
        return [*self.autoencoder.pretraining_phases(self.pre, self.to_input),
                Phase("cluster", self.cluster_trains(), self.cluster_loss, cfg.cluster_lr, steps=(start, None),
                      **schedule)]

    def refresh_due(self, step):
        return step >= self.cluster_start and (step - self.cluster_start) % self.config.update_interval == 0

    def embed_all(self, train_x: torch.Tensor, layers=None) -> torch.Tensor:
        out = [self.autoencoder.encode(self.to_input(to_float(train_x[i : i + 4096])), layers)
               for i in range(0, len(train_x), 4096)]
        return fp32(torch.cat(out))

    def refresh(self, step, train_x):
        """At the first clustering step, k-means centres; at every renewal, P's encoder copy,
        centres and column sums, and the stop rule."""
        cfg = self.config
        if step == self.cluster_start:
            self.centers.copy_(self._kmeans(self.embed_all(train_x)))
        elif self._labels is None:  # resumed: the clusters at the last renewal, from its copy
            old = self.embed_all(train_x, [(m.weight, m.bias) for m in self.target])
            self._labels = soft_assignment(old, self.target_centers, cfg.alpha).argmax(dim=1)
        q = soft_assignment(self.embed_all(train_x), self.centers, cfg.alpha)
        labels = q.argmax(dim=1)
        self.frequency.copy_(q.sum(dim=0))
        for mine, theirs in zip(self.target.parameters(), self.autoencoder.encoders.parameters()):
            mine.copy_(theirs)
        self.target_centers.copy_(self.centers)
        if self._labels is not None and step > self.cluster_start:
            delta = (labels != self._labels).float().mean()
            self.delta_label.copy_(delta)
            if cfg.tol and delta < cfg.tol and not self.stopped_at:
                self.stopped_at.fill_(step)
                for mine, theirs in zip(self.stopped.parameters(), self.autoencoder.parameters()):
                    mine.copy_(theirs)
                self.stopped_centers.copy_(self.centers)
        self._labels = labels

    def _kmeans(self, z: torch.Tensor) -> torch.Tensor:
        seed = int(np.random.randint(2**31 - 1))  # numpy's global state, seeded per run
        points = z.detach().cpu().double().numpy()
        with progress.stage(f"k-means of the pretrained embeddings, K={self.config.n_clusters}, "
                            f"{self.config.n_init} inits"):
            km = KMeans(self.config.n_clusters, n_init=self.config.n_init, random_state=seed).fit(points)
        return torch.from_numpy(km.cluster_centers_).to(self.centers)

    def after_training(self, train_x):
        """The weights of the renewal at which the stop rule fired, as the authors' run ends there."""
        if self.stopped_at:
            for mine, theirs in zip(self.autoencoder.parameters(), self.stopped.parameters()):
                mine.copy_(theirs)
            self.centers.copy_(self.stopped_centers)

    def shared_prefix(self):
        """The pretraining stage: the same for DEC and IDEC (IDEC's code loads DEC's weights)."""
        pre, dims = self.pre, self.autoencoder.dims
        key = f"stacked-ae:{pre}:{dims}:{self.scale}:{READINGS[pre.mode][4]}:{self.config.n_clusters}"
        return self.cluster_start, key

    # -- inference -------------------------------------------------------------------------------
    def cluster_probabilities(self, x):
        return soft_assignment(fp32(self.embed(x)), self.centers, self.config.alpha)

    def cluster(self, x):
        return self.cluster_probabilities(x).argmax(dim=1)

    def embed(self, x):
        return self.autoencoder.encode(self.to_input(x))

    def to_latent(self, x):
        return self.embed(x)

    def from_latent(self, z):
        return self.from_output(self.autoencoder.decode(z))
