"""Disentanglement scores on a dataset with ground-truth factors (dSprites), per method.

Reads `record["disentanglement"]` (backend, metrics, settings, seconds), flattened by
`load_records` into `disentanglement.metrics.<key>` columns. Each metric is mean ± std
over the completed seeds that carry it; scores from disentanglement-lib ("dlib") and from
our own implementations ("bench") are checked to agree, so a group that mixes them is
averaged, and the backend column says so.
"""

from __future__ import annotations

import pandas as pd

from bench.evaluation.disentanglement import KEYS
from bench.report.tables import Latex, not_completed, stat

PREFIX = "disentanglement.metrics."
SHORT = {"beta_vae": "BetaVAE", "factor_vae": "FactorVAE", "mig": "MIG", "dci_disentanglement": "DCI-D",
         "dci_completeness": "DCI-C", "dci_informativeness": "DCI-I", "sap": "SAP", "modularity": "Mod.",
         "explicitness": "Expl."}
# a paper's table: short metric names, the backend and not-completed counts left to the CSV
LATEX = Latex(columns=("method", "preset", "seeds", *KEYS), headers=tuple(SHORT.items()))


def metric_keys(records: pd.DataFrame) -> list[str]:
    """The suite's metrics in their usual order, then any other key the records carry."""
    present = [c[len(PREFIX):] for c in records.columns if c.startswith(PREFIX)]
    return list(KEYS) + sorted(set(present) - set(KEYS))


def disentanglement_table(records: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One row per (method [variant], preset) of `dataset` with disentanglement scores:
    seeds, backend, each metric as mean ± std, and the runs that did not complete (or
    completed without scores). Groups whose completed runs have no scores at all (a
    method the metrics do not apply to) are left out; no runs give a table with no rows."""
    keys = metric_keys(records)
    columns = ["method", "preset", "device", "seeds", "backend", *keys, "not completed"]
    if records.empty or "dataset" not in records:
        return pd.DataFrame(columns=columns, dtype=object)
    runs = records[records["dataset"] == dataset]
    rows = []
    for (method, preset, variant, device), group in runs.groupby(["method", "preset", "variant", "device_kind"],
                                                                  sort=True):
        done = group[group["status"] == "completed"]
        scored = done[_has_scores(done)]
        if scored.empty and not done.empty:
            continue
        missing = len(done) - len(scored)
        backends = scored["disentanglement.backend"].dropna().unique() if "disentanglement.backend" in scored else []
        rows.append({
            "method": method + (f" [{variant}]" if variant else ""),
            "preset": preset,
            "device": device,
            "seeds": len(scored),
            "backend": ", ".join(sorted(backends)) or "—",
            **{k: stat(scored.get(PREFIX + k, pd.Series(dtype=float)), 3, better="higher") for k in keys},
            "not completed": ", ".join(filter(None, [not_completed(group),
                                                     f"{missing} without scores" if missing else ""])),
        })
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _has_scores(runs: pd.DataFrame) -> pd.Series:
    cols = [c for c in runs.columns if c.startswith(PREFIX)]
    if not cols:
        return pd.Series(False, index=runs.index)
    return runs[cols].notna().any(axis=1)
