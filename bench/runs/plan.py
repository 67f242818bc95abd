"""A sweep's plan: every (method, dataset, seed, variant) job with its resolved config,
made before anything trains (so a bad option fails first), and which jobs train together."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import config as config_lib
from bench.errors import BenchError
from bench.evaluation import run_measures
from bench.registry import METHODS
from bench.runs.records import read_record
from bench.training import checkpoint
from bench.training.seed_batch import batchable


@dataclass
class Job:
    method: str
    dataset: str
    seed: int
    preset: str
    overrides: dict[str, Any]
    train: config_lib.TrainConfig
    method_config: Any

    @property
    def run_id(self) -> str:
        rid = f"{self.method}-{self.dataset}-{self.preset}-s{self.seed}"
        if self.overrides:
            digest = hashlib.sha1(json.dumps(self.overrides, sort_keys=True).encode()).hexdigest()
            rid += f"-{digest[:8]}"
        return rid

    def config_dict(self) -> dict:
        return {"train": dataclasses.asdict(self.train), "method": dataclasses.asdict(self.method_config)}

    def checkpoint(self, workdir: Path) -> Path:
        return checkpoint.path_for(workdir, self.run_id)


def plan(methods: list[str], seeds: list[int], dataset: str, preset: str,
         overrides: dict[str, Any]) -> list[Job]:
    """Resolve every job's config up front, so a bad option fails before any training."""
    classes = [METHODS.get(name) for name in methods]
    jobs = []
    for name, cls, own in zip(methods, classes, config_lib.applicable(classes, overrides)):
        train, method_config = config_lib.resolve(cls, preset, own)
        run_measures.check_backend(train.metrics_backend)
        jobs += [Job(name, dataset, s, preset, own, train, method_config) for s in seeds]
    return jobs


def already_done(job: Job, results_dir: Path) -> bool:
    previous = read_record(results_dir, job.run_id)
    return bool(previous) and previous.get("status") == "completed" and previous.get("config") == job.config_dict()


def _checkpoint_step(job: Job, workdir: Path) -> int:
    try:
        return checkpoint.peek_step(job.checkpoint(workdir))
    except BenchError:  # an unreadable checkpoint fails in its own (lone) run
        return -1


def seed_groups(jobs: list[Job], batch_seeds: bool, resume: bool, workdir: Path) -> list[list[Job]]:
    """Jobs in order, as runs: with `batch_seeds`, consecutive seeds of one method and
    config that can train as one step (and, when resuming, whose checkpoints are at the
    same step) form one group; every other job runs alone."""
    groups: list[list[Job]] = []
    previous = None
    for job in jobs:
        key = None
        if batch_seeds and batchable(METHODS.get(job.method)):
            step = _checkpoint_step(job, workdir) if resume else 0
            if step >= 0:  # an unreadable checkpoint runs alone
                key = (job.method, job.dataset, job.preset, json.dumps(job.overrides, sort_keys=True), step)
        if key is not None and key == previous:
            groups[-1].append(job)
        else:
            groups.append([job])
        previous = key
    return groups
