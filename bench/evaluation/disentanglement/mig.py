"""Mutual Information Gap (Chen et al., 2018, "Isolating Sources of Disentanglement in VAEs").

Per factor: the MI of its most informative code minus that of the runner-up, over the
factor's entropy; MIG is the mean over factors. Codes are binned as dlib does (20-bin
histograms, `discretize`), MI and entropy are in nats, and only the training sample is
used (dlib's `_compute_mig`).

Like dlib, a factor that is constant in the sample has entropy 0 and makes MIG NaN;
it needs at least 2 code dimensions.
"""

from __future__ import annotations

import numpy as np

from bench.errors import BenchError
from bench.evaluation.disentanglement.discretize import (
    NUM_BINS,
    entropy,
    histogram_discretize,
    mutual_information,
)
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    check_codes_factors,
    sample_codes_and_factors,
)


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS) -> dict[str, float]:
    """MIG of codes (N, D) against integer factors (N, F)."""
    codes, factors = check_codes_factors(codes, factors, "MIG")
    if codes.shape[1] < 2:
        raise BenchError(f"MIG needs at least 2 code dimensions, got {codes.shape[1]}")
    mi = mutual_information(histogram_discretize(codes, num_bins), factors)  # (D, F)
    top_two = -np.partition(-mi, 1, axis=0)[:2]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = (top_two[0] - top_two[1]) / entropy(factors)
    return {"mig": float(np.mean(gap))}


def compute_mig(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    num_train: int = 10000,
    batch_size: int = 16,
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """MIG on `num_train` fresh samples; dlib's `compute_mig` at its study settings."""
    random_state = as_random_state(random_state)
    codes, factors = sample_codes_and_factors(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return mig(codes, factors, num_bins)
