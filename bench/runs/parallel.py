"""Runs of a sweep side by side: each (method, seed) job in its own `bench run`
subprocess, at most `workers` at a time, all sharing one device.

Why processes and not one vmapped model over seeds: these networks are so small that a
GPU step is bound by the host launching kernels, and separate processes launch in
parallel on separate cores; each job runs exactly the code path of a lone run (its own
RNG streams, BatchNorm statistics, optimizer state, checkpoints and record), so a seed's
result is the lone run's result — `tests/test_parallel_seeds.py` checks that on the CPU.
Workers get their own session, so a terminal's Ctrl-C reaches this process alone, which
passes one stop request to every running worker: each checkpoints and records itself as
interrupted, and `--resume` continues them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.runs.plan import Job, already_done
from bench.runs.records import RECORD_DIR, read_record
from bench.runs.runner import summary_line
from bench.training.interrupt import StopRequested


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def worker_command(job: Job, device: str, data_root: str | None, results_dir: Path, workdir: Path,
                   resume: bool, trackers: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", job.method, "--seeds", f"{job.seed},",
           "--dataset", job.dataset, "--preset", job.preset, "--device", device,
           "--results-dir", str(results_dir), "--workdir", str(workdir), "--no-progress",
           "--tracker", ",".join(trackers) or "none"]
    for key, value in job.overrides.items():
        cmd += ["--set", f"{key}={value!r}"]
    if data_root:
        cmd += ["--data-root", str(data_root)]
    if resume:
        cmd.append("--resume")
    return cmd


def run_jobs_parallel(jobs: list[Job], workers: int, device: str, data_root: str | None, results_dir: Path,
                      workdir: Path, resume: bool = False, echo=print, trackers: tuple[str, ...] = ()) -> list[dict]:
    """Run `jobs` in up to `workers` subprocesses; returns the records they wrote."""
    env = {**os.environ}
    env.setdefault("BENCH_THREADS", str(_threads_per_worker(workers)))
    pending = [j for j in jobs if not (resume and already_done(j, results_dir))]
    for job in jobs:
        if job not in pending:
            echo(f"{job.method} seed {job.seed}: already recorded ({job.run_id}), skipped")
    running: dict[subprocess.Popen, tuple[Job, Path, float]] = {}
    records, forwarded = [], False
    with StopRequested() as stop:
        while pending or running:
            while pending and len(running) < workers and not stop:
                job = pending.pop(0)
                log = Path(workdir) / job.run_id / "worker.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                with open(log, "w") as out:
                    proc = subprocess.Popen(worker_command(job, device, data_root, results_dir, workdir, resume,
                                                           trackers),
                                            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
                running[proc] = (job, log, time.time())
            if stop and not forwarded:
                for proc in running:
                    proc.send_signal(signal.SIGINT)
                pending.clear()
                forwarded = True
            time.sleep(0.2)
            for proc in [p for p in running if p.poll() is not None]:
                job, log, launched = running.pop(proc)
                path = Path(results_dir) / RECORD_DIR / f"{job.run_id}.json"
                record = read_record(results_dir, job.run_id) if path.exists() and path.stat().st_mtime >= launched - 1 else None
                if record is None:
                    echo(f"{job.method} seed {job.seed}: worker exited with code {proc.returncode} "
                         f"and wrote no record; see {log}")
                    continue
                records.append(record)
                echo(summary_line(record))
    if any(r["status"] == "interrupted" for r in records):
        echo("interrupted: checkpoints saved; rerun the same command with --resume to continue")
    return records
