"""The FactorVAE metric (Kim & Mnih, 2018), as dlib's `compute_factor_vae`.

Codes are first scaled by their global std (from `num_variance_estimate` observations);
codes whose std is below a threshold (dlib's study: 0.05) are "collapsed" and left out.
One vote: fix a random factor k over a batch, and find the active code with the least
variance relative to its global variance; the vote goes to (k, that code). A majority-vote
classifier maps each code to the factor it most often wins for; the score is the share of
fresh votes it gets right.

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.disentanglement.factor_vae`."""

from __future__ import annotations

import numpy as np

from bench.errors import BenchError
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    as_random_state,
    encode,
)

PRUNE_THRESHOLD = 0.05


def global_variances(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = 64,
) -> np.ndarray:
    """Per-code variance (ddof=1) over `num_points` observations, encoded `batch_size` at a time."""
    observations = ground_truth_data.sample_observations(num_points, random_state)
    codes = np.concatenate(
        [encode(representation_function, observations[i : i + batch_size]) for i in range(0, num_points, batch_size)]
    )
    return np.var(codes, axis=0, ddof=1)


def active_dims(variances: np.ndarray, threshold: float = PRUNE_THRESHOLD) -> np.ndarray:
    """Mask of codes whose std reaches the threshold (and whose variance is not zero)."""
    variances = np.asarray(variances)
    return (np.sqrt(variances) >= threshold) & (variances > 0)


def factor_vae_votes(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
    variances: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Votes (F, D): how often code d had the least relative variance with factor k fixed."""
    if num_points < 1 or batch_size < 2:
        raise BenchError(f"FactorVAE needs num_points >= 1 and batch_size >= 2, got {num_points} and {batch_size}")
    active_index = np.flatnonzero(active)
    votes = np.zeros((ground_truth_data.num_factors, len(variances)), dtype=np.int64)
    for _ in range(num_points):
        k = random_state.randint(ground_truth_data.num_factors)
        factors = ground_truth_data.sample_factors(batch_size, random_state)
        factors[:, k] = factors[0, k]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        codes = encode(representation_function, observations)
        local = np.var(codes, axis=0, ddof=1)
        votes[k, active_index[np.argmin(local[active_index] / variances[active_index])]] += 1
    return votes


def factor_vae(train_votes: np.ndarray, eval_votes: np.ndarray) -> dict[str, float]:
    """Majority-vote accuracy from vote matrices (F, D): eval and train."""
    train_votes, eval_votes = np.asarray(train_votes), np.asarray(eval_votes)
    if train_votes.shape != eval_votes.shape or train_votes.ndim != 2:
        raise BenchError(
            f"FactorVAE: vote matrices must be (F, D) of one shape, got {train_votes.shape} and {eval_votes.shape}"
        )
    if train_votes.sum() == 0 or eval_votes.sum() == 0:
        raise BenchError("FactorVAE: a vote matrix is empty")
    classifier = np.argmax(train_votes, axis=0)  # each code -> the factor it votes for most
    columns = np.arange(train_votes.shape[1])
    return {
        "factor_vae": float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
        "factor_vae_train": float(train_votes[classifier, columns].sum() / train_votes.sum()),
    }


def compute_factor_vae(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = PRUNE_THRESHOLD,
) -> dict[str, float]:
    """FactorVAE metric on fresh samples; dlib's `compute_factor_vae` at its study settings."""
    random_state = as_random_state(random_state)
    variances = global_variances(ground_truth_data, representation_function, num_variance_estimate, random_state)
    active = active_dims(variances, prune_threshold)
    if not active.any():
        return {"factor_vae": 0.0, "factor_vae_train": 0.0, "factor_vae_active_dims": 0}
    sampling = (ground_truth_data, representation_function, batch_size)
    train = factor_vae_votes(*sampling, num_train, random_state, variances, active)
    evaluation = factor_vae_votes(*sampling, num_eval, random_state, variances, active)
    return {**factor_vae(train, evaluation), "factor_vae_active_dims": int(active.sum())}
