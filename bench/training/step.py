"""One training step of S >= 1 seeds of a method — every phase in order — shared by the
trainer and `bench speed`, so the loop that is timed is the loop that trains.

A phase runs its loss (under bf16 autocast with `amp`, CUDA only), zero_grad, backward
and its Adam step; every loss term is added to one device tensor (a row per seed) and its
last value kept in another, both read back only when the trainer logs. On CUDA the whole
step (all phases, optimizer updates, the loss sums) is captured once as a CUDA graph and
replayed: the networks here are so small that eager PyTorch spends most of a step
launching kernels from Python. Replays compute the same function as the eager step;
random draws inside the step come from the same generators. A step that cannot be
captured (a host sync inside a loss, a method that opts out with `cuda_graphs = False`)
runs eagerly, and `mode` says which one ran.

Two kinds share this: `TrainStep` trains one seed's method in place; `SeedBatchStep`
(`bench.training.seed_batch`) trains S seeds as one vmapped step. Both take a list of
batches (one per seed) and log a list of loss means (one per seed);
`bench.training.seed_batch.make_step` picks one.
"""

from __future__ import annotations

import contextlib
import functools
import os

import torch

GRAPH_WARMUP_STEPS = 3  # eager steps before capture: Adam's state and cuDNN's choices must exist


def make_optimizer(phase, device: torch.device, capturable: bool = False, fast: bool = True) -> torch.optim.Optimizer:
    """The phase's optimizer: Adam (with `fast`, the fused CUDA kernel on a GPU, capturable
    when the step is graphed, else the multi-tensor path), or SGD with momentum."""
    if phase.optimizer == "sgd":
        return torch.optim.SGD(phase.parameters, lr=phase.lr, momentum=phase.momentum, **({"foreach": True} if fast else {}))
    if not fast:
        speed = {}
    elif device.type == "cuda":
        speed = {"fused": True, "capturable": capturable}
    else:
        speed = {"foreach": True}
    return torch.optim.Adam(phase.parameters, lr=phase.lr, betas=phase.betas, **speed)


def scheduled_lr(phase, step: int) -> float:
    """The phase's learning rate at `step` (0-based), a pure function of the step, so a
    resumed run follows the schedule of an uninterrupted one."""
    return phase.lr / 10 if phase.decay_at and step >= phase.decay_at else phase.lr


class Step:
    """What both step kinds share: precision, graph capture and replay, the loss log.
    A subclass sets `phases` and `optimizers` and says how S batches become one input
    (`_input`), how a phase's loss is computed (`_loss`) and how each seed's weights and
    optimizer states are read and written."""

    def __init__(self, methods: list, device: torch.device, amp: bool = False, cuda_graphs: bool = True):
        self.methods, self.device = methods, device
        self.use_graph = (cuda_graphs and all(m.cuda_graphs for m in methods) and device.type == "cuda"
                          and os.environ.get("BENCH_CUDA_GRAPHS", "1") != "0")  # an escape hatch
        self.amp = amp and device.type == "cuda"
        if device.type == "cuda":  # time each conv's algorithms once per shape, keep the fastest
            torch.backends.cudnn.benchmark = True
        self.keys: list[str] | None = None  # loss names, in phase order, known after one step
        self.sums: torch.Tensor | None = None  # device-side running sums, (seeds, keys)
        self.last: torch.Tensor | None = None  # the last step's values, (seeds, keys)
        self.count = 0  # steps added into `sums` since the last read
        self.mode = "eager"
        self.graph_error = ""
        self._eager_steps = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_x: torch.Tensor | None = None

    # -- what a kind says -------------------------------------------------------------------
    def _input(self, batches: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def _loss(self, phase, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(what backward differentiates, the loss terms to log: scalars, or one per seed)."""
        raise NotImplementedError

    def _graph_generators(self) -> list[torch.Generator]:
        """Generators other than the default one that the step draws from."""
        return []

    def write_back(self) -> None:
        """Make each seed's method hold its current weights (for evaluation and checkpoints)."""

    def optimizer_states(self, s: int) -> list[dict]:
        """Seed s's optimizer states, in one lone run's format."""
        raise NotImplementedError

    def load_optimizer_states(self, per_seed: list[list[dict]]) -> None:
        """Continue from each seed's checkpointed optimizer states (all at the same step)."""
        raise NotImplementedError

    def at_step(self, step: int) -> None:
        """Set each phase's learning rate for `step` (only phases with a schedule change)."""
        for phase, opt in zip(self.phases, self.optimizers):
            if phase.decay_at:
                for group in opt.param_groups:
                    group["lr"] = scheduled_lr(phase, step)

    # -- the step ----------------------------------------------------------------------
    def _autocast(self):
        if self.amp:
            # no weight cache: a graph must not keep casts made during its capture
            return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=not self.use_graph)
        return contextlib.nullcontext()

    def _body(self, x: torch.Tensor) -> None:
        terms = []
        for phase, opt in zip(self.phases, self.optimizers):
            with self._autocast():
                objective, out = self._loss(phase, x)
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            terms += [(f"{phase.name}_loss" if name == "loss" else name, value) for name, value in out.items()]
        # logged in at least fp32 (bf16 terms upcast; float64 kept), one row per seed
        dtype = functools.reduce(torch.promote_types, [value.dtype for _, value in terms], torch.float32)
        values = torch.stack([value.detach().to(dtype) for _, value in terms], dim=-1).reshape(len(self.methods), -1)
        if self.keys is None:
            self.keys = [name for name, _ in terms]
            self.sums = torch.zeros_like(values)
            self.last = torch.zeros_like(values)
        self.sums.add_(values)
        self.last.copy_(values)

    def __call__(self, batches: list[torch.Tensor]) -> None:
        """Train one step on each seed's batch (float, [-1, 1], on the device)."""
        x = self._input(batches)
        if self._graph is not None:
            self._static_x.copy_(x)
            self._graph.replay()
        elif self.use_graph and self._eager_steps >= GRAPH_WARMUP_STEPS:
            self._capture(x)
        else:
            self._eager(x)
        self.count += 1

    def _eager(self, x: torch.Tensor) -> None:
        if self.use_graph:  # warm-up on a side stream, as capture requires
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                self._body(x)
            torch.cuda.current_stream(self.device).wait_stream(side)
        else:
            self._body(x)
        self._eager_steps += 1

    def _capture(self, x: torch.Tensor) -> None:
        """Capture the step and replay it for this batch; on failure, stay eager."""
        self._static_x = x.clone()
        graph = torch.cuda.CUDAGraph()
        try:
            for generator in self._graph_generators():  # replays must advance their states
                graph.register_generator_state(generator)
            with torch.cuda.graph(graph):
                self._body(self._static_x)
        except Exception as exc:  # a host sync or an unsupported op inside a loss
            with contextlib.suppress(Exception):
                torch.cuda.synchronize(self.device)
            self.graph_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.use_graph, self._static_x = False, None
            # a failed capture ran no kernels, so the weights are untouched; capturable Adam
            # also steps eagerly
            self._eager(x)
            return
        self._graph, self.mode = graph, "cuda_graph"
        graph.replay()

    # -- the loss log --------------------------------------------------------------------
    def read_window(self) -> list[tuple[dict[str, float], dict[str, float]]]:
        """Per seed: (the mean of each loss term since the last read, its value at the last
        step: a single minibatch's, as a paper's code that logs every step would log it),
        read back in one host sync."""
        if self.count == 0 or self.sums is None:
            return [({}, {}) for _ in self.methods]
        sums, last = torch.stack([self.sums, self.last]).tolist()
        self.sums.zero_()
        out = [({k: total / self.count for k, total in zip(self.keys, row)}, dict(zip(self.keys, final)))
               for row, final in zip(sums, last)]
        self.count = 0
        return out

    def read_means(self) -> list[dict[str, float]]:
        """Per seed: the mean of each loss term since the last read (one host sync)."""
        return [means for means, _ in self.read_window()]

    def log_window(self, s: int) -> dict | None:
        """Seed s's loss sums since the last read, for a checkpoint (None before any step)."""
        if self.keys is None:
            return None
        return {"keys": list(self.keys), "sums": self.sums[s].detach().cpu().clone(), "count": self.count}

    def load_log_windows(self, windows: list[dict | None]) -> None:
        """Continue each seed's log window from its checkpoint, so that the first mean
        logged after a resume covers the same steps as an uninterrupted run's."""
        if not windows or any(w is None for w in windows):
            return
        self.keys, self.count = list(windows[0]["keys"]), windows[0]["count"]
        self.sums = torch.stack([w["sums"] for w in windows]).to(self.device)
        self.last = torch.zeros_like(self.sums)  # a resumed run steps before it next logs


class TrainStep(Step):
    """One seed: its method's phases train its own weights in place."""

    def __init__(self, method, device: torch.device, amp: bool = False, cuda_graphs: bool = True):
        super().__init__([method], device, amp, cuda_graphs)
        self.phases = method.training_phases()
        self.optimizers = [make_optimizer(p, device, capturable=self.use_graph) for p in self.phases]
        method.bind_optimizers({p.name: opt for p, opt in zip(self.phases, self.optimizers)})

    def _input(self, batches):
        (x,) = batches
        return x

    def _loss(self, phase, x):
        out = phase.loss(x)
        return out["loss"], out

    def optimizer_states(self, s: int = 0) -> list[dict]:
        return [opt.state_dict() for opt in self.optimizers]

    def load_optimizer_states(self, per_seed: list[list[dict]]) -> None:
        (states,) = per_seed
        for opt, state in zip(self.optimizers, states):
            opt.load_state_dict(state)

