"""The data a disentanglement metric samples from, and the (codes, factors) draw they share.

`GroundTruthData` names the attributes disentanglement-lib's ground-truth data sets have,
so one object serves our metrics and dlib's alike (dlib never checks the class, it calls
these names). A class that subclasses the protocol explicitly inherits `sample` and
`sample_observations`, written in terms of the two sampling primitives in the order dlib's
base class uses; the order matters, because every metric draws from one RandomState and
the same calls in the same order are what make our numbers equal dlib's.

Layout, everywhere in this package: one row per sample. Codes are (N, D) float arrays,
factors (N, F) integer arrays. dlib keeps the transpose, (D, N) and (F, N); its callers
transpose at the boundary (`dlib_backend`, the reference tests).
"""

from __future__ import annotations

import copy
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from bench.errors import BenchError

RepresentationFunction = Callable[[np.ndarray], np.ndarray]
"""Observations (n, *observation_shape) -> codes (n, D); deterministic (e.g. an encoder's mean)."""


@runtime_checkable
class GroundTruthData(Protocol):
    """A two-step generative model: factors ~ p(y), observations ~ p(x | y)."""

    @property
    def num_factors(self) -> int: ...

    @property
    def factors_num_values(self) -> Sequence[int]: ...

    @property
    def observation_shape(self) -> Sequence[int]: ...

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Integer factors, (num, num_factors)."""
        ...

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        """float32 observations in [0, 1], (len(factors), *observation_shape)."""
        ...

    def sample(self, num: int, random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        """Factors first, then observations from them: the draw order dlib's metrics expect."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sample(num, random_state)[1]


def as_random_state(random_state: int | np.random.RandomState) -> np.random.RandomState:
    """dlib's metrics take a legacy RandomState; an int seeds a fresh one."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, (int, np.integer)):
        return np.random.RandomState(int(random_state))
    raise BenchError(f"random_state must be an int seed or numpy.random.RandomState, got {type(random_state).__name__}")


def fresh_random_state(random_state: int | np.random.RandomState) -> np.random.RandomState:
    """The stream one metric starts from when several run in turn (`compute_all`): dlib's
    study evaluates each metric with its own `RandomState(seed)`, so each metric starts from
    the same state, not where the previous one left off. A RandomState passed in is copied,
    never advanced."""
    if isinstance(random_state, np.random.RandomState):
        return copy.deepcopy(random_state)
    return as_random_state(random_state)


def check_ground_truth(ground_truth_data) -> GroundTruthData:
    """The object itself if it has every `GroundTruthData` attribute, else a one-line BenchError."""
    if not isinstance(ground_truth_data, GroundTruthData):
        missing = [name for name in ("num_factors", "factors_num_values", "observation_shape", "sample_factors",
                                     "sample_observations_from_factors", "sample", "sample_observations")
                   if not hasattr(ground_truth_data, name)]
        raise BenchError(f"{type(ground_truth_data).__name__} is not ground-truth data: it lacks {', '.join(missing)}")
    return ground_truth_data


def encode(representation_function: RepresentationFunction, observations: np.ndarray) -> np.ndarray:
    """Codes (n, D) for a batch, with the shape checked once here instead of in every metric."""
    codes = np.asarray(representation_function(observations))
    if codes.ndim != 2 or codes.shape[0] != len(observations):
        raise BenchError(
            f"representation function must map {len(observations)} observations to codes of shape "
            f"({len(observations)}, D), got {codes.shape}"
        )
    if not np.isfinite(codes).all():
        raise BenchError("representation function returned NaN or infinite codes")
    return codes


def sample_codes_and_factors(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """`num_points` i.i.d. (codes (N, D), factors (N, F)) pairs, drawn `batch_size` at a time.

    The batching is part of the result, not only of the speed: each batch is one
    `sample(n, random_state)` call, so the random stream (and therefore the points) match
    dlib's `generate_batch_factor_code` only at the same batch size (16 by default there
    for MIG, DCI, SAP and modularity).
    """
    if num_points < 1 or batch_size < 1:
        raise BenchError(f"num_points and batch_size must be positive, got {num_points} and {batch_size}")
    codes, factors = [], []
    done = 0
    while done < num_points:
        n = min(num_points - done, batch_size)
        batch_factors, observations = ground_truth_data.sample(n, random_state)
        factors.append(np.asarray(batch_factors))
        codes.append(encode(representation_function, observations))
        done += n
    return np.concatenate(codes), np.concatenate(factors)


def check_codes_factors(codes, factors, what: str = "codes and factors") -> tuple[np.ndarray, np.ndarray]:
    """(N, D) float codes and (N, F) factors with one N, else a one-line BenchError."""
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise BenchError(f"{what}: expected (N, D) codes and (N, F) factors, got {codes.shape} and {factors.shape}")
    if len(codes) < 2:
        raise BenchError(f"{what}: need at least 2 samples, got {len(codes)}")
    if not np.isfinite(codes).all():
        raise BenchError(f"{what}: codes contain NaN or infinite values")
    return codes, factors


def sample_train_test(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    num_train: int,
    num_test: int,
    random_state: np.random.RandomState,
    batch_size: int = 16,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A training sample, then a test sample from the same random stream, as dlib's
    DCI, SAP and modularity draw theirs: ((codes, factors), (codes, factors))."""
    train = sample_codes_and_factors(ground_truth_data, representation_function, num_train, random_state, batch_size)
    test = sample_codes_and_factors(ground_truth_data, representation_function, num_test, random_state, batch_size)
    return train, test
