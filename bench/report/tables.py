"""What every table shares: cells that stay numbers, a row's label, the one loop that builds
rows (filter, group, add the claims' rows), and the views: Markdown, numeric CSV, LaTeX, and
a terminal view that fits 120 columns.

Cells are plain values or summaries (`Stat`, `Claim`, `OutOf`, a `Label`); each view
renders them its own way, so no number is parsed back from text. The text views show a
long variant by a short tag (`#3f2a91`) and list the settings under the table; the CSV
keeps every label whole.
"""

from __future__ import annotations

import hashlib
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.files import write_atomic
from bench.names import check_stem

NA = "—"
KEYS = ("method", "preset", "variant", "device_kind")  # a row of most tables: runs alike in all four
SHORT_VARIANT = 24  # longer variant labels show as a tag in the text views, the settings under the table
NOT_COMPARABLE = ("smoke", "quick")  # presets whose rows are set apart from the claims
SET_APART = ("At the smoke and quick presets (set apart): regression numbers from short runs on a CPU, "
             "not comparable with the papers' claims.")
TERMINAL_WIDTH = 120


@dataclass(frozen=True, eq=False)
class Stat:
    """A group's values (one per completed seed)."""

    values: tuple[float, ...]
    digits: int = 2
    better: str | None = None  # "lower" or "higher": which end is the best seed
    shown: tuple[str, ...] = ()  # summaries the text views show as columns of their own ("best", "median")

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n if self.n else math.nan

    @property
    def std(self) -> float:
        """Sample std (ddof 1); NaN for fewer than two values."""
        return pd.Series(self.values).std(ddof=1) if self.n > 1 else math.nan

    @property
    def median(self) -> float:
        return float(pd.Series(self.values).median()) if self.n else math.nan

    @property
    def best(self) -> float:
        if not self.n or self.better is None:
            return math.nan
        return min(self.values) if self.better == "lower" else max(self.values)

    def numbers(self) -> dict[str, float | int]:
        out = {"mean": self.mean, "std": self.std, "n": self.n}
        if self.better is not None:
            out["best"] = self.best
        return {**out, "median": self.median}

    def summary(self, name: str) -> str:
        value = getattr(self, name)
        return NA if math.isnan(value) else f"{value:.{self.digits}f}"

    def __str__(self) -> str:
        if not self.n:
            return NA
        if self.n == 1:
            return f"{self.values[0]:.{self.digits}f}"
        return f"{self.mean:.{self.digits}f} ± {self.std:.{self.digits}f}"


def stat(values: pd.Series, digits: int = 2, better: str | None = None, shown: tuple[str, ...] = ()) -> Stat:
    """The non-missing `values` as a Stat."""
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return Stat(tuple(float(v) for v in values), digits, better, shown)


@dataclass(frozen=True, eq=False)
class Claim:
    """A number a paper reports: its mean and, where it gives one, its spread."""

    mean: float
    std: float | None = None

    def numbers(self) -> dict[str, float]:
        return {"mean": self.mean, "std": math.nan if self.std is None else self.std}

    def __str__(self) -> str:
        return f"{self.mean:g}" if self.std is None else f"{self.mean:g} ± {self.std:g}"


@dataclass(frozen=True, eq=False)
class OutOf:
    """'2 of 5': a count within a group (the CSV keeps the count; the group size is `seeds`)."""

    count: int
    total: int

    def numbers(self) -> dict[str, int]:
        return {"": self.count}

    def __str__(self) -> str:
        return f"{self.count} of {self.total}"


class Label(str):
    """A row's name: a method (or "" for a settings column alone) and the settings its runs
    changed from today's defaults ('k=0 prior="fixed"'). It is the whole label as a string
    (so it sorts, compares and goes into the CSV as before); the text views show `short()`
    and list `tag` = settings under the table."""

    name: str
    variant: str

    def __new__(cls, name: str, variant: str = ""):
        text = f"{name} [{variant}]" if name and variant else (name or variant)
        self = super().__new__(cls, text)
        self.name, self.variant = name, variant
        return self

    def __getnewargs__(self):
        return self.name, self.variant

    @property
    def long(self) -> bool:
        return len(self.variant) > SHORT_VARIANT

    @property
    def tag(self) -> str:
        """'#3f2a91': the variant's short hash, the same in every table and figure."""
        return "#" + hashlib.sha1(self.variant.encode()).hexdigest()[:6]

    def short(self) -> str:
        if not self.long:
            return str(self)
        return f"{self.name} [{self.tag}]" if self.name else self.tag


def label(method: str, variant: str = "") -> Label:
    return Label(method, variant or "")


def runs_of(records: pd.DataFrame, dataset: str, where: Callable[[pd.DataFrame], pd.Series] | None = None
            ) -> pd.DataFrame:
    """The records of `dataset` (and, with `where`, those it selects)."""
    if records.empty or "dataset" not in records:
        return records.iloc[0:0]
    runs = records[records["dataset"] == dataset]
    return runs[where(runs)] if where is not None and not runs.empty else runs


def grouped_table(runs: pd.DataFrame, columns: Sequence[str],
                  row: Callable[[tuple, pd.DataFrame], dict | list[dict] | None],
                  keys: Sequence[str] = KEYS, before: Iterable[dict] = (),
                  not_run: Callable[[list[dict]], Iterable[dict]] | None = None) -> pd.DataFrame:
    """The loop every table runs: `before` rows, then `row(key, group)` for each group of
    `runs` by `keys` (sorted; a group may give one row, several, or None), then
    `not_run(rows)`: the rows of the claims no measured row matched. Object cells, so an int
    stays an int beside None."""
    rows = list(before)
    if not runs.empty:
        for key, group in runs.groupby(list(keys), sort=True):
            made = row(key, group)
            rows += made if isinstance(made, list) else [made] if made is not None else []
    if not_run is not None:
        rows += list(not_run(rows))
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def not_completed(group: pd.DataFrame) -> str:
    """e.g. '1 diverged, 1 failed': the runs of a group that did not complete."""
    counts = group.loc[group["status"] != "completed", "status"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


VARIANT_COLUMNS = ("other settings",)  # columns whose text is a variant label of their own
# a claimed column reads right after the measured one it is compared with, its verdict after it
BESIDE = {"claimed error %": "test error %", "claimed continuous": "continuous, last batch",
          "claimed discrete": "discrete, last batch"}
VERDICT_AFTER = ("claimed error %", "claim")
SOURCE, CITED_IN = "claim source", ("claimed error %", "claim")  # sources become numbered notes in the text views


def cite_into(table: pd.DataFrame) -> str | None:
    """The column a table's claim sources are cited in, or None when it has none."""
    return next((c for c in CITED_IN if c in table.columns), None) if SOURCE in table.columns else None


def _text(cell) -> str:
    return NA if _missing(cell) else str(cell)


def _label_of(cell, column: str) -> Label | None:
    if isinstance(cell, Label):
        return cell
    if column in VARIANT_COLUMNS and isinstance(cell, str) and cell:
        return Label("", cell)
    return None


def _shown(cell, column: str, short: bool) -> str:
    found = _label_of(cell, column) if short else None
    return found.short() if found is not None else _text(cell)


def text_view(table: pd.DataFrame, short: bool = False) -> pd.DataFrame:
    """Every cell as the text a reader sees (`short`: long variants as their tag); a Stat
    column that shows its best or median seed gets those as columns of their own right after it."""
    shown = {column: next((c.shown for c in table[column] if isinstance(c, Stat) and c.shown), ())
             for column in table.columns}
    several = {name for name in set().union(*shown.values()) if sum(name in s for s in shown.values()) > 1}
    out = {}
    for column in table.columns:
        cells = table[column].tolist()
        out[column] = [_shown(c, column, short) for c in cells]
        for name in shown[column]:  # "best", or "best (continuous, last batch)" where two columns show one
            out[f"{name} ({column})" if name in several else name] = [
                c.summary(name) if isinstance(c, Stat) else NA for c in cells]
    return pd.DataFrame(out, columns=list(out))


def numeric_view(table: pd.DataFrame) -> pd.DataFrame:
    """Summary columns expanded into numeric columns: `<column> mean`, `std`, `n`,
    `best`, `median` (and `note` for text in that column, such as "not run"); labels whole."""
    out = {}
    for column in table.columns:
        cells = table[column].tolist()
        summaries = [c for c in cells if hasattr(c, "numbers")]
        if not summaries:
            out[column] = [None if _missing(c) else str(c) if isinstance(c, Label) else c for c in cells]
            continue
        keys = list(dict.fromkeys(k for c in summaries for k in c.numbers()))
        for key in keys:
            values = [c.numbers().get(key, math.nan) if hasattr(c, "numbers") else math.nan for c in cells]
            name = f"{column} {key}".strip()
            out[name] = pd.array([None if math.isnan(v) else int(v) for v in values], dtype="Int64") \
                if key == "n" or isinstance(summaries[0], OutOf) else values
        notes = [c if isinstance(c, str) and c not in ("", NA) else None for c in cells]
        if any(notes):
            out[f"{column} note"] = notes
    return pd.DataFrame(out, columns=list(out))


def settings_notes(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(tag, settings) of each long variant in `table`, in order of first appearance."""
    notes: dict[str, str] = {}
    for column in table.columns:
        for cell in table[column].tolist():
            found = _label_of(cell, column)
            if found is not None and found.long:
                notes.setdefault(found.tag, found.variant)
    return list(notes.items())


def reading_order(columns: list[str]) -> list[str]:
    """`columns` with each claim right after what it is compared with and each verdict after its claim."""
    out = [c for c in columns if c not in BESIDE]
    for claimed, measured in BESIDE.items():
        if claimed in columns:
            at = out.index(measured) + 1 if measured in out else len(out)
            out.insert(at, claimed)
    for verdict in [c for c in out if c.startswith("verdict")]:
        anchors = ("claimed" + verdict[len("verdict"):],) if verdict != "verdict" else VERDICT_AFTER
        anchor = next((c for c in anchors if c in out), None)
        if anchor:
            out.remove(verdict)
            out.insert(out.index(anchor) + 1, verdict)
    return out


def set_apart(table: pd.DataFrame) -> pd.Series:
    """Which rows are runs at a preset not comparable with the claims (smoke, quick)."""
    if "preset" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["preset"].isin(NOT_COMPARABLE)


def _markdown(view: pd.DataFrame) -> str:
    # cells are formatted text ("45.00"): tabulate must not re-read them as numbers
    return view.to_markdown(index=False, disable_numparse=True)


def to_markdown(table: pd.DataFrame) -> str:
    """The table as a reader sees it: claims beside what they judge, each claim's source a
    numbered note, long variants by tag (their settings listed under it), and the smoke and
    quick rows as a table of their own."""
    if table.empty:
        return "(no runs recorded)"
    notes = settings_notes(table)
    apart = set_apart(table).to_numpy()
    sources: list[str] = []
    if cite_into(table):
        table, sources = cited(table, SOURCE, cite_into(table))
    view = text_view(table, short=True)
    view = view[reading_order(list(view.columns))]
    parts = []
    if not apart.all():
        parts.append(_markdown(view[~apart]))
    if apart.any():
        parts += [SET_APART, _markdown(view[apart])]
    if notes:
        parts.append("Settings behind the tags:\n\n" + "\n".join(f"- `{tag}`: `{settings}`" for tag, settings in notes))
    if sources:
        parts.append("Sources:\n\n" + "\n".join(f"{i}. {source}" for i, source in enumerate(sources, 1)))
    return "\n\n".join(parts)


def terminal_view(table: pd.DataFrame, priority: Sequence[str] = (), width: int = TERMINAL_WIDTH,
                  cap: int = 28) -> tuple[str, list[str]]:
    """The table for a terminal `width` columns wide: the smoke and quick rows last, text
    cells cut at `cap` characters, verdicts in brief, and the columns that fit, taken in
    `priority` order (then the rest in table order) and shown in reading order. Returns the
    text and the columns left out."""
    if table.empty:
        return "(no runs recorded)", []
    table = pd.concat([table[~set_apart(table)], table[set_apart(table)]])  # the smoke and quick rows last
    view = text_view(table, short=True)
    for column in table.columns:
        if column in view and any(hasattr(c, "brief") for c in table[column].tolist()):
            view[column] = [c.brief() if hasattr(c, "brief") else t for c, t in zip(table[column], view[column])]
    view = view.apply(lambda col: col.map(lambda t: t if len(t) <= cap else t[:cap - 1] + "…"))
    columns = list(dict.fromkeys([c for c in priority if c in view.columns] + list(view.columns)))
    order = reading_order(list(view.columns))

    def render(chosen: list[str]) -> str:
        text = view[[c for c in order if c in chosen]].to_markdown(index=False, tablefmt="simple",
                                                                  disable_numparse=True)
        return "\n".join(line.rstrip() for line in text.splitlines())

    chosen: list[str] = []
    for column in columns:  # each column that still fits, in priority order
        if max(map(len, render([*chosen, column]).splitlines())) <= width:
            chosen.append(column)
    return render(chosen), [c for c in view.columns if c not in chosen]


def terminal_text(table: pd.DataFrame, priority: Sequence[str] = (), full: Path | str | None = None,
                  width: int = TERMINAL_WIDTH) -> str:
    """`terminal_view` with the settings behind its tags and what it left out, each line at
    most `width` characters; `full` names the file that has every column."""
    text, left = terminal_view(table, priority, width)
    lines = [text]
    notes = settings_notes(table[[c for c in table.columns if c not in left]])
    if notes:
        lines += [""] + [textwrap.fill(f"{tag} = {settings}", width, subsequent_indent="    ")
                         for tag, settings in notes]
    if left:
        where = f"; every column is in {full}" if full else ""
        lines += ["", textwrap.fill(f"Not shown in {width} columns: {', '.join(left)}{where}.", width)]
    return "\n".join(lines)


# ---- LaTeX ----------------------------------------------------------------------------

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}"}
_UNICODE = {"±": r"$\pm$", "—": "---", "–": "--", "ρ": r"$\rho$", "×": r"$\times$", "≤": r"$\leq$",
            "≥": r"$\geq$", "λ": r"$\lambda$", "β": r"$\beta$", "μ": r"$\mu$", "→": r"$\to$", "é": r"\'e",
            "ü": r'\"u', "…": r"\dots{}"}


def latex_escape(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, "quotes" as ``quotes'', and the
    non-ASCII characters tables use (±, —, ρ, ...) as LaTeX commands."""
    out = "".join(_SPECIAL.get(ch, ch) for ch in str(text))
    out = re.sub(r'"([^"]*)"', r"``\1''", out).replace('"', "''")
    return "".join(_UNICODE.get(ch, ch) for ch in out)


@dataclass(frozen=True)
class Latex:
    """What a table's LaTeX shows: `columns` of the text view (None: all) under `headers`
    (renamed where given); `cite` = (source column, column it is cited in): each distinct
    source becomes a note [n] under the table, and [n] follows the cell."""

    columns: tuple[str, ...] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cite: tuple[str, str] | None = None


def numeric_column(cells: list) -> bool:
    present = [c for c in cells if not _missing(c) and c not in ("", NA)]
    return bool(present) and all(isinstance(c, (int, float, Stat, Claim, OutOf)) and not isinstance(c, bool)
                                 for c in present)


def cited(table: pd.DataFrame, source: str, into: str) -> tuple[pd.DataFrame, list[str]]:
    """`table` without its `source` column, each source's number [n] after its `into` cell
    (as text), and the sources in order of first appearance."""
    sources: list[str] = []
    marks = []
    for value in table[source].tolist():
        if isinstance(value, str) and value:
            if value not in sources:
                sources.append(value)
            marks.append(f" [{sources.index(value) + 1}]")
        else:
            marks.append("")
    out = table.drop(columns=[source]).copy()
    out[into] = [_text(c) + m for c, m in zip(table[into].tolist(), marks)]
    return out, sources


def to_latex(table: pd.DataFrame, spec: Latex = Latex()) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs}), then the cited sources as notes."""
    sources: list[str] = []
    numeric = {c: numeric_column(table[c].tolist()) for c in table.columns}
    settings = settings_notes(table)
    if spec.cite and spec.cite[0] in table:
        table, sources = cited(table, *spec.cite)
    view = text_view(table, short=True)
    columns = [c for c in (spec.columns or view.columns) if c in view.columns]
    headers = dict(spec.headers)
    align = "".join("r" if numeric.get(c, c in ("best", "median")) else "l" for c in columns)
    lines = ["% generated by `bench report`; needs \\usepackage{booktabs}",
             f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(latex_escape(headers.get(c, c)) for c in columns) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(row[c]) for c in columns) + r" \\" for _, row in view.iterrows()]
    lines += ["\\bottomrule", "\\end{tabular}"]
    if sources or settings:
        lines += ["", "\\par\\smallskip", "\\begin{minipage}{\\linewidth}\\footnotesize"]
        lines += [f"[{i}] {latex_escape(s)}\\par" for i, s in enumerate(sources, 1)]
        lines += [f"{latex_escape(tag)}: {latex_escape(variant)}\\par" for tag, variant in settings]
        lines += ["\\end{minipage}"]
    return "\n".join(lines) + "\n"


def write_table(table: pd.DataFrame, out_dir: Path, stem: str, latex: Latex = Latex()) -> list[Path]:
    """Markdown, CSV (numbers) and LaTeX versions of one table, `out_dir/<stem>.*` (a stem of
    checked names only, each file written atomically inside `out_dir`)."""
    out_dir, stem = Path(out_dir), check_stem(stem)
    writers = {".md": lambda tmp: tmp.write_text(to_markdown(table) + "\n"),
               ".csv": lambda tmp: numeric_view(table).to_csv(tmp, index=False, float_format="%.10g"),
               ".tex": lambda tmp: tmp.write_text(to_latex(table, latex))}
    return [write_atomic(out_dir / f"{stem}{suffix}", write, within=out_dir) for suffix, write in writers.items()]
