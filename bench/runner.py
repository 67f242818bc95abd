"""Runs a grid of (method, seed) jobs on one dataset: config, seeding, training,
evaluation, and one run record per job. A job that fails or diverges is recorded and
the sweep goes on; a Ctrl-C stops the sweep after checkpointing the current job."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from bench import checkpoint
from bench import config as config_lib
from bench.data import ImageDataset, load_dataset
from bench.device import provenance, seed_everything
from bench.errors import BenchError
from bench.evaluate import run_measures
from bench.evaluate.harness import evaluate_clustering
from bench.files import RunLocked, run_lock
from bench.registry import METHODS, load_builtins
from bench.results import git_commit, read_record, write_record
from bench.seed_batch import batchable
from bench.seed_rng import SeedRNG
from bench.trainer import Trainer


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


def plan(methods: list[str], seeds: list[int], dataset: str, preset: str,
         overrides: dict[str, Any]) -> list[Job]:
    """Resolve every job's config up front, so a bad option fails before any training."""
    load_builtins()
    classes = [METHODS.get(name) for name in methods]
    jobs = []
    for name, cls, own in zip(methods, classes, config_lib.applicable(classes, overrides)):
        train, method_config = config_lib.resolve(cls, preset, own)
        run_measures.check_backend(train.metrics_backend)
        jobs += [Job(name, dataset, s, preset, own, train, method_config) for s in seeds]
    return jobs


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _new_record(job: Job, device: torch.device) -> dict:
    return {
        "run_id": job.run_id,
        "method": job.method,
        "dataset": job.dataset,
        "seed": job.seed,
        "preset": job.preset,
        "overrides": job.overrides,
        "config": job.config_dict(),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch_version": torch.__version__,
        **provenance(device),
        "git_commit": git_commit(),
        "started_at": _utc_now(),
    }


def _checkpoint(job: Job, workdir: Path) -> Path:
    return checkpoint.path_for(workdir, job.run_id)


def _record_outcome(record: dict, job: Job, outcome, method, run_data: ImageDataset, device: torch.device) -> None:
    record.update(status=outcome.status, steps=outcome.steps, losses=outcome.losses,
                  evaluations=outcome.evaluations, message=outcome.message,
                  resumed_from_step=outcome.resumed_from, step_mode=outcome.step_mode)
    if outcome.seed_batch:
        record["seed_batch"] = outcome.seed_batch
    if outcome.graph_error:
        record["graph_error"] = outcome.graph_error
    if outcome.status == "completed":
        record["metrics"] = evaluate_clustering(method, run_data, job.train.eval_batch_size)
        record.update(measure_beyond_clustering(job, method, run_data, device))


def _failed(record: dict, exc: Exception) -> None:
    message = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
    record.update(status="failed", message=message, traceback=traceback.format_exc())


def _write(record: dict, checkpoint: Path, seconds: float, results_dir: Path) -> dict:
    record["wall_time_s"] = round(seconds, 2)
    record["finished_at"] = _utc_now()
    record["checkpoint"] = str(checkpoint) if checkpoint.exists() else None
    write_record(record, results_dir)
    return record


def execute(job: Job, data: ImageDataset, device: torch.device, results_dir: Path,
            workdir: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train and evaluate one job; write and return its record (status completed,
    diverged, interrupted or failed)."""
    record = _new_record(job, device)
    checkpoint = _checkpoint(job, workdir)
    start, prior_seconds = time.perf_counter(), 0.0
    try:
        seed_everything(job.seed)
        run_data = data.subset(job.train.train_size, job.train.test_size).to(device)
        method = METHODS.create(job.method, job.method_config, image_shape=run_data.image_shape)
        record.update(n_clusters=method.n_clusters, n_classes=run_data.n_classes,
                      image_shape=list(run_data.image_shape))
        trainer = Trainer(job.train, device, checkpoint, progress, desc=f"{job.method} s{job.seed}")
        outcome = trainer.fit(method, run_data, job.seed, resume=resume)
        prior_seconds = outcome.prior_seconds
        _record_outcome(record, job, outcome, method, run_data, device)
    except Exception as exc:  # recorded, and the sweep goes on
        _failed(record, exc)
    # a resumed run's wall time includes the segments before the stop (up to its checkpoint)
    return _write(record, checkpoint, prior_seconds + time.perf_counter() - start, results_dir)


def execute_seed_batch(jobs: list[Job], data: ImageDataset, device: torch.device, results_dir: Path,
                       workdir: Path, resume: bool = False, progress: bool = True) -> list[dict]:
    """Train the seeds of one (method, config) as one batched step (`bench.seed_batch`),
    then evaluate each seed as its lone run would; one record per seed. A seed's
    wall_time_s is the batch's training time (shared by all its seeds) plus its own
    evaluation; `seed_batch` in the record says how many seeds shared it."""
    records = [_new_record(job, device) for job in jobs]
    checkpoints = [_checkpoint(job, workdir) for job in jobs]
    first = jobs[0]
    start, priors, outcomes = time.perf_counter(), [0.0] * len(jobs), None
    try:
        run_data = data.subset(first.train.train_size, first.train.test_size).to(device)
        methods, rngs = [], []
        for job in jobs:  # each seed built exactly as its lone run builds it
            seed_everything(job.seed)
            methods.append(METHODS.create(job.method, job.method_config, image_shape=run_data.image_shape))
            rngs.append(SeedRNG(device))
        for record, method in zip(records, methods):
            record.update(n_clusters=method.n_clusters, n_classes=run_data.n_classes,
                          image_shape=list(run_data.image_shape))
        seeds = [job.seed for job in jobs]
        trainer = Trainer(first.train, device, None, progress,
                          desc=f"{first.method} s{','.join(map(str, seeds))}")
        outcomes = trainer.fit_seeds(methods, rngs, run_data, seeds, checkpoints, resume=resume)
        priors = [outcome.prior_seconds for outcome in outcomes]
    except Exception as exc:  # every seed of the batch failed with it
        for record in records:
            _failed(record, exc)
    train_seconds = time.perf_counter() - start
    out = []
    for i, (job, record) in enumerate(zip(jobs, records)):
        own_start = time.perf_counter()
        if outcomes is not None:
            try:
                with rngs[i].active():
                    _record_outcome(record, job, outcomes[i], methods[i], run_data, device)
            except Exception as exc:  # recorded; the other seeds go on
                _failed(record, exc)
        seconds = priors[i] + train_seconds + time.perf_counter() - own_start
        out.append(_write(record, checkpoints[i], seconds, results_dir))
    return out


def measure_beyond_clustering(job: Job, method, data: ImageDataset, device: torch.device) -> dict:
    """Disentanglement metrics, morphometrics and the t-SNE layout, where they apply. One
    that fails is recorded under `measure_errors`; the trained run stays completed."""
    cfg, out, errors = job.train, {}, {}
    measures = {
        "disentanglement": lambda: run_measures.disentanglement(method, job.dataset, device, job.seed,
                                                               cfg.metric_samples, cfg.metrics_backend),
        "morphometrics": lambda: run_measures.morphometrics(method, job.dataset) if cfg.morphometrics else None,
        "tsne": lambda: run_measures.tsne_layout(method, data, cfg.tsne_points, job.seed),
    }
    for name, measure in measures.items():
        try:
            value = measure()
        except Exception as exc:  # noqa: BLE001 -- recorded, the run's training result stands
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        if value is not None:
            out[name] = value
    if errors:
        out["measure_errors"] = errors
    return out


def already_done(job: Job, results_dir: Path) -> bool:
    previous = read_record(results_dir, job.run_id)
    return bool(previous) and previous.get("status") == "completed" and previous.get("config") == job.config_dict()


def summary_line(record: dict) -> str:
    head = f"{record['method']} seed {record['seed']}: {record['status']}"
    if record["status"] == "completed":
        test = record["metrics"]["test"]
        many = record.get("n_clusters", 0) > record.get("n_classes", 10)  # the table's mapping rule
        accuracy = test["accuracy_many_to_one"] if many else test["accuracy"]
        return (f"{head}, test error {100 * (1 - accuracy):.2f}%{' (many-to-one)' if many else ''} "
                f"(NMI {test['nmi']:.3f}, ARI {test['ari']:.3f}), "
                f"{record['steps']} steps in {record['wall_time_s']:.0f}s")
    return f"{head}: {record.get('message', '')}"


def _checkpoint_step(job: Job, workdir: Path) -> int:
    try:
        return checkpoint.peek_step(_checkpoint(job, workdir))
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


def run_jobs(jobs: list[Job], data_root: Path, device: torch.device, results_dir: Path,
             workdir: Path, resume: bool = False, progress: bool = True, echo=print,
             batch_seeds: bool = False) -> list[dict]:
    """Run `jobs` in order; returns their records (skipped ones excluded). With
    `batch_seeds`, the seeds of a method train together (`execute_seed_batch`). Stops
    early after an interrupted job, since the user asked the whole sweep to stop."""
    load_builtins()
    records = []
    todo = []
    for job in jobs:
        if resume and already_done(job, results_dir):
            echo(f"{job.method} seed {job.seed}: already recorded ({job.run_id}), skipped")
        else:
            todo.append(job)
    datasets = {name: load_dataset(name, data_root) for name in sorted({job.dataset for job in todo})}
    for job in todo:  # before any training: a batch must fit in the images the run trains on
        config_lib.check_batch(job.train, len(datasets[job.dataset].train_x))
    for group in seed_groups(todo, batch_seeds, resume, workdir):
        data = datasets[group[0].dataset]
        with contextlib.ExitStack() as locks:
            try:
                for job in group:
                    locks.enter_context(run_lock(Path(workdir) / job.run_id))
            except RunLocked as held:
                echo(f"{group[0].method} seed {','.join(str(j.seed) for j in group)}: another bench process is "
                     f"running it (lock in {held}), skipped")
                continue
            if len(group) > 1:
                done = execute_seed_batch(group, data, device, results_dir, workdir, resume, progress)
            else:
                done = [execute(group[0], data, device, results_dir, workdir, resume, progress)]
        for record in done:
            records.append(record)
            echo(summary_line(record))
        if any(record["status"] == "interrupted" for record in done):
            echo("interrupted: checkpoint saved; rerun the same command with --resume to continue")
            break
    return records
