"""Disentanglement scores on a dataset with ground-truth factors (dSprites), per method, as
Locatello et al. 2019 compare models: each metric over seeds, and how the metrics rank the
same runs.

Reads `record["disentanglement"]` (backend, metrics, settings, seconds), flattened by
`load_records` into `disentanglement.metrics.<key>` columns, and `record["udr"]` (written by
`bench udr`, the seeds of a group compared with each other). Each metric is mean ± std over
the completed seeds that carry it, with the best seed's value; scores from disentanglement-lib
("dlib") and from our own implementations ("bench") are checked to agree, so a group that
mixes them is averaged, and the backend column says so.

The long form (readings, departures, history): docs/notes.md, `bench.report.disentanglement`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from bench.evaluation.disentanglement import KEYS
from bench.report.tables import NA, Latex, Stat, grouped_table, label, not_completed, runs_of, stat

PREFIX = "disentanglement.metrics."
UDR = "udr.score"  # each run's UDR among the seeds of its group (`bench udr`)
SHORT = {"beta_vae": "BetaVAE", "factor_vae": "FactorVAE", "mig": "MIG", "dci_disentanglement": "DCI-D",
         "dci_completeness": "DCI-C", "dci_informativeness": "DCI-I", "sap": "SAP", "modularity": "Mod.",
         "explicitness": "Expl.", "irs": "IRS", "udr": "UDR"}
# a paper's table: short metric names, the backend and not-completed counts left to the CSV
LATEX = Latex(columns=("method", "preset", "seeds", *KEYS, "udr"), headers=tuple(SHORT.items()))
MIN_RUNS_FOR_CORRELATION = 10
TERMINAL = ("method", "preset", "seeds", "mig", "udr", "dci_disentanglement", "beta_vae", "factor_vae")


@dataclass(frozen=True, eq=False)
class Scores(Stat):
    """A metric over seeds: "mean ± std (best b)"; the CSV keeps mean, std, n, best, median."""

    def __str__(self) -> str:
        if self.n < 2:
            return super().__str__()
        return f"{super().__str__()} (best {self.summary('best')})"


@dataclass(frozen=True, eq=False)
class Rho:
    """A rank correlation: two decimals in the text views, the number in the CSV."""

    value: float

    def numbers(self) -> dict[str, float]:
        return {"": self.value}

    def __str__(self) -> str:
        return NA if math.isnan(self.value) else f"{self.value:.2f}"


def metric_keys(records: pd.DataFrame) -> list[str]:
    """The suite's metrics in their usual order, then any other key the records carry, then
    UDR where some run has one."""
    present = [c[len(PREFIX):] for c in records.columns if c.startswith(PREFIX)]
    return list(KEYS) + sorted(set(present) - set(KEYS)) + (["udr"] if UDR in records.columns else [])


def _column(key: str) -> str:
    return UDR if key == "udr" else PREFIX + key


def _scores(values: pd.Series) -> Scores:
    s = stat(values, 3, better="higher")
    return Scores(s.values, s.digits, s.better)


def disentanglement_table(records: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One row per (method [variant], preset) of `dataset` with disentanglement scores:
    seeds, backend, each metric as mean ± std (best seed), and the runs that did not complete
    (or completed without scores). Groups whose completed runs have no scores at all (a
    method the metrics do not apply to) are left out; no runs give a table with no rows."""
    keys = metric_keys(records)
    columns = ["method", "preset", "device", "seeds", "backend", *keys, "not completed"]
    return grouped_table(runs_of(records, dataset), columns, lambda key, group: _row(*key, group, keys))


def _row(method: str, preset: str, variant: str, device: str, group: pd.DataFrame, keys: list[str]) -> dict | None:
    done = group[group["status"] == "completed"]
    scored = done[_has_scores(done)]
    if scored.empty and not done.empty:
        return None
    missing = len(done) - len(scored)
    backends = scored["disentanglement.backend"].dropna().unique() if "disentanglement.backend" in scored else []
    return {
        "method": label(method, variant),
        "preset": preset,
        "device": device,
        "seeds": len(scored),
        "backend": ", ".join(sorted(backends)) or "—",
        **{k: _scores(scored.get(_column(k), pd.Series(dtype=float))) for k in keys},
        "not completed": ", ".join(filter(None, [not_completed(group),
                                                 f"{missing} without scores" if missing else ""])),
    }


def scored_runs(records: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The completed runs of `dataset` that carry disentanglement scores."""
    if records.empty or "dataset" not in records:
        return records
    runs = records[(records["dataset"] == dataset) & (records["status"] == "completed")]
    return runs[_has_scores(runs)]


def metric_correlation(records: pd.DataFrame, dataset: str,
                       min_runs: int = MIN_RUNS_FOR_CORRELATION) -> pd.DataFrame | None:
    """Spearman's rho between every two metrics across the scored runs of `dataset` (a metric
    pair counts the runs that carry both), or None with fewer than `min_runs` runs."""
    runs = scored_runs(records, dataset)
    if len(runs) < min_runs:
        return None
    keys = [k for k in metric_keys(records) if runs.get(_column(k), pd.Series(dtype=float)).notna().sum() >= min_runs]
    values = pd.DataFrame({k: pd.to_numeric(runs[_column(k)], errors="coerce") for k in keys})
    rho = values.corr(method="spearman", min_periods=min_runs)
    rows = [{"metric": SHORT.get(a, a), **{SHORT.get(b, b): Rho(float(rho.loc[a, b])) for b in keys}} for a in keys]
    return pd.DataFrame(rows, columns=["metric", *[SHORT.get(k, k) for k in keys]], dtype=object)


def _has_scores(runs: pd.DataFrame) -> pd.Series:
    cols = [c for c in runs.columns if c.startswith(PREFIX)]
    if not cols:
        return pd.Series(False, index=runs.index)
    return runs[cols].notna().any(axis=1)
