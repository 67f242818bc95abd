"""`--jobs N` on one machine: each (method, seed) job runs `runner.run_group` in a worker of a
process pool (`concurrent.futures`, spawn context), at most N at a time, all sharing one device.

Why processes and not one vmapped model over seeds: these networks are so small that a
GPU step is bound by the host launching kernels, and separate processes launch in
parallel on separate cores; each job runs exactly the code path of a lone run (its own
RNG streams, BatchNorm statistics, optimizer state, checkpoints and record), so a seed's
result is the lone run's result (`tests/integration/test_parallel_seeds.py`). A job and the
sweep's settings travel to the worker as the typed objects they are (pickled), and its
records come back to the driver, which writes them, as for any executor. Workers get their
own session, so a terminal's Ctrl-C reaches this process alone, which passes one stop
request to every worker: a training run checkpoints and records itself as interrupted, a job
stopped outside training is recorded interrupted, and `--resume` continues them.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator

from bench.datasets import npz
from bench.runs.plan import Job
from bench.runs.runner import STOPPED_OUTSIDE_TRAINING, Finished, GroupTask, bare_records, one_line, run_group
from bench.training.interrupt import StopRequested

_IN_JOB = False  # a worker's SIGINT stops the job it runs (outside training: at once), never an idle worker


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _sigint(signum, frame) -> None:
    if _IN_JOB:
        raise KeyboardInterrupt


def _start_worker(threads: int, modules: list[str], npz_paths: list[str]) -> None:
    """A worker's setup: its own session, its share of the cores, and the driver's methods
    and datasets (plugins, the modules that registered them, its .npz files)."""
    import torch

    from bench.plugins import load_plugins

    os.setsid()
    signal.signal(signal.SIGINT, _sigint)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS") or threads))
    load_plugins()
    for module in modules:
        importlib.import_module(module)
    for path in npz_paths:
        npz.resolve_dataset(npz.PREFIX + path)


def run_job(group: list[Job], task: GroupTask) -> Finished:
    """A worker's body: `run_group`, its failures and stops recorded rather than raised."""
    global _IN_JOB
    _IN_JOB = True
    try:
        return run_group(group, task)
    except KeyboardInterrupt:  # the driver's stop request outside training (loading data, evaluating)
        return Finished(group, bare_records(group, "interrupted", STOPPED_OUTSIDE_TRAINING))
    except Exception as exc:  # the job could not run here: its data, its device, ...
        return Finished(group, bare_records(group, "failed", one_line(exc), traceback.format_exc()))
    finally:
        _IN_JOB = False


def _modules(groups: list[list[Job]]) -> list[str]:
    """The modules that registered the jobs' methods and datasets (a plugin, a test's)."""
    from bench.registry import DATASETS, METHODS

    found = set()
    for job in (job for group in groups for job in group):
        found.add(METHODS.get(job.method).__module__)
        if npz.source_of(job.dataset) is None:
            found.add(DATASETS.get(job.dataset).__module__)
    return sorted(m for m in found if m != "__main__")


def _signal_workers(pool: cf.ProcessPoolExecutor, signum: int) -> None:
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            os.kill(process.pid, signum)
        except (ProcessLookupError, AttributeError):
            pass


def run_pool(groups: list[list[Job]], task: GroupTask, workers: int, state) -> Iterator[Finished]:
    """Run each group (one job each) in a pool worker, up to `workers` at a time; yield each
    one's `Finished` as it ends. `state.active` counts the running jobs. A worker that dies
    (killed, out of memory) breaks its pool, whose other running jobs then end with it
    (`concurrent.futures` stops them): each is a note without a record (`--resume` continues
    it from its checkpoint), and the jobs not yet started go on in a new pool."""
    task = dataclasses.replace(task, progress=False)  # N jobs' bars on one terminal: none
    npz_paths = sorted({source["path"] for g in groups if (source := npz.source_of(g[0].dataset))})
    setup = (_threads_per_worker(workers), _modules(groups), npz_paths)

    def new_pool() -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_start_worker, initargs=setup)

    pool, pending, running = new_pool(), list(groups), {}
    try:
        with StopRequested() as stop:
            forwarded = broken = False
            while pending or running:
                while pending and len(running) < workers and not stop and not broken:
                    group = pending.pop(0)
                    try:
                        running[pool.submit(run_job, group, task)] = group
                    except cf.process.BrokenProcessPool:  # a worker died since the last look: it waits
                        pending.insert(0, group)         # for the new pool, as the jobs after it do
                        broken = True
                state.active = len(running)
                if stop and not forwarded:  # one stop request to each job; the rest never start
                    _signal_workers(pool, signal.SIGINT)
                    pending.clear()
                    forwarded = True
                done, _ = cf.wait(running, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    group = running.pop(future)
                    state.active = len(running)
                    try:
                        finished = future.result()
                    except cf.process.BrokenProcessPool:
                        broken = True
                        finished = Finished(group, note=f"{group[0].method} seed {group[0].seed}: a worker process "
                                                        "of the pool died (killed, out of memory?); no record")
                    yield finished
                if broken and not running:  # every job of the broken pool has ended
                    pool.shutdown(wait=False)
                    pool, broken = new_pool(), False
    except BaseException:  # a second Ctrl-C: the jobs stop at once too
        _signal_workers(pool, signal.SIGINT)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
