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
from bench.runs.records import read_record, variant_label
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
    device_kind: str = "cpu"  # cpu, cuda, mps: part of the run id, so a GPU run never replaces a CPU one

    @property
    def run_id(self) -> str:
        rid = f"{self.method}-{self.dataset}-{self.preset}-s{self.seed}"
        if self.overrides:
            digest = hashlib.sha1(json.dumps(self.overrides, sort_keys=True).encode()).hexdigest()
            rid += f"-{digest[:8]}"
        if self.device_kind != "cpu":  # CPU ids are the ones every earlier record has
            rid += f"-{self.device_kind}"
        return rid

    @property
    def variant(self) -> str:
        return variant_label(self.overrides)

    def config_dict(self) -> dict:
        return {"train": dataclasses.asdict(self.train), "method": dataclasses.asdict(self.method_config)}

    def checkpoint(self, workdir: Path) -> Path:
        return checkpoint.path_for(workdir, self.run_id)


def plan(methods: list[str], seeds: list[int], dataset: str, preset: str,
         overrides: dict[str, Any] | list[dict[str, Any]], device_kind: str = "cpu") -> list[Job]:
    """Resolve every job's config up front, so a bad option fails before any training.
    `overrides` is one variant or a list of them (a `--set` grid): jobs per method, variant
    and seed, in that order; a method that has none of a variant's keys runs once, not once
    per variant."""
    bad = [seed for seed in seeds if not (isinstance(seed, int) and 0 <= seed <= config_lib.SEED_MAX)]
    if bad:
        raise BenchError(f"seed {bad[0]!r} is not in 0..{config_lib.SEED_MAX}")
    classes = [METHODS.get(name) for name in methods]
    variants = [overrides] if isinstance(overrides, dict) else overrides
    per_method = list(zip(*(config_lib.applicable(classes, v) for v in variants)))  # [method][variant]
    jobs, seen = [], set()
    for name, cls, owns in zip(methods, classes, per_method):
        for own in owns:
            train, method_config = config_lib.resolve(cls, preset, own, dataset)
            run_measures.check_backend(train.metrics_backend)
            for seed in seeds:
                job = Job(name, dataset, seed, preset, own, train, method_config, device_kind)
                if job.run_id not in seen:
                    seen.add(job.run_id)
                    jobs.append(job)
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
