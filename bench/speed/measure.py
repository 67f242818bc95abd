"""`bench speed`: steady-state training throughput of each method on this device, our
trainer's step beside the faithful eager reference loop (`bench.speed.reference_loop`).

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
import re
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from bench import config as config_lib
from bench.datasets.base import BatchSampler, ImageDataset, to_float
from bench.device import git_commit
from bench.factory import create_method
from bench.files import write_atomic
from bench.names import check_stem
from bench.registry import METHODS
from bench.rng import SeedRNG, seed_everything
from bench.speed.reference_loop import ReferenceStep, batches
from bench.training.seed_batch import batchable, make_step
from bench.training.step import GRAPH_WARMUP_STEPS


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


def time_steps(step, next_batch, device, warmup: int, steps: int, repeats: int,
               cpu_times: list[float] | None = None) -> list[float]:
    """Milliseconds per step of `step(next_batch())`, one value per repeat (and, into
    `cpu_times`, the process's CPU milliseconds per step: on a shared CPU, the steady measure)."""
    for _ in range(warmup):
        step(next_batch())
    times = []
    for _ in range(repeats):
        _sync(device)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step(next_batch())
        _sync(device)
        times.append(1000 * (time.perf_counter() - start) / steps)
        if cpu_times is not None:
            cpu_times.append(1000 * (time.process_time() - cpu) / steps)
    return times


def measure(name: str, loop: str, data: ImageDataset, device: torch.device, preset: str,
            overrides: dict, warmup: int, steps: int, repeats: int, seeds: int = 1, at_step: int = 0) -> dict:
    """One method, one loop ('ours' or 'reference'): a row of the speed table. With
    `seeds` > 1, ours trains seeds 0..seeds-1 as one batched step (`--batch-seeds`). With
    `at_step`, both loops run the phases a staged method runs at that step (its later stage)."""
    cls = METHODS.get(name)
    (own,) = config_lib.applicable([cls], overrides)
    train_cfg, method_cfg = config_lib.resolve(cls, preset, own)
    data = data.cropped(cls.input_shape(method_cfg, data))
    batch = train_cfg.batch_size
    _reset_peak(device)
    methods, rngs = [], []
    for seed in range(seeds):  # each seed built as its run builds it
        seed_everything(seed)
        methods.append(create_method(name, preset, data.image_shape, **own).to(device).train())
        methods[-1].bind_training_data(data.train_x.to(device))
        rngs.append(SeedRNG(device) if seeds > 1 else None)
    if loop == "ours":
        step = make_step(methods, rngs, device, amp=train_cfg.amp, cuda_graphs=train_cfg.cuda_graphs)
        train_x = data.train_x.to(device)
        samplers = [BatchSampler(len(train_x), batch, seed=seed, device=device) for seed in range(seeds)]
        counter = iter(range(10**12))

        def next_batch(step=step):
            i = next(counter)
            step.at_step(at_step + i)
            return [to_float(train_x[sampler.indices(i)]) for sampler in samplers]

        warmup = max(warmup, GRAPH_WARMUP_STEPS + 1) if step.use_graph else warmup
    else:
        step = ReferenceStep(methods[0], device, at_step)
        stream = batches(data.train_x, batch)

        def next_batch():
            return next(stream)

    cpu_times: list[float] = []
    times = time_steps(step, next_batch, device, warmup, steps, repeats, cpu_times)
    ms = statistics.median(times)
    row = {
        "method": name,
        "loop": loop,
        "mode": getattr(step, "mode", "eager"),
        "batch_size": batch,
        "ms_per_step": ms,
        "images_per_s": seeds * batch / (ms / 1000),
        "ms_per_step_min": min(times),
        "ms_per_step_max": max(times),
        "peak_memory_mb": _peak_mb(device),
        "overrides": own,
    }
    if device.type == "cpu":
        row["cpu_ms_per_step"] = statistics.median(cpu_times)
    if at_step:
        row["at_step"] = at_step
    if seeds > 1:
        row["seeds"] = seeds
    if getattr(step, "graph_error", ""):
        row["graph_error"] = step.graph_error
    del step, methods
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def speed_table(names: list[str], data: ImageDataset, device: torch.device, preset: str,
                overrides: dict, warmup: int, steps: int, repeats: int, batch_seeds: tuple[int, ...] = (),
                echo=print, at_step: int = 0) -> tuple[pd.DataFrame, list[dict]]:
    """Reference then ours for each method, then ours with each S of `batch_seeds` seeds
    as one batched step; returns (summary table, raw rows)."""
    rows = []
    for name in names:
        if not METHODS.get(name).trains_by_gradient:
            echo(f"{name}: no gradient training step (closed-form fit), skipped")
            continue
        pair = {}
        for loop in ("reference", "ours"):
            pair[loop] = measure(name, loop, data, device, preset, overrides, warmup, steps, repeats, at_step=at_step)
            rows.append(pair[loop])
        ratio = pair["reference"]["ms_per_step"] / pair["ours"]["ms_per_step"]
        pair["ours"]["speedup_vs_reference"] = ratio
        cpu = f", {pair['ours']['cpu_ms_per_step']:.2f} ms CPU" if "cpu_ms_per_step" in pair["ours"] else ""
        echo(f"{name}: ours {pair['ours']['ms_per_step']:.2f} ms/step{cpu} ({pair['ours']['mode']}), "
             f"reference {pair['reference']['ms_per_step']:.2f} ms/step, {ratio:.2f}x")
        for seeds in (s for s in batch_seeds if s > 1):
            if not batchable(METHODS.get(name)):
                echo(f"{name}: its seeds cannot train as one batched step, S={seeds} skipped")
                break
            row = measure(name, "ours", data, device, preset, overrides, warmup, steps, repeats, seeds=seeds,
                          at_step=at_step)
            row["speedup_vs_one_by_one"] = seeds * pair["ours"]["ms_per_step"] / row["ms_per_step"]
            rows.append(row)
            echo(f"{name}: {seeds} seeds as one step {row['ms_per_step']:.2f} ms/step, "
                 f"{row['speedup_vs_one_by_one']:.2f}x their steps one after another")
    return summary(rows) if rows else pd.DataFrame(), rows


def summary(rows: list[dict]) -> pd.DataFrame:
    """One row per method: ours and the reference side by side, and the ratio."""
    frame = pd.DataFrame(rows)
    if "seeds" not in frame:
        frame["seeds"] = None
    out = []
    for name, group in frame.groupby("method", sort=False):
        ours = group[(group.loop == "ours") & group.seeds.isna()].iloc[0]
        ref = group[group.loop == "reference"].iloc[0]
        batched = {f"{int(b.seeds)} seeds batched: x vs one by one": round(b.speedup_vs_one_by_one, 2)
                   for b in group[group.seeds.notna()].itertuples()}
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
            **batched,
        })
    return pd.DataFrame(out)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def write_speed(rows: list[dict], table: pd.DataFrame, device: torch.device, settings: dict, out_dir: Path) -> Path:
    slug = "cuda" if device.type == "cuda" else device.type
    variant = "".join(f"-{k}={v}" for k, v in sorted(settings["overrides"].items()))
    variant += f"-at={settings['at_step']}" if settings.get("at_step") else ""
    stem = re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"speed-{slug}-{settings['preset']}{variant}")[:200]
    payload = {
        "device": device_label(device),
        "torch_version": torch.__version__,
        "git_commit": git_commit(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "summary": table.to_dict(orient="records"),
        "rows": rows,
    }
    text = json.dumps(payload, indent=1, default=str) + "\n"
    return write_atomic(Path(out_dir) / f"{check_stem(stem)}.json", lambda tmp: tmp.write_text(text), within=out_dir)

