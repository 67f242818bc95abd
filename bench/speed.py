"""`bench speed`: steady-state training throughput of each method on this device, our
trainer's step beside the faithful eager reference loop (`bench.reference_loop`).

Both loops train the same freshly seeded method at the preset's batch size on the real
training images. Each is warmed up (module loading, cuDNN's choices, our CUDA graph
capture), then timed `repeats` times over `steps` steps, synchronising the device
before each clock read; ms/step is the median over repeats. Peak memory is the CUDA
allocator's peak on a GPU, and on a CPU the process's peak resident set (Linux resets it
between measurements through /proc/self/clear_refs), which includes Python and torch.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from bench import config as config_lib
from bench.data import BatchSampler, ImageDataset, to_float
from bench.device import seed_everything
from bench.reference_loop import ReferenceStep, batches
from bench.registry import METHODS, load_builtins
from bench.results import git_commit
from bench.train_step import GRAPH_WARMUP_STEPS, TrainStep
from methods.base import Method


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def time_steps(step, next_batch, device, warmup: int, steps: int, repeats: int) -> list[float]:
    """Milliseconds per step of `step(next_batch())`, one value per repeat."""
    for _ in range(warmup):
        step(next_batch())
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            step(next_batch())
        _sync(device)
        times.append(1000 * (time.perf_counter() - start) / steps)
    return times


def measure(name: str, loop: str, data: ImageDataset, device: torch.device, preset: str,
            overrides: dict, warmup: int, steps: int, repeats: int) -> dict:
    """One method, one loop ('ours' or 'reference'): a row of the speed table."""
    cls = METHODS.get(name)
    (own,) = config_lib.applicable([cls], overrides)
    train_cfg, method_cfg = config_lib.resolve(cls, preset, own)
    batch = train_cfg.batch_size
    _reset_peak(device)
    seed_everything(0)
    method = cls(method_cfg, image_shape=data.image_shape).to(device).train()
    if loop == "ours":
        step = TrainStep(method, device, amp=train_cfg.amp, cuda_graphs=train_cfg.cuda_graphs)
        train_x = data.train_x.to(device)
        sampler = BatchSampler(len(train_x), batch, seed=0, device=device)
        counter = iter(range(10**12))

        def next_batch():
            return to_float(train_x[sampler.indices(next(counter))])

        warmup = max(warmup, GRAPH_WARMUP_STEPS + 1) if step.use_graph else warmup
    else:
        step = ReferenceStep(method, device)
        stream = batches(data.train_x, batch)

        def next_batch():
            return next(stream)

    times = time_steps(step, next_batch, device, warmup, steps, repeats)
    ms = statistics.median(times)
    row = {
        "method": name,
        "loop": loop,
        "mode": getattr(step, "mode", "eager"),
        "batch_size": batch,
        "ms_per_step": ms,
        "images_per_s": batch / (ms / 1000),
        "ms_per_step_min": min(times),
        "ms_per_step_max": max(times),
        "peak_memory_mb": _peak_mb(device),
        "overrides": own,
    }
    if getattr(step, "graph_error", ""):
        row["graph_error"] = step.graph_error
    del step, method
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def speed_table(names: list[str], data: ImageDataset, device: torch.device, preset: str,
                overrides: dict, warmup: int, steps: int, repeats: int, echo=print) -> tuple[pd.DataFrame, list[dict]]:
    """Reference then ours for each method; returns (summary table, raw rows)."""
    load_builtins()
    rows = []
    for name in names:
        if METHODS.get(name).phases is Method.phases:
            echo(f"{name}: no gradient training step (closed-form fit), skipped")
            continue
        pair = {}
        for loop in ("reference", "ours"):
            pair[loop] = measure(name, loop, data, device, preset, overrides, warmup, steps, repeats)
            rows.append(pair[loop])
        ratio = pair["reference"]["ms_per_step"] / pair["ours"]["ms_per_step"]
        pair["ours"]["speedup_vs_reference"] = ratio
        echo(f"{name}: ours {pair['ours']['ms_per_step']:.2f} ms/step ({pair['ours']['mode']}), "
             f"reference {pair['reference']['ms_per_step']:.2f} ms/step, {ratio:.2f}x")
    return summary(rows) if rows else pd.DataFrame(), rows


def summary(rows: list[dict]) -> pd.DataFrame:
    """One row per method: ours and the reference side by side, and the ratio."""
    frame = pd.DataFrame(rows)
    out = []
    for name, group in frame.groupby("method", sort=False):
        ours = group[group.loop == "ours"].iloc[0]
        ref = group[group.loop == "reference"].iloc[0]
        out.append({
            "method": name,
            "batch": int(ours.batch_size),
            "ours ms/step": round(ours.ms_per_step, 3),
            "ours img/s": round(ours.images_per_s),
            "ours peak MB": None if pd.isna(ours.peak_memory_mb) else round(ours.peak_memory_mb),
            "step mode": ours["mode"],
            "reference ms/step": round(ref.ms_per_step, 3),
            "reference img/s": round(ref.images_per_s),
            "reference peak MB": None if pd.isna(ref.peak_memory_mb) else round(ref.peak_memory_mb),
            "speedup": round(ref.ms_per_step / ours.ms_per_step, 2),
        })
    return pd.DataFrame(out)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def write_speed(rows: list[dict], table: pd.DataFrame, device: torch.device, settings: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = "cuda" if device.type == "cuda" else device.type
    variant = "".join(f"-{k}={v}" for k, v in sorted(settings["overrides"].items()))
    path = out_dir / f"speed-{slug}-{settings['preset']}{variant}.json"
    payload = {
        "device": device_label(device),
        "torch_version": torch.__version__,
        "git_commit": git_commit(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "summary": table.to_dict(orient="records"),
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return path

