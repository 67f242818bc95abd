"""The unrolled-InfoGAN report's table: final Q loss (continuous, discrete) per unroll steps K.

Two statistics of the Q terms a run logs, side by side: the report's, each run's value at
its last training step (one minibatch: the code keeps every minibatch's loss and its
`plot.py` prints the last; the record's `losses_last`), and ours, the mean over the last
log window (`log_every` steps), which a single noisy minibatch does not swing. Rows group
runs by K and by procedure (`unroll_rule`): the report's values stand only beside `paper`
runs of the procedure that produced them and nothing else changed: K = 0 came from the
code's `train.py` (`folded_q`), K = 5, 7, 10 from its look-ahead (`lookahead`). Both log
what the code logs: `q_disc` the categorical cross-entropy, `q_cont` 0.1 x the Gaussian NLL
with a learned std, constant kept; the differentiable unroll's rows (adam, sgd) log
InfoGAN's terms (unit-std NLL), another scale. Each claim gets a verdict
(`bench.report.verdicts`) judged on the report's own statistic, the last batch.
"""

from __future__ import annotations

import pandas as pd

from bench.registry import METHODS
from bench.report.claims import QLOSS_CLAIMS, UNROLLED
from bench.report.tables import Claim, Latex, grouped_table, not_completed, runs_of, stat
from bench.report.verdicts import INCONCLUSIVE, NO_RUN, Verdict, interval_of, judge
from bench.runs.records import settings_of, variant_label

METHOD = "unrolled_infogan"
LAST, MEAN = "last batch", "window mean"  # the report's statistic, ours
COLUMNS = ["K", "procedure", "preset", "device", "other settings", f"continuous, {LAST}", "95 % interval continuous",
           f"discrete, {LAST}", "95 % interval discrete",
           f"continuous, {MEAN}", f"discrete, {MEAN}", "seeds", "not completed", "claimed continuous",
           "claimed discrete", "verdict continuous", "verdict discrete"]
PARTS = {"continuous": "q_cont", "discrete": "q_disc"}
LATEX = Latex(columns=("K", "procedure", "preset", f"continuous, {LAST}", f"discrete, {LAST}", f"continuous, {MEAN}",
                       f"discrete, {MEAN}", "seeds", "claimed continuous", "claimed discrete", "verdict continuous",
                       "verdict discrete"),
              headers=((f"continuous, {LAST}", "cont. (last)"), (f"discrete, {LAST}", "disc. (last)"),
                       (f"continuous, {MEAN}", "cont. (mean)"), (f"discrete, {MEAN}", "disc. (mean)")))
TERMINAL = ("K", "procedure", "preset", f"continuous, {LAST}", f"discrete, {LAST}", "claimed continuous",
            "claimed discrete", "seeds", "other settings")


def learns_codes(records: pd.DataFrame, dataset: str) -> bool:
    """Whether some unrolled InfoGAN run on `dataset` has a code for Q to infer (the 2-D
    mixtures' runs are plain GANs: one category, no continuous code, no Q loss to table)."""
    runs = records[(records["method"] == METHOD) & (records["dataset"] == dataset)] if not records.empty else records
    if runs.empty:
        return False
    def setting(name: str) -> pd.Series:
        return pd.to_numeric(runs[name], errors="coerce") if name in runs else pd.Series(float("nan"), runs.index)

    categories, continuous = setting("config.method.n_categories"), setting("config.method.n_continuous")
    unknown = categories.isna() & continuous.isna()  # a record that does not say: the method's codes
    return bool((unknown | (categories > 1) | (continuous > 0)).any())


def default_procedure() -> str:
    return METHODS.get(METHOD).Config.unroll_rule if METHOD in METHODS.names() else "lookahead"


def qloss_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (K, procedure, preset, device kind, other --set changes) of unrolled_infogan
    runs, each statistic's mean ± std over completed seeds; the paper's values beside `paper`
    rows of the claim's procedure that changed nothing else, and "not run" rows for the
    claims no such run matches."""
    claims = QLOSS_CLAIMS[QLOSS_CLAIMS["dataset"] == dataset]
    runs = runs_of(records, dataset, lambda r: r["method"] == METHOD).copy()
    if not runs.empty:
        runs["K"] = runs["config.method.k"].astype(int)
        runs["procedure"] = runs["variant"].apply(lambda v: settings_of(v).get("unroll_rule", default_procedure()))
        runs["other settings"] = runs["variant"].apply(_other_settings)
    table = grouped_table(
        runs, COLUMNS, lambda key, group: _row(*key[:4], group, claims) | {"device": key[4]},
        keys=["K", "procedure", "preset", "other settings", "device_kind"],
        not_run=lambda rows: _not_run(rows, claims, dataset))
    table = table.sort_values(["K", "procedure", "preset"], kind="stable", key=_sortable).reset_index(drop=True)
    return table if len(claims) else table.drop(columns=["claimed continuous", "claimed discrete",
                                                         "verdict continuous", "verdict discrete"])


def _not_run(rows: list[dict], claims: pd.DataFrame, dataset: str) -> list[dict]:
    """A "not run" row for each claim no row at its protocol carries, saying which presets ran instead."""
    matched = {(row["K"], row["procedure"]) for row in rows if row.get("claimed continuous") is not None}
    out = []
    for _, claim in claims.iterrows():
        k, procedure = int(claim["K"]), claim["procedure"]
        if (k, procedure) in matched:
            continue
        presets = sorted({row["preset"] for row in rows
                          if (row["K"], row["procedure"], row["other settings"]) == (k, procedure, "")})
        why = f"only {', '.join(presets)} runs, not the claim's protocol" if presets else NO_RUN
        out.append({"K": k, "procedure": procedure, "preset": None, "device": None,
                    "other settings": "", f"continuous, {LAST}": "not run", f"discrete, {LAST}": "not run",
                    f"continuous, {MEAN}": "not run", f"discrete, {MEAN}": "not run", "seeds": 0,
                    "not completed": "", "claimed continuous": Claim(float(claim["continuous"])),
                    "claimed discrete": Claim(float(claim["discrete"])),
                    **{f"verdict {part}": Verdict(INCONCLUSIVE, why, claim=_claim_text(dataset, k, procedure, part),
                                                  source=UNROLLED) for part in PARTS}})
    return out


def _claim_text(dataset: str, k: int, procedure: str, part: str) -> str:
    return f"unrolled_infogan ({procedure}), {dataset}, K={k}: final Q loss, {part} (last batch)"


def _sortable(column: pd.Series) -> pd.Series:
    return column.fillna("—") if column.name == "preset" else column


def _other_settings(variant: str) -> str:
    """What the run changed besides K and the procedure, e.g. 'lambda_cont=1.0'."""
    return variant_label({k: v for k, v in settings_of(variant).items() if k not in ("k", "unroll_rule")})


def final(losses, name: str) -> float:
    """The last logged value of `name` (a window mean in `losses`, a minibatch's in `losses_last`)."""
    windows = [w for w in (losses if isinstance(losses, list) else []) if name in w]
    return windows[-1][name] if windows else float("nan")


def _statistic(done: pd.DataFrame, column: str, name: str, shown: tuple[str, ...] = ()):
    history = done[column] if column in done else pd.Series([None] * len(done), index=done.index, dtype=object)
    return stat(history.apply(final, name=name), 4, better="lower", shown=shown)


def _row(k: int, procedure: str, preset: str, other: str, group: pd.DataFrame, claims: pd.DataFrame) -> dict:
    done = group[group["status"] == "completed"]
    # the report's values belong beside the procedure that produced them, at its own length only
    claim = claims[(claims["K"] == k) & (claims["procedure"] == procedure)] if not other and preset == "paper" \
        else claims.iloc[0:0]
    row = {"K": k, "procedure": procedure, "preset": preset, "other settings": other, "seeds": len(done),
           "not completed": not_completed(group)}
    for part, loss in PARTS.items():
        last = row[f"{part}, {LAST}"] = _statistic(done, "losses_last", loss, shown=("best",))
        row[f"95 % interval {part}"] = interval_of(last.values, 4)
        row[f"{part}, {MEAN}"] = _statistic(done, "losses", loss)
        if len(claim):  # judged on the report's own statistic, the last batch
            claimed = float(claim[part].iloc[0])
            row[f"claimed {part}"] = Claim(claimed)
            row[f"verdict {part}"] = judge(last.values, claimed, "lower", claim=_claim_text(
                group["dataset"].iloc[0], k, procedure, part), source=UNROLLED, ours=str(last), digits=4,
                runs=f"{preset}, {group['device_kind'].iloc[0]}")
    return row
