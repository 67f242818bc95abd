"""S seeds of one method trained as one step: `bench run --batch-seeds`.

The networks here are so small that a GPU runs one seed's kernels far below its
capacity. Stacking the seeds' weights (`torch.func.stack_module_state`) and running each
phase's loss under `vmap` makes every kernel S times larger instead of launching S times
as many. Each seed keeps its own result:

The long form (readings, departures, history): docs/notes.md, `bench.training.seed_batch`."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from bench import rng
from bench.methods.base import Method
from bench.training.step import Step, TrainStep, make_optimizer


def _global_state(device: torch.device) -> torch.Tensor:
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def batchable(method_class: type[Method]) -> bool:
    """Trains by gradient, and its losses read no optimizer state."""
    return method_class.trains_by_gradient and not method_class.reads_optimizer_state


class _Call(nn.Module):
    """Holds a method so `functional_call` can run any of its loss functions."""

    def __init__(self, method: Method):
        super().__init__()
        self.m = method

    def forward(self, fn, x):
        return fn(x)


class SeedBatchStep(Step):
    """S seeds of one method: stacked weights, each phase's loss under vmap."""

    def __init__(self, methods: list[Method], rngs: list[rng.SeedRNG], device: torch.device,
                 amp: bool = False, cuda_graphs: bool = True):
        template = methods[0]
        if not batchable(type(template)):
            raise ValueError(f"{template.name} cannot train seeds as one batched step")
        super().__init__(methods, device, amp, cuda_graphs)
        self.rngs = rngs
        self._call = _Call(template)
        self.params, self.buffers = stack_module_state([_Call(m) for m in methods])
        names = {id(p): f"m.{name}" for name, p in template.named_parameters()}
        self.phases = [dataclasses.replace(p, trains=[self.params[names[id(q)]] for q in p.parameters])
                       for p in template.training_phases()]
        self.use_graph = self.use_graph and self.graphable()
        self.optimizers = [make_optimizer(p, device, capturable=self.use_graph) for p in self.phases]

    def _input(self, batches):
        return torch.stack(batches)

    def _split(self, x, n):
        return x.tensor_split(n, dim=1)  # each seed's batch

    def _loss(self, phase, x):
        def one_seed(params, buffers, x):
            return functional_call(self._call, (params, buffers), (phase.loss, x))

        # "same": vmap passes each draw through unbatched; every draw that `bench.rng`
        # makes is one seed's, from that seed's generator
        check = not self._eager_steps.get(self.active, 0)  # each set of phases' first step
        before = _global_state(self.device) if check else None
        with rng.seed_batched([r.generator for r in self.rngs]):
            out = vmap(one_seed, randomness="same")(self.params, self.buffers, x)
        if check and not torch.equal(before, _global_state(self.device)):
            raise RuntimeError(f"{self.methods[0].name}'s {phase.name} loss draws from torch's global "
                               "generator: draw through bench.rng to batch its seeds")
        # seeds share no weights, so each seed's gradient of the sum is its own loss's
        return out["loss"].sum(), out

    def _graph_generators(self) -> list[torch.Generator]:
        return [r.generator for r in self.rngs]

    # -- each seed's own copy ---------------------------------------------------------------
    @torch.no_grad()
    def write_back(self) -> None:
        """Copy the stacked weights and statistics into each seed's method (for evaluation
        and checkpoints, which work on one seed's method as a lone run's would)."""
        for s, method in enumerate(self.methods):
            own = _Call(method)
            for name, t in own.named_parameters():
                t.copy_(self.params[name][s])
            for name, t in own.named_buffers():
                t.copy_(self.buffers[name][s])

    @torch.no_grad()
    def read_in(self) -> None:
        """Stack each seed's method's weights and statistics again (after its `refresh`)."""
        for s, method in enumerate(self.methods):
            own = _Call(method)
            for name, t in own.named_parameters():
                self.params[name][s].copy_(t)
            for name, t in own.named_buffers():
                self.buffers[name][s].copy_(t)

    def optimizer_states(self, s: int) -> list[dict]:
        """Seed s's optimizer states, in a lone run's format (a checkpoint either can resume)."""
        out = []
        for opt in self.optimizers:
            state = opt.state_dict()
            out.append({
                "state": {i: {k: (v if k == "step" else v[s]).clone() for k, v in st.items()}
                          for i, st in state["state"].items()},
                "param_groups": state["param_groups"],
            })
        return out

    def load_optimizer_states(self, per_seed: list[list[dict]]) -> None:
        """Stack the seeds' lone-format optimizer states (all at the same step)."""
        for k, opt in enumerate(self.optimizers):
            states = [seed_states[k] for seed_states in per_seed]
            first = states[0]
            stacked = {
                i: {key: (value if key == "step" else torch.stack([st["state"][i][key] for st in states]))
                    for key, value in first["state"][i].items()}
                for i in first["state"]
            }
            opt.load_state_dict({"state": stacked, "param_groups": first["param_groups"]})


def make_step(methods: list[Method], rngs: list[rng.SeedRNG | None], device: torch.device, amp: bool = False,
              cuda_graphs: bool = True) -> Step:
    """The step that trains these seeds: one alone (in place), several as one vmapped step."""
    if len(methods) == 1:
        return TrainStep(methods[0], device, amp, cuda_graphs)
    return SeedBatchStep(methods, rngs, device, amp, cuda_graphs)
