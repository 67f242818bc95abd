"""Unsupervised Disentanglement Ranking (Duan et al., 2020, "Unsupervised Model Selection for
Variational Disentangled Representation Learning"), as dlib's `evaluation/udr/metrics/udr.py`
computes it.

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.disentanglement.udr`."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy.stats import rankdata
from sklearn.linear_model import Lasso
from sklearn.preprocessing import StandardScaler

from bench.errors import BenchError
from bench.evaluation.disentanglement.ground_truth import as_random_state

KL_FLOOR = 0.01  # dlib zeroes latents at or below this KL before any correlation, whatever the threshold
CORRELATIONS = ("lasso", "spearman")

UDRRepresentationFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Observations (n, ...) -> (codes (n, D), mean KL per latent (D,)), e.g. a VAE's posterior means."""


def lasso_matrix(codes_i: np.ndarray, codes_j: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """|coefficients| (D_i, D_j) of a Lasso regressing codes_j on codes_i."""
    return np.abs(Lasso(alpha=alpha, random_state=0).fit(codes_i, codes_j).coef_.T)


def spearman_matrix(codes_i: np.ndarray, codes_j: np.ndarray) -> np.ndarray:
    """|Spearman rho| (D_i, D_j) of every pair of latents; NaN where a latent is constant."""
    def standardised_ranks(codes):
        ranks = rankdata(codes, axis=0)
        ranks -= ranks.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ranks / np.sqrt((ranks**2).sum(axis=0))

    return np.abs(standardised_ranks(codes_i).T @ standardised_ranks(codes_j))


def relative_strength(matrix: np.ndarray) -> float:
    """dlib's `relative_strength_disentanglement` of a (non-negative) correlation matrix."""
    if matrix.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nanmean(np.nan_to_num(matrix.max(axis=0) ** 2 / matrix.sum(axis=0)))
        rows = np.nanmean(np.nan_to_num(matrix.max(axis=1) ** 2 / matrix.sum(axis=1)))
    return float((columns + rows) / 2)


def udr(codes: Sequence[np.ndarray], kl: Sequence[np.ndarray], correlation: str = "lasso",
        kl_threshold: float = KL_FLOOR) -> dict:
    """UDR of M >= 2 models from their codes of the same N observations (M arrays (N, D))
    and the mean KL of each of their latents (M arrays (D,)).

    Returns {"udr": [score of each model], "pairwise": (M, M) pair scores (row i, column j:
    i's latents predicting j's; diagonal 0), "informative": [latents above the threshold]}."""
    if correlation not in CORRELATIONS:
        raise BenchError(f"UDR correlation must be one of {', '.join(CORRELATIONS)}, got {correlation!r}")
    codes = [np.asarray(c, dtype=np.float64) for c in codes]
    kl = [np.asarray(k, dtype=np.float64) for k in kl]
    if len(codes) < 2 or len(codes) != len(kl):
        raise BenchError(f"UDR compares at least 2 models, each with its codes and KLs; got {len(codes)} codes "
                         f"and {len(kl)} KL vectors")
    shapes = {c.shape for c in codes}
    if len(shapes) != 1 or codes[0].ndim != 2 or any(k.shape != (codes[0].shape[1],) for k in kl):
        raise BenchError(f"UDR needs every model's codes of the same N observations with one D, and one KL per "
                         f"latent; got codes {sorted(shapes)} and KLs {[k.shape for k in kl]}")
    if not all(np.isfinite(c).all() for c in codes):
        raise BenchError("UDR: codes contain NaN or infinite values")
    scaled = [StandardScaler().fit_transform(c) * (k > KL_FLOOR) for c, k in zip(codes, kl)]
    informative = [k > kl_threshold for k in kl]
    pair_matrix = lasso_matrix if correlation == "lasso" else spearman_matrix
    m = len(codes)
    pairwise = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i != j:
                matrix = pair_matrix(scaled[i], scaled[j])
                pairwise[i, j] = relative_strength(matrix[np.ix_(informative[i], informative[j])])
    scores = [float(np.median(np.delete(pairwise[:, i], i))) for i in range(m)]
    return {"udr": scores, "pairwise": pairwise, "informative": [int(mask.sum()) for mask in informative]}


def sample_representations(ground_truth_data, representation_functions: Sequence[UDRRepresentationFunction],
                           random_state, batch_size: int = 10, num_data_points: int = 1000):
    """Every model's codes of the same `num_data_points` observations, drawn `batch_size` at a
    time from `ground_truth_data.sample_observations` (dlib's order), and each model's KL per
    latent averaged over the batches: ([codes (N, D)], [kl (D,)])."""
    if batch_size < 1 or num_data_points < batch_size or num_data_points % batch_size:
        raise BenchError(f"UDR: num_data_points ({num_data_points}) must be a positive multiple of batch_size "
                         f"({batch_size})")
    codes = [[] for _ in representation_functions]
    kls = [[] for _ in representation_functions]
    for _ in range(num_data_points // batch_size):
        observations = ground_truth_data.sample_observations(batch_size, random_state)
        for m, represent in enumerate(representation_functions):
            batch_codes, batch_kl = represent(observations)
            codes[m].append(np.asarray(batch_codes))
            kls[m].append(np.asarray(batch_kl))
    return [np.concatenate(c) for c in codes], [np.mean(k, axis=0) for k in kls]


def compute_udr(ground_truth_data, representation_functions: Sequence[UDRRepresentationFunction],
                random_state: int | np.random.RandomState, batch_size: int = 10, num_data_points: int = 1000,
                correlation: str = "lasso", kl_threshold: float = KL_FLOOR) -> dict:
    """UDR of the models behind `representation_functions` on `num_data_points` observations
    of `ground_truth_data` (any object with `sample_observations`); dlib's `compute_udr_sklearn`
    at its udr.gin settings (batch 10, 1,000 points, Lasso)."""
    codes, kl = sample_representations(ground_truth_data, representation_functions, as_random_state(random_state),
                                       batch_size, num_data_points)
    return udr(codes, kl, correlation, kl_threshold)
