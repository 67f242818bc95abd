"""Curves over training steps. Test accuracy, one line per seed, one panel per method: what a
table's mean ± std hides (a seed that collapsed, one that never took off, one still
climbing when the run stopped). And unrolled InfoGAN's Q losses per unroll steps K (the
report's Fig. 12), from the logged window means.

Points are the records' periodic `evaluations` and, for a completed run, its final
score at its last step; runs that did not complete are drawn dashed. The accuracy is the
table's: Hungarian one-to-one, or many-to-one when K exceeds the classes. Dotted lines
mark chance (1 / classes) and the collapse threshold (2 / classes) the tables use.
Only groups with periodic evaluations get a panel: a run evaluated at its end alone has
no curve to draw.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd

from bench.names import check_name
from bench.report.clustering import clusters
from bench.report.figures import legend_below, new_figure, save, settings_footnote, settings_lines, wrap
from bench.report.tables import Label

COLUMNS = 3


def seed_curves(records: pd.DataFrame, dataset: str, preset: str) -> dict[Label, list[dict]]:
    """'method [variant]' -> one entry per seed with periodic evaluations: seed, status,
    steps, accuracies, the steps the run was set to train, and which mapping scored them."""
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
            planned = run.get("config.train.steps")
            if points:
                curves.append({"seed": int(run["seed"]), "status": run["status"], "steps": [p[0] for p in points],
                               "accuracy": [p[1] for p in points], "many_to_one": many,
                               "classes": int(run.get("n_classes") or 10),
                               "planned": int(planned) if isinstance(planned, (int, float)) and planned == planned
                               else max(p[0] for p in points)})
        if curves:
            out[Label(method, variant)] = curves
    return out


def accuracy_curves(records: pd.DataFrame, out_dir: Path) -> list[tuple[Path, str, str]]:
    """`out_dir/accuracy-<dataset>-<preset>.png` for each (dataset, preset) with periodic
    evaluations; returns (path, dataset, preset)."""
    if records.empty or "evaluations" not in records:
        return []
    written = []
    pairs = records[["dataset", "preset"]].drop_duplicates().sort_values(["dataset", "preset"])
    for dataset, preset in pairs.itertuples(index=False):
        groups = seed_curves(records, dataset, preset) if clusters(records, dataset) else {}
        if groups:
            name = f"accuracy-{check_name(dataset, 'dataset')}-{check_name(preset, 'preset')}.png"
            path = save(_figure(groups, dataset, preset), Path(out_dir) / name, within=out_dir)
            written.append((path, dataset, preset))
    return written


def _figure(groups: dict[Label, list[dict]], dataset: str, preset: str):
    import seaborn as sns

    rows = math.ceil(len(groups) / COLUMNS)
    columns = min(COLUMNS, len(groups))
    width = 4.4 * columns
    height = 4.2 * rows + 0.8
    notes = settings_lines(groups, width)
    fig = new_figure(width, height + 0.13 * notes)
    bottom = 0.13 * notes / (height + 0.13 * notes)  # room for the settings under the panels
    fig.set_layout_engine("constrained", rect=(0, bottom, 1, 1 - bottom))
    axes = fig.subplots(rows, columns, squeeze=False)
    colours = sns.color_palette("tab10", 10)
    for ax, (name, curves) in zip(axes.flat, groups.items()):
        classes = curves[0]["classes"]
        for curve in curves:
            done = curve["status"] == "completed"
            ax.plot(curve["steps"], curve["accuracy"], color=colours[curve["seed"] % 10], linestyle="-" if done else "--",
                    marker="o", markersize=3, linewidth=1.3,
                    label=f"seed {curve['seed']}" + ("" if done else f" ({curve['status']})"))
        for level, text, shade in ((1 / classes, "chance", "0.6"), (2 / classes, "collapse (2 × chance)", "0.35")):
            ax.axhline(level, color=shade, linestyle=":", linewidth=1)
            ax.text(0.01, level, text, transform=ax.get_yaxis_transform(), fontsize=6.5, va="bottom", ha="left",
                    color=shade)
        mapping = "many-to-one" if curves[0]["many_to_one"] else "Hungarian"
        ax.set_title(wrap(f"{name.short()} ({mapping})", 4.2, 9), fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlim(0, max(c["planned"] for c in curves) * 1.02)  # the whole run: a stopped run ends early
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("test accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        legend_below(ax, columns=3)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(wrap(f"Test accuracy over training: {dataset}, {preset} preset (one line per seed; dashed: did not "
                      "complete; dotted: chance and the collapse threshold, twice chance)", width), fontsize=10)
    settings_footnote(fig, groups, width)
    return fig


def qloss_groups(records: pd.DataFrame, dataset: str, preset: str) -> tuple[dict[str, dict[str, pd.DataFrame]],
                                                                             list[Label]]:
    """'K=10, lookahead[, other settings or their tag]' -> {"q_cont"/"q_disc": steps x seeds} of
    the unrolled InfoGAN runs of (dataset, preset) that logged them (their window means), and
    the other settings' labels."""
    from bench.report.qloss import METHOD, default_procedure
    from bench.runs.records import settings_of, variant_label

    runs = records[(records["method"] == METHOD) & (records["dataset"] == dataset) & (records["preset"] == preset)]
    out: dict[str, dict[str, pd.DataFrame]] = {}
    others: set[Label] = set()
    for _, run in runs.sort_values("seed").iterrows():
        losses = run.get("losses")
        if not isinstance(losses, list) or not losses or run["status"] == "failed":
            continue
        settings = settings_of(run.get("variant", ""))
        other = Label("", variant_label({k: v for k, v in settings.items() if k not in ("k", "unroll_rule")}))
        name = f"K={int(run['config.method.k'])}, {settings.get('unroll_rule', default_procedure())}" + \
            (f", {other.short()}" if other else "")
        others.add(other)
        for term in ("q_cont", "q_disc"):
            points = pd.Series({row["step"]: row[term] for row in losses if term in row}, dtype=float)
            if not points.empty:
                out.setdefault(name, {}).setdefault(term, pd.DataFrame())[int(run["seed"])] = points
    return {name: terms for name, terms in sorted(out.items(), key=lambda item: _k_order(item[0]))}, sorted(others)


def _k_order(name: str) -> tuple[int, str]:
    return int(name.split(",")[0][2:]), name


def qloss_curves(records: pd.DataFrame, out_dir: Path) -> list[tuple[Path, str, str]]:
    """`out_dir/qloss-<dataset>-<preset>.png` for each (dataset, preset) with unrolled InfoGAN
    runs that logged Q losses; returns (path, dataset, preset)."""
    from bench.report import qloss

    if records.empty or "losses" not in records or "config.method.k" not in records:
        return []
    written = []
    runs = records[records["method"] == "unrolled_infogan"]
    for dataset, preset in runs[["dataset", "preset"]].drop_duplicates().sort_values(["dataset", "preset"]).itertuples(
            index=False):
        groups, others = qloss_groups(records, dataset, preset) if qloss.learns_codes(records, dataset) else ({}, [])
        if groups:
            name = f"qloss-{check_name(dataset, 'dataset')}-{check_name(preset, 'preset')}.png"
            path = save(_qloss_figure(groups, dataset, preset, others), Path(out_dir) / name, within=out_dir)
            written.append((path, dataset, preset))
    return written


def _qloss_figure(groups: dict[str, dict[str, pd.DataFrame]], dataset: str, preset: str, others: list[Label]):
    import seaborn as sns

    width = 11.0
    notes = settings_lines(others, width)
    height = 4.6 + 0.25 * len(groups)
    fig = new_figure(width, height + 0.13 * notes)
    bottom = 0.13 * notes / (height + 0.13 * notes)
    fig.set_layout_engine("constrained", rect=(0, bottom, 1, 1 - bottom))
    axes = fig.subplots(1, 2, squeeze=False)[0]
    colours = dict(zip(groups, sns.color_palette("tab10", max(len(groups), 1))))
    labels = {"q_cont": "continuous codes (q_cont; lookahead, folded_q: 0.1 x learned-std NLL)",
              "q_disc": "categorical code (q_disc: cross-entropy)"}
    for ax, term in zip(axes, ("q_cont", "q_disc")):
        drawn = False
        for name, terms in groups.items():
            table = terms.get(term)
            if table is None or table.empty:
                continue
            table = table.sort_index()
            mean = table.mean(axis=1)
            seeds = f"{table.shape[1]} seed{'s' if table.shape[1] > 1 else ''}"
            ax.plot(mean.index, mean.values, color=colours[name], linewidth=1.5,
                    label=textwrap.fill(f"{name} ({seeds})", 60, subsequent_indent="  "))
            if table.shape[1] > 1:
                ax.fill_between(table.index, table.min(axis=1), table.max(axis=1), color=colours[name], alpha=0.2,
                                linewidth=0)
            drawn = True
        values = pd.concat([t[term].stack() for t in groups.values() if term in t]) if drawn else pd.Series()
        if drawn and (values > 0).all() and values.max() > 20 * values.min():  # decades apart: a log axis
            ax.set_yscale("log")
        ax.set_title(wrap(labels[term], width / 2, 9), fontsize=9)
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("Q loss (mean of the log window)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if drawn:
            legend_below(ax, columns=1)
    fig.suptitle(wrap(f"Unrolled InfoGAN: Q losses over training per unroll steps K and procedure (the report's "
                      f"Fig. 12): {dataset}, {preset} preset; lines: mean over seeds, band: their range", width),
                 fontsize=10)
    settings_footnote(fig, others, width)
    return fig
