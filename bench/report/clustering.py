"""The clustering table, in the papers' shape: test error per method and setting,
measured beside claimed, with what tells a collapse from noise.

A seed is *collapsed* when its clustering of the test split uses fewer than half of its K
clusters, or scores below twice chance (accuracy < 2 / classes): a GAN whose categorical
code died, not an unlucky draw. Each row gives mean ± std over completed seeds, the best
and the median seed, and how many seeds collapsed, so a mean dragged down by one dead
seed reads differently from seeds that all land mediocre. Beside the table's mapping,
"error % (most confident)" labels each cluster with its most confident held-out image (the
AAE paper's protocol: training-split images the run never trained on, `validation_size`),
for methods that give cluster probabilities; records without a held-out set show none. Each claim row gets
a verdict (`bench.report.verdicts`: the rule is written there once) beside our 95 %
bootstrap interval of the mean error.
"""

from __future__ import annotations

import pandas as pd

from bench.registry import METHODS
from bench.report.claims import CLAIMS, NO_CLAIM
from bench.report.tables import Claim, Latex, OutOf, grouped_table, label, not_completed, runs_of, stat
from bench.report.verdicts import INCONCLUSIVE, NO_RUN, Verdict, interval_of, judge, not_its_protocol
from bench.runs.records import settings_of

# the text views show the test error's best and median seed as columns after it
COLUMNS = ["method", "preset", "device", "K", "mapping", "test error %", "95 % interval", "collapsed",
           "error % (most confident)", "NMI", "ARI", "seeds", "not completed", "claimed error %", "verdict",
           "claim source"]
# a paper's table: the mapping follows from K (many-to-one when K > classes), the sources
# become numbered notes, and the median, collapse and not-completed counts stay in the CSV
LATEX = Latex(columns=("method", "preset", "K", "test error %", "best", "NMI", "ARI", "seeds", "claimed error %",
                       "verdict"),
              headers=(("test error %", "error %"), ("claimed error %", "claimed %")),
              cite=("claim source", "claimed error %"))
TERMINAL = ("method", "preset", "K", "test error %", "claimed error %", "verdict", "seeds", "NMI", "device")


def clusters(records: pd.DataFrame, dataset: str) -> bool:
    """Whether some run on `dataset` clusters into more than one cluster (a plain GAN on 2-D
    points has one category: no clustering to table, no accuracy to follow)."""
    if records.empty or "n_clusters" not in records:
        return False
    return bool((pd.to_numeric(records.loc[records["dataset"] == dataset, "n_clusters"], errors="coerce") > 1).any())


def clustering_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """One row per (method, preset, variant): test error % over completed seeds (Hungarian
    one-to-one when K <= classes, majority many-to-one when K > classes), its best and median
    seed, collapsed seeds, NMI, ARI, seed counts, and the claimed error beside it. Runs on
    different device kinds (cpu, cuda) are separate rows. Claims of `dataset` with no runs
    stay as "not run" rows, so the table shows what the suite has not reproduced yet; a
    dataset no paper claims anything on gets no claim columns."""
    claims = CLAIMS[CLAIMS["dataset"] == dataset]
    no_claim = NO_CLAIM.get(dataset, {})
    table = grouped_table(runs_of(records, dataset), COLUMNS, lambda key, group: _measured_row(key, group, claims,
                                                                                             no_claim),
                          not_run=lambda rows: _not_run(rows, claims, dataset))
    return table if len(claims) else table.drop(columns=["claimed error %", "verdict", "claim source"])


def _not_run(rows: list[dict], claims: pd.DataFrame, dataset: str) -> list[dict]:
    """A "not run" row for each claim no measured row carries."""
    matched = {(row["method"].name, row["K"]) for row in rows if row["claim source"]}
    return [{
        "method": claim["method"], "preset": None, "device": None, "K": int(claim["K"]), "mapping": None,
        "test error %": "not run", "95 % interval": None, "collapsed": "", "error % (most confident)": None,
        "NMI": None, "ARI": None, "seeds": 0, "not completed": "", "claimed error %": _claimed(claim.to_frame().T),
        "verdict": Verdict(INCONCLUSIVE, NO_RUN, claim=_claim_text(dataset, claim["method"], int(claim["K"])),
                           source=claim["source"]),
        "claim source": claim["source"],
    } for _, claim in claims.iterrows() if (claim["method"], claim["K"]) not in matched]


def collapsed(accuracy: pd.Series, clusters_used: pd.Series, k: int, n_classes: int) -> pd.Series:
    """Per seed: fewer than K/2 clusters used, or accuracy below twice chance."""
    return (clusters_used < k / 2) | (accuracy < 2 / n_classes)


def _measured_row(key, group: pd.DataFrame, claims: pd.DataFrame, no_claim: dict[str, str]) -> dict:
    method, preset, variant, device = key
    done = group[group["status"] == "completed"]
    ks = done["n_clusters"].dropna() if "n_clusters" in done else pd.Series(dtype=float)
    k = int(ks.max()) if not ks.empty else None
    n_classes = int(done["n_classes"].max()) if "n_classes" in done and len(done) else 10
    many = k is not None and k > n_classes
    column = "metrics.test.accuracy_many_to_one" if many else "metrics.test.accuracy"
    accuracy = done[column] if column in done else pd.Series(dtype=float)
    errors = 100 * (1 - accuracy)
    used = done["metrics.test.clusters_used"] if "metrics.test.clusters_used" in done else pd.Series(dtype=float)
    dead = collapsed(accuracy, used, k, n_classes) if k is not None else pd.Series(dtype=bool)
    # an ablation is not what the paper ran, so it gets no claim beside it; a run that
    # changes only what the paper itself varies (e.g. AAE's K) does
    paper_protocol = set(settings_of(variant)) <= set(protocol_keys(method))
    claim = claims[(claims["method"] == method) & (claims["K"] == k)] if paper_protocol else claims.iloc[0:0]
    claimed = _claimed(claim)
    if claim.empty and paper_protocol and method in no_claim:
        claimed = no_claim[method]
    error = stat(errors, 2, better="lower", shown=("best", "median"))
    verdict = None
    if isinstance(claimed, Claim):
        context = dict(claim=_claim_text(group["dataset"].iloc[0], method + (f" [{variant}]" if variant else ""), k),
                       source=claim["source"].iloc[0], ours=str(error), runs=f"{preset}, {device}")
        verdict = judge(error.values, claimed.mean, "lower", **context) if preset == "paper" \
            else not_its_protocol(preset, error.values, **context)
    return {
        "method": label(method, variant),
        "preset": preset,
        "device": device,
        "K": k,
        "mapping": None if k is None else ("many-to-one" if many else "hungarian"),
        "test error %": error,
        "95 % interval": interval_of(error.values),
        "collapsed": OutOf(int(dead.sum()), len(dead)) if len(dead) else "",
        # the AAE paper's labelling: each cluster takes the label of its most confident held-out image
        "error % (most confident)": stat(100 * (1 - done.get("metrics.test.accuracy_most_confident_validation",
                                                             pd.Series(dtype=float))), 2, better="lower"),
        "NMI": stat(done.get("metrics.test.nmi", pd.Series(dtype=float)), 3, better="higher"),
        "ARI": stat(done.get("metrics.test.ari", pd.Series(dtype=float)), 3, better="higher"),
        "seeds": len(done),
        "not completed": not_completed(group),
        "claimed error %": claimed,
        "verdict": verdict,
        "claim source": claim["source"].iloc[0] if len(claim) else "",
    }


def _claim_text(dataset: str, method: str, k: int | None) -> str:
    return f"{method}, {dataset}, K={k}: test error %"


def protocol_keys(method: str) -> tuple[str, ...]:
    return METHODS.get(method).protocol_keys if method in METHODS.names() else ()


def _claimed(claim: pd.DataFrame) -> Claim | None:
    if claim.empty:
        return None
    mean, std = claim["claimed_mean"].iloc[0], claim["claimed_std"].iloc[0]
    return Claim(float(mean), None if pd.isna(std) else float(std))
