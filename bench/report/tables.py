"""What every table shares: mean ± std cells, the not-completed count, and writing a
table as Markdown, CSV and LaTeX."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def mean_std(values: pd.Series, digits: int = 2) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def not_completed(group: pd.DataFrame) -> str:
    """e.g. '1 diverged, 1 failed': the runs of a group that did not complete."""
    counts = group.loc[group["status"] != "completed", "status"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def write_table(table: pd.DataFrame, out_dir: Path, stem: str) -> list[Path]:
    """Markdown, CSV and LaTeX versions of one table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.md", out_dir / f"{stem}.csv", out_dir / f"{stem}.tex"]
    paths[0].write_text(to_markdown(table) + "\n")
    table.to_csv(paths[1], index=False)
    paths[2].write_text(table.to_latex(index=False, escape=True))
    return paths


def to_markdown(table: pd.DataFrame) -> str:
    # cells are formatted strings ("45.00"): tabulate must not re-read them as numbers
    return table.to_markdown(index=False, disable_numparse=True) if not table.empty else "(no runs recorded)"
