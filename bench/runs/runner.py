"""Runs a sweep's jobs on one machine: seeding, building, training, evaluation, and one
run record per job. A group of jobs (one seed, or S seeds trained as one batched step)
is one `execute`. A job that fails or diverges is recorded and the sweep goes on; a
Ctrl-C stops the sweep after checkpointing the current group."""

from __future__ import annotations

import contextlib
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from bench import config as config_lib
from bench.datasets.base import ImageDataset, load_dataset, to_float
from bench.device import provenance
from bench.errors import BenchError
from bench.evaluation import run_measures
from bench.evaluation.harness import evaluate_clustering
from bench.factory import create_method
from bench.files import RunLocked, run_lock
from bench.rng import SeedRNG, seed_everything
from bench.runs.plan import Job, already_done, seed_groups
from bench.runs.records import git_commit, write_record
from bench.training import checkpoint
from bench.training.trainer import RunState, Trainer


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


def _record_outcome(record: dict, job: Job, run: RunState, run_data: ImageDataset, device: torch.device) -> None:
    record.update(status=run.status, steps=run.steps, losses=run.losses, evaluations=run.evaluations,
                  message=run.message, resumed_from_step=run.resumed_from, step_mode=run.step_mode)
    if run.seed_batch:
        record["seed_batch"] = run.seed_batch
    if run.graph_error:
        record["graph_error"] = run.graph_error
    if run.status == "completed":
        record["metrics"] = evaluate_clustering(run.method, run_data, job.train.eval_batch_size)
        record.update(measure_beyond_clustering(job, run.method, run_data, device))


def _failed(record: dict, exc: Exception) -> None:
    message = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
    record.update(status="failed", message=message, traceback=traceback.format_exc())


def _write(record: dict, path: Path, seconds: float, results_dir: Path) -> dict:
    record["wall_time_s"] = round(seconds, 2)
    record["finished_at"] = _utc_now()
    record["checkpoint"] = str(path) if path.exists() else None
    write_record(record, results_dir)
    return record


def fit_closed_form(run: RunState, data: ImageDataset, device: torch.device) -> None:
    """A method without gradient training (k-means on pixels) fits once; checkpointed at step 0."""
    run.method.to(device).train()
    run.method.fit(to_float(data.train_x))
    if run.checkpoint is not None:
        checkpoint.save(checkpoint.run_state(run, 0, [], None, 0.0), run.checkpoint)


def execute(group: list[Job], data: ImageDataset, device: torch.device, results_dir: Path,
            workdir: Path, resume: bool = False, progress: bool = True) -> list[dict]:
    """Train one seed, or S seeds of one (method, config) as one batched step
    (`bench.training.seed_batch`), then evaluate each seed as its lone run would; write and
    return one record per seed (status completed, diverged, interrupted or failed). A seed's
    wall_time_s is the group's training time (shared by its seeds; for a resumed run, plus
    the segments before the stop) and its own evaluation; `seed_batch` in the record says
    how many seeds shared it."""
    records = [_new_record(job, device) for job in group]
    first, runs = group[0], None
    start = time.perf_counter()
    try:
        run_data = data.subset(first.train.train_size, first.train.test_size).to(device)
        runs = []
        for job in group:  # each seed built exactly as its lone run builds it
            seed_everything(job.seed)
            method = create_method(job.method, job.preset, run_data.image_shape, **job.overrides)
            rng = SeedRNG(device) if len(group) > 1 else None  # alone, a run owns the global generators
            runs.append(RunState(method, job.seed, job.checkpoint(workdir), rng))
        for record, run in zip(records, runs):
            record.update(n_clusters=run.method.n_clusters, n_classes=run_data.n_classes,
                          image_shape=list(run_data.image_shape))
        if runs[0].method.trains_by_gradient:
            seeds = ",".join(str(job.seed) for job in group)
            Trainer(first.train, device, progress, desc=f"{first.method} s{seeds}").fit(runs, run_data, resume)
        else:
            for run in runs:
                fit_closed_form(run, run_data, device)
    except Exception as exc:  # every seed of the group failed with it
        runs = None
        for record in records:
            _failed(record, exc)
    train_seconds = time.perf_counter() - start
    out = []
    for i, (job, record) in enumerate(zip(group, records)):
        own_start = time.perf_counter()
        if runs is not None:
            try:
                with runs[i].own_rng():
                    _record_outcome(record, job, runs[i], run_data, device)
            except Exception as exc:  # recorded; the other seeds go on
                _failed(record, exc)
        prior = runs[i].prior_seconds if runs is not None else 0.0
        out.append(_write(record, job.checkpoint(workdir), prior + train_seconds + time.perf_counter() - own_start,
                          results_dir))
    return out


def measure_beyond_clustering(job: Job, method, data: ImageDataset, device: torch.device) -> dict:
    """Disentanglement metrics, morphometrics, the t-SNE layout and the per-latent KL, where
    they apply. One that fails is recorded under `measure_errors`; the run stays completed."""
    cfg, out, errors = job.train, {}, {}
    measures = {
        "disentanglement": lambda: run_measures.disentanglement(method, job.dataset, device, job.seed,
                                                               cfg.metric_samples, cfg.metrics_backend),
        "morphometrics": lambda: run_measures.morphometrics(method, job.dataset) if cfg.morphometrics else None,
        "tsne": lambda: run_measures.tsne_layout(method, data, cfg.tsne_points, job.seed),
        "latent_kl": lambda: run_measures.latent_kl(method, data, cfg.eval_batch_size),
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
             workdir: Path, resume: bool = False, progress: bool = True, echo=print,
             batch_seeds: bool = False) -> list[dict]:
    """Run `jobs` in order; returns their records (skipped ones excluded). With
    `batch_seeds`, the seeds of a method train together. Stops early after an interrupted
    job, since the user asked the whole sweep to stop."""
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
            done = execute(group, data, device, results_dir, workdir, resume, progress)
        for record in done:
            records.append(record)
            echo(summary_line(record))
        if any(record["status"] == "interrupted" for record in done):
            echo("interrupted: checkpoint saved; rerun the same command with --resume to continue")
            break
    return records
