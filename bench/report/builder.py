"""`bench report`: every table and figure in results/ rebuilt from the run records alone,
and results/README.md, an index that gives each file the command that made it.

Nothing in results/ should hold a number that cannot be regenerated, so the index also
names the `bench run` commands behind the records and the `bench speed` commands behind
the speed tables. The output is deterministic (sorted everywhere, no timestamps, PNGs
without a software stamp): running it twice gives byte-identical files, so a diff of
results/ after new runs shows only what they changed.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.errors import BenchError
from bench.files import inside, write_atomic
from bench.names import check_name
from bench.report import clustering, disentanglement, generation, morphometrics, qloss
from bench.report.claims import QLOSS_CLAIMS, claimed_datasets
from bench.report.curves import accuracy_curves, qloss_curves
from bench.report.figures import latent_kl_figure, tsne_figure
from bench.report.snapshots import mode_figures
from bench.report.speed import speed_command, write_speed_tables
from bench.report.tables import Latex, write_table
from bench.report.verdicts import RULE, Verdict
from bench.runs.records import RECORD_DIR, load_records, run_command, settings_of

TABLES, FIGURES, SPEED = "tables", "figures", "speed"
REPORT = "bench report"
STATUS_ORDER = ("completed", "interrupted", "diverged", "failed")
# `bench table --kind`
KINDS = ("clustering", "qloss", "disentanglement", "morphometrics", "generation", "modes", "speed")
VERDICTS = "verdicts"  # the table of every claim's verdict (`bench verdicts`)


@dataclass
class Table:
    """One table of the report: its title, file stem, cells, LaTeX shape and `bench table` line."""

    kind: str
    dataset: str
    title: str
    stem: str
    table: pd.DataFrame
    latex: Latex
    paths: tuple[Path, ...] = ()
    note: str = ""  # said under the title (the verdicts' rule)
    terminal: tuple[str, ...] = ()  # the columns a terminal shows first (`tables.terminal_view`)

    @property
    def command(self) -> str:
        if self.kind == VERDICTS:
            return "bench verdicts"
        return shlex.join(["bench", "table", "--kind", self.kind] + (["--dataset", self.dataset]
                                                                     if self.dataset != "mnist" else []))


def table_for(kind: str, records: pd.DataFrame, dataset: str) -> Table:
    """The `kind` table of `dataset` (any kind but speed, which is per measurement file);
    the dataset names its file, so it must be a plain name."""
    check_name(dataset, "dataset")
    if kind == "clustering":
        table = clustering.clustering_table(records, dataset)
        if dataset in claimed_datasets():
            return Table(kind, dataset, f"Clustering, {dataset}: test error %, NMI, ARI beside the papers' claims",
                         f"clustering_{dataset}", table, clustering.LATEX, terminal=clustering.TERMINAL)
        # no paper claims anything here: the table came without claim columns
        latex = Latex(tuple(c for c in clustering.LATEX.columns if c != "claimed error %"), clustering.LATEX.headers)
        return Table(kind, dataset, f"Clustering, {dataset}: test error %, NMI, ARI", f"clustering_{dataset}",
                     table, latex, terminal=clustering.TERMINAL)
    if kind == "qloss":
        return Table(kind, dataset, f"Unrolled InfoGAN, {dataset}: final Q losses per unroll steps K",
                     f"qloss_{dataset}", qloss.qloss_table(records, dataset), qloss.LATEX, terminal=qloss.TERMINAL)
    if kind == "disentanglement":
        return Table(kind, dataset, f"Disentanglement, {dataset}: metrics against the ground-truth factors",
                     f"disentanglement_{dataset}", disentanglement.disentanglement_table(records, dataset),
                     disentanglement.LATEX, terminal=disentanglement.TERMINAL)
    if kind == "morphometrics":
        return Table(kind, dataset, f"Morphometrics, {dataset}: which continuous code drives which morphometric",
                     f"morphometrics_{dataset}", morphometrics.morphometric_table(records, dataset),
                     morphometrics.LATEX, terminal=morphometrics.TERMINAL)
    if kind == "generation":
        return Table(kind, dataset, f"Generation, {dataset}: what the generators draw, scored by the suite's "
                                    f"{dataset} classifier", f"generation_{dataset}",
                     generation.generation_table(records, dataset), generation.GENERATION_LATEX,
                     terminal=generation.GENERATION_TERMINAL)
    if kind == "modes":
        return Table(kind, dataset, f"Modes, {dataset}: the 2-D mixture's modes a generator covers, per unroll "
                                    "steps K", f"modes_{dataset}", generation.modes_table(records, dataset),
                     generation.MODES_LATEX, terminal=generation.MODES_TERMINAL)
    raise BenchError(f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}")


def correlation_table_for(records: pd.DataFrame, dataset: str) -> Table | None:
    """The rank correlation between disentanglement metrics across the dataset's runs, once
    there are enough of them (`disentanglement.MIN_RUNS_FOR_CORRELATION`); else None."""
    table = disentanglement.metric_correlation(records, dataset)
    if table is None:
        return None
    n = len(disentanglement.scored_runs(records, dataset))
    return Table("disentanglement", dataset, f"Disentanglement, {dataset}: Spearman rank correlation between metrics "
                 f"across {n} runs", f"disentanglement_{dataset}_correlation", table, Latex())


def results_folder(results_dir: Path, name: str) -> Path:
    """`results_dir/name` (tables/, figures/), refused in one line if it leads outside
    `results_dir` (a linked folder in a results folder someone else shared)."""
    return inside(Path(results_dir) / name, results_dir)


def build_report(results_dir: Path) -> list[Path]:
    """Write the tables, figures (t-SNE, per-latent KL, accuracy and Q-loss curves), README.md and
    index.html under `results_dir`; return their paths."""
    from bench.report.html import write_html

    results_dir = Path(results_dir)
    records = load_records(results_dir)
    for name in (TABLES, FIGURES):
        results_folder(results_dir, name)
    tables = tables_of(records)
    tables.insert(0, verdicts_of(tables))
    written = []
    for table in tables:
        table.paths = tuple(write_table(table.table, results_dir / TABLES, table.stem, table.latex))
        written += table.paths
    speed = []
    for path, source, payload in write_speed_tables(results_dir):
        speed.append((path, source, payload.get("device", "unknown device"), speed_command(payload["settings"]),
                      payload))
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
    curves = accuracy_curves(records, results_dir / FIGURES)
    written += [path for path, _, _ in curves]
    modes = mode_figures(records, results_dir / FIGURES)
    written += [path for path, _, _ in modes]
    qloss_figures = qloss_curves(records, results_dir / FIGURES)
    written += [path for path, _, _ in qloss_figures]
    contents = Contents(results_dir, records, tables, speed, tsne, kl, curves, modes, set(written), qloss_figures)
    text = _readme(contents)
    readme = write_atomic(results_dir / "README.md", lambda tmp: tmp.write_text(text), within=results_dir)
    return written + [readme, write_html(contents)]


@dataclass
class Contents:
    """Everything the index (README.md) and the page (index.html) show."""

    results_dir: Path
    records: pd.DataFrame
    tables: list[Table]
    speed: list[tuple]  # (table path, source json, device, command, payload)
    tsne: list[tuple[Path, dict]]
    kl: list[tuple[Path, dict]]  # per-latent KL of variational methods
    curves: list[tuple[Path, str, str]]  # (figure, dataset, preset)
    modes: list[tuple[Path, str, str]]  # (figure, dataset, title): 2-D samples over training
    written: set[Path]
    qloss: list[tuple[Path, str, str]] = field(default_factory=list)  # unrolled InfoGAN's Q losses, as `curves`

    @property
    def plotted(self) -> list[tuple[Path, str, str]]:
        """(figure, run id, command) for the figures in figures/ that `bench report` did not draw."""
        runs = dict(zip(self.records["run_id"], self.records["method"])) if not self.records.empty else {}
        figures = sorted((self.results_dir / FIGURES).glob("*"))
        return [(p, *_plot_command(p.stem, runs)) for p in figures if p.is_file() and p not in self.written]

    @property
    def stale(self) -> list[Path]:
        return [p for p in sorted((self.results_dir / TABLES).glob("*")) if p.is_file() and p not in self.written]

    def run_commands(self) -> list[tuple[str, str, str, str, str]]:
        """(dataset, preset, method [variant], status counts, `bench run` command) per group of records."""
        if self.records.empty:
            return []
        rows = []
        groups = self.records.groupby(["dataset", "preset", "variant", "method", "device_kind"], sort=True)
        for (dataset, preset, variant, method, device), group in sorted(
                groups, key=lambda g: (g[0][0], g[0][1], g[0][3], g[0][2], g[0][4])):
            counts = group["status"].value_counts()
            order = [s for s in STATUS_ORDER if s in counts] + sorted(set(counts.index) - set(STATUS_ORDER))
            command = run_command(method, dataset, [int(s) for s in group["seed"]], preset, settings_of(variant),
                                  device)
            rows.append((dataset, preset, method + (f" [{variant}]" if variant else ""),
                         ", ".join(f"{counts[s]} {s}" for s in order), command))
        return rows


# a block of another Markdown file (docs/results.md) that shows a table from here
_BLOCK = re.compile(r"(<!-- (\w+) table: generated by `bench report` \((results/tables/[\w.=-]+\.md)\) -->\n)"
                    r".*?(<!-- end \2 table -->)", re.S)


def sync_blocks(readme: Path, results_dir: Path) -> bool:
    """Copy each table that `readme` shows between `<!-- NAME table: generated by `bench
    report` (results/tables/FILE.md) -->` and `<!-- end NAME table -->` from its file, so
    the page's tables are the report's (`bench report --readme docs/results.md`). Returns
    whether `readme` changed."""
    text = Path(readme).read_text()

    def fill(match: re.Match) -> str:
        source = Path(results_dir) / Path(match.group(3)).relative_to("results")
        if not source.exists():
            raise BenchError(f"{readme} shows {match.group(3)}, which `bench report` did not write")
        return match.group(1) + source.read_text() + match.group(4)

    new = _BLOCK.sub(fill, text)
    if new != text:
        write_atomic(Path(readme), lambda tmp: tmp.write_text(new))
    return new != text


def tables_of(records: pd.DataFrame) -> list[Table]:
    """Every table the records support (see `_tables`)."""
    return list(_tables(records))


def _tables(records: pd.DataFrame):
    """Every table the records support: clustering per dataset (where some run clusters into
    more than one cluster, or a paper claims something), unrolled InfoGAN's Q losses (MNIST),
    disentanglement where runs carry scores, morphometrics where they carry sweeps, what the
    generators draw, and the modes they cover on 2-D mixtures."""
    datasets = sorted(records["dataset"].dropna().unique()) if not records.empty else []
    for dataset in datasets:  # each dataset's table carries its own claims, if any paper made some
        if dataset in claimed_datasets() or clustering.clusters(records, dataset):
            yield table_for("clustering", records, dataset)
    for dataset in datasets:
        if qloss.learns_codes(records, dataset) or (QLOSS_CLAIMS["dataset"] == dataset).any():
            yield table_for("qloss", records, dataset)
    for dataset in datasets:
        runs = records[records["dataset"] == dataset]
        if runs[[c for c in runs.columns if c.startswith(disentanglement.PREFIX)]].notna().any().any():
            yield table_for("disentanglement", records, dataset)
            correlation = correlation_table_for(records, dataset)
            if correlation is not None:
                yield correlation
    for dataset in datasets:
        table = table_for("morphometrics", records, dataset)
        if not table.table.empty:
            yield table
    for kind, measured in (("generation", "classifier"), ("modes", "modes")):
        for dataset in datasets:
            if "generation.kind" in records and (records.loc[records["dataset"] == dataset, "generation.kind"]
                                                 == measured).any():
                yield table_for(kind, records, dataset)


VERDICT_LATEX = Latex(columns=("claim", "source", "runs", "ours", "95 % interval", "seeds", "verdict"))
VERDICT_TERMINAL = ("claim", "verdict", "runs", "ours", "seeds", "95 % interval", "source")


def verdicts_of(tables: list[Table]) -> Table:
    """The table of every claim's verdict in `tables` (`bench verdicts`), the rule as its title's note."""
    return Table(VERDICTS, "", "Verdicts: every claim beside what this suite measured", VERDICTS,
                 verdict_table(tables), VERDICT_LATEX, note=RULE, terminal=VERDICT_TERMINAL)


def verdict_table(tables: list[Table]) -> pd.DataFrame:
    """Every claim row of `tables` with its verdict: claim, source, ours, 95 % interval, seeds, verdict."""
    rows = []
    for table in tables:
        for cell in table.table.to_numpy().ravel():
            if isinstance(cell, Verdict):
                rows.append({"claim": cell.claim, "source": short_source(cell.source), "runs": cell.runs or None,
                             "ours": cell.ours or None, "95 % interval": cell.interval(), "seeds": cell.n,
                             "verdict": cell, "table": table.stem})
    return pd.DataFrame(rows, columns=["claim", "source", "runs", "ours", "95 % interval", "seeds", "verdict", "table"],
                        dtype=object)


def short_source(source: str) -> str:
    """'Chen, Duan, ... & Abbeel 2016, "InfoGAN: ...", arXiv:...' -> 'Chen et al. 2016'."""
    authors = source.split(', "')[0]
    names = re.split(r",\s*|\s*&\s*", authors)
    if len(names) > 2:
        year = re.search(r"\d{4}$", authors)
        return f"{names[0]} et al." + (f" {year.group(0)}" if year else "")
    return authors


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
    out["overrides"] = settings_of(row.get("variant", ""))  # flattening turned ints into floats
    out["variant"] = row.get("variant", "")
    return out


def _plot_command(stem: str, runs: dict[str, str]) -> tuple[str, str]:
    """(run id, command) for a figure `bench plot` draws:
    `<run>_categorical|continuousN|fromreal|reconstructions|interpolations`."""
    for prefix, what in (("tsne-", "t-SNE layout"), ("kl-", "per-latent KL")):
        if stem.startswith(prefix):
            return stem[len(prefix):], f"— (stale: no completed record with this {what}; delete it)"
    run_id, _, kind = stem.rpartition("_")
    if kind in ("reconstructions", "interpolations"):
        plot = kind
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


def _readme(c: Contents) -> str:
    results_dir = c.results_dir
    runs_dir = results_dir / RECORD_DIR
    lines = [
        "# Results",
        "",
        "<!-- generated by `bench report` from the files below; edit the code, not this file -->",
        "",
        f"Every table and figure here but those `bench plot` draws is rebuilt from the run records in "
        f"{_link(results_dir, runs_dir, 'runs/') if runs_dir.exists() else '`runs/` (none yet)'} "
        f"and the speed measurements in `speed/` by `{REPORT}`, which also writes this index and "
        f"{_link(results_dir, results_dir / 'index.html', 'index.html')} (the same, as one page with the tables "
        "and figures in it). Numbers are mean ± sample std over completed seeds; the CSV files hold them as "
        "numbers (mean, std, n, best, median).",
        "",
        "## Tables",
        "",
    ]
    if c.tables:
        lines += _table(["table", "files", "command"], [
            [_cell(t.title), " · ".join(_link(results_dir, p, p.suffix[1:]) for p in t.paths),
             _code(REPORT) + f" (or {_code(t.command)})"]
            for t in c.tables])
    else:
        lines += ["No run records yet.", ""]

    if c.speed:
        lines += ["## Training speed", "",
                  "Our training step beside the eager reference loop (`bench speed`); ms/step is the median "
                  "over repeats. Each table names its device: compare timings from the same device only.", ""]
        lines += _table(["table", "measured on", "source", "command"], [
            [_link(results_dir, path, path.stem), _cell(device), _link(results_dir, source, source.name), _code(command)]
            for path, source, device, command, _ in c.speed])

    if c.tsne or c.kl or c.curves or c.modes or c.qloss or c.plotted:
        lines += ["## Figures", ""]
    if c.modes:
        lines += ["Generated 2-D samples over training, one row per unroll steps K (the unrolled-InfoGAN report's "
                  "Fig. 3), from the records' periodic evaluations:", ""]
        lines += _table(["figure", "dataset", "command"], [
            [_link(results_dir, path, path.name), _cell(dataset), _code(REPORT)] for path, dataset, _ in c.modes])
    if c.curves:
        lines += ["Test accuracy over training steps, one line per seed (from the records' periodic evaluations):", ""]
        lines += _table(["figure", "dataset", "preset", "command"], [
            [_link(results_dir, path, path.name), _cell(dataset), _cell(preset), _code(REPORT)]
            for path, dataset, preset in c.curves])
    if c.qloss:
        lines += ["Unrolled InfoGAN's Q losses over training per unroll steps K and procedure (the report's Fig. 12; "
                  "the records' logged window means, mean over seeds):", ""]
        lines += _table(["figure", "dataset", "preset", "command"], [
            [_link(results_dir, path, path.name), _cell(dataset), _cell(preset), _code(REPORT)]
            for path, dataset, preset in c.qloss])
    if c.tsne:
        lines += ["t-SNE of each completed run's embedding of test images (the record's `tsne` layout), "
                  "coloured by true class:", ""]
        lines += _figure_rows(results_dir, c.tsne, with_dataset=False)
    if c.kl:
        lines += ["Average KL(q(z_j|x) || N(0, 1)) of each latent of a variational method on the test images "
                  "(the record's `latent_kl`), by group of latents, and per group over training where the loss "
                  "history logs it (the unrolled-InfoGAN report's Fig. 15):", ""]
        lines += _figure_rows(results_dir, c.kl, with_dataset=True)
    if c.plotted:
        lines += ["Other figures, drawn from a run's checkpoint by `bench plot` (not rebuilt by `bench report`; the checkpoint "
                  "lives under `--workdir`, default `runs/`, on the machine that trained the run):", ""]
        lines += _table(["figure", "run", "command"], [
            [_link(results_dir, p, p.name), _cell(run_id), _code(command)] for p, run_id, command in c.plotted])

    if c.stale:
        lines += ["## Other files", "", "In `tables/` but not rebuilt by this report (e.g. a `bench table` for "
                  "another dataset, or a table whose runs were removed):", ""]
        lines += [f"- {_link(results_dir, p)}" for p in c.stale] + [""]

    lines += ["## Run records", ""]
    rows = c.run_commands()
    if not rows:
        lines += ["None yet: `bench run --methods M` writes one JSON record per run under `runs/`."]
    else:
        lines += ["The `bench run` commands behind the records in `runs/`, one line per (dataset, preset, "
                  "`--set` variant, method). Add `--resume` to continue interrupted runs from their checkpoints.", ""]
        lines += _table(["dataset", "preset", "method", "runs", "command"],
                        [[_cell(d), _cell(p), _cell(m), counts, _code(cmd)] for d, p, m, counts, cmd in rows])
    return "\n".join(lines).rstrip("\n") + "\n"


def _figure_rows(results_dir: Path, figures, with_dataset: bool) -> list[str]:
    header = ["figure", "method", *(["dataset"] if with_dataset else []), "preset", "seed", "command"]
    return _table(header, [
        [_link(results_dir, path, path.name), _cell(_name(record)),
         *([_cell(record.get("dataset", ""))] if with_dataset else []), _cell(record.get("preset", "")),
         str(record.get("seed", "")), _code(REPORT)]
        for path, record in figures])


def _name(record: dict) -> str:
    variant = record.get("variant", "")
    return record["method"] + (f" [{variant}]" if variant else "")
