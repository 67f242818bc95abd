"""The unrolled-InfoGAN report's table: final Q loss (continuous, discrete) per unroll steps K.

"Final" is the mean over the last log window (`log_every` steps) of the Q terms the run
logs. With the report's own procedure (`unroll_rule="lookahead"`, the default) they are the
quantities its code logs: `q_disc` the cross-entropy of the categorical code, `q_cont` 0.1 x
the Gaussian NLL of the continuous codes with a learned std, constant kept (the code logs
single minibatches, so its last value is noisier than a window mean). Only those rows get the
report's values beside them; the differentiable unroll's rows (`unroll_rule` adam or sgd) log
InfoGAN's terms (unit-std NLL), another scale.
"""

from __future__ import annotations

import pandas as pd

from bench.report.claims import QLOSS_CLAIMS, UNROLLED
from bench.report.tables import Claim, Latex, not_completed, stat
from bench.report.verdicts import INCONCLUSIVE, NO_RUN, Verdict, judge
from bench.runs.records import settings_of, variant_label

METHOD = "unrolled_infogan"
COLUMNS = ["K", "preset", "device", "other settings", "Q loss continuous", "Q loss discrete", "seeds",
           "not completed", "claimed continuous", "claimed discrete", "verdict continuous", "verdict discrete"]
LATEX = Latex(columns=("K", "preset", "other settings", "Q loss continuous", "Q loss discrete", "seeds",
                       "claimed continuous", "claimed discrete", "verdict continuous", "verdict discrete"),
              headers=(("Q loss continuous", "continuous"), ("Q loss discrete", "discrete")))


def qloss_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (K, preset, device kind, other --set changes) of unrolled_infogan runs,
    mean ± std over completed seeds; the paper's value beside `paper` rows that changed
    nothing but K, and "not run" rows for the paper's K values with no such run."""
    runs, claims = records, QLOSS_CLAIMS[QLOSS_CLAIMS["dataset"] == dataset]
    if not runs.empty:
        runs = runs[(runs["method"] == METHOD) & (runs["dataset"] == dataset)].copy()
    rows = []
    if not runs.empty:
        runs["K"] = runs["config.method.k"].astype(int)
        runs["other settings"] = runs["variant"].apply(_other_settings)
        for (k, preset, other, device), group in runs.groupby(["K", "preset", "other settings", "device_kind"],
                                                              sort=True):
            rows.append(_row(k, preset, other, group, claims) | {"device": device})
    matched = {row["K"] for row in rows if row["other settings"] == "" and row["preset"] == "paper"}
    for _, claim in claims[~claims["K"].isin(matched)].iterrows():
        presets = sorted({row["preset"] for row in rows if row["K"] == claim["K"] and row["other settings"] == ""})
        why = f"only {', '.join(presets)} runs, not the claim's protocol" if presets else NO_RUN
        rows.append({"K": int(claim["K"]), "preset": None, "device": None, "other settings": "",
                     "Q loss continuous": "not run", "Q loss discrete": "not run", "seeds": 0, "not completed": "",
                     "claimed continuous": Claim(float(claim["continuous"])),
                     "claimed discrete": Claim(float(claim["discrete"])),
                     **{f"verdict {part}": Verdict(INCONCLUSIVE, why, claim=_claim_text(dataset, int(claim["K"]), part),
                                                   source=UNROLLED) for part in PARTS}})
    table = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    table = table.sort_values(["K", "preset"], kind="stable", key=_sortable).reset_index(drop=True)
    return table if len(claims) else table.drop(columns=["claimed continuous", "claimed discrete",
                                                         "verdict continuous", "verdict discrete"])


PARTS = {"continuous": "q_cont", "discrete": "q_disc"}


def _claim_text(dataset: str, k: int, part: str) -> str:
    return f"unrolled_infogan, {dataset}, K={k}: final Q loss, {part}"


def _sortable(column: pd.Series) -> pd.Series:
    return column.fillna("—") if column.name == "preset" else column


def _other_settings(variant: str) -> str:
    """What the run changed besides K, e.g. 'unroll_rule="sgd"'."""
    return variant_label({k: v for k, v in settings_of(variant).items() if k != "k"})


def _final(losses, name: str) -> float:
    windows = [w for w in (losses if isinstance(losses, list) else []) if name in w]
    return windows[-1][name] if windows else float("nan")


def _row(k: int, preset: str, other: str, group: pd.DataFrame, claims: pd.DataFrame) -> dict:
    done = group[group["status"] == "completed"]
    # the report's values belong beside its own procedure at its own length only
    claim = claims[claims["K"] == k] if not other and preset == "paper" else claims.iloc[0:0]
    row = {"K": k, "preset": preset, "other settings": other, "seeds": len(done), "not completed": not_completed(group)}
    for part, loss in PARTS.items():
        losses = done["losses"] if "losses" in done else pd.Series([None] * len(done), index=done.index, dtype=object)
        values = stat(losses.apply(_final, name=loss), 4, better="lower")
        row[f"Q loss {part}"] = values
        if len(claim):
            claimed = float(claim[part].iloc[0])
            context = dict(claim=_claim_text(group["dataset"].iloc[0], k, part), source=UNROLLED, ours=str(values),
                           digits=4, runs=f"{preset}, {group['device_kind'].iloc[0]}")
            row[f"claimed {part}"] = Claim(claimed)
            row[f"verdict {part}"] = judge(values.values, claimed, "lower", **context)
    return row
