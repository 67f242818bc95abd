"""The first-order look-ahead discriminator of the unrolled-InfoGAN report's code
(akhandait/disentangled-representation-learning: `unrolled_infogan/train_unrolled.py`,
`vaeinfogan/train_vaegan_unrolled.py`, `vaeinfogan/train_betainfo.py`), the one
implementation `unrolled_infogan`, `vae_gan` and `vae_infogan` share (`unroll_rule=lookahead`).

The code copies D, lets D take K real optimizer steps, each on a fresh real batch, lets the
generator step against that D, then puts D's weights back. No gradient flows through the K
steps (the differentiable unroll is `bench.methods.unroll`). What the author's `load` puts
back is the weights only: D's optimizer moments and BatchNorm running statistics keep what
the K steps did, here too.

The paper reading and every departure in full: docs/ledger.md, section `lookahead`."""

from __future__ import annotations

from typing import Callable

import torch

from bench import rng
from bench.datasets.base import to_float

Params = dict[str, torch.Tensor]


def graphable(k: int, rule: str) -> bool:
    """Whether a step with this unroll can be captured as a CUDA graph: the look-ahead steps
    an optimizer and draws batches inside a loss, so it trains eagerly."""
    return not (k > 0 and rule == "lookahead")


class LookAhead:
    """Bound by its method to the trainer's D optimizer and the training images."""

    def __init__(self, phase: str):
        self.phase = phase  # the name of D's phase, whose optimizer the look-ahead steps
        self.optimizer: torch.optim.Optimizer | None = None
        self.train_x: torch.Tensor | None = None  # uint8, on the device
        self.ahead: Params | None = None  # the last look-ahead weights (for inspection)

    def bind_optimizers(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self.optimizer = optimizers[self.phase]

    def bind_training_data(self, train_x: torch.Tensor) -> None:
        self.train_x = train_x

    def fresh_batch(self, n: int) -> torch.Tensor:
        """n training images drawn with replacement (the code iterates a second shuffled loader)."""
        if self.train_x is None:
            raise RuntimeError("unroll_rule=lookahead needs the training images (bind_training_data)")
        return to_float(self.train_x[rng.randint(len(self.train_x), (n,), device=self.train_x.device)])

    def advance(self, named: dict[str, torch.nn.Parameter], k: int, loss: Callable[[torch.Tensor], torch.Tensor],
                n: int) -> Params:
        """D's parameters `named` after k steps of its optimizer on `loss(fresh real batch of n)`,
        as detached copies; D's parameters themselves are restored before this returns."""
        if self.optimizer is None:
            raise RuntimeError(f"unroll_rule=lookahead needs the trainer's {self.phase} optimizer (bind_optimizers)")
        saved = [p.detach().clone() for p in named.values()]
        for _ in range(k):
            value = loss(self.fresh_batch(n))
            self.optimizer.zero_grad(set_to_none=True)
            value.backward()
            self.optimizer.step()
        self.ahead = {name: p.detach().clone() for name, p in named.items()}
        with torch.no_grad():
            for p, weights in zip(named.values(), saved):
                p.copy_(weights)
        return self.ahead
