"""Where a sweep's groups run. The driver (`bench.runs.sweep`) plans, skips, writes the
records and prints; an executor only runs `runner.run_group` on each group somewhere and
hands back each `Finished` as it ends. Two implementations: `LocalExecutor` (this process,
or `--jobs N` pool workers on this machine) and `bench.runs.ray_executor.RayExecutor`.

Ctrl-C is each executor's to pass on, since only it knows where the runs are: each run
then checkpoints, finishes as `interrupted`, and no group starts after it.
"""

from __future__ import annotations

from collections.abc import Iterator

from bench.runs.parallel import run_pool
from bench.runs.plan import Job
from bench.runs.runner import STOPPED_OUTSIDE_TRAINING, Finished, GroupTask, bare_records, run_group


class Executor:
    """Runs groups of jobs; `run` yields each group's `Finished` as it ends."""

    concurrent = False  # several groups at once: the driver then prints a tally after each
    active_label = "running"  # what `active` counts, as the tally says it
    active = 0  # groups started and not yet finished

    def run(self, groups: list[list[Job]], task: GroupTask, echo=print) -> Iterator[Finished]:
        raise NotImplementedError


class LocalExecutor(Executor):
    """This machine: one group after another in this process, or with `jobs` > 1 each job
    in a process-pool worker, up to `jobs` at once (`bench.runs.parallel`)."""

    def __init__(self, jobs: int = 1):
        self.jobs = jobs
        self.concurrent = jobs > 1

    def run(self, groups: list[list[Job]], task: GroupTask, echo=print) -> Iterator[Finished]:
        if self.concurrent:
            yield from run_pool(groups, task, self.jobs, self)
            return
        for group in groups:
            self.active = 1
            try:
                finished = run_group(group, task)
            except KeyboardInterrupt:  # before training started (loading data, building): recorded too
                finished = Finished(group, bare_records(group, "interrupted", STOPPED_OUTSIDE_TRAINING))
            self.active = 0
            yield finished
            if any(record["status"] == "interrupted" for record in finished.records):
                return  # the trainer caught a Ctrl-C: the user asked the whole sweep to stop
