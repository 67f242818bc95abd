"""Stored images of a full grid of factor values as disentanglement-lib's ground-truth data.

`FactorGrid` is the `GroundTruthData` view of any image set made from known discrete
factors where every combination of factor values has at least one image (DeepMind's
dSprites file, Shapes3D, an `.npz` file with `factors`): factors are drawn uniformly, one
`randint` per factor as dlib's data sets draw them, and each combination is shown by its
image. Where a combination has several images, one of them is picked with the same random
state; where every combination has exactly one (dSprites, Shapes3D), nothing more is drawn,
so the random stream, and the metrics' samples, are dlib's.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from bench.errors import BenchError


class FactorGrid:
    """uint8 images (N, C, H, W) and their integer factors (N, F) as `GroundTruthData`;
    observations are float32 in [0, 1], channel-first."""

    def __init__(self, images: np.ndarray, factors: np.ndarray, factor_names: Sequence[str] | None = None,
                 where: str = "the images"):
        factors = np.asarray(factors)
        if (not np.issubdtype(factors.dtype, np.integer) or factors.ndim != 2 or len(factors) != len(images)
                or not factors.size or factors.min() < 0):
            raise BenchError(f"{where}: factors must be N x F integers >= 0 (N = {len(images)} images, N, F >= 1), "
                             f"not {factors.dtype} {tuple(factors.shape)}")
        if factor_names is not None and len(factor_names) != factors.shape[1]:
            raise BenchError(f"{where}: factor_names must name the {factors.shape[1]} factors, not {len(factor_names)}")
        self.images = images
        self.factors_num_values = [int(v) + 1 for v in factors.max(axis=0)]
        self.num_factors = factors.shape[1]
        self.factor_names = (list(factor_names) if factor_names is not None
                             else [f"f{i}" for i in range(self.num_factors)])
        self.observation_shape = tuple(images.shape[1:])
        combinations = math.prod(self.factors_num_values)  # Python integers: no overflow
        if combinations > len(images) and combinations > 2**31:  # too many to count which ones are empty
            raise BenchError(f"{where}: {combinations} factor combinations but {len(images)} images; the disentanglement "
                             "metrics sample every combination (a full grid, as dSprites)")
        flat = np.ravel_multi_index(factors.T, self.factors_num_values)
        counts = np.bincount(flat, minlength=int(np.prod(self.factors_num_values)))
        if (counts == 0).any():
            raise BenchError(f"{where}: {int((counts == 0).sum())} of {counts.size} factor combinations have no "
                             "image; the disentanglement metrics sample every combination (a full grid, as dSprites)")
        self._order = np.argsort(flat, kind="stable")
        self._start, self._count = np.concatenate([[0], np.cumsum(counts)[:-1]]), counts
        self._one_each = bool((counts == 1).all())

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        factors = np.zeros((num, self.num_factors), dtype=np.int64)
        for i, size in enumerate(self.factors_num_values):
            factors[:, i] = random_state.randint(size, size=num)
        return factors

    def indices(self, factors, random_state: np.random.RandomState | None = None) -> np.ndarray:
        """The image index of each row of factors (a random one of a combination's images)."""
        flat = np.ravel_multi_index(np.asarray(factors, dtype=np.int64).T, self.factors_num_values)
        pick = self._start[flat]
        if not self._one_each:
            pick = pick + random_state.randint(1 << 30, size=len(flat)) % self._count[flat]
        return self._order[pick]

    def sample_observations_from_factors(self, factors, random_state) -> np.ndarray:
        return self.images[self.indices(factors, random_state)].astype(np.float32) / 255.0

    def sample(self, num: int, random_state: np.random.RandomState):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sample(num, random_state)[1]
