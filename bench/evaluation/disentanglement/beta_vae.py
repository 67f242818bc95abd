"""The BetaVAE metric (Higgins et al., 2017), as dlib's `compute_beta_vae_sklearn`.

One sample: pick a factor k at random, draw two batches of factors that agree on k, and
take the mean absolute difference of the two batches' codes (a D-vector). A linear
classifier that recovers k from these vectors is accurate when each factor moves its
own codes; the score is its accuracy on fresh samples.

The sampling wrapper consumes the RandomState exactly as dlib does (factor index, both
factor batches, both observation batches, per sample), so at the same seed the points
and the scores are dlib's. dlib hands that RandomState to `LogisticRegression` too; its
default lbfgs solver draws nothing from it, so here the classifier gets a fixed seed and
the training and evaluation points are drawn back to back, with the same numbers.
sklearn's ConvergenceWarning is silenced (dlib's default max_iter; not actionable).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from bench.errors import BenchError
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    encode,
)


def beta_vae_points(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Features (num_points, D): mean |code difference| of paired batches; labels: the shared factor."""
    if num_points < 1 or batch_size < 1:
        raise BenchError(f"num_points and batch_size must be positive, got {num_points} and {batch_size}")
    labels = np.zeros(num_points, dtype=np.int64)
    features = []
    for i in range(num_points):
        k = random_state.randint(ground_truth_data.num_factors)
        factors1 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2[:, k] = factors1[:, k]
        x1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
        x2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
        labels[i] = k
        codes1, codes2 = encode(representation_function, x1), encode(representation_function, x2)
        features.append(np.mean(np.abs(codes1 - codes2), axis=0))
    return np.asarray(features, dtype=np.float64), labels


def beta_vae(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    eval_features: np.ndarray,
    eval_labels: np.ndarray,
) -> dict[str, float]:
    """Accuracy of a logistic regression from features to the fixed factor: eval and train."""
    if len(np.unique(train_labels)) < 2:
        raise BenchError("BetaVAE metric needs training points for at least 2 different factors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(random_state=0).fit(train_features, train_labels)
    return {
        "beta_vae": float(np.mean(model.predict(eval_features) == eval_labels)),
        "beta_vae_train": float(np.mean(model.predict(train_features) == train_labels)),
    }


def compute_beta_vae(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
) -> dict[str, float]:
    """BetaVAE metric on fresh samples; dlib's `compute_beta_vae_sklearn` at its study settings."""
    random_state = as_random_state(random_state)
    train = beta_vae_points(ground_truth_data, representation_function, batch_size, num_train, random_state)
    evaluation = beta_vae_points(ground_truth_data, representation_function, batch_size, num_eval, random_state)
    return beta_vae(*train, *evaluation)
