"""Finding a recorded run and rebuilding its trained model from the checkpoint."""

from __future__ import annotations

import shlex
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.factory import create_method
from bench.runs.records import changed_settings, device_kind, load_records, read_record, run_command
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


def load_trained(record: dict, workdir: Path, device: torch.device | str = "cpu"):
    """The method of `record`, with the weights of its checkpoint under `workdir`."""
    run_id, kind = record["run_id"], device_kind(record)
    # a GPU run recorded before run ids named the device is re-created under the new id
    ids = [run_id] + ([f"{run_id}-{kind}"] if kind in ("cuda", "mps") and not run_id.endswith(kind) else [])
    path = next((p for p in (checkpoint.path_for(workdir, i) for i in ids) if p.exists()),
                checkpoint.path_for(workdir, run_id))
    if not path.exists():
        raise BenchError(f"{record['run_id']}: its checkpoint is not on this machine (no {path}); re-create it "
                         f"with `{recreate_command(record, workdir)}` (or pass --workdir where it is)")
    settings = (record.get("config") or {}).get("method") or {}
    try:
        method = create_method(record["method"], image_shape=record.get("image_shape"), checkpoint=path, **settings)
    except BenchError:
        raise
    except Exception as exc:  # noqa: BLE001 -- settings or an image shape the method cannot be built with
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BenchError(f"{record['run_id']}: cannot build {record['method']} from its record "
                         f"({type(exc).__name__}: {first})") from None
    return method.to(device).eval()


def recreate_command(record: dict, workdir: Path) -> str:
    """The `bench run` that trains `record`'s run again into `workdir` under the same run id
    (a rerun's numbers may differ slightly from the record's on another machine)."""
    source = (record.get("dataset_source") or {}).get("path")
    command = run_command(record["method"], "npz:" + source if source else record["dataset"], [int(record["seed"])],
                          record["preset"], changed_settings(record), device_kind(record))
    return command + f" --workdir {shlex.quote(str(workdir))}"


__all__ = ["find_run", "load_trained", "recreate_command", "test_matching"]
