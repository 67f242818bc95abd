"""Paper-shaped tables built from run records: measured beside claimed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bench.claims import CLAIMS


def mean_std(values: pd.Series, digits: int = 2) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _variant(overrides) -> str:
    if not isinstance(overrides, dict) or not overrides:
        return ""
    return " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(overrides.items()))


def clustering_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (method, preset, K, overrides): test error % mean ± std over completed
    seeds (Hungarian one-to-one when K <= classes, majority many-to-one when K > classes),
    NMI, ARI, seed counts, and the claimed error beside it."""
    rows = []
    if not records.empty:
        runs = records[records["dataset"] == dataset].copy()
        runs["variant"] = runs["overrides"].map(_variant) if "overrides" in runs else ""
        runs["K"] = runs.get("n_clusters", pd.Series(np.nan, index=runs.index))
        for (method, preset, variant), group in runs.groupby(["method", "preset", "variant"], sort=True, dropna=False):
            done = group[group["status"] == "completed"]
            k = int(done["K"].max()) if not done.empty and done["K"].notna().any() else None
            many = k is not None and k > 10
            acc_col = "metrics.test.accuracy_many_to_one" if many else "metrics.test.accuracy"
            err = 100 * (1 - done[acc_col]) if acc_col in done else pd.Series(dtype=float)
            claim = CLAIMS[(CLAIMS["method"] == method) & (CLAIMS["K"] == k)] if not variant else CLAIMS.iloc[0:0]
            rows.append({
                "method": method + (f" [{variant}]" if variant else ""),
                "preset": preset,
                "K": k if k is not None else "—",
                "mapping": ("many-to-one" if many else "hungarian") if k is not None else "—",
                "test error %": mean_std(err),
                "NMI": mean_std(done.get("metrics.test.nmi", pd.Series(dtype=float)), 3),
                "ARI": mean_std(done.get("metrics.test.ari", pd.Series(dtype=float)), 3),
                "seeds": len(done),
                "not completed": _not_completed(group),
                "claimed error %": _claimed(claim),
                "claim source": claim["source"].iloc[0] if len(claim) else "",
            })
    table = pd.DataFrame(rows)
    run_methods = set(records["method"]) if not records.empty else set()
    missing = CLAIMS[~CLAIMS["method"].isin(run_methods)]
    for _, claim in missing.iterrows():
        table = pd.concat([table, pd.DataFrame([{
            "method": claim["method"], "preset": "—", "K": claim["K"], "mapping": "—",
            "test error %": "not run", "NMI": "—", "ARI": "—", "seeds": 0, "not completed": "",
            "claimed error %": _claimed(claim.to_frame().T), "claim source": claim["source"],
        }])], ignore_index=True)
    return table


def _claimed(claim: pd.DataFrame) -> str:
    if claim.empty:
        return "—"
    mean, std = claim["claimed_mean"].iloc[0], claim["claimed_std"].iloc[0]
    return f"{mean:g}" if pd.isna(std) else f"{mean:g} ± {std:g}"


def _not_completed(group: pd.DataFrame) -> str:
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
    return table.to_markdown(index=False) if not table.empty else "(no runs recorded)"
