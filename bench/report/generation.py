"""Two tables of what generators draw, from the records' `generation` measures.

`generation_table` (MNIST, Fashion-MNIST): per method and setting, the classifier's
measures of its samples (classes covered, KL to uniform, classifier score, Fréchet
distance, category purity) as mean ± std over seeds, under a row of real training images
scored the same way (the ideal a generator is held to). The learned-prior AAE's claim that
its prior draws better samples than a fixed one gets its verdict on its row.

`modes_table` (the 2-D mixtures): per unroll steps K and setting, the modes covered, the
share of high-quality samples and the KL of the mode histogram, beside the unrolled-InfoGAN
report's claim (its Fig. 3, after Metz et al.): all modes with K = 10, collapse without.
"""

from __future__ import annotations

import pandas as pd

from bench.report.claims import GENERATION_CLAIMS, MODE_CLAIMS
from bench.report.tables import Latex, grouped_table, label, not_completed, runs_of, stat
from bench.report.verdicts import interval_of, judge, judge_comparison, not_its_protocol
from bench.runs.records import settings_of, variant_label

PREFIX = "generation."
MEASURES = {"classes_covered": ("classes covered", 1, "higher"), "kl_uniform": ("KL to uniform", 3, "lower"),
            "classifier_score": ("classifier score", 2, "higher"), "frechet_distance": ("Fréchet distance", 2, "lower"),
            "category_purity": ("category purity", 3, "higher")}
MODES = {"modes_covered": ("modes covered", 1, "higher"), "high_quality": ("high quality %", 1, "higher"),
         "kl_uniform": ("KL to uniform", 3, "lower")}
# each table's claim measure: its best seed and the 95 % interval of its mean follow it
CLAIMED = {"generation": "classifier_score", "modes": "modes_covered"}
GENERATION_COLUMNS = ["method", "preset", "device", "seeds", *[name for name, _, _ in MEASURES.values()],
                      "not completed", "claim", "verdict", "claim source"]
GENERATION_COLUMNS.insert(GENERATION_COLUMNS.index(MEASURES[CLAIMED["generation"]][0]) + 1, "95 % interval")
MODES_COLUMNS = ["K", "unroll rule", "other settings", "preset", "device", "seeds",
                 *[name for name, _, _ in MODES.values()], "not completed", "claim", "verdict", "claim source"]
MODES_COLUMNS.insert(MODES_COLUMNS.index(MODES[CLAIMED["modes"]][0]) + 1, "95 % interval")
GENERATION_LATEX = Latex(columns=("method", "preset", "seeds", *[name for name, _, _ in MEASURES.values()],
                                  "verdict"), cite=("claim source", "claim"))
MODES_LATEX = Latex(columns=("K", "unroll rule", "other settings", "preset", "seeds",
                             *[name for name, _, _ in MODES.values()], "claim", "verdict"),
                    cite=("claim source", "claim"))
GENERATION_TERMINAL = ("method", "preset", "seeds", "classes covered", "classifier score", "Fréchet distance",
                       "verdict")
MODES_TERMINAL = ("K", "unroll rule", "preset", "seeds", "modes covered", "high quality %", "verdict", "other settings")


def _with(records: pd.DataFrame, dataset: str, kind: str) -> pd.DataFrame:
    """`dataset`'s runs of methods whose completed runs carry `kind` generation measures."""
    if f"{PREFIX}kind" not in records:
        return records.iloc[0:0]
    runs = runs_of(records, dataset)
    measured = runs.loc[runs[f"{PREFIX}kind"] == kind, "method"].unique()
    return runs[runs["method"].isin(measured)]


def _values(done: pd.DataFrame, key: str, scale: float = 1.0) -> pd.Series:
    column = PREFIX + key
    return pd.to_numeric(done[column], errors="coerce") * scale if column in done else pd.Series(dtype=float)


def _measures(done: pd.DataFrame, measures: dict, claimed: str) -> dict:
    """Each measure's Stat over completed seeds; the claim's measure also shows its best seed
    and the 95 % interval of its mean."""
    row = {name: stat(_values(done, key, 100.0 if key == "high_quality" else 1.0), digits, better=better,
                      shown=("best",) if key == claimed else ())
           for key, (name, digits, better) in measures.items()}
    found = row[measures[claimed][0]]
    return {**row, "95 % interval": interval_of(found.values, found.digits)}


def generation_table(records: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    runs = _with(records, dataset, "classifier")
    reference = runs[[c for c in runs.columns if c.startswith(f"{PREFIX}reference.")]].dropna(how="all")
    first = []
    if len(reference):  # every record scored by the same classifier carries the same reference
        ideal = reference.iloc[-1]
        first.append({"method": "real training images (10,000)", "seeds": None,
                      **{name: stat([ideal.get(f"{PREFIX}reference.{key}")], digits)
                         for key, (name, digits, _) in MEASURES.items()}})
    return grouped_table(runs, GENERATION_COLUMNS, lambda key, group: _generation_row(runs, *key, group),
                         before=first)


def _generation_row(runs: pd.DataFrame, method: str, preset: str, variant: str, device: str,
                    group: pd.DataFrame) -> dict:
    done = group[(group["status"] == "completed") & group[f"{PREFIX}kind"].notna()]
    row = {"method": label(method, variant), "preset": preset, "device": device,
           "seeds": len(done), "not completed": not_completed(group),
           **_measures(done, MEASURES, CLAIMED["generation"])}
    row.update(_generation_claim(runs, method, preset, variant, device, row))
    return row


def _generation_claim(runs: pd.DataFrame, method: str, preset: str, variant: str, device: str, row: dict) -> dict:
    """The claim (and verdict) a row of the generation table carries: a paper's claim that
    its method's default draws better than its `baseline` setting."""
    for _, claim in GENERATION_CLAIMS.iterrows():
        if claim["method"] != method or variant:
            continue
        key, better = claim["measure"], MEASURES[claim["measure"]][2]
        baseline = variant_label(claim["baseline"])
        others = runs[(runs["method"] == method) & (runs["preset"] == preset) & (runs["variant"] == baseline)
                      & (runs["device_kind"] == device) & (runs["status"] == "completed")]
        mine = runs[(runs["method"] == method) & (runs["preset"] == preset) & (runs["variant"] == "")
                    & (runs["device_kind"] == device) & (runs["status"] == "completed")]
        context = dict(claim=f"{method}: {claim['text']}", source=claim["source"], ours=str(row[MEASURES[key][0]]),
                       runs=f"{preset}, {device}")
        if preset != "paper":
            verdict = not_its_protocol(preset, _values(mine, key), **context)
        else:
            verdict = judge_comparison(_values(mine, key), _values(others, key), better,
                                       absent=f"no {baseline} run at the paper preset", **context)
        return {"claim": claim["text"], "verdict": verdict, "claim source": claim["source"]}
    return {}


def modes_table(records: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One row per (K, unroll rule, other settings, preset, device) of the runs that carry
    mode measures, and the report's claims beside the paper-preset rows of its protocol."""
    runs = _with(records, dataset, "modes").copy()
    claims = MODE_CLAIMS[MODE_CLAIMS["dataset"] == dataset]
    if not runs.empty:
        runs["K"] = pd.to_numeric(runs.get("config.method.k"), errors="coerce").fillna(0).astype(int)
        runs["unroll rule"] = runs.get("config.method.unroll_rule", pd.Series("—", index=runs.index)).fillna("—")
        runs["other settings"] = [
            variant_label({k: v for k, v in settings_of(variant).items() if k not in ("k", "unroll_rule")})
            for variant in runs["variant"]]
        runs["protocol"] = [set(settings_of(v)) <= {"k"} for v in runs["variant"]]
    table = grouped_table(runs, MODES_COLUMNS, lambda key, group: _modes_row(runs, claims, *key, group),
                          keys=["K", "unroll rule", "other settings", "preset", "device_kind"])
    if len(table):
        table = table.sort_values(["other settings", "unroll rule", "preset", "K"], kind="stable").reset_index(drop=True)
    return table if len(claims) else table.drop(columns=["claim", "verdict", "claim source"])  # none on this dataset


def _modes_row(runs: pd.DataFrame, claims: pd.DataFrame, k: int, rule: str, other: str, preset: str, device: str,
               group: pd.DataFrame) -> dict:
    done = group[(group["status"] == "completed") & group[f"{PREFIX}kind"].notna()]
    row = {"K": k, "unroll rule": rule, "other settings": other, "preset": preset, "device": device,
           "seeds": len(done), "not completed": not_completed(group), **_measures(done, MODES, CLAIMED["modes"])}
    if group["protocol"].all():
        row.update(_mode_claim(runs, claims, k, preset, device, row))
    return row


def _mode_claim(runs: pd.DataFrame, claims: pd.DataFrame, k: int, preset: str, device: str, row: dict) -> dict:
    claim = claims[claims["K"] == k]
    if claim.empty:
        return {}
    claim = claim.iloc[0]
    done = runs[(runs["protocol"]) & (runs["preset"] == preset) & (runs["device_kind"] == device)
                & (runs["status"] == "completed")]
    modes = {kk: _values(group, "modes_covered") for kk, group in done.groupby("K")}
    context = dict(claim=f"{runs['dataset'].iloc[0]}, K={k}: {claim['text']}", source=claim["source"],
                   ours=str(row["modes covered"]), runs=f"{preset}, {device}")
    if preset != "paper":
        verdict = not_its_protocol(preset, modes.get(k, []), **context)
    elif pd.isna(claim["versus"]):  # a value: all modes
        verdict = judge(modes.get(k, []), float(claim["value"]), "higher", **context)
    else:  # a comparison: K covers fewer modes than `versus`
        verdict = judge_comparison(modes.get(int(claim["versus"]), []), modes.get(k, []), "higher",
                                   absent=f"no paper run with K={int(claim['versus'])} and K={k}", **context)
    return {"claim": claim["text"], "verdict": verdict, "claim source": claim["source"]}
