"""`bench run --executor ray`: each group of a sweep (one job, or a `--batch-seeds` group)
is a Ray task with declared resources, on a local Ray cluster started for the sweep or on
a running one joined by address; Ray places the tasks, retries the ones whose worker dies,
and cancels them on Ctrl-C. The task runs `runner.run_group`, the code every executor runs,
and returns its records to the driver, which writes them: records need no shared storage.

Checkpoints do: a retried or resumed task on another node finds its run's checkpoint only
if `--workdir` is the same shared folder on every node. Each task checks for a marker file
the driver writes there and, where it is missing, the driver says so in one line.

The long form (readings, departures, history): docs/notes.md, `bench.runs.ray_executor`."""

from __future__ import annotations

import dataclasses
import os
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.files import write_atomic
from bench.plugins import load_plugins
from bench.runs.executors import Executor
from bench.runs.plan import Job
from bench.runs.runner import Finished, GroupTask, bare_records, one_line, run_group
from bench.training.interrupt import StopRequested

RETRIES = 3  # Ray's default for tasks, stated here: a job whose worker dies a 4th time is recorded failed
INSTALL = "pip install '.[ray]' in the bench repository (the optional extra `ray`)"


def import_ray():
    try:
        import ray
    except ImportError:
        raise BenchError(f"--executor ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def driver_marker(workdir: Path, token: str) -> Path:
    """The file a driver leaves in the workdir for its tasks to find: seen from a task's node,
    the workdir is the driver's (shared) folder."""
    return Path(workdir) / f".bench-driver-{token}"


def _retry_of_this_task(folder: Path, task_id: str) -> bool:
    """Whether a Ray task with this id ran on this run before (Ray keeps a task's id across its
    retries): the id is left in the run's folder, so a retry resumes the checkpoint the killed
    attempt wrote instead of starting over. A new sweep's task has a new id."""
    marker = folder / "ray-task"
    if marker.exists() and marker.read_text() == task_id:
        return True
    write_atomic(marker, lambda tmp: tmp.write_text(task_id))
    return False


def run_task(group: list[Job], task: GroupTask, plugins: str | None, threads: int,
             token: str) -> tuple[Finished, str, bool]:
    """The body of a Ray task: one group, run here. Returns its `Finished`, the node's id and
    whether the node sees the driver's workdir."""
    import ray

    load_plugins(plugins)  # the driver's own methods and datasets
    torch.set_num_threads(threads)
    node = ray.get_runtime_context().get_node_id()
    shared = driver_marker(task.workdir, token).exists()
    try:
        retry = _retry_of_this_task(Path(task.workdir) / group[0].run_id, ray.get_runtime_context().get_task_id())
        finished = run_group(group, task, resume=task.resume or retry)
    except KeyboardInterrupt:  # ray.cancel outside a training step (loading data, evaluating)
        finished = Finished(group, bare_records(group, "interrupted", "cancelled by the driver (Ctrl-C)"))
    except Exception as exc:  # the node cannot run it: no data there, no GPU, ...
        finished = Finished(group, bare_records(group, "failed", one_line(exc), traceback.format_exc()))
    return finished, node, shared


class RayExecutor(Executor):
    """Each group a Ray task reserving `cpus_per_job` CPUs and `gpus_per_job` GPUs; the
    workers import `plugins` (default: the driver's $BENCH_PLUGINS)."""

    concurrent = True
    active_label = "running or queued"  # Ray's core API tells a task's end, not its start

    def __init__(self, address: str | None = None, cpus_per_job: float = 1.0, gpus_per_job: float = 0.0,
                 retries: int = RETRIES, plugins: str | None = None):
        self.ray = import_ray()
        self.address, self.cpus, self.gpus, self.retries = address, cpus_per_job, gpus_per_job, retries
        self.plugins = plugins if plugins is not None else os.environ.get("BENCH_PLUGINS")

    def _connect(self, echo) -> bool:
        """Join or start the cluster; True when this sweep started it (and so shuts it down).
        A process already connected (a test, a notebook) keeps its connection."""
        ray = self.ray
        if ray.is_initialized():
            return False
        try:
            if self.address:
                ray.init(address=self.address)
            else:
                ray.init(address="local", include_dashboard=False)
        except ConnectionError as exc:
            raise BenchError(f"cannot join the Ray cluster at {self.address}: {one_line(exc)}") from None
        total = ray.cluster_resources()
        echo(f"ray: cluster of {total.get('CPU', 0):g} CPUs and {total.get('GPU', 0):g} GPUs; each job "
             f"takes {self.cpus:g} CPU and {self.gpus:g} GPU")
        if not self.address and (self.cpus > total.get("CPU", 0) or self.gpus > total.get("GPU", 0)):
            ray.shutdown()
            raise BenchError(f"a job asks for {self.cpus:g} CPU and {self.gpus:g} GPU, more than this machine's "
                             f"{total.get('CPU', 0):g} CPUs and {total.get('GPU', 0):g} GPUs")
        return True

    def run(self, groups: list[list[Job]], task: GroupTask, echo=print) -> Iterator[Finished]:
        ray = self.ray
        # paths as the driver sees them: on a cluster, the same absolute path on every node
        task = dataclasses.replace(task, data_root=Path(task.data_root).absolute(),
                                   workdir=Path(task.workdir).absolute(), progress=False)
        started = self._connect(echo)
        token = uuid.uuid4().hex[:12]
        marker = driver_marker(task.workdir, token)
        write_atomic(marker, lambda tmp: tmp.write_text("bench run driver\n"))
        try:
            remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.retries)(run_task)
            threads = max(1, int(self.cpus))  # what Ray reserved for the job
            refs = {remote.options(name=f"{g[0].method} s{','.join(str(j.seed) for j in g)}")
                    .remote(g, task, self.plugins, threads, token): g for g in groups}
            unshared: set[str] = set()
            with StopRequested() as stop:
                cancelled = False
                while refs:
                    if stop and not cancelled:  # running tasks stop cleanly, queued ones never start
                        for ref in refs:
                            ray.cancel(ref)
                        cancelled = True
                    self.active = len(refs)
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                    for ref in ready:
                        group = refs.pop(ref)
                        self.active = len(refs)
                        yield self._outcome(ref, group, task.workdir, unshared, echo)
        finally:
            marker.unlink(missing_ok=True)
            if started:
                ray.shutdown()

    def _outcome(self, ref, group: list[Job], workdir: Path, unshared: set[str], echo) -> Finished:
        ray = self.ray
        label = f"{group[0].method} seed {','.join(str(j.seed) for j in group)}"
        try:
            finished, node, shared = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return Finished(group, note=f"{label}: cancelled before it started")
        except ray.exceptions.WorkerCrashedError as exc:
            return Finished(group, bare_records(group, "failed", f"its Ray worker died {self.retries + 1} times "
                                                                  f"(retries exhausted): {one_line(exc)}"))
        except ray.exceptions.RayError as exc:
            return Finished(group, bare_records(group, "failed", one_line(exc), str(exc)))
        if not shared and node not in unshared:
            unshared.add(node)
            echo(f"ray: node {node[:12]} does not see this driver's --workdir {workdir}: its checkpoints stay "
                 "there, and a job retried or resumed on another node starts over (put --workdir on storage "
                 "every node mounts at the same path)")
        return finished
