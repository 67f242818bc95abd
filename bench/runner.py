"""Runs a grid of (method, seed) jobs on one dataset: config, seeding, training,
evaluation, and one run record per job. A job that fails or diverges is recorded and
the sweep goes on; a Ctrl-C stops the sweep after checkpointing the current job."""

from __future__ import annotations

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

from bench import config as config_lib
from bench.data import ImageDataset, load_dataset
from bench.device import seed_everything
from bench.evaluate import run_measures
from bench.evaluate.harness import evaluate_clustering
from bench.registry import METHODS, load_builtins
from bench.results import git_commit, read_record, write_record
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


def execute(job: Job, data: ImageDataset, device: torch.device, results_dir: Path,
            workdir: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train and evaluate one job; write and return its record (status completed,
    diverged, interrupted or failed)."""
    record = {
        "run_id": job.run_id,
        "method": job.method,
        "dataset": job.dataset,
        "seed": job.seed,
        "preset": job.preset,
        "overrides": job.overrides,
        "config": job.config_dict(),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch_version": torch.__version__,
        "git_commit": git_commit(),
        "started_at": _utc_now(),
    }
    checkpoint = Path(workdir) / job.run_id / "checkpoint.pt"
    start, prior_seconds = time.perf_counter(), 0.0
    try:
        seed_everything(job.seed)
        run_data = data.subset(job.train.train_size, job.train.test_size).to(device)
        method = METHODS.create(job.method, job.method_config, image_shape=run_data.image_shape)
        record.update(n_clusters=method.n_clusters, n_classes=run_data.n_classes,
                      image_shape=list(run_data.image_shape))
        trainer = Trainer(job.train, device, checkpoint, progress, desc=f"{job.method} s{job.seed}")
        outcome = trainer.fit(method, run_data, job.seed, resume=resume)
        record.update(status=outcome.status, steps=outcome.steps, losses=outcome.losses,
                      evaluations=outcome.evaluations, message=outcome.message,
                      resumed_from_step=outcome.resumed_from, step_mode=outcome.step_mode)
        if outcome.graph_error:
            record["graph_error"] = outcome.graph_error
        prior_seconds = outcome.prior_seconds
        if outcome.status == "completed":
            record["metrics"] = evaluate_clustering(method, run_data, job.train.eval_batch_size)
            record.update(measure_beyond_clustering(job, method, run_data, device))
    except Exception as exc:  # recorded, and the sweep goes on
        record.update(status="failed", message=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
    # a resumed run's wall time includes the segments before the stop (up to its checkpoint)
    record["wall_time_s"] = round(prior_seconds + time.perf_counter() - start, 2)
    record["finished_at"] = _utc_now()
    record["checkpoint"] = str(checkpoint) if checkpoint.exists() else None
    write_record(record, results_dir)
    return record


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


def run_jobs(jobs: list[Job], data_root: Path, device: torch.device, results_dir: Path,
             workdir: Path, resume: bool = False, progress: bool = True, echo=print) -> list[dict]:
    """Run `jobs` in order; returns their records (skipped ones excluded). Stops early
    after an interrupted job, since the user asked the whole sweep to stop."""
    datasets: dict[str, ImageDataset] = {}
    records = []
    for job in jobs:
        if resume and already_done(job, results_dir):
            echo(f"{job.method} seed {job.seed}: already recorded ({job.run_id}), skipped")
            continue
        if job.dataset not in datasets:
            datasets[job.dataset] = load_dataset(job.dataset, data_root)
        record = execute(job, datasets[job.dataset], device, results_dir, workdir, resume, progress)
        records.append(record)
        echo(summary_line(record))
        if record["status"] == "interrupted":
            echo("interrupted: checkpoint saved; rerun the same command with --resume to continue")
            break
    return records
