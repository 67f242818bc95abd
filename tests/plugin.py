"""Test-only registrations, loaded in-process by import or in a `bench` subprocess via
BENCH_PLUGINS=tests.plugin: a tiny synthetic dataset and methods that misbehave on cue."""

from __future__ import annotations

import os
import signal

import torch

from bench.datasets.base import ImageDataset
from bench.methods.infogan import InfoGAN
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


TEST_METHODS = {"toy_infogan", "nan_infogan", "broken_method"}


@register_method("toy_infogan")
class ToyInfoGAN(InfoGAN):
    """InfoGAN that can be killed (SIGKILL) or interrupted (SIGINT) at a given step."""

    cuda_graphs = False  # its hook counts steps in Python

    def d_loss(self, x):
        _step_hook(self)
        return super().d_loss(x)


@register_method("nan_infogan")
class NaNInfoGAN(InfoGAN):
    """InfoGAN whose D loss becomes NaN from step 7 on."""

    cuda_graphs = False

    def d_loss(self, x):
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        out = super().d_loss(x)
        if self.steps_seen >= 7:
            out["loss"] = out["loss"] * float("nan")
        return out


@register_method("broken_method")
class Broken(InfoGAN):
    """Raises inside its first training step."""


    def d_loss(self, x):
        raise RuntimeError("deliberately broken")
