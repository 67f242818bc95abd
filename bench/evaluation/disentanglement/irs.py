"""Interventional Robustness Score (Suter et al., 2019, "Robustly Disentangled Causal
Mechanisms: Validating Deep Representations for Interventional Robustness"), as dlib's
`irs.py` computes it.

Factors are binned as dlib bins them (20-bin histograms per factor, `discretize`: a factor
with more than 20 values shares bins), codes that are constant in the sample are dropped.
For each code d and factor f: the mean over the values v of f of the `diff_quantile`
quantile of |code - E[code | f = v]| among the samples with f = v, divided by the code's
largest deviation from its mean; 1 minus that is how robust code d is to interventions on
the other factors while f is held. A code's score is its best factor's; IRS is the mean of
the codes' scores weighted by their largest deviations. With no active code, IRS is 0.

Where we differ from dlib on purpose: `irs_active_dims` counts the active codes; dlib's
`num_active_dims` is `np.sum` of the active codes' values, not their number.
"""

from __future__ import annotations

import numpy as np

from bench.evaluation.disentanglement.discretize import NUM_BINS, histogram_discretize
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    check_codes_factors,
    sample_codes_and_factors,
)

DIFF_QUANTILE = 0.99  # dlib's default (1.0 is the paper's version)


def irs_matrix(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = DIFF_QUANTILE) -> np.ndarray:
    """(D, F) robustness of each code to the other factors while each factor is held.
    `factors` are discrete labels; every code must vary in the sample."""
    spread = np.abs(codes - codes.mean(axis=0)).max(axis=0)  # (D,)
    held = np.zeros((codes.shape[1], factors.shape[1]))
    for f in range(factors.shape[1]):
        values = np.unique(factors[:, f])
        for v in values:
            group = codes[factors[:, f] == v]
            held[:, f] += np.percentile(np.abs(group - group.mean(axis=0)), 100 * diff_quantile, axis=0)
        held[:, f] /= len(values)
    return 1.0 - held / spread[:, None]


def irs(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = DIFF_QUANTILE,
        num_bins: int = NUM_BINS) -> dict[str, float]:
    """IRS of codes (N, D) against integer factors (N, F); dlib's `compute_irs` after sampling."""
    codes, factors = check_codes_factors(codes, factors, "IRS")
    active = codes[:, codes.var(axis=0) > 0]
    if active.shape[1] == 0:
        return {"irs": 0.0, "irs_active_dims": 0}
    scores = irs_matrix(active, histogram_discretize(factors, num_bins), diff_quantile).max(axis=1)
    weights = np.abs(active - active.mean(axis=0)).max(axis=0)
    return {"irs": float(np.average(scores, weights=weights)), "irs_active_dims": int(active.shape[1])}


def compute_irs(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    num_train: int = 10000,
    batch_size: int = 16,
    diff_quantile: float = DIFF_QUANTILE,
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """IRS on `num_train` fresh samples; dlib's `compute_irs` at its study settings (irs.gin)."""
    random_state = as_random_state(random_state)
    codes, factors = sample_codes_and_factors(ground_truth_data, representation_function, num_train, random_state,
                                              batch_size)
    return irs(codes, factors, diff_quantile, num_bins)
