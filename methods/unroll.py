"""Differentiable optimizer unrolling (Metz et al. 2016, "Unrolled GANs").

`unroll` takes K optimizer steps on a parameter dict while keeping the autograd graph
(create_graph=True), so a loss evaluated at the K-th parameters can be differentiated
with respect to whatever the inner loss depended on (the generator's parameters, through
the fakes). Copying a network, stepping it in place and restoring it is not unrolling:
the generator would then never see how the discriminator responds.

Two update rules: `sgd` is eq. 8 of the unrolled-InfoGAN report (theta - eta * grad);
`adam` continues the real optimizer's Adam from its current moments, as Metz et al.'s
reference notebook unrolls its Adam updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

Params = dict[str, torch.Tensor]


@dataclass
class AdamState:
    """Adam's moments for each parameter (constants: they are not differentiated)."""

    lr: float
    betas: tuple[float, float]
    eps: float
    step: float | torch.Tensor  # completed steps of the real optimizer (on the GPU: a device scalar)
    exp_avg: Params
    exp_avg_sq: Params

    @classmethod
    def from_optimizer(cls, optimizer: torch.optim.Optimizer, named: dict[str, torch.nn.Parameter]) -> "AdamState":
        """The current state of `optimizer` for the parameters in `named` (zeros if it has
        not stepped yet)."""
        group = optimizer.param_groups[0]
        avg, avg_sq, step = {}, {}, 0.0
        for name, p in named.items():
            state = optimizer.state.get(p, {})
            avg[name] = state["exp_avg"].detach() if "exp_avg" in state else torch.zeros_like(p)
            avg_sq[name] = state["exp_avg_sq"].detach() if "exp_avg_sq" in state else torch.zeros_like(p)
            if "step" in state:
                step = _steps_done(state["step"])
        return cls(group["lr"], tuple(group["betas"]), group["eps"], step, avg, avg_sq)


def _steps_done(step) -> float | torch.Tensor:
    """A CPU step count as a float, as torch.optim.Adam uses it; a device one stays on the
    device (capturable Adam keeps it there), so reading it costs no host sync."""
    if isinstance(step, torch.Tensor) and step.device.type != "cpu":
        return step.detach().float()
    return float(step)


def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    return {k: p - lr * grads[k] for k, p in params.items()}


def adam_step(params: Params, grads: Params, state: AdamState, t: int) -> tuple[Params, AdamState]:
    """One Adam update as torch.optim.Adam computes it (no weight decay, no amsgrad),
    written with differentiable tensor ops. `t` is the 1-based step number (a float, or
    a device scalar)."""
    b1, b2 = state.betas
    avg = {k: b1 * state.exp_avg[k] + (1 - b1) * g for k, g in grads.items()}
    avg_sq = {k: b2 * state.exp_avg_sq[k] + (1 - b2) * g * g for k, g in grads.items()}
    c1, c2 = 1 - b1**t, 1 - b2**t
    # the tiny offset keeps sqrt's derivative finite where a moment is exactly zero
    new = {k: p - state.lr * (avg[k] / c1) / ((avg_sq[k] / c2 + 1e-30).sqrt() + state.eps)
           for k, p in params.items()}
    return new, AdamState(state.lr, state.betas, state.eps, state.step, avg, avg_sq)


def unroll(loss: Callable[[Params], torch.Tensor], params: Params, steps: int,
           rule: str = "sgd", lr: float = 1e-3, adam: AdamState | None = None) -> Params:
    """Parameters after `steps` descent steps on `loss`, differentiable end to end."""
    for k in range(steps):
        names = list(params)
        grads = torch.autograd.grad(loss(params), [params[n] for n in names], create_graph=True)
        grads = dict(zip(names, grads))
        if rule == "sgd":
            params = sgd_step(params, grads, lr)
        elif rule == "adam":
            if adam is None:
                raise ValueError("rule='adam' needs the optimizer's AdamState")
            params, adam = adam_step(params, grads, adam, adam.step + k + 1)
        else:
            raise ValueError(f"unknown unroll rule {rule!r} (sgd or adam)")
    return params
