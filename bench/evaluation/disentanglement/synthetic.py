"""A small synthetic `GroundTruthData` and linear encoders, for checks that need sampling.

Factor k takes `factors_num_values[k]` equally spaced values in [0, 1]; an observation is
a fixed random linear mix of them plus Gaussian noise, clipped to [0, 1]. An encoder is a
linear map of the observation, so how disentangled its codes are is set by the map: the
mix's pseudo-inverse recovers the factors one per code, a random map entangles them.
Factors are drawn per column with `random_state.randint`, as dlib's data sets draw them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bench.evaluation.disentanglement.ground_truth import GroundTruthData


class SyntheticFactors(GroundTruthData):
    """Discrete factors -> noisy linear observations of shape (observation_dim,), float32 in [0, 1]."""

    def __init__(self, factors_num_values: Sequence[int] = (3, 5, 8, 10), observation_dim: int = 16,
                 noise: float = 0.05, seed: int = 0):
        self._num_values = [int(v) for v in factors_num_values]
        rng = np.random.RandomState(seed)
        self.mixing = rng.normal(size=(observation_dim, len(self._num_values))) / np.sqrt(len(self._num_values))
        self.noise = noise

    @property
    def num_factors(self) -> int:
        return len(self._num_values)

    @property
    def factors_num_values(self) -> list[int]:
        return list(self._num_values)

    @property
    def observation_shape(self) -> list[int]:
        return [self.mixing.shape[0]]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return np.stack([random_state.randint(v, size=num) for v in self._num_values], axis=1)

    def latents(self, factors: np.ndarray) -> np.ndarray:
        """Factors scaled to [0, 1] and centred: what a perfect encoder would recover."""
        return factors / np.maximum(np.array(self._num_values) - 1, 1) - 0.5

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        clean = 0.5 + 0.5 * self.latents(factors) @ self.mixing.T
        noisy = clean + self.noise * random_state.normal(size=clean.shape)
        return np.clip(noisy, 0.0, 1.0).astype(np.float32)

    def encoder(self, entanglement: float = 0.0, extra_dims: int = 0, collapsed_dims: int = 0,
                seed: int = 1) -> "LinearEncoder":
        """Codes: `collapsed_dims` near-constant ones first (std ~1e-3, as a VAE's unused
        latents), then the mix's pseudo-inverse (code k ~ factor k) blended with a random
        map by `entanglement` in [0, 1], then `extra_dims` random projections."""
        rng = np.random.RandomState(seed)
        inverse = 2.0 * np.linalg.pinv(self.mixing)
        rotation = rng.normal(size=(self.num_factors, self.num_factors)) / np.sqrt(self.num_factors)
        blended = (1.0 - entanglement) * inverse + entanglement * rotation @ inverse
        extra = rng.normal(size=(extra_dims, self.mixing.shape[0]))
        collapsed = rng.normal(size=(collapsed_dims, self.mixing.shape[0])) * 1e-3
        return LinearEncoder(np.concatenate([collapsed, blended, extra]))


class LinearEncoder:
    """observations -> (observations - 0.5) @ matrix.T as float32 codes."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asarray(matrix, dtype=np.float64)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        return ((x - 0.5) @ self.matrix.T).astype(np.float32)
