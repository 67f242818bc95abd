"""The one training loop every gradient method shares, for one seed or S seeds at once.

The trainer owns what the adapters must not re-write: the step (`bench.training.step`:
optimizers, the phase schedule, bf16 autocast and CUDA graph replay on a GPU, device-side
loss sums read back only at log intervals), NaN/inf detection, periodic evaluation,
checkpoints and resume, the progress bar, and clean stops on Ctrl-C / SIGTERM; for methods
trained in stages, their `refresh` hook and a shared prefix (a pretraining stage kept under
the work folder and continued from by any run with the same key and seed). Each seed
is a `RunState`: what the trainer reads and writes of it is what its record reports, and
what its tracker (TensorBoard, MLflow) is told at each log step and evaluation.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.config import TrainConfig
from bench.datasets.base import BatchSampler, ImageDataset, to_float
from bench.errors import BenchError
from bench.evaluation.harness import evaluate_during_training
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
    losses_last: list[dict] = field(default_factory=list)  # [{"step": s, name: the window's last step's value}]
    evaluations: list[dict] = field(default_factory=list)  # [{"step": s, "train"/"test": scores}]
    resumed_from: int | None = None  # the checkpoint's step, when resumed
    prior_seconds: float = 0.0  # wall time spent before the resumed segment
    log_window: dict | None = None  # a resumed checkpoint's partial log window
    step_mode: str = "eager"  # eager | cuda_graph: how the training step ran
    graph_error: str = ""  # why a CUDA graph could not be captured, if it was tried
    seed_batch: int = 0  # S when trained as one of S seeds in a batched step, else 0
    reused_prefix: dict | None = None  # {"steps": P, "file": ...}: continued from a shared prefix
    finished: bool = False  # its method's after_training has run (a checkpoint says so: not run twice)
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
    def __init__(self, config: TrainConfig, device: torch.device, progress: bool = True, desc: str = "",
                 keep_checkpoints: str = "last"):
        self.config, self.device = config, device
        self.progress, self.desc = progress, desc
        self.keep_checkpoints = keep_checkpoints  # "all": a copy of each checkpoint step's file too

    def fit(self, runs: list[RunState], data: ImageDataset, resume: bool = False) -> list[RunState]:
        """Train each run's method on `data.train_x` (labels unused), all seeds in one step.
        Seeding and building are the caller's; returns `runs`, advanced."""
        cfg = self.config
        for run in runs:
            run.method.to(self.device).train()
            run.method.bind_training_data(data.train_x)
        started = time.perf_counter()
        step, opt_states = self._resume(runs) if resume else (0, None)
        prefix = self._prefix(runs, data)
        if step == 0 and prefix is not None:
            step = self._continue_prefix(runs, *prefix)
        train_step = make_step([r.method for r in runs], [r.rng for r in runs], self.device,
                               amp=cfg.amp, cuda_graphs=cfg.cuda_graphs)
        late = [p for p in train_step.phases if p.steps[0] >= cfg.steps]
        if late:
            raise BenchError(f"{runs[0].method.name}: phase {late[0].name} starts at step {late[0].steps[0]}, after "
                             f"the run's {cfg.steps} steps; give the run more steps or its stages fewer")
        if opt_states is not None:
            for run, states in zip(runs, opt_states):
                checkpoint.check_optimizers(states, train_step.optimizers, run.checkpoint, stacked=len(runs) > 1)
            train_step.load_optimizer_states(opt_states)
        if opt_states is not None or step:
            train_step.load_log_windows([r.log_window for r in runs])
        samplers = [BatchSampler(len(data.train_x), cfg.batch_size, r.seed, self.device) for r in runs]

        def save(run: RunState, s: int, at: int) -> None:
            """Checkpoint one seed, unless its weights went non-finite between log steps:
            then the run has diverged and its last good checkpoint is kept."""
            state = checkpoint.run_state(run, at, train_step.optimizer_states(s), train_step.log_window(s),
                                         run.prior_seconds + time.perf_counter() - started)
            if run.checkpoint is not None and not run.diverged_if_non_finite(state, at):
                checkpoint.save(state, run.checkpoint)
                if self.keep_checkpoints == "all":
                    checkpoint.keep_copy(run.checkpoint, at)

        def evaluate(at: int) -> None:
            train_step.write_back()
            for run in runs:
                if run.active:
                    with run.own_rng():
                        scores = evaluate_during_training(run.method, data, cfg.eval_batch_size, at, run.seed)
                    run.evaluations.append({"step": at, **scores})
                    run.tracker.evaluation(at, scores)
                    run.tracker.images(at, run.method, to_float(data.test_x[:50]), scores["test"]["matching"])

        with progress.shown(self.progress, self.desc), StopRequested() as stop, \
                progress.bar("train", total=cfg.steps, initial=step, unit="step", leave=False) as bar:
            if step == 0 and cfg.eval_every and cfg.eval_at_start:
                evaluate(0)
            staged, training = any(p.steps != (0, None) for p in train_step.phases), None
            while step < cfg.steps and any(r.active for r in runs):
                if staged and training != (now := tuple(p.name for p in train_step.phases if p.active(step))):
                    training = now  # a stage (an autoencoder's pretraining, then clustering) starts
                    progress.note(f"step {step}: training {', '.join(now) or 'nothing'}")
                if any(r.method.refresh_due(step) for r in runs):
                    self._refresh(runs, train_step, step, data.train_x)
                train_step.at_step(step)
                train_step([to_float(data.train_x[sampler.indices(step)]) for sampler in samplers])
                step += 1
                bar.update(1)

                if step % cfg.log_every == 0 or step == cfg.steps:
                    window = train_step.count
                    logged = train_step.read_window()  # the only host sync
                    for run, (own, last) in zip(runs, logged):
                        if run.active:
                            self._log(run, own, last, step, window)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in logged[0][0].items()}, refresh=False)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                    evaluate(step)
                if stop:
                    for run in runs:
                        if run.active:
                            run.status, run.message = "interrupted", f"stopped by signal {stop.signal} at step {step}"
                    break
                if prefix is not None and step == prefix[0] < cfg.steps:  # kept where a checkpoint would be
                    self._keep_prefix(runs, train_step, prefix, time.perf_counter() - started)
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    train_step.write_back()
                    for s, run in enumerate(runs):
                        if run.active:
                            save(run, s, step)
        with StopRequested() as stop:  # a stop now waits for the final checkpoints
            self._finish(runs, train_step, data, step, save)
        for run in runs:
            if stop and run.active:  # trained and checkpointed: --resume only scores it
                run.status, run.message = "interrupted", f"stopped by signal {stop.signal} after training"
        return runs

    def _finish(self, runs: list[RunState], train_step, data: ImageDataset, step: int, save) -> None:
        """Each seed's after_training (k-means on its codes, ...), once, and its final checkpoint."""
        train_step.write_back()
        for s, run in enumerate(runs):
            run.step_mode, run.graph_error = train_step.mode, train_step.graph_error
            run.seed_batch = len(runs) if len(runs) > 1 else 0
            if run.status == "diverged":  # never overwrite a good checkpoint with a NaN model
                continue
            run.steps = step
            # NaN weights between log steps: diverged, not a k-means failure or a bad checkpoint
            state = {"method": run.method.state_dict(), "optimizers": train_step.optimizer_states(s)}
            if run.active and not run.finished and not run.diverged_if_non_finite(state, step):
                with torch.no_grad(), run.own_rng(), progress.shown(self.progress, self.desc):
                    run.method.eval()
                    run.method.after_training(data.train_x)
                    run.method.train()
                run.finished = True  # resumed from this checkpoint (a stop while scored), it is not redone
            save(run, s, step)

    @staticmethod
    def _refresh(runs: list[RunState], train_step, step: int, train_x: torch.Tensor) -> None:
        """Each seed's `refresh` before `step`, on its own weights and generators."""
        train_step.write_back()
        with torch.no_grad():
            for run in runs:
                if run.active:
                    with run.own_rng():
                        run.method.refresh(step, train_x)
        train_step.read_in()

    def _prefix(self, runs: list[RunState], data: ImageDataset) -> tuple[int, list[Path]] | None:
        """(P, each seed's file) of the method's shared prefix, or None (no prefix, no work
        folder). The file is named by the method's key, the seed, the batch size, the
        training images' digest, the float type and the device type."""
        shared = runs[0].method.shared_prefix()
        if shared is None or any(r.checkpoint is None for r in runs):
            return None
        steps, key = shared
        images = hashlib.sha256(data.train_x.cpu().contiguous().numpy().tobytes()).hexdigest()[:16]
        setting = f"{key}-b{self.config.batch_size}-{images}-{torch.get_default_dtype()}-{self.device.type}"
        name = hashlib.sha256(setting.encode()).hexdigest()[:20]
        return steps, [r.checkpoint.parent.parent / "shared" / f"prefix-{name}-seed{r.seed}.pt" for r in runs]

    def _continue_prefix(self, runs: list[RunState], steps: int, files: list[Path]) -> int:
        """Continue every seed from its kept prefix (the step it ends at), or, unless all
        have one, none (0)."""
        if steps >= self.config.steps or not all(f.exists() for f in files):
            return 0
        try:
            states = [checkpoint.load(f, map_location=self.device) for f in files]
        except BenchError:  # unreadable: train the prefix here
            return 0
        for run, state in zip(runs, states):  # another method's layout: train the prefix here
            mine = run.method.state_dict()
            if {k: v.shape for k, v in mine.items()} != {k: v.shape for k, v in state["method"].items()}:
                return 0
        for run, state, file in zip(runs, states, files):
            checkpoint.restore(run, state)
            run.resumed_from, run.prior_seconds = None, 0.0
            run.reused_prefix = {"steps": steps, "file": str(file), "seconds": round(state["elapsed_s"], 2)}
        return steps

    @staticmethod
    def _keep_prefix(runs: list[RunState], train_step, prefix: tuple[int, list[Path]], elapsed: float) -> None:
        """Keep each seed's state at the end of its prefix, unless kept already."""
        steps, files = prefix
        train_step.write_back()
        for s, (run, file) in enumerate(zip(runs, files)):
            if run.active and run.reused_prefix is None and not file.exists():
                state = checkpoint.run_state(run, steps, [], train_step.log_window(s), run.prior_seconds + elapsed)
                if not run.diverged_if_non_finite(state, steps):
                    checkpoint.save(state, file)

    @staticmethod
    def _log(run: RunState, means: dict[str, float], last: dict[str, float], step: int, window: int) -> None:
        run.losses.append({"step": step, **means})
        run.losses_last.append({"step": step, **last})
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
