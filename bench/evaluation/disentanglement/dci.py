"""Disentanglement, completeness and informativeness (Eastwood & Williams, 2018).

One gradient-boosted tree classifier per factor predicts it from all codes; the
classifiers' feature importances form R (D codes x F factors). Disentanglement is
1 - H_F(row of R) per code, weighted by the code's share of total importance;
completeness is 1 - H_D(column) per factor, weighted likewise; informativeness is the
classifiers' mean accuracy (an accuracy, not an error, despite the name; dlib's
`informativeness_test`). As dlib, 1e-11 is added to R before the entropies, and a
classifier is sklearn's `GradientBoostingClassifier()` with every default.

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.disentanglement.dci`."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    check_codes_factors,
    sample_train_test,
)

GBT_SEED = 0


def importance_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: int | np.random.RandomState = GBT_SEED,
) -> tuple[np.ndarray, float, float]:
    """R (D, F) from one boosted-tree classifier per factor, and mean train and test accuracy."""
    rng = as_random_state(random_state)
    importance = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    train_acc, test_acc = [], []
    for j in range(factors_train.shape[1]):
        model = GradientBoostingClassifier(random_state=rng).fit(codes_train, factors_train[:, j])
        importance[:, j] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(codes_train) == factors_train[:, j]))
        test_acc.append(np.mean(model.predict(codes_test) == factors_test[:, j]))
    return importance, float(np.mean(train_acc)), float(np.mean(test_acc))


def _one_minus_entropy(p: np.ndarray, axis: int) -> np.ndarray:
    """1 - entropy of each slice along `axis`, normalised to sum 1, in base = its length."""
    p = p + 1e-11
    p = p / p.sum(axis=axis, keepdims=True)
    return 1.0 - (-(p * np.log(p)).sum(axis=axis) / np.log(p.shape[axis]))


def _weights(importance: np.ndarray, axis: int) -> np.ndarray:
    """Each code's (axis=1) or factor's (axis=0) share of all importance; uniform if R is all zero."""
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return importance.sum(axis=axis) / importance.sum()


def disentanglement(importance: np.ndarray) -> float:
    """How much each code is about one factor only, weighted by the code's importance."""
    return float(np.sum(_one_minus_entropy(importance, axis=1) * _weights(importance, axis=1)))


def completeness(importance: np.ndarray) -> float:
    """How much each factor is captured by one code only, weighted by the factor's importance."""
    return float(np.sum(_one_minus_entropy(importance, axis=0) * _weights(importance, axis=0)))


def dci(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: int | np.random.RandomState = GBT_SEED,
) -> dict[str, float]:
    """DCI from (N, D) codes and (N, F) factors, train and test; dlib's `_compute_dci`."""
    codes_train, factors_train = check_codes_factors(codes_train, factors_train, "DCI (train)")
    codes_test, factors_test = check_codes_factors(codes_test, factors_test, "DCI (test)")
    importance, train_acc, test_acc = importance_matrix(
        codes_train, factors_train, codes_test, factors_test, random_state
    )
    return {
        "dci_disentanglement": disentanglement(importance),
        "dci_completeness": completeness(importance),
        "dci_informativeness": test_acc,
        "dci_informativeness_train": train_acc,
    }


def compute_dci(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    gbt_random_state: int = GBT_SEED,
) -> dict[str, float]:
    """DCI on fresh train and test samples; dlib's `compute_dci` at its study settings."""
    random_state = as_random_state(random_state)
    train, test = sample_train_test(ground_truth_data, representation_function, num_train, num_test,
                                    random_state, batch_size)
    return dci(*train, *test, random_state=gbt_random_state)
