"""Each seed's own random world, for seeds trained side by side in one process.

A lone run owns the process's global generators (Python, numpy, torch's CPU generator
and CUDA's): its draws continue from where seeding and network initialisation left them.
When S seeds share a process (`bench.seed_batch`), each keeps a copy of that state.
Training draws come from `generator`, a torch generator on the run's device holding the
state the lone run's device generator would hold; anything else that draws from the
global generators (an evaluation, k-means, a checkpoint's RNG record) runs inside
`active()`, which swaps this seed's state in and back out.
"""

from __future__ import annotations

import contextlib

import torch

from bench.device import rng_state, set_rng_state


def _device_index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


class SeedRNG:
    """Snapshot the global generators now (after seeding and building the seed's method)."""

    def __init__(self, device: torch.device, state: dict | None = None):
        self.device = device
        self.state = state if state is not None else rng_state()
        self.generator = self._generator()

    def _generator(self) -> torch.Generator:
        g = torch.Generator(self.device)
        if self.device.type == "cuda":
            g.set_state(self.state["cuda"][_device_index(self.device)].cpu())
        else:
            g.set_state(self.state["torch"].cpu())
        return g

    def sync(self) -> dict:
        """The state a lone run's global generators would hold now (training draws included)."""
        if self.device.type == "cuda":
            self.state["cuda"] = list(self.state["cuda"])
            self.state["cuda"][_device_index(self.device)] = self.generator.get_state()
        else:
            self.state["torch"] = self.generator.get_state()
        return self.state

    def load(self, state: dict) -> None:
        """Continue from a checkpoint's RNG record (a lone run's or a batched seed's)."""
        self.state = state
        self.generator = self._generator()

    @contextlib.contextmanager
    def active(self):
        """Run a block as this seed's lone process would: its state in the global generators."""
        outside = rng_state()
        set_rng_state(self.sync())
        try:
            yield
        finally:
            self.load(rng_state())
            set_rng_state(outside)
