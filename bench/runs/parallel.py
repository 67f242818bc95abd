"""`--jobs N` on one machine: each (method, seed) job in its own `bench run` subprocess, at
most N at a time, all sharing one device.

Why processes and not one vmapped model over seeds: these networks are so small that a
GPU step is bound by the host launching kernels, and separate processes launch in
parallel on separate cores; each job runs exactly the code path of a lone run (its own
RNG streams, BatchNorm statistics, optimizer state, checkpoints and record), so a seed's
result is the lone run's result — `tests/integration/test_parallel_seeds.py` checks that on
the CPU. A worker writes its record into a folder of its own under the workdir; the pool
hands it back and the driver writes it into the results directory, as for any executor.
Workers get their own session, so a terminal's Ctrl-C reaches this process alone, which
passes one stop request to every running worker: each checkpoints and records itself as
interrupted, and `--resume` continues them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.datasets import npz
from bench.runs.plan import Job
from bench.runs.records import read_record
from bench.runs.runner import Finished, GroupTask
from bench.training.interrupt import StopRequested


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def worker_command(job: Job, task: GroupTask, results_dir: Path) -> list[str]:
    source = npz.source_of(job.dataset)  # a worker registers the same file again
    dataset = npz.PREFIX + source["path"] if source else job.dataset
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", job.method, "--seeds", f"{job.seed},",
           "--dataset", dataset, "--preset", job.preset, "--device", task.device,
           "--data-root", str(task.data_root), "--results-dir", str(results_dir),
           "--workdir", str(task.workdir), "--no-progress", "--tracker", ",".join(task.trackers) or "none",
           "--reference"]  # the driver checked the results folder (and its --reference) already
    for key, value in job.overrides.items():
        cmd += ["--set", f"{key}={value!r}"]
    if task.resume:
        cmd.append("--resume")
    return cmd


def run_pool(groups: list[list[Job]], task: GroupTask, workers: int, state) -> Iterator[Finished]:
    """Run each group (one job each) in a subprocess, up to `workers` at a time; yield each
    one's `Finished` as its process ends. `state.active` counts the running processes."""
    env = {**os.environ}
    env.setdefault("BENCH_THREADS", str(_threads_per_worker(workers)))
    pending = list(groups)
    running: dict[subprocess.Popen, tuple[list[Job], Path, Path]] = {}
    forwarded = False
    with StopRequested() as stop:
        while pending or running:
            while pending and len(running) < workers and not stop:
                group = pending.pop(0)
                folder = Path(task.workdir) / group[0].run_id
                own_results = folder / "worker-results"  # the worker's record, for this process to hand on
                shutil.rmtree(own_results, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
                log = folder / "worker.log"
                with open(log, "w") as out:
                    proc = subprocess.Popen(worker_command(group[0], task, own_results), stdout=out,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
                running[proc] = (group, own_results, log)
            state.active = len(running)
            if stop and not forwarded:
                for proc in running:
                    proc.send_signal(signal.SIGINT)
                pending.clear()
                forwarded = True
            time.sleep(0.2)
            for proc in [p for p in running if p.poll() is not None]:
                group, own_results, log = running.pop(proc)
                state.active = len(running)
                record = read_record(own_results, group[0].run_id)
                if record is None:
                    yield Finished(group, note=f"{group[0].method} seed {group[0].seed}: worker exited with code "
                                               f"{proc.returncode} and wrote no record; see {log}")
                else:
                    yield Finished(group, [record])
