"""The method adapter contract: what differs between methods, and nothing else.

An adapter owns its networks and losses; the trainer owns optimizers, the schedule,
precision, logging, checkpoints. Each training step runs the adapter's *phases* in
order; a phase names the networks (or parameters) it updates, its learning rate, and a
loss function of the real batch. So no adapter re-writes zero_grad/backward/step, and
speed work on the loop happens in one place.

The long form: docs/notes.md, `bench.methods.base`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, ClassVar, Sequence

import torch
from torch import nn


@dataclass
class Phase:
    """One optimisation phase of a training step (e.g. "D", then "G+Q")."""

    name: str
    trains: Sequence[nn.Module | torch.Tensor]  # the networks (or parameters) this phase updates
    loss: Callable[[torch.Tensor], dict[str, torch.Tensor]]  # real batch -> {"loss": total, ...terms}
    lr: float
    betas: tuple[float, float] | None = None  # Adam's; None: the method's (config.beta1, config.beta2)
    optimizer: str = "adam"  # "adam", or "sgd" with `momentum`
    momentum: float = 0.0
    eps: float = 1e-8  # Adam's
    decay_at: int = 0  # from this step on, the learning rate is lr / 10 (0: never)
    # a step schedule from the phase's start: lr x lr_decay every `decay_every` steps (0: none),
    # never below lr_floor
    decay_every: int = 0
    lr_decay: float = 0.1
    lr_floor: float = 0.0
    momentum_burnin: int = 0  # SGD's momentum grows linearly from 0 over the phase's first steps
    # runs this many times per step, each time on the next equal slice of the batch, with one
    # optimizer (a WGAN critic's 5 updates per generator update); logs the mean over them
    repeat: int = 1
    # the steps [start, stop) in which the phase runs (stop None: to the end), for methods
    # trained in stages (an autoencoder's pretraining, then clustering)
    steps: tuple[int, int | None] = (0, None)

    def active(self, step: int) -> bool:
        start, stop = self.steps
        return start <= step and (stop is None or step < stop)

    @property
    def parameters(self) -> list[torch.Tensor]:
        out = []
        for item in self.trains:
            out += list(item.parameters()) if isinstance(item, nn.Module) else [item]
        return out


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
    """Base class of every adapter. Subclasses set `Config` and implement `phases` (or `fit`
    with `trains_by_gradient = False`), `cluster` and `embed`; `@register_method` names them."""

    name: ClassVar[str] = ""  # set by @register_method
    Config: ClassVar[type] = EmptyConfig
    # per-preset refinements of trainer settings or method config, e.g. the paper's step count
    presets: ClassVar[dict[str, dict]] = {}
    # settings the paper itself varies (cluster count K, unroll steps): a run that changes
    # only these is still the paper's protocol, so tables put the paper's claim beside it
    protocol_keys: ClassVar[tuple[str, ...]] = ()
    trains_by_gradient: ClassVar[bool] = True
    generates: ClassVar[bool] = False
    reconstructs: ClassVar[bool] = False
    reads_optimizer_state: ClassVar[bool] = False
    soft_clusters: ClassVar[bool] = False  # cluster_probabilities()
    # its paper labels each cluster by its most confident held-out image (with soft_clusters)
    labels_by_held_out: ClassVar[bool] = False
    # an encoder with a diagonal-Gaussian posterior under an N(0, I) prior: `posterior_codes`
    # (real images -> the generator's codes), `latent_kl`, `latent_groups`
    variational: ClassVar[bool] = False
    # on CUDA the trainer captures a step as a graph and replays it: a step's losses must
    # then be pure tensor work (no host syncs, no Python state that changes per step);
    # an adapter that cannot promise that sets this False and trains eagerly
    cuda_graphs: ClassVar[bool] = True
    code_spec: CodeSpec | None = None

    def __init__(self, config, image_shape: tuple[int, int, int] = (1, 32, 32)):
        super().__init__()
        self.config = config
        self.image_shape = tuple(image_shape)

    # -- what the harness reads ------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    @property
    def n_clusters(self) -> int:
        """K of the categorical code, else the config's `n_clusters`."""
        if self.code_spec is not None and self.code_spec.categorical:
            return self.code_spec.categorical
        return self.config.n_clusters

    @property
    def betas(self) -> tuple[float, float]:
        return (self.config.beta1, self.config.beta2)

    def training_phases(self) -> list[Phase]:
        """`phases()` with every phase's Adam betas filled in."""
        return [p if p.betas is not None else replace(p, betas=self.betas) for p in self.phases()]

    @classmethod
    def inert_settings(cls, config: dict) -> set[str]:
        """The settings that change nothing this method computes given the others in
        `config` (a record's method config), e.g. the unroll rule when nothing is unrolled:
        a run is not labelled by them. Default: none."""
        return set()

    @classmethod
    def input_shape(cls, config, data) -> tuple[int, int, int]:
        """The image shape this method trains on, given its config and the dataset (which
        the runner crops to it): by default the data's."""
        return data.image_shape

    # -- training ---------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        """The optimisation phases of one training step, in order. Called once."""
        raise NotImplementedError(f"{self.name} declares trains_by_gradient but has no phases()")

    def bind_optimizers(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """With `reads_optimizer_state`: called by the trainer with its optimizer per phase
        name, once they exist (an unrolled GAN continues D's Adam). Default: nothing."""

    def bind_training_data(self, train_x: torch.Tensor) -> None:
        """Called by the trainer with all training images (uint8, on the device) before the
        first step, for losses that draw batches of their own (a look-ahead discriminator
        steps on fresh real batches). Default: nothing."""

    def refresh_due(self, step: int) -> bool:
        """Whether `refresh` runs before training step `step` (0-based). Default: never."""
        return False

    def refresh(self, step: int, train_x: torch.Tensor) -> None:
        """Called by the trainer before step `step` when `refresh_due(step)`, under no_grad,
        with all training images (uint8, on the device): what a stage needs from the whole
        training set (k-means centres or a Gaussian mixture fitted to the pretrained codes,
        a target distribution renewed every N steps). Write tensors in place: a captured
        CUDA graph reads them where they are."""

    def shared_prefix(self) -> tuple[int, str] | None:
        """(P, key) when training steps 0..P-1 depend only on `key`, the seed, the training
        images and the batch size (a pretraining stage that another method shares): the
        trainer keeps the run's state at step P under the work folder, and a run of any
        method with the same key and seed continues from it instead of training those steps.
        Default: None."""
        return None

    def fit(self, train_x: torch.Tensor) -> None:
        """Closed-form training on all training images (float, [-1, 1]) for non-gradient methods."""
        raise NotImplementedError(f"{self.name} declares trains_by_gradient=False but has no fit()")

    def after_training(self, train_x: torch.Tensor) -> None:
        """Called once when gradient training completes, with all training images as uint8
        (e.g. to fit k-means on the learned representation). Default: nothing."""

    # -- inference ----------------------------------------------------------------------
    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster index in [0, n_clusters) of each real image (float, [-1, 1])."""
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation used for t-SNE and disentanglement metrics, (N, D)."""
        raise NotImplementedError

    def cluster_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """With `soft_clusters`: (N, n_clusters) probabilities, whose argmax is `cluster(x)`."""
        raise NotImplementedError(f"{self.name} gives no cluster probabilities")

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Dec(Enc(x)), with `reconstructs`."""
        return self.from_latent(self.to_latent(x))

    def to_latent(self, x: torch.Tensor) -> torch.Tensor:
        """With `reconstructs`: the code the decoder decodes, (N, D), so that
        from_latent(to_latent(x)) is x's reconstruction; a line between two images' codes is
        the papers' latent interpolation (`bench plot interpolations`)."""
        raise NotImplementedError(f"{self.name} has no encoder")

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """With `reconstructs`: images decoded from codes shaped as `to_latent` gives them."""
        raise NotImplementedError(f"{self.name} has no decoder")

    def posterior_codes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """With `variational`: the codes of real images (posterior means), as `sample_codes`
        gives them, so that generate(posterior_codes(x)) is x's reconstruction."""
        raise NotImplementedError(f"{self.name} does not encode images into its codes")

    def latent_kl(self, x: torch.Tensor) -> torch.Tensor:
        """With `variational`: KL(q(z_j|x) || N(0, 1)) of each latent j, (N, latent)."""
        raise NotImplementedError(f"{self.name} has no posterior")

    def latent_groups(self) -> dict[str, list[int]]:
        """With `variational`: named groups of latent indices (e.g. info / incompressible)."""
        raise NotImplementedError(f"{self.name} has no posterior")

    def sample_codes(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """With `generates`: codes {"noise", "categorical", "continuous"} as `code_spec` says."""
        raise NotImplementedError(f"{self.name} has no generator")

    def generate(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} has no generator")


__all__ = ["Phase", "CodeSpec", "Method", "EmptyConfig"]
