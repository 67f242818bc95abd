"""Which continuous code drives which Morpho-MNIST morphometric, agreed over seeds.

Reads `record["morphometrics"]` (`scores`: |Spearman ρ| per (code, morphometric);
`gaps`: per morphometric the best code and its margin over the runner-up), as written by
`bench.evaluation.code_sweep`. Seeds need not find the same code (a GAN's codes are only
identified up to permutation), so the table names the code most seeds pick and how many
agree, and reports |ρ| of *that* code in every seed: a code that wins in one seed and is
idle in the others shows as a large std, not as a clean mean over winners.

Codes are numbered from 1 (`c1` is code 0 of the record), like the traversal figures
(`<run>_continuous1.png`). The column is "abs Spearman ρ", not "|ρ|": a pipe would split
the Markdown table's header.
"""

from __future__ import annotations

import pandas as pd

from bench.evaluation.morphometrics import MORPHOMETRICS
from bench.report.tables import Latex, grouped_table, label, not_completed, runs_of, stat

COLUMNS = ["method", "preset", "device", "morphometric", "best code", "abs Spearman ρ", "gap", "seeds", "not completed"]
LATEX = Latex(columns=tuple(c for c in COLUMNS[:-1] if c != "device"), headers=(("abs Spearman ρ", "|ρ|"),))
TERMINAL = ("method", "preset", "morphometric", "best code", "abs Spearman ρ", "gap", "seeds")


def morphometric_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (method [variant], preset, morphometric) over completed runs of
    `dataset` with morphometric scores: the modal best code with its agreement ("c1 (4/5)"),
    that code's |Spearman ρ| and the gap, mean ± std over those seeds."""
    if records.empty or "morphometrics.gaps" not in records:
        return pd.DataFrame(columns=COLUMNS, dtype=object)
    return grouped_table(runs_of(records, dataset), COLUMNS, lambda key, group: _rows(*key, group))


def _rows(method: str, preset: str, variant: str, device: str, group: pd.DataFrame) -> list[dict]:
    """A group's rows, one per morphometric."""
    done = group[(group["status"] == "completed") & group["morphometrics.gaps"].apply(_is_list)]
    if done.empty:
        return []
    scores = pd.concat([_frame(r.get("morphometrics.scores"), seed=r["seed"], run=i)
                        for i, r in done.iterrows()], ignore_index=True)
    gaps = pd.concat([_frame(r["morphometrics.gaps"], seed=r["seed"], run=i)
                      for i, r in done.iterrows()], ignore_index=True)
    return [{"method": label(method, variant), "preset": preset, "device": device, "morphometric": m,
             **_cells(scores, gaps[gaps["morphometric"] == m], m, len(done)),
             "seeds": len(done), "not completed": not_completed(group)}
            for m in _ordered(gaps["morphometric"].unique())]


def _is_list(value) -> bool:
    return isinstance(value, list)


def _frame(items, **extra) -> pd.DataFrame:
    frame = pd.DataFrame(items if isinstance(items, list) else [])
    for key, value in extra.items():
        frame[key] = value
    return frame


def _ordered(names) -> list[str]:
    """Morpho-MNIST's order (thickness, slant, width, height, area, length), then any other."""
    known = [m for m in MORPHOMETRICS if m in set(names)]
    return known + sorted(set(names) - set(MORPHOMETRICS))


def _cells(scores: pd.DataFrame, gaps: pd.DataFrame, morphometric: str, n_runs: int) -> dict:
    best = gaps.dropna(subset=["best_code"])
    if best.empty:
        return {"best code": None, "abs Spearman ρ": None, "gap": stat(gaps["gap"], 3, better="higher")}
    code = _modal_code(best, scores, morphometric)
    agree = int((best["best_code"].astype(int) == code).sum())
    mine = (scores[(scores["morphometric"] == morphometric) & (scores["code"] == code)]
            if not scores.empty else scores)
    return {
        "best code": f"c{code + 1} ({agree}/{n_runs})",
        "abs Spearman ρ": stat(mine["abs_spearman"], 3, better="higher") if not mine.empty else None,
        "gap": stat(gaps["gap"], 3, better="higher"),
    }


def _modal_code(best: pd.DataFrame, scores: pd.DataFrame, morphometric: str) -> int:
    """The code most seeds name as best; a tie goes to the larger mean |ρ|, then the lower code."""
    counts = best["best_code"].astype(int).value_counts()
    tied = sorted(int(c) for c in counts[counts == counts.max()].index)
    if len(tied) == 1 or scores.empty:
        return tied[0]
    mine = scores[scores["morphometric"] == morphometric]
    strength = {c: mine.loc[mine["code"] == c, "abs_spearman"].astype(float).mean() for c in tied}
    return max(tied, key=lambda c: (strength[c] if pd.notna(strength[c]) else float("-inf"), -c))
