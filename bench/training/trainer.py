"""The one training loop every gradient method shares, for one seed or S seeds at once.

The trainer owns what the adapters must not re-write: the step (`bench.training.step`:
optimizers, the phase schedule, bf16 autocast and CUDA graph replay on a GPU, device-side
loss sums read back only at log intervals), NaN/inf detection, periodic evaluation,
checkpoints and resume, the progress bar, and clean stops on Ctrl-C / SIGTERM. Each seed
is a `RunState`: what the trainer reads and writes of it is what its record reports, and
what its tracker (TensorBoard, MLflow) is told at each log step and evaluation.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.config import TrainConfig
from bench.datasets.base import BatchSampler, ImageDataset, to_float
from bench.errors import BenchError
from bench.evaluation.harness import evaluate_clustering
from bench.methods.base import Method
from bench.rng import SeedRNG
from bench.tracking import progress
from bench.tracking.trackers import RunTracker
from bench.training import checkpoint
from bench.training.interrupt import StopRequested
from bench.training.seed_batch import make_step


@dataclass
class RunState:
    """One seed's run, as the trainer advances it and its record reports it."""

    method: Method
    seed: int
    checkpoint: Path | None
    rng: SeedRNG | None = None  # None: the run owns the global generators (it trains alone)
    status: str = "completed"  # completed | diverged | interrupted (failed: the runner's)
    message: str = ""
    steps: int = 0
    losses: list[dict] = field(default_factory=list)  # [{"step": s, name: window mean}]
    evaluations: list[dict] = field(default_factory=list)  # [{"step": s, "train"/"test": scores}]
    resumed_from: int | None = None  # the checkpoint's step, when resumed
    prior_seconds: float = 0.0  # wall time spent before the resumed segment
    log_window: dict | None = None  # a resumed checkpoint's partial log window
    step_mode: str = "eager"  # eager | cuda_graph: how the training step ran
    graph_error: str = ""  # why a CUDA graph could not be captured, if it was tried
    seed_batch: int = 0  # S when trained as one of S seeds in a batched step, else 0
    tracker: RunTracker = field(default_factory=RunTracker)  # none: logs nothing

    @property
    def active(self) -> bool:
        return self.status == "completed"

    def own_rng(self):
        """Global generators as this seed's lone run would have them (no-op when alone)."""
        return self.rng.active() if self.rng is not None else contextlib.nullcontext()

    def diverged_if_non_finite(self, state: dict, step: int) -> bool:
        """Mark the run diverged if `state`'s weights or optimizer moments are not finite."""
        problem = checkpoint.trained_state_problem(state)
        if problem:
            self.status, self.message = "diverged", f"{problem} at step {step}"
        return bool(problem)


class Trainer:
    def __init__(self, config: TrainConfig, device: torch.device, progress: bool = True, desc: str = ""):
        self.config, self.device = config, device
        self.progress, self.desc = progress, desc

    def fit(self, runs: list[RunState], data: ImageDataset, resume: bool = False) -> list[RunState]:
        """Train each run's method on `data.train_x` (labels unused), all seeds in one step.
        Seeding and building are the caller's; returns `runs`, advanced."""
        cfg = self.config
        for run in runs:
            run.method.to(self.device).train()
            run.method.bind_training_data(data.train_x)
        started = time.perf_counter()
        step, opt_states = self._resume(runs) if resume else (0, None)
        train_step = make_step([r.method for r in runs], [r.rng for r in runs], self.device,
                               amp=cfg.amp, cuda_graphs=cfg.cuda_graphs)
        if opt_states is not None:
            for run, states in zip(runs, opt_states):
                checkpoint.check_optimizers(states, train_step.optimizers, run.checkpoint, stacked=len(runs) > 1)
            train_step.load_optimizer_states(opt_states)
            train_step.load_log_windows([r.log_window for r in runs])
        samplers = [BatchSampler(len(data.train_x), cfg.batch_size, r.seed, self.device) for r in runs]

        def save(run: RunState, s: int, at: int) -> None:
            """Checkpoint one seed, unless its weights went non-finite between log steps:
            then the run has diverged and its last good checkpoint is kept."""
            state = checkpoint.run_state(run, at, train_step.optimizer_states(s), train_step.log_window(s),
                                         run.prior_seconds + time.perf_counter() - started)
            if run.checkpoint is not None and not run.diverged_if_non_finite(state, at):
                checkpoint.save(state, run.checkpoint)

        with progress.shown(self.progress, self.desc), StopRequested() as stop, \
                progress.bar("train", total=cfg.steps, initial=step, unit="step", leave=False) as bar:
            while step < cfg.steps and any(r.active for r in runs):
                train_step.at_step(step)
                train_step([to_float(data.train_x[sampler.indices(step)]) for sampler in samplers])
                step += 1
                bar.update(1)

                if step % cfg.log_every == 0 or step == cfg.steps:
                    window = train_step.count
                    means = train_step.read_means()  # the only host sync
                    for run, own in zip(runs, means):
                        if run.active:
                            self._log(run, own, step, window)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in means[0].items()}, refresh=False)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                    train_step.write_back()
                    for run in runs:
                        if run.active:
                            with run.own_rng():
                                scores = evaluate_clustering(run.method, data, cfg.eval_batch_size, step)
                            run.evaluations.append({"step": step, **scores})
                            run.tracker.evaluation(step, scores)
                            run.tracker.images(step, run.method, to_float(data.test_x[:50]),
                                               scores["test"]["matching"])
                if stop:
                    for run in runs:
                        if run.active:
                            run.status, run.message = "interrupted", f"stopped by signal {stop.signal} at step {step}"
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    train_step.write_back()
                    for s, run in enumerate(runs):
                        if run.active:
                            save(run, s, step)
        train_step.write_back()
        for s, run in enumerate(runs):
            run.step_mode, run.graph_error = train_step.mode, train_step.graph_error
            run.seed_batch = len(runs) if len(runs) > 1 else 0
            if run.status == "diverged":  # never overwrite a good checkpoint with a NaN model
                continue
            run.steps = step
            # NaN weights between log steps: diverged, not a k-means failure or a bad checkpoint
            state = {"method": run.method.state_dict(), "optimizers": train_step.optimizer_states(s)}
            if run.active and not run.diverged_if_non_finite(state, step):
                with torch.no_grad(), run.own_rng(), progress.shown(self.progress, self.desc):
                    run.method.eval()
                    run.method.after_training(data.train_x)
                    run.method.train()
            save(run, s, step)
        return runs

    @staticmethod
    def _log(run: RunState, means: dict[str, float], step: int, window: int) -> None:
        run.losses.append({"step": step, **means})
        run.steps = step
        run.tracker.losses(step, means)
        bad = [k for k, v in means.items() if not math.isfinite(v)]
        if bad:
            run.status = "diverged"
            run.message = f"non-finite {', '.join(bad)} in steps {step - window + 1}-{step}"

    def _resume(self, runs: list[RunState]) -> tuple[int, list | None]:
        """Load each seed's checkpoint (a lone run's or a batched seed's: same format).
        Returns the common step and each seed's optimizer states (None: start fresh)."""
        states = [checkpoint.load(r.checkpoint, map_location=self.device)
                  if r.checkpoint is not None and r.checkpoint.exists() else None for r in runs]
        if all(state is None for state in states):
            return 0, None
        for run, state in zip(runs, states):  # before anything is loaded: one line naming the file
            if state is not None:
                checkpoint.check_resumable(state, run.method, run.checkpoint, self.config.steps)
        steps = {state["step"] if state else 0 for state in states}
        if len(steps) > 1:
            raise BenchError(f"cannot resume these seeds together: their checkpoints are at steps "
                             f"{sorted(steps)}; resume them without --batch-seeds")
        return steps.pop(), [self._restore(run, state) for run, state in zip(runs, states)]

    @staticmethod
    def _restore(run: RunState, state: dict | None) -> list | None:
        try:
            return checkpoint.restore(run, state)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # its generators' states, say
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BenchError(f"refusing checkpoint {run.checkpoint}: cannot restore it ({first})") from None
