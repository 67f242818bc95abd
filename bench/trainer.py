"""The one training loop every gradient method shares.

The trainer owns what the adapters must not re-write: the step (`bench.train_step`:
optimizers, the phase schedule, bf16 autocast and CUDA graph replay on a GPU,
device-side loss sums read back only at log intervals), NaN/inf detection, periodic evaluation,
checkpoints and resume, the progress bar, and clean stops on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench import checkpoint
from bench.config import TrainConfig
from bench.data import BatchSampler, ImageDataset, to_float
from bench.device import rng_state, set_rng_state
from bench.errors import BenchError
from bench.evaluate.harness import evaluate_clustering
from bench.interrupt import StopRequested
from bench.seed_batch import SeedBatchStep
from bench.seed_rng import SeedRNG
from bench.train_step import TrainStep


@dataclass
class TrainOutcome:
    status: str  # completed | diverged | interrupted
    steps: int
    losses: list[dict] = field(default_factory=list)  # [{"step": s, name: window mean}]
    evaluations: list[dict] = field(default_factory=list)  # [{"step": s, "test": scores}]
    message: str = ""
    resumed_from: int | None = None  # the checkpoint's step, when resumed
    prior_seconds: float = 0.0  # wall time spent before the resumed segment
    step_mode: str = "eager"  # eager | cuda_graph: how the training step ran
    graph_error: str = ""  # why a CUDA graph could not be captured, if it was tried
    seed_batch: int = 0  # S when trained as one of S seeds in a batched step, else 0


@dataclass
class _Seed:
    """One seed's bookkeeping inside a training loop."""

    method: object
    seed: int
    checkpoint: Path | None
    rng: SeedRNG | None  # None: a lone run, which owns the global generators
    losses: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    status: str = "completed"
    message: str = ""
    steps: int = 0
    resumed_from: int | None = None
    prior: float = 0.0
    log_window: dict | None = None  # a resumed checkpoint's partial log window

    @property
    def active(self) -> bool:
        return self.status == "completed"

    def own_rng(self):
        """Global generators as this seed's lone run would have them (no-op when lone)."""
        return self.rng.active() if self.rng is not None else contextlib.nullcontext()


class Trainer:
    def __init__(self, config: TrainConfig, device: torch.device, checkpoint: Path | None = None,
                 progress: bool = True, desc: str = ""):
        self.config, self.device, self.checkpoint = config, device, checkpoint
        self.progress, self.desc = progress, desc

    def fit(self, method, data: ImageDataset, seed: int, resume: bool = False) -> TrainOutcome:
        """Train `method` on `data.train_x` (labels unused). Seeding is the caller's job."""
        method.to(self.device)
        method.train()
        if not method.trains_by_gradient:
            self._started = time.perf_counter()
            method.fit(to_float(data.train_x))
            self._save(_Seed(method, seed, self.checkpoint, None), None, 0)
            return TrainOutcome("completed", 0)
        (outcome,) = self._loop([_Seed(method, seed, self.checkpoint, None)], data, resume)
        return outcome

    def fit_seeds(self, methods: list, rngs: list[SeedRNG], data: ImageDataset, seeds: list[int],
                  checkpoints: list[Path | None], resume: bool = False) -> list[TrainOutcome]:
        """Train S seeds of one method as one batched step (`bench.seed_batch`); each seed
        keeps its own losses, evaluations, checkpoint and outcome, as its lone run would.
        `rngs[s]` holds seed s's generators as built (`SeedRNG` after seeding and building)."""
        for method in methods:
            method.to(self.device)
            method.train()
        runs = [_Seed(m, seed, ckpt, rng) for m, seed, ckpt, rng in zip(methods, seeds, checkpoints, rngs)]
        return self._loop(runs, data, resume)

    def _loop(self, runs: list[_Seed], data: ImageDataset, resume: bool) -> list[TrainOutcome]:
        cfg, lone = self.config, runs[0].rng is None
        self._started = time.perf_counter()
        step, opt_states = self._resume(runs) if resume else (0, None)
        if lone:
            train_step = TrainStep(runs[0].method, self.device, amp=cfg.amp, cuda_graphs=cfg.cuda_graphs)
        else:
            train_step = SeedBatchStep([r.method for r in runs], [r.rng for r in runs], self.device,
                                       amp=cfg.amp, cuda_graphs=cfg.cuda_graphs)
        if opt_states is not None:
            train_step.load_optimizer_states(opt_states)
            train_step.load_log_windows([r.log_window for r in runs])
        samplers = [BatchSampler(len(data.train_x), cfg.batch_size, r.seed, self.device) for r in runs]

        def batch() -> torch.Tensor:
            xs = [to_float(data.train_x[sampler.indices(step)]) for sampler in samplers]
            return xs[0] if lone else torch.stack(xs)

        bar = tqdm(total=cfg.steps, initial=step, desc=self.desc, disable=not self.progress or None,
                   leave=False, dynamic_ncols=True)
        with StopRequested() as stop, bar:
            while step < cfg.steps and any(r.active for r in runs):
                train_step(batch())
                step += 1
                bar.update(1)

                if step % cfg.log_every == 0 or step == cfg.steps:
                    window = train_step.count
                    means = train_step.read_means()  # the only host sync
                    for run, own in zip(runs, [means] if lone else means):
                        if not run.active:
                            continue
                        run.losses.append({"step": step, **own})
                        run.steps = step
                        bad = [k for k, v in own.items() if not math.isfinite(v)]
                        if bad:
                            run.status = "diverged"
                            run.message = f"non-finite {', '.join(bad)} in steps {step - window + 1}-{step}"
                    if lone:
                        bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                    train_step.write_back()
                    for run in runs:
                        if run.active:
                            with run.own_rng():
                                scores = evaluate_clustering(run.method, data, cfg.eval_batch_size)
                            run.evaluations.append({"step": step, **scores})
                if stop:
                    for run in runs:
                        if run.active:
                            run.status, run.message = "interrupted", f"stopped by signal {stop.signal} at step {step}"
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    train_step.write_back()
                    for s, run in enumerate(runs):
                        if run.active:
                            self._save(run, train_step, step, s)
        train_step.write_back()
        outcomes = []
        for s, run in enumerate(runs):
            if run.active or run.status == "interrupted":
                run.steps = step
                # NaN weights between log steps: diverged, not a k-means failure or a bad checkpoint
                self._diverged_if_non_finite(run, self._trained_state(run, train_step, s), step)
            if run.status == "completed":
                with torch.no_grad(), run.own_rng():
                    run.method.eval()
                    run.method.after_training(data.train_x)
                    run.method.train()
            if run.status != "diverged":  # never overwrite a good checkpoint with a NaN model
                self._save(run, train_step, run.steps, s)
            outcomes.append(TrainOutcome(run.status, run.steps, run.losses, run.evaluations, run.message,
                                         run.resumed_from, run.prior, step_mode=train_step.mode,
                                         graph_error=train_step.graph_error, seed_batch=0 if lone else len(runs)))
        return outcomes

    def _resume(self, runs: list[_Seed]) -> tuple[int, list | None]:
        """Load each seed's checkpoint (a lone run's or a batched seed's: same format).
        Returns the common step and each seed's optimizer states (None: start fresh)."""
        states = [checkpoint.load(r.checkpoint, map_location=self.device)
                  if r.checkpoint is not None and r.checkpoint.exists() else None for r in runs]
        if all(state is None for state in states):
            return 0, None
        steps = {state["step"] if state else 0 for state in states}
        if len(steps) > 1:
            raise BenchError(f"cannot resume these seeds together: their checkpoints are at steps "
                             f"{sorted(steps)}; resume them without --batch-seeds")
        for run, state in zip(runs, states):
            run.method.load_state_dict(state["method"])
            if run.rng is None:
                set_rng_state(state["rng"])
            else:
                run.rng.load(state["rng"])
            run.losses, run.evaluations = state["losses"], state["evaluations"]
            run.resumed_from, run.prior = state["step"], state["elapsed_s"]
            run.log_window = state["log_window"]
        return steps.pop(), [state["optimizers"] for state in states]

    @staticmethod
    def _trained_state(run: _Seed, train_step, s: int) -> dict:
        return {"method": run.method.state_dict(),
                "optimizers": [] if train_step is None else train_step.optimizer_states(s)}

    @staticmethod
    def _diverged_if_non_finite(run: _Seed, state: dict, step: int) -> bool:
        problem = checkpoint.trained_state_problem(state)
        if problem:
            run.status, run.message = "diverged", f"{problem} at step {step}"
        return bool(problem)

    def _save(self, run: _Seed, train_step, step: int, s: int = 0) -> None:
        """Checkpoint one seed, unless its weights went non-finite between log steps: then
        the run has diverged and its last good checkpoint is kept."""
        if run.checkpoint is None:
            return
        state = {
            "step": step,
            **self._trained_state(run, train_step, s),
            "rng": rng_state() if run.rng is None else run.rng.sync(),
            "losses": run.losses,
            "evaluations": run.evaluations,
            # the log window in progress, so a resumed run logs what an uninterrupted one does
            "log_window": None if train_step is None else train_step.log_window(s),
            "elapsed_s": run.prior + time.perf_counter() - self._started,
        }
        if not self._diverged_if_non_finite(run, state, step):
            checkpoint.save(state, run.checkpoint)
