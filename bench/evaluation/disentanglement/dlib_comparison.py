"""Our disentanglement metrics beside disentanglement-lib's on the same inputs: value,
|difference| and runtime, one run each, timed with `time.perf_counter`.

    .tox/dlib/bin/bench compare-dlib [--quick]

(`tox -e dlib` builds that environment; dlib needs TensorFlow <= 2.15 and numpy < 2.)

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.disentanglement.dlib_comparison`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import Callable

import numpy as np
import sklearn

from bench.errors import BenchError
from bench.evaluation.disentanglement import (
    compute_beta_vae,
    compute_factor_vae,
    compute_irs,
    compute_udr,
    dci,
    explicitness,
    histogram_discretize,
    irs,
    mig,
    modularity,
    mutual_information,
    sample_train_test,
    sap,
)
from bench.evaluation.disentanglement.dlib_backend import (
    dlib_gin,
    import_dlib,
    import_dlib_udr,
    seeded_global_numpy,
)
from bench.evaluation.disentanglement.synthetic import SyntheticFactors

GBT_SEED = 0
UDR_MISSING: list[str] = []  # why dlib's UDR was left out of the last `cases()`, if it was


@dataclass
class Case:
    """One comparison: both sides return {key: value}; `tolerance` None = expected to differ."""

    name: str
    ours: Callable[[], dict]
    dlib: Callable[[], dict]
    tolerance: float | None = 1e-6


@dataclass
class Row:
    key: str
    ours: float
    dlib: float
    difference: float
    ours_s: float | None
    dlib_s: float | None
    tolerance: float | None

    @property
    def ok(self) -> bool:
        return self.tolerance is None or self.difference <= self.tolerance


def fixed_sample(num_train: int, num_test: int, seed: int = 0):
    """The data set, its encoder, and (codes, factors) train and test arrays, float32 codes (N, D)."""
    data = SyntheticFactors(factors_num_values=(3, 5, 8, 10), noise=0.1)
    encoder = data.encoder(entanglement=0.5, extra_dims=1, collapsed_dims=1)
    rs = np.random.RandomState(seed)
    train, test = sample_train_test(data, encoder, num_train, num_test, rs)
    return data, encoder, train, test


def udr_representations(data: SyntheticFactors):
    """Three encoders of `data` as UDR's representation functions: (codes, the variance of
    each code in the batch as its KL); the collapsed code falls under dlib's KL threshold."""
    def with_kl(encoder):
        def represent(observations):
            codes = encoder(observations)
            return codes, codes.var(axis=0)
        return represent

    return [with_kl(data.encoder(entanglement=e, extra_dims=1, collapsed_dims=1, seed=s))
            for e, s in ((0.0, 1), (0.3, 2), (0.8, 3))]


def cases(num_train: int = 10000, num_test: int = 5000, dci_train: int = 2000, dci_test: int = 1000,
          sampled_train: int = 10000, sampled_eval: int = 5000, num_variance_estimate: int = 10000,
          udr_points: int = 1000, seed: int = 0) -> list[Case]:
    """Every comparison, at dlib's study sizes by default (DCI on a subset: its boosted trees
    cost minutes at 10,000 points on two cores, identically on both sides)."""
    metrics, _ = import_dlib()
    u, me = metrics.utils, metrics.modularity_explicitness
    data, encoder, (ct, ft), (cs, fs) = fixed_sample(num_train, num_test, seed)
    dct, dft, dcs, dfs = ct[:dci_train], ft[:dci_train], cs[:dci_test], fs[:dci_test]

    def dlib_mig():
        with dlib_gin():
            return {"mig": metrics.mig._compute_mig(ct.T, ft.T)["discrete_mig"]}

    def dlib_mi():
        with dlib_gin():
            return {"mutual_information": u.discrete_mutual_info(u.make_discretizer(ct.T), ft.T)}

    def dlib_dci():
        with seeded_global_numpy(GBT_SEED):
            s = metrics.dci._compute_dci(dct.T, dft.T, dcs.T, dfs.T)
        return {"dci_disentanglement": s["disentanglement"], "dci_completeness": s["completeness"],
                "dci_informativeness": s["informativeness_test"]}

    def ours_dci():
        s = dci(dct, dft, dcs, dfs, random_state=GBT_SEED)
        return {k: s[k] for k in ("dci_disentanglement", "dci_completeness", "dci_informativeness")}

    def dlib_sap():
        with seeded_global_numpy(GBT_SEED):
            return {"sap": metrics.sap_score._compute_sap(ct.T, ft.T, cs.T, fs.T, False)["SAP_score"]}

    def dlib_modularity():
        with dlib_gin():
            return {"modularity": me.modularity(u.discrete_mutual_info(u.make_discretizer(ct.T), ft.T))}

    def dlib_explicitness():
        train, mean, std = u.normalize_data(ct.T)
        test, _, _ = u.normalize_data(cs.T, mean, std)
        per_factor = [me.explicitness_per_factor(train, ft.T[j], test, fs.T[j])[1] for j in range(ft.shape[1])]
        return {"explicitness": np.mean(per_factor)}

    sampled = dict(batch_size=64, num_train=sampled_train, num_eval=sampled_eval)

    def dlib_beta_vae():
        s = metrics.beta_vae.compute_beta_vae_sklearn(data, encoder, np.random.RandomState(seed), **sampled)
        return {"beta_vae": s["eval_accuracy"], "beta_vae_train": s["train_accuracy"]}

    def ours_beta_vae():
        s = compute_beta_vae(data, encoder, np.random.RandomState(seed), **sampled)
        return {"beta_vae": s["beta_vae"], "beta_vae_train": s["beta_vae_train"]}

    def dlib_factor_vae():
        with dlib_gin():
            s = metrics.factor_vae.compute_factor_vae(data, encoder, np.random.RandomState(seed),
                                                      num_variance_estimate=num_variance_estimate, **sampled)
        return {"factor_vae": s["eval_accuracy"], "factor_vae_train": s["train_accuracy"]}, s["num_active_dims"]

    def ours_factor_vae():
        s = compute_factor_vae(data, encoder, np.random.RandomState(seed),
                               num_variance_estimate=num_variance_estimate, **sampled)
        return {"factor_vae": s["factor_vae"], "factor_vae_train": s["factor_vae_train"]}, s["factor_vae_active_dims"]

    def dlib_irs():
        with dlib_gin():
            binned = u.make_discretizer(ft.T)
        active = metrics.irs._drop_constant_dims(ct.T)
        return {"irs": metrics.irs.scalable_disentanglement_score(binned.T, active.T, 0.99)["avg_score"]}

    def ours_irs_sampled():
        return {"irs_sampled": compute_irs(data, encoder, np.random.RandomState(seed), num_train=sampled_train)["irs"]}

    def dlib_irs_sampled():
        with dlib_gin():
            s = metrics.irs.compute_irs(data, encoder, np.random.RandomState(seed), num_train=sampled_train,
                                        batch_size=16)
        return {"irs_sampled": s["IRS"]}

    udr_functions = udr_representations(data)
    try:
        dlib_udr_module, UDR_MISSING[:] = import_dlib_udr(), []
    except BenchError as exc:  # dlib's UDR is not in its release: compared only where its source is at hand
        dlib_udr_module, UDR_MISSING[:] = None, [str(exc)]

    def ours_udr(correlation):
        def run():
            s = compute_udr(data, udr_functions, np.random.RandomState(seed), batch_size=10,
                            num_data_points=udr_points, correlation=correlation)
            return {f"udr_{correlation}": s["udr"], f"udr_{correlation}_pairwise": s["pairwise"]}
        return run

    def dlib_udr(correlation):
        def run():
            s = dlib_udr_module.compute_udr_sklearn(data, udr_functions, np.random.RandomState(seed), batch_size=10,
                                                    num_data_points=udr_points, correlation_matrix=correlation)
            return {f"udr_{correlation}": s["model_scores"],
                    f"udr_{correlation}_pairwise": np.asarray(s["pairwise_disentanglement_scores"])[..., 0]}
        return run

    active = {}  # FactorVAE's active-dimension count, kept from the timed runs for its own row

    def keep(side, run):
        def wrapped():
            scores, active[side] = run()
            return scores
        return wrapped

    return [
        Case("mutual_information", lambda: {"mutual_information": mutual_information(histogram_discretize(ct), ft)},
             dlib_mi, 1e-10),
        Case("mig", lambda: mig(ct, ft), dlib_mig),
        Case("dci", ours_dci, dlib_dci),
        Case("sap", lambda: sap(ct, ft, cs, fs), dlib_sap),
        Case("modularity", lambda: modularity(ct, ft), dlib_modularity),
        Case("explicitness", lambda: {"explicitness": explicitness(ct, ft, cs, fs)["explicitness"]}, dlib_explicitness),
        Case("irs", lambda: {"irs": irs(ct, ft)["irs"]}, dlib_irs, 1e-10),
        Case("irs_sampled", ours_irs_sampled, dlib_irs_sampled, 1e-10),
        *([Case("udr_lasso", ours_udr("lasso"), dlib_udr("lasso")),
           Case("udr_spearman", ours_udr("spearman"), dlib_udr("spearman"))] if dlib_udr_module else []),
        Case("beta_vae", ours_beta_vae, dlib_beta_vae, 0.0),
        Case("factor_vae", keep("ours", ours_factor_vae), keep("dlib", dlib_factor_vae), 0.0),
        Case("factor_vae_active_dims", lambda: {"factor_vae_active_dims": active["ours"]},
             lambda: {"factor_vae_active_dims": active["dlib"]}, None),
    ]


def _timed(run: Callable[[], dict]) -> tuple[dict, float]:
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


def run_case(case: Case) -> list[Row]:
    """Both sides once, ours first: any first-call cost (lazy imports, caches) is charged
    to us, so the speed-ups shown are if anything understated. One row per key."""
    ours, ours_s = _timed(case.ours)
    theirs, dlib_s = _timed(case.dlib)
    if set(ours) != set(theirs):
        raise AssertionError(f"{case.name}: keys differ, ours {sorted(ours)} vs dlib {sorted(theirs)}")
    rows = []
    for i, key in enumerate(ours):
        a, b = np.asarray(ours[key], dtype=np.float64), np.asarray(theirs[key], dtype=np.float64)
        difference = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
        timing = (ours_s, dlib_s) if i == 0 and case.tolerance is not None else (None, None)
        rows.append(Row(key, float(np.mean(a)), float(np.mean(b)), difference, *timing, case.tolerance))
    return rows


def format_table(rows: list[Row]) -> str:
    def seconds(s):
        return "" if s is None else f"{s:.3f}"

    lines = [f"| {'metric':<24} | {'ours':>10} | {'dlib':>10} | {'|difference|':>12} | {'ours s':>8} | {'dlib s':>8} | "
             f"{'dlib/ours':>9} |", "|" + "|".join("-" * w for w in (26, 12, 12, 14, 10, 10, 11)) + "|"]
    for r in rows:
        ratio = f"{r.dlib_s / r.ours_s:.1f}x" if r.ours_s else ""
        mark = "" if r.ok else "  <-- over tolerance"
        ours = f"{r.ours:10.6f}" if r.key != "factor_vae_active_dims" else f"{r.ours:10.0f}"
        dlib = f"{r.dlib:10.6f}" if r.key != "factor_vae_active_dims" else f"{r.dlib:10.0f}"
        lines.append(f"| {r.key:<24} | {ours} | {dlib} | {r.difference:12.3g} | {seconds(r.ours_s):>8} | "
                     f"{seconds(r.dlib_s):>8} | {ratio:>9} |{mark}")
    return "\n".join(lines)


def compare(quick: bool = False, seed: int = 0) -> int:
    """`bench compare-dlib`: print the comparison table; 1 if any value is over tolerance."""
    sizes = dict(num_train=10000, num_test=5000, dci_train=2000, dci_test=1000,
                 sampled_train=10000, sampled_eval=5000, num_variance_estimate=10000, udr_points=1000)
    if quick:
        sizes = {k: v // 10 for k, v in sizes.items()}
    all_cases = cases(**sizes, seed=seed)
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, disentanglement-lib "
          f"{version('disentanglement-lib')}; seed {seed}; sizes {sizes}")
    print("array metrics: train/test codes (N, D=6, one collapsed) x factors (F=4: 3, 5, 8, 10 values); "
          "DCI on the first dci_train/dci_test points; mutual_information = the D x F matrix (mean shown, max "
          "|difference|)")
    rows = [row for case in all_cases for row in run_case(case)]
    print(format_table(rows))
    bad = [r.key for r in rows if not r.ok]
    print("all within tolerance" if not bad else f"over tolerance: {', '.join(bad)}")
    print("factor_vae_active_dims differs on purpose: dlib reports len(mask) = D, ours the active count")
    if UDR_MISSING:
        print(f"UDR not compared: {UDR_MISSING[0]}")
    return 1 if bad else 0
