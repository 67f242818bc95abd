"""The method adapter contract.

An adapter owns its networks and losses; the trainer owns optimizers, the schedule,
precision, logging, checkpoints. Each training step runs the adapter's *phases* in
order; a phase names the parameters it updates, its optimizer settings, and a loss
function of the real batch. So no adapter re-writes zero_grad/backward/step, and speed
work on the loop happens in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
from torch import nn


@dataclass
class Phase:
    """One optimisation phase of a training step (e.g. "D", then "G+Q")."""

    name: str
    parameters: list[nn.Parameter]
    loss: Callable[[torch.Tensor], dict[str, torch.Tensor]]  # real batch -> {"loss": total, ...terms}
    lr: float
    betas: tuple[float, float] = (0.5, 0.999)


@dataclass
class CodeSpec:
    """What a generator's latent codes are, so the harness can draw traversal grids."""

    categorical: int  # K categories (0: none)
    continuous: int  # number of continuous codes
    continuous_range: tuple[float, float] = (-1.0, 1.0)
    noise: int = 0  # incompressible noise dimensions


@dataclass
class EmptyConfig:
    """For methods with nothing to configure."""


class Method(nn.Module):
    """Base class of every adapter. Subclasses set `name`, `Config`, and implement
    `phases` (gradient methods) or `fit` (closed-form baselines), `cluster` and `embed`."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = EmptyConfig
    # per-preset refinements of trainer settings or method config, e.g. the paper's step count
    presets: ClassVar[dict[str, dict]] = {}
    # settings the paper itself varies (cluster count K, unroll steps): a run that changes
    # only these is still the paper's protocol, so tables put the paper's claim beside it
    protocol_keys: ClassVar[tuple[str, ...]] = ()
    code_spec: CodeSpec | None = None
    # on CUDA the trainer captures a step as a graph and replays it: a step's losses must
    # then be pure tensor work (no host syncs, no Python state that changes per step);
    # an adapter that cannot promise that sets this False and trains eagerly
    cuda_graphs: ClassVar[bool] = True

    def __init__(self, config, image_shape: tuple[int, int, int] = (1, 32, 32)):
        super().__init__()
        self.config = config
        self.image_shape = tuple(image_shape)

    # -- training ---------------------------------------------------------------------
    @property
    def trains_by_gradient(self) -> bool:
        return type(self).phases is not Method.phases

    def phases(self) -> list[Phase]:
        """The optimisation phases of one training step, in order. Called once."""
        raise NotImplementedError

    def bind_optimizers(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """Called by the trainer with its optimizer per phase name, once they exist, for
        losses that read optimizer state (an unrolled GAN continues D's Adam). Default:
        nothing."""

    def fit(self, train_x: torch.Tensor) -> None:
        """Closed-form training on all training images (float, [-1, 1]) for non-gradient methods."""
        raise NotImplementedError

    def after_training(self, train_x: torch.Tensor) -> None:
        """Called once when gradient training completes, with all training images as uint8
        (e.g. to fit k-means on the learned representation). Default: nothing."""

    # -- inference ----------------------------------------------------------------------
    @property
    def n_clusters(self) -> int:
        raise NotImplementedError

    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster index in [0, n_clusters) of each real image (float, [-1, 1])."""
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation used for t-SNE and disentanglement metrics, (N, D)."""
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Dec(Enc(x)) for autoencoder methods."""
        raise NotImplementedError(f"{self.name} has no decoder")

    def sample_codes(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{self.name} has no generator")

    def generate(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} has no generator")


__all__ = ["Phase", "CodeSpec", "Method", "EmptyConfig"]
