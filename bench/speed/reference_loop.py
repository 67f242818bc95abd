"""The faithful eager training loop `bench speed` compares against: how the public
reference repositories train these models. A torch DataLoader over float images on the
host, each batch copied to the device, each phase's optimizer with its default
implementation, fp32, PyTorch's default cuDNN settings, no compilation or graphs, and every loss read with `.item()` each
step for logging. Same phases, same losses, same batch size as our trainer: only the
loop differs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, TensorDataset

from bench.training.step import make_optimizer


def batches(images: torch.Tensor, batch_size: int, seed: int = 0) -> Iterator[torch.Tensor]:
    """Endless shuffled batches of float [-1, 1] images from a DataLoader on the host."""
    dataset = TensorDataset(images.float().div(127.5).sub(1.0).cpu())
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    for (x,) in itertools.chain.from_iterable(itertools.repeat(loader)):
        yield x


class ReferenceStep:
    """One eager step: per phase, forward, zero_grad, backward, Adam step, `.item()` logs."""

    def __init__(self, method, device: torch.device, at_step: int = 0):
        self.method, self.device = method, device
        torch.backends.cudnn.benchmark = False  # PyTorch's default
        # a staged method's phases at `at_step`, as ours times them
        self.phases = [p for p in method.training_phases() if p.active(at_step)]
        self.optimizers = [make_optimizer(p, device, fast=False) for p in self.phases]
        method.bind_optimizers({p.name: opt for p, opt in zip(self.phases, self.optimizers)})
        self.log: dict[str, float] = {}

    def __call__(self, x_host: torch.Tensor) -> None:
        x = x_host.to(self.device)
        for phase, opt in zip(self.phases, self.optimizers):
            out = phase.loss(x)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            for name, value in out.items():
                self.log[f"{phase.name}/{name}"] = value.item()
