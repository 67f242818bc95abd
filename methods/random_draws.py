"""Random draws made inside training losses, through one door.

A lone run draws from torch's global generator. When S seeds train as one vmapped step
(`bench.seed_batch`), each seed must still get exactly the numbers its lone run would
draw, which `vmap(randomness=...)` cannot give: it draws every seed's numbers from one
generator. Inside `seed_batched(generators)` these functions instead draw each seed's
numbers from that seed's own generator, with the lone run's shape and call order, and
hand the stack to vmap as a batched tensor. Outside it they are plain torch calls, so
lone runs are unchanged.
"""

from __future__ import annotations

import contextlib

import torch
from torch._C._functorch import _add_batch_dim, maybe_current_level

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
