"""`bench run --dry-run`: the sweep's jobs and what they should cost, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.speed.estimate import job_timing, load_timings

REFERENCE_SPEED = Path("results") / "speed"  # the repository's measurements, when run from a clone


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def print_plan(jobs, device, results_dir: Path, echo=print) -> int:
    """Print one row per job (method, dataset, seed, variant, steps, batch, run id, estimated
    training time) and the total; returns 0."""
    folders = [REFERENCE_SPEED, Path(results_dir) / "speed"]
    timings = load_timings([f for f in dict.fromkeys(folders) if f.is_dir()], device.type)
    rows, total, timed, sources = [], 0.0, 0, set()
    for job in jobs:
        timing = job_timing(job, timings) if job.method_config is not None else None
        steps = job.train.steps
        estimate = "—"
        if timing is not None:
            seconds = steps * timing.ms_per_step / 1000
            total, timed = total + seconds, timed + 1
            sources.add(str(timing.source))
            estimate = f"{_duration(seconds)} ({timing.ms_per_step:.0f} ms/step)"
        rows.append({"method": job.method, "dataset": job.dataset, "seed": job.seed, "variant": job.variant or "—",
                     "steps": steps, "batch": job.train.batch_size, "run id": job.run_id, "est. training": estimate})
    echo(pd.DataFrame(rows).astype(str).to_markdown(index=False, disable_numparse=True))
    echo(f"\n{len(jobs)} job(s) on {device.type}; nothing trained (--dry-run).")
    if timed:
        echo(f"Estimated training time of {timed} of them: {_duration(total)} at the ms/step measured by "
             f"`bench speed` in {', '.join(sorted(sources))} (training steps only: evaluation, k-means and the "
             "measures after training come on top).")
    if timed < len(jobs):
        echo(f"{len(jobs) - timed} job(s) have no `bench speed` measurement of the same method, batch size and "
             f"settings on {device.type}; `bench speed --methods M --preset P` measures one.")
    return 0
