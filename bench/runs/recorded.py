"""Finding a recorded run and rebuilding its trained model from the checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from bench.errors import BenchError
from bench.factory import create_method
from bench.runs.records import load_records, read_record
from bench.training import checkpoint


def find_run(results_dir: Path, method: str, preset: str | None = None, seed: int | None = None,
             run_id: str | None = None) -> dict:
    """The named run, else the latest completed run of `method` (optionally of a preset/seed)."""
    if run_id:
        record = read_record(results_dir, run_id)
        if record is None:
            raise BenchError(f"no run record {run_id!r} under {results_dir}/runs")
        return record
    records = load_records(results_dir)
    if records.empty:
        raise BenchError(f"no run records under {results_dir}/runs; run `bench run` first")
    mask = (records["method"] == method) & (records["status"] == "completed")
    if preset:
        mask &= records["preset"] == preset
    if seed is not None:
        mask &= records["seed"] == seed
    if not mask.any():
        which = [method] + [f"{k} {v}" for k, v in (("preset", preset), ("seed", seed)) if v is not None]
        raise BenchError(f"no completed run of {' '.join(which)} under {results_dir}/runs")
    latest = records[mask].sort_values("finished_at").iloc[-1]["run_id"]
    return read_record(results_dir, latest)


def load_trained(record: dict, workdir: Path, device: torch.device | str = "cpu"):
    """The method of `record`, with the weights of its checkpoint under `workdir`."""
    path = checkpoint.path_for(workdir, record["run_id"])
    if not path.exists():
        raise BenchError(f"{record['run_id']}: no checkpoint at {path} (checkpoints stay on the machine "
                         "that trained; pass --workdir, or rerun the run there)")
    method = create_method(record["method"], image_shape=record.get("image_shape"), checkpoint=path,
                           **record["config"]["method"])
    return method.to(device).eval()


__all__ = ["find_run", "load_trained"]
