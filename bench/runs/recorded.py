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


def test_matching(record: dict, method, data_root: Path) -> list[list[int]]:
    """[[category, digit], ...]: the Hungarian matching the record scored its test accuracy
    with; for a record from before matchings were kept, recomputed from the trained
    `method` on the same test images."""
    recorded = ((record.get("metrics") or {}).get("test") or {}).get("matching")
    if recorded:
        return recorded
    from bench.datasets.base import load_dataset
    from bench.evaluation.clustering import hungarian_matching
    from bench.evaluation.harness import predict_clusters

    test_size = ((record.get("config") or {}).get("train") or {}).get("test_size")
    data = load_dataset(record["dataset"], data_root).subset(None, test_size)
    predicted = predict_clusters(method, data.test_x, 1000)
    return hungarian_matching(data.test_y.numpy(), predicted.numpy())


def recreate_command(record: dict) -> str:
    """The `bench run` line that trains `record`'s run again (same method, dataset, preset,
    seed and the settings it changed from today's defaults)."""
    from bench.report.builder import run_command
    from bench.runs.records import changed_settings

    return run_command(record["method"], record.get("dataset", "mnist"), [int(record.get("seed", 0))],
                       record.get("preset", "paper"), changed_settings(record))


def load_trained(record: dict, workdir: Path, device: torch.device | str = "cpu"):
    """The method of `record`, with the weights of its checkpoint under `workdir`."""
    path = checkpoint.path_for(workdir, record["run_id"])
    if not path.exists():
        raise BenchError(f"{record['run_id']}: no checkpoint at {path} (checkpoints stay on the machine that "
                         f"trained the run; pass its --workdir, or re-create it: {recreate_command(record)})")
    method = create_method(record["method"], image_shape=record.get("image_shape"), checkpoint=path,
                           **record["config"]["method"])
    return method.to(device).eval()


__all__ = ["find_run", "load_trained", "recreate_command", "test_matching"]
