"""ClusterGAN (Mukherjee, Asnani, Lin & Kannan, "ClusterGAN: Latent Space Clustering in
Generative Adversarial Networks", AAAI 2019, arXiv:1809.03627), as its authors' code
(sudiptodip15/ClusterGAN: `Image_ClusterGAN.py`, `mnist/clus_wgan.py`, `util.py`) trains it.

The paper reading and every departure in full: docs/ledger.md, section `clustergan`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from bench import rng
from bench.config import Beta, NonNegativeFloat, PositiveFloat, PositiveInt
from bench.datasets.base import to_float
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method, Phase
from bench.methods.gan import fp32
from bench.methods.kmeans import KMeansHead
from bench.methods.nets import batch_statistics, build
from bench.registry import register_method


class CenteredBatchNorm(nn.Module):
    """TensorFlow's `batch_norm` default: normalise, add a learned shift, no scale; eps 1e-3."""

    def __init__(self, channels: int, dims: int):
        super().__init__()
        norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.norm = norm(channels, eps=1e-3, momentum=0.001, affine=False)
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shift = self.shift.view(1, -1, *([1] * (x.dim() - 2)))
        return self.norm(x) + shift


class Generator(nn.Module):
    def __init__(self, z_dim: int, image_shape: tuple[int, int, int], width: int):
        super().__init__()
        c, h, _ = image_shape
        self.base = h // 4
        self.fc1, self.bn1 = nn.Linear(z_dim, 16 * width), CenteredBatchNorm(16 * width, 1)
        self.fc2 = nn.Linear(16 * width, 2 * width * self.base * self.base)
        self.bn2 = CenteredBatchNorm(2 * width, 2)
        self.deconv1, self.bn3 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1), CenteredBatchNorm(width, 2)
        self.deconv2 = nn.ConvTranspose2d(width, c, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn1(self.fc1(z)))
        h = self.fc2(h).view(len(z), -1, self.base, self.base)
        h = F.relu(self.bn2(h))
        h = F.relu(self.bn3(self.deconv1(h)))
        return torch.sigmoid(self.deconv2(h))


@register_method("clustergan")
class ClusterGAN(Method):
    """WGAN-GP on a one-hot + Gaussian latent, with an encoder back to it; clusters E(x)."""

    generates = True

    @dataclass
    class Config:
        n_categories: PositiveInt = 10  # K
        noise_dim: PositiveInt = 30  # dim of z_n
        sigma: PositiveFloat = 0.10  # std of z_n
        beta_n: NonNegativeFloat = 10.0
        beta_c: NonNegativeFloat = 10.0
        gp_weight: NonNegativeFloat = 10.0
        d_steps: PositiveInt = 5  # critic updates per generator update
        lr: PositiveFloat = 1e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.9
        leaky_slope: NonNegativeFloat = 0.2
        width: PositiveInt = 64  # conv widths (w, 2w), fc 16w: the code's 64-128-1024
        cluster_by: Literal["kmeans", "argmax"] = "kmeans"
        n_init: PositiveInt = 10  # k-means restarts (sklearn's default then)

    # the code: 500,000 generator updates, each after 5 critic updates on batches of 64
    presets = {
        "paper": {"steps": 500000, "batch_size": 5 * 64, "log_every": 500, "checkpoint_every": 10000,
                  "eval_every": 50000},
        "quick": {"batch_size": 5 * 64},
        # narrower networks (16-32-256): seconds on a CPU
        "smoke": {"steps": 100, "batch_size": 5 * 32, "width": 16, "log_every": 25, "checkpoint_every": 50},
    }

    @classmethod
    def input_shape(cls, config, data):
        return data.native_shape if data.native_shape is not None else data.image_shape

    def __init__(self, config: Config, image_shape=(1, 28, 28)):
        super().__init__(config, image_shape)
        cfg = config
        _, h, w = self.image_shape
        if h != w or h % 4:
            raise BenchError(f"{self.name} takes square images whose side is a multiple of 4, not {h}x{w}")
        self.code_spec = CodeSpec(cfg.n_categories, 0, (-1.0, 1.0), cfg.noise_dim)
        lrelu = f"lrelu{cfg.leaky_slope}"
        trunk = [f"conv {cfg.width} k4 s2 p1 {lrelu}", f"conv {2 * cfg.width} k4 s2 p1 {lrelu}", "flatten",
                 f"fc {16 * cfg.width} {lrelu}"]
        self.critic = build([*trunk, "fc 1"], self.image_shape)
        self.encoder = build([*trunk, f"fc {cfg.noise_dim + cfg.n_categories}"], self.image_shape)
        self.generator = Generator(cfg.noise_dim + cfg.n_categories, self.image_shape, cfg.width)
        for net in (self.critic, self.encoder, self.generator):
            net.apply(authors_init)
        for net in (self.critic, self.encoder):  # the last fc: TensorFlow's default initialiser
            nn.init.xavier_uniform_(net[-1].weight)
        self.kmeans = KMeansHead(cfg.n_categories, cfg.noise_dim + cfg.n_categories, cfg.n_init)

    # -- codes and generator -----------------------------------------------------------------------
    def sample_codes(self, n, generator=None):
        cfg = self.config
        dtype = next(self.generator.parameters()).dtype
        return {"noise": cfg.sigma * rng.randn(n, cfg.noise_dim, generator=generator, device=self.device, dtype=dtype),
                "categorical": rng.randint(cfg.n_categories, (n,), generator=generator, device=self.device),
                "continuous": torch.zeros(n, 0, device=self.device, dtype=dtype)}

    def _fake(self, codes) -> torch.Tensor:
        """G's images in the code's [0, 1]."""
        onehot = info_codes.one_hot(codes["categorical"], self.config.n_categories, codes["noise"].dtype)
        return self.generator(torch.cat([codes["noise"], onehot], dim=1))

    def generate(self, codes):
        with batch_statistics(self.generator) if not self.training else contextlib.nullcontext():
            return 2 * self._fake(codes) - 1

    def encode(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_n, logits of c) of images in [0, 1]."""
        out = self.encoder(x01)
        return out[:, : self.config.noise_dim], out[:, self.config.noise_dim :]

    # -- losses ------------------------------------------------------------------------------------------
    def d_loss(self, x):
        real = (x + 1) / 2
        with torch.no_grad():  # G's BatchNorm needs 2 images, if a slice of a tiny batch has 1
            fake = self._fake(self.sample_codes(max(len(x), 2)))[: len(x)]
        wasserstein = fp32(self.critic(real)).mean() - fp32(self.critic(fake)).mean()
        e = rng.rand(1, device=x.device, dtype=x.dtype)  # one e for the whole batch
        mixed = e * real + (1 - e) * fake
        grad = torch.func.grad(lambda m: self.critic(m).sum())(mixed)
        penalty = (grad.flatten(1).norm(dim=1) - 1).square().mean()
        return {"loss": wasserstein + self.config.gp_weight * fp32(penalty), "wasserstein": wasserstein,
                "gp": penalty}

    def g_loss(self, x):
        cfg = self.config
        codes = self.sample_codes(-(-len(x) // cfg.d_steps))  # a critic update's batch size
        fake = self._fake(codes)
        zn, logits = self.encode(fake)
        adversarial = fp32(self.critic(fake)).mean()
        cycle_n = F.mse_loss(fp32(zn), codes["noise"])
        cycle_c = F.cross_entropy(fp32(logits), codes["categorical"])
        return {"loss": adversarial + cfg.beta_n * cycle_n + cfg.beta_c * cycle_c, "g_adv": adversarial,
                "cycle_n": cycle_n, "cycle_c": cycle_c}

    def phases(self):
        cfg = self.config
        return [Phase("D", [self.critic], self.d_loss, cfg.lr, repeat=cfg.d_steps),
                Phase("G", [self.generator, self.encoder], self.g_loss, cfg.lr)]

    # -- clustering --------------------------------------------------------------------------------------
    def embed(self, x):
        zn, logits = self.encode((x + 1) / 2)
        return torch.cat([zn, logits.softmax(dim=1)], dim=1)

    def after_training(self, train_x):
        if self.config.cluster_by == "kmeans":
            codes = torch.cat([self.embed(to_float(train_x[i : i + 2000])) for i in range(0, len(train_x), 2000)])
            self.kmeans.fit(codes)

    def cluster(self, x):
        if self.config.cluster_by == "kmeans":
            return self.kmeans.assign(self.embed(x))
        return self.encode((x + 1) / 2)[1].argmax(dim=1)


@torch.no_grad()
def authors_init(module: nn.Module) -> None:
    """The code's initialisers: N(0, 0.02) weights, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
