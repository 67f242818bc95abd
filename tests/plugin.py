"""Test-only registrations, loaded in-process by import or in a `bench` subprocess via
BENCH_PLUGINS=tests.plugin: a tiny synthetic dataset and methods that misbehave on cue."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from bench.config import Beta, PositiveFloat, PositiveInt
from bench.datasets.base import ImageDataset, to_float
from bench.methods.base import Method, Phase
from bench.methods.infogan import InfoGAN
from bench.methods.kmeans import KMeansHead
from bench.methods.nets import build
from bench.registry import register_dataset, register_method


@register_dataset("toy")
def load_toy(root) -> ImageDataset:
    """Ten classes, each a bright horizontal band at its own height plus noise; 32x32."""
    g = torch.Generator().manual_seed(1234)

    def make(n):
        y = torch.arange(n) % 10
        x = torch.randint(0, 60, (n, 1, 32, 32), generator=g)
        for c in range(10):
            x[y == c, :, 3 * c : 3 * c + 3, 4:28] += 180
        return x.clamp(0, 255).to(torch.uint8), y

    train_x, train_y = make(320)
    test_x, test_y = make(200)
    return ImageDataset("toy", train_x, train_y, test_x, test_y, n_classes=10)


def _step_hook(self):
    """Counts D phases (= steps); misbehaves at the step named by the environment."""
    self.steps_seen = getattr(self, "steps_seen", 0) + 1
    kill_at = int(os.environ.get("BENCH_TEST_KILL_AT", "0"))
    if kill_at and self.steps_seen == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    interrupt_at = int(os.environ.get("BENCH_TEST_INTERRUPT_AT", "0"))
    if interrupt_at and self.steps_seen == interrupt_at:
        os.kill(os.getpid(), signal.SIGINT)


TEST_METHODS = {"toy_infogan", "nan_infogan", "broken_method", "cue_ae"}

# InfoGAN's 32x32 layout with narrower layers (16-32-64 instead of 64-128-1024): 0.3 M
# parameters and 4 MB checkpoints instead of 13 M and 200 MB, so the dozens of test runs that
# write checkpoints stay quick and a test session does not fill a small disk
SMALL_INFOGAN = {
    (32, 32): (
        ["conv 16 k4 s2 lrelu", "conv 32 k4 s2 bn lrelu", "flatten", "fc 64 bn lrelu"],
        ["fc 64 bn relu", "fc 2048 bn relu", "reshape 32 8 8", "deconv 16 k4 s2 bn relu"],
    ),
}


class SmallInfoGAN(InfoGAN):
    architectures = SMALL_INFOGAN


@register_method("toy_infogan")
class ToyInfoGAN(SmallInfoGAN):
    """InfoGAN that can be killed (SIGKILL) or interrupted (SIGINT) at a given step."""

    cuda_graphs = False  # its hook counts steps in Python

    def d_loss(self, x):
        _step_hook(self)
        return super().d_loss(x)

    def eval(self):
        """With BENCH_TEST_SIGNAL_AFTER_TRAINING=SIGTERM@N (or another signal): that signal as the
        trained model is put in eval mode the N-th time (1: after_training, 2: being scored)."""
        name, _, nth = os.environ.get("BENCH_TEST_SIGNAL_AFTER_TRAINING", "").partition("@")
        if name and getattr(self, "steps_seen", 0):
            self.evals_after = getattr(self, "evals_after", 0) + 1
            if self.evals_after == int(nth or 1):
                os.kill(os.getpid(), getattr(signal, name))
        return super().eval()


@register_method("nan_infogan")
class NaNInfoGAN(SmallInfoGAN):
    """InfoGAN whose D loss becomes NaN from step 7 on."""

    cuda_graphs = False

    def d_loss(self, x):
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        out = super().d_loss(x)
        if self.steps_seen >= 7:
            out["loss"] = out["loss"] * float("nan")
        return out


@register_method("broken_method")
class Broken(SmallInfoGAN):
    """Raises inside its first training step."""


    def d_loss(self, x):
        raise RuntimeError("deliberately broken")



def _wait_for_stop(limit_s: float = 120.0) -> None:
    """Block until the trainer's Ctrl-C handler has seen a stop request (or `limit_s` passes)."""
    stop = getattr(signal.getsignal(signal.SIGINT), "__self__", None)  # the trainer's StopRequested
    deadline = time.monotonic() + limit_s
    while not stop and time.monotonic() < deadline:
        time.sleep(0.02)


@register_method("cue_ae")
class CueAutoencoder(Method):
    """A tiny MLP autoencoder, then k-means on its codes (a step takes a millisecond), that
    acts at its `cue_at`-th step as its settings say (settings reach a Ray worker, whose
    environment is the cluster's): `kill_once` SIGKILLs its process unless `cue_dir/killed`
    exists, which it writes first (a retried run then trains on); `wait_for_stop` writes
    `cue_dir/<pid>` and waits there until Ctrl-C reaches the process, then `cue_linger`
    seconds more."""

    reconstructs = True
    cuda_graphs = False  # its hook counts steps in Python

    @dataclass
    class Config:
        latent: PositiveInt = 8
        n_clusters: PositiveInt = 10
        lr: PositiveFloat = 1e-3
        beta1: Beta = 0.9
        beta2: Beta = 0.999
        cue: Literal["none", "kill_once", "wait_for_stop"] = "none"
        cue_at: int = 0
        cue_dir: str = ""
        cue_linger: float = 0.0  # wait_for_stop: seconds the step goes on after the stop request (a slow step)

    def __init__(self, config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        c, h, w = self.image_shape
        self.encoder = build(["flatten", "fc 32 relu", f"fc {config.latent}"], self.image_shape)
        self.decoder = build(["fc 32 relu", f"fc {c * h * w} tanh", f"reshape {c} {h} {w}"], (config.latent,))
        self.kmeans = KMeansHead(config.n_clusters, config.latent)

    def phases(self):
        def loss(x):
            self._cue()
            return {"loss": F.mse_loss(self.reconstruct(x), x)}

        return [Phase("AE", [self.encoder, self.decoder], loss, self.config.lr)]

    def _cue(self) -> None:
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        if self.steps_seen != self.config.cue_at or self.config.cue == "none":
            return
        folder = Path(self.config.cue_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if self.config.cue == "kill_once" and not (folder / "killed").exists():
            (folder / "killed").write_text("")
            os.kill(os.getpid(), signal.SIGKILL)
        if self.config.cue == "wait_for_stop":
            (folder / str(os.getpid())).write_text("")
            _wait_for_stop()
            time.sleep(self.config.cue_linger)

    def after_training(self, train_x):
        self.kmeans.fit(self.embed(to_float(train_x)))

    def reconstruct(self, x):
        return self.decoder(self.encoder(x))

    def embed(self, x):
        return self.encoder(x)

    def cluster(self, x):
        return self.kmeans.assign(self.embed(x))
