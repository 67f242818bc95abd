"""The driver of a sweep, whatever executes it: skip what is recorded, check that each batch and image shape fits,
group the jobs, hand the groups to an executor, and write each record (atomically, here,
where the results directory is) and its summary line as the group ends."""

from __future__ import annotations

from pathlib import Path

import torch

from bench.errors import BenchError
from bench.files import check_writable, remove_leftovers
from bench.runs.executors import Executor, LocalExecutor
from bench.runs.plan import Job, already_done, seed_groups
from bench.runs.records import RECORD_DIR, write_record
from bench.runs.runner import GroupTask, check_jobs, summary_line
from bench.tracking import progress as progress_bars
from bench.training.checkpoint import KEEP_CHECKPOINTS


def run_jobs(jobs: list[Job], data_root: Path, device: torch.device | str, results_dir: Path,
             workdir: Path, resume: bool = False, progress: bool = True, echo=print,
             batch_seeds: bool = False, executor: Executor | None = None,
             trackers: tuple[str, ...] = (), keep_checkpoints: str = "last") -> list[dict]:
    """Run `jobs` on `executor` (default: one after another in this process); returns their
    records (skipped ones excluded). With `batch_seeds`, the seeds of a method train
    together; `trackers` (tensorboard, mlflow) follow each run; `keep_checkpoints` (last,
    all, none) says which checkpoints stay. After a Ctrl-C, no further group starts."""
    if keep_checkpoints not in KEEP_CHECKPOINTS:
        raise BenchError(f"keep_checkpoints={keep_checkpoints!r} is not one of {', '.join(KEEP_CHECKPOINTS)}")
    executor = executor or LocalExecutor()
    todo = []
    for job in jobs:
        if resume and already_done(job, results_dir):
            echo(f"{job.method} seed {job.seed}: already recorded ({job.run_id}), skipped")
        else:
            todo.append(job)
    with progress_bars.shown(progress):
        check_jobs(todo, Path(data_root))  # before any training: batch sizes and image shapes fit
    # then the folders, before training but only once every input is checked, so that a
    # refused command leaves no empty folder behind
    check_writable(Path(results_dir) / RECORD_DIR, "results directory")
    check_writable(workdir, "workdir")
    for job in todo:  # a killed writer's temporary copy of this run's record
        remove_leftovers(Path(results_dir) / RECORD_DIR, f"{job.run_id}.json")
    task = GroupTask(Path(data_root), str(device), Path(workdir), resume, progress, tuple(trackers), keep_checkpoints)
    records = []
    for finished in executor.run(seed_groups(todo, batch_seeds, resume, workdir), task, echo):
        if finished.note:
            echo(finished.note)
        for record in finished.records:
            write_record(record, results_dir)
            records.append(record)
            echo(summary_line(record))
        if executor.concurrent:
            failed = sum(r["status"] == "failed" for r in records)
            echo(f"[{len(records)}/{len(todo)} done, {failed} failed, {executor.active} {executor.active_label}]")
    if any(record["status"] == "interrupted" for record in records):
        echo("interrupted: checkpoints saved; rerun the same command with --resume to continue")
    return records
