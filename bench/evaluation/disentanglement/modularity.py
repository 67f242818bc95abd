"""Modularity and explicitness (Ridgeway & Mozer, 2018, "Learning Deep Disentangled
Embeddings With the F-Statistic Loss").

Modularity: per code, how far its squared MI with the factors is from a single spike,
1 - (sum of the non-maximal squared MIs) / ((F - 1) * max squared MI), averaged over
codes; a code with no MI at all scores 0. MI is dlib's: 20-bin histograms of the
training codes, nats (`discretize`).

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.disentanglement.modularity`."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.evaluation.disentanglement.discretize import (
    NUM_BINS,
    histogram_discretize,
    mutual_information,
)
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    check_codes_factors,
    sample_train_test,
)


def modularity_from_mi(mi: np.ndarray) -> float:
    """Modularity of an MI matrix (D codes, F factors)."""
    squared = np.square(mi)
    peak = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_code = 1.0 - (squared.sum(axis=1) - peak) / (peak * (squared.shape[1] - 1.0))
    per_code[peak == 0.0] = 0.0
    return float(np.mean(per_code))


def modularity(codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS) -> dict[str, float]:
    """Modularity of codes (N, D) against integer factors (N, F); needs F >= 2 to be defined."""
    codes, factors = check_codes_factors(codes, factors, "modularity")
    return {"modularity": modularity_from_mi(mutual_information(histogram_discretize(codes, num_bins), factors))}


def _macro_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC-AUC over the classes whose AUC is defined on this sample (NaN if none)."""
    onehot = y[:, None] == classes[None, :]
    aucs = [
        roc_auc_score(onehot[:, k], proba[:, k])
        for k in range(len(classes))
        if onehot[:, k].any() and not onehot[:, k].all()
    ]
    return float(np.mean(aucs)) if aucs else float("nan")


def explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
) -> dict[str, float]:
    """Mean per-factor ROC-AUC of a linear classifier on the standardised codes, test and train."""
    codes_train, factors_train = check_codes_factors(codes_train, factors_train, "explicitness (train)")
    codes_test, factors_test = check_codes_factors(codes_test, factors_test, "explicitness (test)")
    mean, std = codes_train.mean(axis=0), codes_train.std(axis=0)
    std = np.where(std == 0.0, 1.0, std)
    x_train, x_test = (codes_train - mean) / std, (codes_test - mean) / std
    train, test = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j in range(factors_train.shape[1]):
            clf = LogisticRegression().fit(x_train, factors_train[:, j])
            train.append(_macro_auc(factors_train[:, j], clf.predict_proba(x_train), clf.classes_))
            test.append(_macro_auc(factors_test[:, j], clf.predict_proba(x_test), clf.classes_))
    return {"explicitness": float(np.mean(test)), "explicitness_train": float(np.mean(train))}


def compute_modularity_explicitness(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """Modularity (training sample) and explicitness; dlib's `compute_modularity_explicitness`."""
    random_state = as_random_state(random_state)
    (codes_train, factors_train), (codes_test, factors_test) = sample_train_test(
        ground_truth_data, representation_function, num_train, num_test, random_state, batch_size
    )
    return {
        **modularity(codes_train, factors_train, num_bins),
        **explicitness(codes_train, factors_train, codes_test, factors_test),
    }
