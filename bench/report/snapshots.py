"""The unrolled-InfoGAN report's Fig. 3 (Metz et al.'s Fig. 1) from run records: a
generator's 2-D samples at several training steps, one row per unroll steps K, the
mixture's modes marked, so collapse and mode hopping show at a glance.

Samples come from the records' periodic evaluations (`evaluations[i].modes.samples`) and
the final `generation.samples`; one figure per (dataset, preset, unroll rule, other
settings), each row the lowest completed seed of its K.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from bench.datasets.base import load_dataset
from bench.datasets.mixtures import PointDataset
from bench.names import check_name
from bench.registry import DATASETS
from bench.report.figures import new_figure, save, wrap
from bench.runs.records import settings_of, variant_label


def snapshot_rows(group: pd.DataFrame) -> list[dict]:
    """Per K (descending, as the report puts K = 10 on top): the lowest completed seed's
    snapshots [(step, samples, modes covered)], its final samples last."""
    rows = []
    for k, runs in group.groupby("K", sort=True):
        done = runs[runs["status"] == "completed"].sort_values("seed")
        if done.empty:
            continue
        run = done.iloc[0]
        shots = [(int(e["step"]), e["modes"]["samples"], e["modes"]["modes_covered"])
                 for e in (run["evaluations"] if isinstance(run["evaluations"], list) else []) if "modes" in e]
        if isinstance(run.get("generation.samples"), list):
            shots.append((int(run["steps"]), run["generation.samples"], int(run["generation.modes_covered"])))
        if shots:
            rows.append({"K": int(k), "seed": int(run["seed"]), "shots": shots})
    return sorted(rows, key=lambda r: -r["K"])


def mode_figures(records: pd.DataFrame, out_dir: Path) -> list[tuple[Path, str, str]]:
    """`out_dir/modes-<dataset>-<preset>-<rule>[-<settings digest>].png` for every group of
    runs with 2-D snapshots; returns (path, dataset, title)."""
    if records.empty or "generation.kind" not in records:
        return []
    runs = records[records["generation.kind"] == "modes"].copy()
    if runs.empty:
        return []
    runs["K"] = pd.to_numeric(runs["config.method.k"], errors="coerce").fillna(0).astype(int)
    runs["rule"] = runs["config.method.unroll_rule"].fillna("none")
    runs["other"] = [variant_label({k: v for k, v in settings_of(v).items() if k not in ("k", "unroll_rule")})
                     for v in runs["variant"]]
    written = []
    for (dataset, preset, method, rule, other), group in runs.groupby(["dataset", "preset", "method", "rule", "other"],
                                                                      sort=True):
        rows = snapshot_rows(group)
        if not rows or dataset not in DATASETS.names():
            continue
        data = load_dataset(dataset, Path("."))  # the mixtures are drawn, not read: no data root needed
        if not isinstance(data, PointDataset):
            continue
        for value, what in ((dataset, "dataset"), (preset, "preset"), (rule, "unroll rule")):
            check_name(value, what)
        digest = f"-{hashlib.sha1(other.encode()).hexdigest()[:8]}" if other else ""
        stem = f"modes-{dataset}-{preset}-{rule}{digest}"
        title = (f"{method} on {dataset}, {preset} preset, unroll rule {rule}" + (f" [{other}]" if other else "")
                 + ": generated samples over training (one row per unroll steps K, seed shown per row; "
                   "black crosses: the modes)")
        figure = _figure(rows, data.centers.numpy(), title)
        written.append((save(figure, Path(out_dir) / f"{stem}.png", within=out_dir), dataset, title))
    return written


def _figure(rows: list[dict], centers: np.ndarray, title: str):
    columns = max(len(r["shots"]) for r in rows)
    fig = new_figure(1.9 * columns + 0.6, 1.9 * len(rows) + 1.0)
    axes = fig.subplots(len(rows), columns, squeeze=False)
    span = np.abs(centers).max() * 1.5
    for i, row in enumerate(rows):
        for j in range(columns):
            ax = axes[i, j]
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            ax.set_xticks([-span / 1.5, 0, span / 1.5])  # the ring's radius / the grid's edge
            ax.set_yticks([-span / 1.5, 0, span / 1.5])
            ax.tick_params(labelsize=6, labelleft=j == 0, labelbottom=i == len(rows) - 1)
            if j >= len(row["shots"]):
                ax.set_visible(False)
                continue
            step, samples, covered = row["shots"][j]
            points = np.asarray(samples, dtype=float)
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color="tab:blue", linewidths=0)
            ax.scatter(centers[:, 0], centers[:, 1], s=14, marker="x", color="black", linewidths=0.8)
            ax.set_title(f"step {step:,}: {covered}/{len(centers)} modes", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"K = {row['K']} (seed {row['seed']})\nx2", fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("x1", fontsize=8)
    fig.suptitle(wrap(title, 1.9 * columns + 0.6, 9), fontsize=9)
    fig.tight_layout()
    return fig
