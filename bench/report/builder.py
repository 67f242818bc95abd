"""`bench report`: every table and figure in results/ rebuilt from the run records alone,
and results/README.md, an index that gives each file the command that made it.

Nothing in results/ should hold a number that cannot be regenerated, so the index also
names the `bench run` commands behind the records and the `bench speed` commands behind
the speed tables. The output is deterministic (sorted everywhere, no timestamps, PNGs
without a software stamp): running it twice gives byte-identical files, so a diff of
results/ after new runs shows only what they changed.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.report.clustering import clustering_table
from bench.report.disentanglement import PREFIX as DISENTANGLEMENT
from bench.report.disentanglement import disentanglement_table
from bench.report.figures import latent_kl_figure, tsne_figure
from bench.report.morphometrics import morphometric_table
from bench.report.qloss import qloss_table
from bench.report.speed import load_speed, set_argument, speed_command, speed_markdown
from bench.report.tables import write_table
from bench.runs.records import RECORD_DIR, load_records, variant_label

TABLES, FIGURES, SPEED = "tables", "figures", "speed"
REPORT = "bench report"
STATUS_ORDER = ("completed", "interrupted", "diverged", "failed")


def build_report(results_dir: Path) -> list[Path]:
    """Write the tables, t-SNE and per-latent KL figures and README.md under `results_dir`;
    return their paths."""
    results_dir = Path(results_dir)
    records = load_records(results_dir)
    tables, written = [], []
    for title, stem, table, also in _tables(records):
        paths = write_table(table, results_dir / TABLES, stem)
        tables.append((title, paths, also))
        written += paths
    speed = []
    for source in sorted((results_dir / SPEED).glob("*.json")):
        payload = load_speed(source)
        path = results_dir / TABLES / f"{source.stem}.md"
        path.write_text(speed_markdown(payload, f"Training speed: {source.stem}"))
        speed.append((path, source, payload.get("device", "unknown device"), speed_command(payload["settings"])))
        written.append(path)
    tsne = []
    for record in _records_with(records, "tsne.x"):
        path = tsne_figure(record, results_dir / FIGURES)
        tsne.append((path, record))
        written.append(path)
    kl = []
    for record in _records_with(records, "latent_kl.per_latent"):
        path = latent_kl_figure(record, results_dir / FIGURES)
        kl.append((path, record))
        written.append(path)
    readme = results_dir / "README.md"
    readme.write_text(_readme(results_dir, records, tables, speed, tsne, kl, set(written)))
    return written + [readme]


def _tables(records: pd.DataFrame):
    """(title, file stem, table, the `bench table` line that writes it too, if any) for every
    table the records support."""
    datasets = sorted(records["dataset"].dropna().unique()) if not records.empty else []
    for dataset in datasets:
        table = clustering_table(records, dataset)
        if dataset == "mnist":
            yield ("Clustering, mnist: test error %, NMI, ARI beside the papers' claims",
                   "clustering_mnist", table, "bench table")
            continue
        # the papers' claims are MNIST test errors: elsewhere they and their "not run" rows mislead
        table = table[table["test error %"] != "not run"].drop(columns=["claimed error %", "claim source"])
        yield (f"Clustering, {dataset}: test error %, NMI, ARI", f"clustering_{dataset}",
               table.reset_index(drop=True), "")
    if "mnist" in datasets:
        yield ("Unrolled InfoGAN, mnist: final Q losses per unroll steps K", "qloss_mnist",
               qloss_table(records, "mnist"), "bench table --kind qloss")
    for dataset in datasets:
        runs = records[records["dataset"] == dataset]
        if runs[[c for c in runs.columns if c.startswith(DISENTANGLEMENT)]].notna().any().any():
            yield (f"Disentanglement, {dataset}: metrics against the ground-truth factors",
                   f"disentanglement_{dataset}", disentanglement_table(records, dataset), "")
    for dataset in datasets:
        table = morphometric_table(records, dataset)
        if not table.empty:
            yield (f"Morphometrics, {dataset}: which continuous code drives which morphometric",
                   f"morphometrics_{dataset}", table, "")


def _records_with(records: pd.DataFrame, column: str) -> list[dict]:
    """The completed records whose `column` holds a list (a figure's data), as nested dicts."""
    if records.empty or column not in records:
        return []
    done = records[(records["status"] == "completed") & records[column].apply(lambda v: isinstance(v, list))]
    return [_nested(row) for _, row in done.sort_values("run_id").iterrows()]


def _nested(row: pd.Series) -> dict:
    """A flattened record row back as the record's nested dict (missing fields left out)."""
    out: dict = {}
    for key, value in row.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if not isinstance(node.get(leaf), dict):
            node[leaf] = value
    out["overrides"] = overrides_of(row.get("variant", ""))  # flattening turned ints into floats
    return out


def overrides_of(variant: str) -> dict:
    """`bench.runs.records.variant_label` read back: 'k=0 prior="fixed"' -> {'k': 0, 'prior': 'fixed'}."""
    decoder, out, i = json.JSONDecoder(), {}, 0
    while i < len(variant or ""):
        eq = variant.index("=", i)
        out[variant[i:eq]], end = decoder.raw_decode(variant, eq + 1)
        i = end + 1
    return out


def run_command(method: str, dataset: str, seeds: list[int], preset: str, overrides: dict) -> str:
    """The `bench run` line that makes these records."""
    parts = ["bench", "run", "--methods", method, "--dataset", dataset, "--seeds", _seeds(seeds), "--preset", preset]
    for key, value in sorted(overrides.items()):
        parts += ["--set", set_argument(key, value)]
    return shlex.join(parts)


def _seeds(seeds: list[int]) -> str:
    seeds = sorted(set(seeds))
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds)) + ("," if len(seeds) == 1 else "")


def _plot_command(stem: str, runs: dict[str, str]) -> tuple[str, str]:
    """(run id, command) for a figure `bench plot` draws:
    `<run>_categorical|continuousN|fromreal|reconstructions`."""
    for prefix, what in (("tsne-", "t-SNE layout"), ("kl-", "per-latent KL")):
        if stem.startswith(prefix):
            return stem[len(prefix):], f"— (stale: no completed record with this {what}; delete it)"
    run_id, _, kind = stem.rpartition("_")
    if kind == "reconstructions":
        plot = "reconstructions"
    elif kind == "fromreal":
        plot = "traversals --from-real"
    elif kind == "categorical" or (kind.startswith("continuous") and kind[len("continuous"):].isdigit()):
        plot = "traversals"
    else:
        return "", "— (not made by bench; kept as it is)"
    method = runs.get(run_id, run_id.split("-")[0])
    return run_id, shlex.join(["bench", "plot", *plot.split(), "--method", method, "--run-id", run_id])


# ---- README -------------------------------------------------------------------------

def _link(results_dir: Path, path: Path, text: str | None = None) -> str:
    rel = path.relative_to(results_dir).as_posix()
    return f"[{_cell(text or rel)}]({quote(rel, safe='/=+,')})"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _code(command: str) -> str:
    return f"`{_cell(command)}`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _readme(results_dir: Path, records: pd.DataFrame, tables, speed, tsne, kl, written: set[Path]) -> str:
    runs_dir = results_dir / RECORD_DIR
    lines = [
        "# Results",
        "",
        "<!-- generated by `bench report` from the files below; edit the code, not this file -->",
        "",
        f"Every table and t-SNE figure here is rebuilt from the run records in "
        f"{_link(results_dir, runs_dir, 'runs/') if runs_dir.exists() else '`runs/` (none yet)'} "
        f"and the speed measurements in `speed/` by `{REPORT}`, which also writes this index. "
        "Numbers are mean ± sample std over completed seeds.",
        "",
        "## Tables",
        "",
    ]
    if tables:
        lines += _table(["table", "files", "command"], [
            [_cell(title), " · ".join(_link(results_dir, p, p.suffix[1:]) for p in paths),
             _code(REPORT) + (f" (or {_code(also)})" if also else "")]
            for title, paths, also in tables])
    else:
        lines += ["No run records yet.", ""]

    if speed:
        lines += ["## Training speed", "",
                  "Our training step beside the eager reference loop (`bench speed`); ms/step is the median "
                  "over repeats. Each table names its device: compare timings from the same device only.", ""]
        lines += _table(["table", "measured on", "source", "command"], [
            [_link(results_dir, path, path.stem), _cell(device), _link(results_dir, source, source.name), _code(command)]
            for path, source, device, command in speed])

    runs = dict(zip(records["run_id"], records["method"])) if not records.empty else {}
    figures_dir = results_dir / FIGURES
    others = [p for p in sorted(figures_dir.glob("*")) if p.is_file() and p not in written]
    if tsne or kl or others:
        lines += ["## Figures", ""]
    if tsne:
        lines += ["t-SNE of each completed run's embedding of test images (the record's `tsne` layout), "
                  "coloured by true class:", ""]
        lines += _figure_rows(results_dir, tsne, with_dataset=False)
    if kl:
        lines += ["Average KL(q(z_j|x) || N(0, 1)) of each latent of a variational method on the test images "
                  "(the record's `latent_kl`), by group of latents, and per group over training where the loss "
                  "history logs it (the unrolled-InfoGAN report's Fig. 15):", ""]
        lines += _figure_rows(results_dir, kl, with_dataset=True)
    if others:
        lines += ["Other figures, drawn from a run's checkpoint by `bench plot` (not rebuilt by `bench report`; the checkpoint "
                  "lives under `--workdir`, default `runs/`, on the machine that trained the run):", ""]
        lines += _table(["figure", "run", "command"], [
            [_link(results_dir, p, p.name), _cell(run_id), _code(command)]
            for p in others for run_id, command in [_plot_command(p.stem, runs)]])

    stale = [p for p in sorted((results_dir / TABLES).glob("*")) if p.is_file() and p not in written]
    if stale:
        lines += ["## Other files", "", "In `tables/` but not rebuilt by this report (e.g. a `bench table` for "
                  "another dataset, or a table whose runs were removed):", ""]
        lines += [f"- {_link(results_dir, p)}" for p in stale] + [""]

    lines += _records_section(records)
    return "\n".join(lines).rstrip("\n") + "\n"


def _figure_rows(results_dir: Path, figures, with_dataset: bool) -> list[str]:
    header = ["figure", "method", *(["dataset"] if with_dataset else []), "preset", "seed", "command"]
    return _table(header, [
        [_link(results_dir, path, path.name), _cell(_name(record)),
         *([_cell(record.get("dataset", ""))] if with_dataset else []), _cell(record.get("preset", "")),
         str(record.get("seed", "")), _code(REPORT)]
        for path, record in figures])


def _name(record: dict) -> str:
    variant = variant_label(record.get("overrides"))
    return record["method"] + (f" [{variant}]" if variant else "")


def _records_section(records: pd.DataFrame) -> list[str]:
    lines = ["## Run records", ""]
    if records.empty:
        return lines + ["None yet: `bench run --methods M` writes one JSON record per run under `runs/`."]
    lines += ["The `bench run` commands behind the records in `runs/`, one line per (dataset, preset, "
              "`--set` variant, method). Add `--resume` to continue interrupted runs from their checkpoints.", ""]
    rows = []
    groups = records.groupby(["dataset", "preset", "variant", "method"], sort=True)
    for (dataset, preset, variant, method), group in sorted(groups, key=lambda g: (g[0][0], g[0][1], g[0][3], g[0][2])):
        counts = group["status"].value_counts()
        order = [s for s in STATUS_ORDER if s in counts] + sorted(set(counts.index) - set(STATUS_ORDER))
        command = run_command(method, dataset, [int(s) for s in group["seed"]], preset, overrides_of(variant))
        rows.append([_cell(dataset), _cell(preset), _cell(method + (f" [{variant}]" if variant else "")),
                     ", ".join(f"{counts[s]} {s}" for s in order), _code(command)])
    return lines + _table(["dataset", "preset", "method", "runs", "command"], rows)
