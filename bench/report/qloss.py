"""The unrolled-InfoGAN paper's table: final Q loss (continuous, discrete) per unroll steps K.

"Final" is the mean over the last log window (`log_every` steps) of the generator
phase's Q terms: `q_cont`, the Gaussian NLL of the continuous codes with unit std (half
the squared error), and `q_disc`, the cross-entropy of the categorical code. The paper
does not say how its losses are scaled, so compare trends across K, not digits.
"""

from __future__ import annotations

import pandas as pd

from bench.report.claims import QLOSS_CLAIMS
from bench.report.tables import Claim, Latex, not_completed, stat
from bench.runs.records import settings_of, variant_label

METHOD = "unrolled_infogan"
COLUMNS = ["K", "preset", "other settings", "Q loss continuous", "Q loss discrete", "seeds",
           "not completed", "claimed continuous", "claimed discrete"]
LATEX = Latex(columns=("K", "preset", "other settings", "Q loss continuous", "Q loss discrete", "seeds",
                       "claimed continuous", "claimed discrete"),
              headers=(("Q loss continuous", "continuous"), ("Q loss discrete", "discrete")))


def qloss_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (K, preset, other --set changes) of unrolled_infogan runs, mean ± std
    over completed seeds; the paper's value beside rows that changed nothing but K, and
    "not run" rows for the paper's K values with no run."""
    runs = records
    if not runs.empty:
        runs = runs[(runs["method"] == METHOD) & (runs["dataset"] == dataset)].copy()
    rows = []
    if not runs.empty:
        runs["K"] = runs["config.method.k"].astype(int)
        runs["other settings"] = runs["variant"].apply(_other_settings)
        for (k, preset, other), group in runs.groupby(["K", "preset", "other settings"], sort=True):
            rows.append(_row(k, preset, other, group))
    matched = {row["K"] for row in rows if row["other settings"] == ""}
    for _, claim in QLOSS_CLAIMS[~QLOSS_CLAIMS["K"].isin(matched)].iterrows():
        rows.append({"K": int(claim["K"]), "preset": None, "other settings": "", "Q loss continuous": "not run",
                     "Q loss discrete": "not run", "seeds": 0, "not completed": "",
                     "claimed continuous": Claim(float(claim["continuous"])),
                     "claimed discrete": Claim(float(claim["discrete"]))})
    table = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    return table.sort_values(["K", "preset"], kind="stable").reset_index(drop=True)


def _other_settings(variant: str) -> str:
    """What the run changed besides K, e.g. 'unroll_rule="sgd"'."""
    return variant_label({k: v for k, v in settings_of(variant).items() if k != "k"})


def _final(losses, name: str) -> float:
    windows = [w for w in (losses if isinstance(losses, list) else []) if name in w]
    return windows[-1][name] if windows else float("nan")


def _row(k: int, preset: str, other: str, group: pd.DataFrame) -> dict:
    done = group[group["status"] == "completed"]
    claim = QLOSS_CLAIMS[QLOSS_CLAIMS["K"] == k] if not other else QLOSS_CLAIMS.iloc[0:0]
    return {
        "K": k, "preset": preset, "other settings": other,
        "Q loss continuous": stat(done["losses"].apply(_final, name="q_cont"), 4, better="lower"),
        "Q loss discrete": stat(done["losses"].apply(_final, name="q_disc"), 4, better="lower"),
        "seeds": len(done),
        "not completed": not_completed(group),
        "claimed continuous": Claim(float(claim["continuous"].iloc[0])) if len(claim) else None,
        "claimed discrete": Claim(float(claim["discrete"].iloc[0])) if len(claim) else None,
    }
