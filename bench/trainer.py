"""The one training loop every gradient method shares.

The trainer owns what the adapters must not re-write: the step (`bench.train_step`:
optimizers, the phase schedule, bf16 autocast and CUDA graph replay on a GPU,
device-side loss sums read back only at log intervals), NaN/inf detection, periodic evaluation,
checkpoints and resume, the progress bar, and clean stops on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench.config import TrainConfig
from bench.data import BatchSampler, ImageDataset, to_float
from bench.device import rng_state, set_rng_state
from bench.evaluate.harness import evaluate_clustering
from bench.interrupt import StopRequested
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


def save_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Trainer:
    def __init__(self, config: TrainConfig, device: torch.device, checkpoint: Path | None = None,
                 progress: bool = True, desc: str = ""):
        self.config, self.device, self.checkpoint = config, device, checkpoint
        self.progress, self.desc = progress, desc

    def fit(self, method, data: ImageDataset, seed: int, resume: bool = False) -> TrainOutcome:
        """Train `method` on `data.train_x` (labels unused). Seeding is the caller's job."""
        method.to(self.device)
        method.train()
        self._started, self._prior = time.perf_counter(), 0.0
        if not method.trains_by_gradient:
            method.fit(to_float(data.train_x))
            self._save(method, [], 0, [], [])
            return TrainOutcome("completed", 0)

        cfg = self.config
        train_step = TrainStep(method, self.device, amp=cfg.amp, cuda_graphs=cfg.cuda_graphs)
        optimizers = train_step.optimizers
        step, losses, evaluations, resumed_from = 0, [], [], None
        if resume and self.checkpoint is not None and self.checkpoint.exists():
            state = torch.load(self.checkpoint, map_location=self.device, weights_only=False)
            method.load_state_dict(state["method"])
            for opt, opt_state in zip(optimizers, state["optimizers"]):
                opt.load_state_dict(opt_state)
            set_rng_state(state["rng"])
            step, losses, evaluations = state["step"], state["losses"], state["evaluations"]
            resumed_from, self._prior = step, state["elapsed_s"]

        sampler = BatchSampler(len(data.train_x), cfg.batch_size, seed, self.device)
        status, message = "completed", ""
        bar = tqdm(total=cfg.steps, initial=step, desc=self.desc, disable=not self.progress or None,
                   leave=False, dynamic_ncols=True)
        with StopRequested() as stop, bar:
            while step < cfg.steps:
                train_step(to_float(data.train_x[sampler.indices(step)]))
                step += 1
                bar.update(1)

                if step % cfg.log_every == 0 or step == cfg.steps:
                    window = train_step.count
                    means = train_step.read_means()  # the only host sync
                    losses.append({"step": step, **means})
                    bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
                    bad = [k for k, v in means.items() if not math.isfinite(v)]
                    if bad:
                        status = "diverged"
                        message = f"non-finite {', '.join(bad)} in steps {step - window + 1}-{step}"
                        break
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                    scores = evaluate_clustering(method, data, cfg.eval_batch_size)
                    evaluations.append({"step": step, **scores})
                if stop:
                    status, message = "interrupted", f"stopped by signal {stop.signal} at step {step}"
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    self._save(method, optimizers, step, losses, evaluations)
        if status == "completed":
            with torch.no_grad():
                method.eval()
                method.after_training(data.train_x)
                method.train()
        if status != "diverged":  # never overwrite a good checkpoint with a NaN model
            self._save(method, optimizers, step, losses, evaluations)
        return TrainOutcome(status, step, losses, evaluations, message, resumed_from, self._prior,
                            step_mode=train_step.mode, graph_error=train_step.graph_error)

    def _save(self, method, optimizers, step, losses, evaluations) -> None:
        if self.checkpoint is None:
            return
        save_atomic(
            {
                "step": step,
                "method": method.state_dict(),
                "optimizers": [opt.state_dict() for opt in optimizers],
                "rng": rng_state(),
                "losses": losses,
                "evaluations": evaluations,
                "elapsed_s": self._prior + time.perf_counter() - self._started,
            },
            self.checkpoint,
        )
