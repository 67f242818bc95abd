"""One training step of S >= 1 seeds of a method — every phase in order — shared by the
trainer and `bench speed`, so the loop that is timed is the loop that trains.

The long form (readings, departures, history): docs/notes.md, `bench.training.step`."""

from __future__ import annotations

import contextlib
import functools
import os

import torch

GRAPH_WARMUP_STEPS = 3  # eager steps before capture: Adam's state and cuDNN's choices must exist


def scheduled(phase) -> bool:
    return bool(phase.decay_at or phase.decay_every or phase.momentum_burnin)


def make_optimizer(phase, device: torch.device, capturable: bool = False, fast: bool = True) -> torch.optim.Optimizer:
    """The phase's optimizer: Adam (with `fast`, the fused CUDA kernel on a GPU, capturable
    when the step is graphed, else the multi-tensor path), or SGD with momentum. A graphed
    Adam with a schedule reads its rate from a device tensor (a float would be frozen into
    the graph)."""
    if phase.optimizer == "sgd":
        return torch.optim.SGD(phase.parameters, lr=phase.lr, momentum=phase.momentum, **({"foreach": True} if fast else {}))
    if not fast:
        speed = {}
    elif device.type == "cuda":
        speed = {"fused": True, "capturable": capturable}
    else:
        speed = {"foreach": True}
    lr = torch.tensor(phase.lr, device=device) if capturable and scheduled(phase) else phase.lr
    return torch.optim.Adam(phase.parameters, lr=lr, betas=phase.betas, eps=phase.eps, **speed)


def scheduled_lr(phase, step: int) -> float:
    """The phase's learning rate at `step` (0-based), a pure function of the step, so a
    resumed run follows the schedule of an uninterrupted one: lr / 10 from `decay_at`, and
    x `lr_decay` every `decay_every` steps from the phase's start, not below `lr_floor`."""
    lr = phase.lr / 10 if phase.decay_at and step >= phase.decay_at else phase.lr
    if phase.decay_every:
        lr = max(lr * phase.lr_decay ** (max(step - phase.steps[0], 0) // phase.decay_every), phase.lr_floor)
    return lr


def scheduled_momentum(phase, step: int) -> float:
    """SGD's momentum at `step`: grown linearly from 0 over the phase's first `momentum_burnin`
    steps (the solver of DEC's Caffe fork), then `momentum`."""
    into = max(step - phase.steps[0], 0)
    if phase.momentum_burnin and into < phase.momentum_burnin:
        return phase.momentum * into / phase.momentum_burnin
    return phase.momentum


class _Window:
    """The device-side running sums of the loss terms of one set of active phases, and their
    values at its last step."""

    def __init__(self, keys: list[str], sums: torch.Tensor, count: int = 0, counts: list[int] | None = None):
        self.keys, self.sums, self.count = keys, sums, count
        self.last = torch.zeros_like(sums)  # each term's value at the set's last step
        self.counts = counts  # per key, for a window restored from a checkpoint that spans sets

    def per_key(self) -> list[int]:
        return self.counts if self.counts is not None else [self.count] * len(self.keys)


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
        # per set of active phases (a tuple of flags): the loss terms' running sums, (seeds, keys)
        self.windows: dict[tuple[bool, ...], _Window] = {}
        self.count = 0  # steps since the last read
        self.active: tuple[bool, ...] | None = None  # the phases that run, set by at_step
        self.last_active: tuple[bool, ...] | None = None  # the set of the last step run
        self.mode = "eager"
        self.graph_error = ""
        self._eager_steps: dict[tuple[bool, ...], int] = {}
        self._graphs: dict[tuple[bool, ...], torch.cuda.CUDAGraph] = {}
        self._static_x: torch.Tensor | None = None
        self._restored: dict | None = None  # a checkpoint's log window, until its set runs again

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

    def graphable(self) -> bool:
        """A graph replays its optimizers' rates as captured: a scheduled phase needs Adam's
        tensor rate (SGD's is read on the host)."""
        return not any(scheduled(p) and p.optimizer != "adam" for p in self.phases)

    def at_step(self, step: int) -> None:
        """Set the phases that run at `step` and each scheduled phase's learning rate."""
        self.active = tuple(p.active(step) for p in self.phases)
        for phase, opt in zip(self.phases, self.optimizers):
            if scheduled(phase):
                lr = scheduled_lr(phase, step)
                for group in opt.param_groups:
                    if isinstance(group["lr"], torch.Tensor):
                        group["lr"].fill_(lr)
                    else:
                        group["lr"] = lr
                    if phase.momentum_burnin:
                        group["momentum"] = scheduled_momentum(phase, step)

    def read_in(self) -> None:
        """The inverse of `write_back`: continue from the weights and buffers each seed's
        method holds now (after a method's `refresh` or a restored prefix)."""

    # -- the step ----------------------------------------------------------------------
    def _autocast(self):
        if self.amp:
            # no weight cache: a graph must not keep casts made during its capture
            return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=not self.use_graph)
        return contextlib.nullcontext()

    def _split(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
        """n equal slices of the batch (of each seed's batch)."""
        return x.tensor_split(n, dim=0)

    def _body(self, x: torch.Tensor, active: tuple[bool, ...]) -> None:
        terms = []
        for phase, opt, runs in zip(self.phases, self.optimizers, active):
            if not runs:
                continue
            if phase.repeat > 1:
                out = self._repeated(phase, opt, x)
            else:
                with self._autocast():
                    objective, out = self._loss(phase, x)
                opt.zero_grad(set_to_none=True)
                objective.backward()
                opt.step()
            terms += [(f"{phase.name}_loss" if name == "loss" else name, value) for name, value in out.items()]
        # logged in at least fp32 (bf16 terms upcast; float64 kept), one row per seed
        dtype = functools.reduce(torch.promote_types, [value.dtype for _, value in terms], torch.float32)
        values = torch.stack([value.detach().to(dtype) for _, value in terms], dim=-1).reshape(len(self.methods), -1)
        window = self.windows.get(active)
        if window is None:
            keys = [name for name, _ in terms]
            window = self.windows[active] = self._new_window(keys, values)
        window.sums.add_(values)
        window.last.copy_(values)

    def _repeated(self, phase, opt, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """A phase's `repeat` updates, each on its slice of the batch; the mean of its terms."""
        total: dict[str, torch.Tensor] = {}
        for part in self._split(x, phase.repeat):
            with self._autocast():
                objective, out = self._loss(phase, part)
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            for name, value in out.items():
                total[name] = total[name] + value.detach() if name in total else value.detach()
        return {name: value / phase.repeat for name, value in total.items()}

    def _new_window(self, keys: list[str], values: torch.Tensor) -> _Window:
        """A set's first window, or the restored one of a checkpoint taken inside it (so a
        resumed run adds up its losses in the uninterrupted run's order)."""
        restored = self._restored
        if restored is not None and restored["keys"] == keys and "counts" not in restored:
            self._restored = None
            return _Window(keys, restored["sums"], restored["count"])
        return _Window(keys, torch.zeros_like(values))

    def __call__(self, batches: list[torch.Tensor]) -> None:
        """Train one step on each seed's batch (float, [-1, 1], on the device): the phases
        that `at_step` set active."""
        x = self._input(batches)
        if self.active is None:  # never told the step (`bench speed`): the first stage's phases
            self.active = tuple(p.active(0) for p in self.phases)
        active = self.active
        graph = self._graphs.get(active)
        if graph is not None:
            self._static_x.copy_(x)
            graph.replay()
        elif self.use_graph and self._eager_steps.get(active, 0) >= GRAPH_WARMUP_STEPS:
            self._capture(x, active)
        else:
            self._eager(x, active)
        self.windows[active].count += 1
        self.last_active = active
        self.count += 1

    def _eager(self, x: torch.Tensor, active: tuple[bool, ...]) -> None:
        if self.use_graph:  # warm-up on a side stream, as capture requires
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                self._body(x, active)
            torch.cuda.current_stream(self.device).wait_stream(side)
        else:
            self._body(x, active)
        self._eager_steps[active] = self._eager_steps.get(active, 0) + 1

    def _capture(self, x: torch.Tensor, active: tuple[bool, ...]) -> None:
        """Capture the step of this set of phases and replay it for this batch; on failure,
        stay eager. Every set's graph reads the same static input."""
        if self._static_x is None:
            self._static_x = x.clone()
        else:
            self._static_x.copy_(x)
        graph = torch.cuda.CUDAGraph()
        try:
            for generator in self._graph_generators():  # replays must advance their states
                graph.register_generator_state(generator)
            with torch.cuda.graph(graph):
                self._body(self._static_x, active)
        except Exception as exc:  # a host sync or an unsupported op inside a loss
            with contextlib.suppress(Exception):
                torch.cuda.synchronize(self.device)
            self.graph_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.use_graph, self._graphs = False, {}
            # a failed capture ran no kernels, so the weights are untouched; capturable Adam
            # also steps eagerly
            self._eager(x, active)
            return
        self._graphs[active], self.mode = graph, "cuda_graph"
        graph.replay()

    # -- the loss log --------------------------------------------------------------------
    def _merged(self) -> tuple[list[str], list[list[float]], list[int]]:
        """(keys, per seed the sum of each key, per key its step count) over every window
        with steps since the last read; the windows are then emptied (one host sync each)."""
        keys: list[str] = []
        sums: list[dict[str, float]] = [{} for _ in self.methods]
        counts: dict[str, int] = {}
        windows = list(self.windows.values())
        if self._restored is not None:  # a checkpoint's window whose set has not run again
            restored, self._restored = self._restored, None
            windows.insert(0, _Window(restored["keys"], restored["sums"], restored["count"], restored.get("counts")))
        for window in windows:
            if window.count == 0 and window.counts is None:
                continue
            rows = window.sums.tolist()
            window.sums.zero_()
            for j, (key, n) in enumerate(zip(window.keys, window.per_key())):
                if key not in counts:
                    keys.append(key)
                counts[key] = counts.get(key, 0) + n
                for s, row in enumerate(rows):
                    sums[s][key] = sums[s][key] + row[j] if key in sums[s] else row[j]
            window.count, window.counts = 0, None
        return keys, [[row[k] for k in keys] for row in sums], [counts[k] for k in keys]

    def read_means(self) -> list[dict[str, float]]:
        """Per seed: the mean of each loss term over the steps since the last read in which
        its phase ran (one host sync per set of phases that ran)."""
        if self.count == 0 or not self.windows and self._restored is None:
            return [{} for _ in self.methods]
        keys, rows, counts = self._merged()
        self.count = 0
        return [{k: total / n for k, total, n in zip(keys, row, counts)} for row in rows]

    def read_window(self) -> list[tuple[dict[str, float], dict[str, float]]]:
        """Per seed: (the mean of each loss term since the last read, each term's value at the
        last step: a single minibatch's, as a paper's code that logs every step would log it)."""
        window = self.windows.get(self.last_active)
        last = window.last.tolist() if self.count and window is not None else [[] for _ in self.methods]
        keys = window.keys if window is not None else []
        return [(means, dict(zip(keys, row))) for means, row in zip(self.read_means(), last)]

    def log_window(self, s: int) -> dict | None:
        """Seed s's loss sums since the last read, for a checkpoint (None before any step):
        keys, sums and the steps they cover; `counts` per key when they differ (a window
        that spans a change of the active phases)."""
        if not self.windows and self._restored is None:
            return None
        live = [w for w in self.windows.values() if w.count or w.counts is not None]
        if len(live) <= 1 and self._restored is None:
            window = live[0] if live else list(self.windows.values())[-1]
            return {"keys": list(window.keys), "sums": window.sums[s].detach().cpu().clone(), "count": window.count}
        parts = ([self._restored] if self._restored is not None else []) + [
            {"keys": w.keys, "sums": w.sums[s].detach().cpu(), "counts": w.per_key()} for w in live]
        keys, sums, counts = [], {}, {}
        for part in parts:
            per_key = part.get("counts") or [part["count"]] * len(part["keys"])
            values = part["sums"] if part["sums"].dim() == 1 else part["sums"][s]
            for j, (key, n) in enumerate(zip(part["keys"], per_key)):
                if key not in counts:
                    keys.append(key)
                sums[key] = sums[key] + values[j] if key in sums else values[j].clone()
                counts[key] = counts.get(key, 0) + n
        window = {"keys": keys, "sums": torch.stack([sums[k] for k in keys]).cpu(), "count": self.count}
        if len(set(counts.values())) > 1 or set(counts.values()) != {self.count}:
            window["counts"] = [counts[k] for k in keys]
        return window

    def load_log_windows(self, windows: list[dict | None]) -> None:
        """Continue each seed's log window from its checkpoint, so that the first mean
        logged after a resume covers the same steps as an uninterrupted run's (and, within
        one set of phases, sums them in the same order)."""
        if not windows or any(w is None for w in windows):
            return
        first = windows[0]
        self.count = first["count"]
        self._restored = {**{k: v for k, v in first.items() if k != "sums"},
                          "keys": list(first["keys"]),
                          "sums": torch.stack([w["sums"] for w in windows]).to(self.device)}


class TrainStep(Step):
    """One seed: its method's phases train its own weights in place."""

    def __init__(self, method, device: torch.device, amp: bool = False, cuda_graphs: bool = True):
        super().__init__([method], device, amp, cuda_graphs)
        self.phases = method.training_phases()
        self.use_graph = self.use_graph and self.graphable()
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

