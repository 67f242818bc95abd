"""Disentanglement metrics as pure functions of arrays, checked against disentanglement-lib.

Each metric has a pure function over (N, D) codes and (N, F) integer factors (or over the
samples that metric draws), and a `compute_*` wrapper that samples a `GroundTruthData`
at dlib's study settings, consuming the RandomState as dlib does. UDR (`udr`) needs no
factors but several models: its pure function takes every model's codes of the same
observations, and `bench udr` computes it across the seeds of recorded runs. Where we depart from
dlib on purpose is said in each module's docstring. `compare_dlib` prints both side by side.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from bench.errors import BenchError
from bench.evaluation.disentanglement.beta_vae import (
    beta_vae,
    beta_vae_points,
    compute_beta_vae,
)
from bench.evaluation.disentanglement.dci import compute_dci, dci
from bench.evaluation.disentanglement.discretize import (
    entropy,
    histogram_discretize,
    mutual_information,
)
from bench.evaluation.disentanglement.factor_vae import (
    compute_factor_vae,
    factor_vae,
    factor_vae_votes,
)
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    check_ground_truth,
    fresh_random_state,
    sample_codes_and_factors,
    sample_train_test,
)
from bench.evaluation.disentanglement.irs import compute_irs, irs
from bench.evaluation.disentanglement.mig import compute_mig, mig
from bench.evaluation.disentanglement.modularity import (
    compute_modularity_explicitness,
    explicitness,
    modularity,
)
from bench.evaluation.disentanglement.sap import compute_sap, sap
from bench.evaluation.disentanglement.udr import compute_udr, udr
from bench.tracking import progress

__all__ = [
    "GroundTruthData",
    "KEYS",
    "METRICS",
    "RepresentationFunction",
    "beta_vae",
    "beta_vae_points",
    "compute_all",
    "compute_beta_vae",
    "compute_dci",
    "compute_factor_vae",
    "compute_irs",
    "compute_mig",
    "compute_modularity_explicitness",
    "compute_sap",
    "compute_udr",
    "check_ground_truth",
    "dci",
    "entropy",
    "explicitness",
    "factor_vae",
    "factor_vae_votes",
    "fresh_random_state",
    "histogram_discretize",
    "irs",
    "mig",
    "modularity",
    "mutual_information",
    "sample_codes_and_factors",
    "sample_train_test",
    "sap",
    "udr",
]

# Metric group -> (sampling wrapper, the keys of the flat record it contributes).
METRICS: dict[str, tuple[Callable[..., dict], tuple[str, ...]]] = {
    "beta_vae": (compute_beta_vae, ("beta_vae",)),
    "factor_vae": (compute_factor_vae, ("factor_vae",)),
    "mig": (compute_mig, ("mig",)),
    "dci": (compute_dci, ("dci_disentanglement", "dci_completeness", "dci_informativeness")),
    "sap": (compute_sap, ("sap",)),
    "modularity_explicitness": (compute_modularity_explicitness, ("modularity", "explicitness")),
    "irs": (compute_irs, ("irs",)),
}
KEYS = tuple(key for _, keys in METRICS.values() for key in keys)


def check_settings(settings: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Per-metric keyword overrides (e.g. {"dci": {"num_train": 1000}}); unknown groups are an error."""
    settings = {name: dict(kwargs) for name, kwargs in (settings or {}).items()}
    unknown = sorted(set(settings) - set(METRICS))
    if unknown:
        raise BenchError(f"unknown disentanglement metric(s) {unknown}; expected some of {sorted(METRICS)}")
    return settings


def compute_all(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, float]:
    """Every metric at dlib's study settings, as one flat dict of floats (keys: `KEYS`).

    Each metric group starts from its own copy of `random_state` (an int seeds
    `RandomState(seed)`), as each metric is its own evaluation with one seed in dlib's
    study; `dlib_backend.compute_all_dlib` gives the same record computed by dlib.
    `settings` overrides a group's keyword arguments, e.g. {"dci": {"num_train": 1000}}.
    """
    check_ground_truth(ground_truth_data)
    settings = check_settings(settings)
    out: dict[str, float] = {}
    with progress.bar("disentanglement metrics", total=len(METRICS), unit="metric") as bar:
        for name, (compute, keys) in METRICS.items():
            bar.set_postfix_str(name, refresh=False)
            kwargs = settings.get(name, {})
            scores = compute(ground_truth_data, representation_function, fresh_random_state(random_state), **kwargs)
            out.update({key: float(scores[key]) for key in keys})
            bar.update(1)
    return out
