"""Test accuracy over training steps, one line per seed, one panel per method: what a
table's mean ± std hides (a seed that collapsed, one that never took off, one still
climbing when the run stopped).

Points are the records' periodic `evaluations` and, for a completed run, its final
score at its last step; runs that did not complete are drawn dashed. The accuracy is the
table's: Hungarian one-to-one, or many-to-one when K exceeds the classes. Dotted lines
mark chance (1 / classes) and the collapse threshold (2 / classes) the tables use.
Only groups with periodic evaluations get a panel: a run evaluated at its end alone has
no curve to draw.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench.names import check_name
from bench.report.figures import new_figure, save, wrap

COLUMNS = 3


def seed_curves(records: pd.DataFrame, dataset: str, preset: str) -> dict[str, list[dict]]:
    """'method [variant]' -> one entry per seed with periodic evaluations: seed, status,
    steps, accuracies, and which mapping scored them."""
    runs = records[(records["dataset"] == dataset) & (records["preset"] == preset)] if not records.empty else records
    out: dict[str, list[dict]] = {}
    for (method, variant), group in (runs.groupby(["method", "variant"], sort=True) if not runs.empty else []):
        curves = []
        for _, run in group.sort_values("seed").iterrows():
            evaluations = run.get("evaluations")
            if not isinstance(evaluations, list) or not evaluations:
                continue
            many = (run.get("n_clusters") or 0) > (run.get("n_classes") or 10)
            key = "accuracy_many_to_one" if many else "accuracy"
            points = [(e["step"], e["test"][key]) for e in evaluations if key in (e.get("test") or {})]
            final = run.get(f"metrics.test.{key}")
            if run["status"] == "completed" and isinstance(final, float) and not math.isnan(final):
                points.append((int(run["steps"]), final))
            if points:
                curves.append({"seed": int(run["seed"]), "status": run["status"], "steps": [p[0] for p in points],
                               "accuracy": [p[1] for p in points], "many_to_one": many,
                               "classes": int(run.get("n_classes") or 10)})
        if curves:
            out[method + (f" [{variant}]" if variant else "")] = curves
    return out


def accuracy_curves(records: pd.DataFrame, out_dir: Path) -> list[tuple[Path, str, str]]:
    """`out_dir/accuracy-<dataset>-<preset>.png` for each (dataset, preset) with periodic
    evaluations; returns (path, dataset, preset)."""
    if records.empty or "evaluations" not in records:
        return []
    written = []
    pairs = records[["dataset", "preset"]].drop_duplicates().sort_values(["dataset", "preset"])
    for dataset, preset in pairs.itertuples(index=False):
        groups = seed_curves(records, dataset, preset)
        if groups:
            name = f"accuracy-{check_name(dataset, 'dataset')}-{check_name(preset, 'preset')}.png"
            path = save(_figure(groups, dataset, preset), Path(out_dir) / name, within=out_dir)
            written.append((path, dataset, preset))
    return written


def _figure(groups: dict[str, list[dict]], dataset: str, preset: str):
    import seaborn as sns

    rows = math.ceil(len(groups) / COLUMNS)
    columns = min(COLUMNS, len(groups))
    fig = new_figure(4.2 * columns, 3.3 * rows + 0.7)
    axes = fig.subplots(rows, columns, squeeze=False)
    colours = sns.color_palette("tab10", 10)
    for ax, (name, curves) in zip(axes.flat, groups.items()):
        classes = curves[0]["classes"]
        for curve in curves:
            done = curve["status"] == "completed"
            ax.plot(curve["steps"], curve["accuracy"], color=colours[curve["seed"] % 10], linestyle="-" if done else "--",
                    marker="o", markersize=3, linewidth=1.3,
                    label=f"seed {curve['seed']}" + ("" if done else f" ({curve['status']})"))
        ax.axhline(1 / classes, color="0.6", linestyle=":", linewidth=1)
        ax.axhline(2 / classes, color="0.35", linestyle=":", linewidth=1)
        ax.text(1.0, 2 / classes, " collapse", transform=ax.get_yaxis_transform(), fontsize=7, va="bottom",
                ha="right", color="0.35")
        mapping = "many-to-one" if curves[0]["many_to_one"] else "Hungarian"
        ax.set_title(wrap(f"{name} ({mapping})", 4.0, 9), fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("test accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right", frameon=False)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(wrap(f"Test accuracy over training: {dataset}, {preset} preset (one line per seed; dashed: did not "
                      "complete; dotted: chance and the collapse threshold, twice chance)", 4.2 * columns), fontsize=10)
    fig.tight_layout()
    return fig
