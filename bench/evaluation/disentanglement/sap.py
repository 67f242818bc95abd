"""Separated Attribute Predictability (Kumar et al., 2018, Section 3).

A score S (D codes x F factors) says how well each single code predicts each factor;
SAP is the mean over factors of the gap between the best and second-best code. For
discrete factors (dlib's study setting, `continuous_factors=False`) S[i, j] is the test
accuracy of a one-feature `LinearSVC(C=0.01, class_weight="balanced")` trained on code i
to predict factor j; for continuous factors it is the squared correlation of code and
factor (0 where the code's variance is below 1e-12), computed for all pairs at once.

Where we differ from dlib on purpose: dlib leaves LinearSVC's `random_state` unset, so
each fit draws a seed from numpy's global RandomState; here it is fixed. sklearn picks
the primal solver for one feature and many samples, which uses no randomness, so the
numbers are the same and only dlib's side effect on the global state is gone. sklearn's
ConvergenceWarning is silenced (D x F fits at a fixed C; it is not actionable).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from bench.errors import BenchError
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    check_codes_factors,
    sample_train_test,
)


def score_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    continuous_factors: bool = False,
) -> np.ndarray:
    """S (D, F): per code and factor, SVM test accuracy (discrete) or squared correlation."""
    if continuous_factors:
        x = codes_train - codes_train.mean(axis=0)
        y = factors_train - factors_train.mean(axis=0)
        dof = len(x) - 1
        cov = x.T @ y / dof
        var_x = (x * x).sum(axis=0) / dof
        var_y = (y * y).sum(axis=0) / dof
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = cov**2 / (var_x[:, None] * var_y[None, :])
        return np.where(var_x[:, None] > 1e-12, scores, 0.0)
    scores = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(codes_train.shape[1]):
            for j in range(factors_train.shape[1]):
                svm = LinearSVC(C=0.01, class_weight="balanced", random_state=0)
                svm.fit(codes_train[:, i : i + 1], factors_train[:, j])
                scores[i, j] = np.mean(svm.predict(codes_test[:, i : i + 1]) == factors_test[:, j])
    return scores


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """SAP from (N, D) codes and (N, F) factors; dlib's `_compute_sap`. Needs >= 2 codes."""
    codes_train, factors_train = check_codes_factors(codes_train, factors_train, "SAP (train)")
    codes_test, factors_test = check_codes_factors(codes_test, factors_test, "SAP (test)")
    if codes_train.shape[1] < 2:
        raise BenchError(f"SAP needs at least 2 code dimensions, got {codes_train.shape[1]}")
    s = score_matrix(codes_train, factors_train, codes_test, factors_test, continuous_factors)
    top_two = -np.partition(-s, 1, axis=0)[:2]
    return {"sap": float(np.mean(top_two[0] - top_two[1]))}


def compute_sap(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """SAP on fresh train and test samples; dlib's `compute_sap` at its study settings."""
    random_state = as_random_state(random_state)
    train, test = sample_train_test(ground_truth_data, representation_function, num_train, num_test,
                                    random_state, batch_size)
    return sap(*train, *test, continuous_factors=continuous_factors)
