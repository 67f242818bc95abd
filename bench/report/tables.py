"""What every table shares: summary cells that stay numbers, the not-completed count, and
writing a table as Markdown, CSV and LaTeX.

A table's cells are plain values (str, int, None for "none") or summaries: `Stat` (a
group's values: mean ± sample std over seeds), `Claim` (a paper's reported mean ± std)
or `OutOf` ("2 of 5"). Each view renders them its own way, so no number is parsed back
from text:

- Markdown, HTML (`text_view`): "47.78 ± 0.74"; a Stat can also show its best and median
  seed as columns of their own;
- CSV (`numeric_view`): a summary column becomes numeric columns `<column> mean`, `std`,
  `n`, `best`, `median` (and `note` for text in that column, such as "not run");
- LaTeX (`to_latex`): booktabs rules, every special and non-ASCII character escaped, the
  columns a paper would show, long citations as numbered notes under the table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.files import write_atomic
from bench.names import check_stem

NA = "—"


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


def not_completed(group: pd.DataFrame) -> str:
    """e.g. '1 diverged, 1 failed': the runs of a group that did not complete."""
    counts = group.loc[group["status"] != "completed", "status"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def _text(cell) -> str:
    return NA if _missing(cell) else str(cell)


def text_view(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a reader sees; a Stat column that shows its best or median
    seed gets those as columns of their own right after it."""
    out = {}
    for column in table.columns:
        cells = table[column].tolist()
        out[column] = [_text(c) for c in cells]
        shown = next((c.shown for c in cells if isinstance(c, Stat) and c.shown), ())
        for name in shown:
            out[name] = [c.summary(name) if isinstance(c, Stat) else NA for c in cells]
    return pd.DataFrame(out, columns=list(out))


def numeric_view(table: pd.DataFrame) -> pd.DataFrame:
    """Summary columns expanded into numeric columns (see the module docstring)."""
    out = {}
    for column in table.columns:
        cells = table[column].tolist()
        summaries = [c for c in cells if hasattr(c, "numbers")]
        if not summaries:
            out[column] = [None if _missing(c) else c for c in cells]
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


def to_markdown(table: pd.DataFrame) -> str:
    # cells are formatted text ("45.00"): tabulate must not re-read them as numbers
    if table.empty:
        return "(no runs recorded)"
    return text_view(table).to_markdown(index=False, disable_numparse=True)


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
    if spec.cite and spec.cite[0] in table:
        table, sources = cited(table, *spec.cite)
    view = text_view(table)
    columns = [c for c in (spec.columns or view.columns) if c in view.columns]
    headers = dict(spec.headers)
    align = "".join("r" if numeric.get(c, c in ("best", "median")) else "l" for c in columns)
    lines = ["% generated by `bench report`; needs \\usepackage{booktabs}",
             f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(latex_escape(headers.get(c, c)) for c in columns) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(row[c]) for c in columns) + r" \\" for _, row in view.iterrows()]
    lines += ["\\bottomrule", "\\end{tabular}"]
    if sources:
        lines += ["", "\\par\\smallskip", "\\begin{minipage}{\\linewidth}\\footnotesize"]
        lines += [f"[{i}] {latex_escape(s)}\\par" for i, s in enumerate(sources, 1)]
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
