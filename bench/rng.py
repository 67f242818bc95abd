"""Randomness: seeding a run, the state of every generator it draws from, and the
random draws made inside training losses.

The long form (readings, departures, history): docs/notes.md, `bench.rng`."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch
from torch._C._functorch import _add_batch_dim, maybe_current_level


# -- seeding and the state of the global generators -------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices) for one run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every generator a run draws from, as tensors and plain values (a checkpoint holds
    nothing else, so it can be read with `weights_only=True`)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, cached))
    # a checkpoint loaded with map_location=cuda carries these to the GPU; RNG states live on the host
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# -- one seed's own random world, beside others in one process ---------------------------------
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


# -- draws inside training losses ------------------------------------------------------------------
_generators: list[torch.Generator] | None = None


@contextlib.contextmanager
def seed_batched(generators: list[torch.Generator]):
    """Draws inside this block come from `generators[s]` for seed s of the vmapped batch."""
    global _generators
    previous, _generators = _generators, list(generators)
    try:
        yield
    finally:
        _generators = previous


def _draw(make) -> torch.Tensor:
    """make(generator) -> one seed's tensor; batched across seeds when seed-batched."""
    if _generators is None:
        return make(None)
    level = maybe_current_level()
    if level is None:
        raise RuntimeError("seed-batched draws must happen inside the vmapped step")
    return _add_batch_dim(torch.stack([make(g) for g in _generators]), 0, level)


def rand(*shape: int, device, dtype=None, generator: torch.Generator | None = None) -> torch.Tensor:
    if generator is not None:
        return torch.rand(*shape, generator=generator, device=device, dtype=dtype)
    return _draw(lambda g: torch.rand(*shape, generator=g, device=device, dtype=dtype))


def randn(*shape: int, device, dtype=None, generator: torch.Generator | None = None) -> torch.Tensor:
    if generator is not None:
        return torch.randn(*shape, generator=generator, device=device, dtype=dtype)
    return _draw(lambda g: torch.randn(*shape, generator=g, device=device, dtype=dtype))


def randint(high: int, shape: tuple[int, ...], device, generator: torch.Generator | None = None) -> torch.Tensor:
    if generator is not None:
        return torch.randint(high, shape, generator=generator, device=device)
    return _draw(lambda g: torch.randint(high, shape, generator=g, device=device))


def rand_like(t: torch.Tensor) -> torch.Tensor:
    """`torch.rand_like(t)`: same numbers (a lone run's rand_like draws t.numel() uniforms)."""
    return rand(*t.shape, device=t.device, dtype=t.dtype)


def randn_like(t: torch.Tensor) -> torch.Tensor:
    """`torch.randn_like(t)`: same numbers (a lone run's randn_like draws t.numel() normals)."""
    return randn(*t.shape, device=t.device, dtype=t.dtype)
