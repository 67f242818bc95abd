"""Known-answer tests for the disentanglement metrics (no disentanglement-lib needed).

A full factorial grid of factor values makes the factors exactly independent in the
sample, so a code that copies its factor has MI only with that factor and the
"perfect" scores are 1 up to rounding, not merely close to it.
"""

import itertools

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from bench.errors import BenchError
from bench.evaluation.disentanglement import (
    KEYS,
    GroundTruthData,
    compute_all,
    compute_beta_vae,
    compute_factor_vae,
    dci,
    entropy,
    explicitness,
    factor_vae,
    histogram_discretize,
    mig,
    modularity,
    mutual_information,
    sample_codes_and_factors,
    sap,
)

NUM_VALUES = (3, 4, 5)


def grid(repeats: int = 2) -> np.ndarray:
    """Every combination of factor values, `repeats` times: (repeats * 60, 3) integers."""
    return np.array(list(itertools.product(*map(range, NUM_VALUES))) * repeats)


class TinyFactors(GroundTruthData):
    """Independent uniform factors; the observation is each factor scaled to [0, 1], plus
    `noise_dims` pure-noise coordinates. An identity encoder is then a perfect code."""

    def __init__(self, noise_dims: int = 0):
        self.noise_dims = noise_dims

    num_factors = len(NUM_VALUES)
    factors_num_values = list(NUM_VALUES)

    @property
    def observation_shape(self):
        return [self.num_factors + self.noise_dims]

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(v, size=num) for v in NUM_VALUES], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        scaled = factors / (np.array(NUM_VALUES) - 1.0)
        noise = random_state.uniform(size=(len(factors), self.noise_dims))
        return np.concatenate([scaled, noise], axis=1).astype(np.float32)


def identity(x):
    return x


def noise_code(x):
    """A code that ignores the factors: the observation's noise coordinates only."""
    return x[:, len(NUM_VALUES):]


# --- mutual information -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_mutual_information_equals_sklearn(seed):
    rng = np.random.RandomState(seed)
    n = rng.randint(2, 400)
    a = rng.randint(-3, rng.randint(1, 25), size=(n, 4)) * 7  # negative, sparse labels
    b = rng.randint(0, rng.randint(1, 12), size=(n, 3)) + 100
    a[:, 0] = 5  # a single-valued column: MI is 0 by definition
    b[:, 1] = a[:, 2]  # an identical column: MI is the entropy
    got = mutual_information(a, b)
    want = np.array([[mutual_info_score(b[:, j], a[:, i]) for j in range(3)] for i in range(4)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    want_h = [mutual_info_score(b[:, j], b[:, j]) for j in range(3)]
    np.testing.assert_allclose(entropy(b), want_h, rtol=0, atol=1e-10)


def test_histogram_discretize_is_numpys_histogram_then_digitize():
    rng = np.random.RandomState(0)
    codes = rng.normal(size=(500, 3)).astype(np.float32)
    codes[:, 1] = 2.5  # constant: one bin
    got = histogram_discretize(codes, 20)
    for d in range(3):
        edges = np.histogram(codes[:, d], 20)[1]
        np.testing.assert_array_equal(got[:, d], np.digitize(codes[:, d], edges[:-1]))
    assert got.min() == 1 and got.max() == 20 and len(np.unique(got[:, 1])) == 1


# --- perfect codes ------------------------------------------------------------------


def perfect_codes(factors):
    """Code i is an invertible monotone map of factor i (one decreasing, one curved, all
    mild enough that dlib's 20 histogram bins still keep every value apart)."""
    return np.stack([3.0 * factors[:, 0] + 1.0, -0.5 * factors[:, 1], factors[:, 2] + 0.1 * factors[:, 2] ** 2], axis=1)


def test_mig_and_modularity_of_a_perfect_code_are_one():
    factors = grid()
    codes = perfect_codes(factors)
    assert mig(codes, factors)["mig"] == pytest.approx(1.0, abs=1e-12)
    assert modularity(codes, factors)["modularity"] == pytest.approx(1.0, abs=1e-12)


def test_dci_of_a_perfect_code_is_one():
    factors = grid()
    codes = perfect_codes(factors)
    scores = dci(codes, factors, codes, factors)
    assert scores["dci_disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert scores["dci_completeness"] == pytest.approx(1.0, abs=1e-6)
    assert scores["dci_informativeness"] == 1.0


def test_sap_and_explicitness_of_a_perfect_code_are_high():
    factors = grid(3)
    codes = perfect_codes(factors).astype(np.float64)
    # SAP's one-feature linear SVM cannot carve 3-5 classes out of one code (about
    # 2/3, 1/2, 2/5 accurate against 1/3, 1/4, 1/5 for the other codes), so a perfect
    # code scores about 0.3, not 1: SAP has no fixed maximum.
    assert sap(codes, factors, codes, factors)["sap"] > 0.25
    assert explicitness(codes, factors, codes, factors)["explicitness"] > 0.99


def test_beta_vae_and_factor_vae_of_a_perfect_code_are_one():
    data = TinyFactors()
    small = dict(batch_size=16, num_train=200, num_eval=100)
    assert compute_beta_vae(data, identity, 0, **small)["beta_vae"] == 1.0
    scores = compute_factor_vae(data, identity, 0, num_variance_estimate=500, **small)
    assert scores["factor_vae"] == 1.0 and scores["factor_vae_active_dims"] == 3


def test_factor_vae_prunes_collapsed_codes():
    data = TinyFactors(noise_dims=2)

    def collapsed_first(x):  # two near-constant codes before the real ones
        return np.concatenate([1e-3 * x[:, 3:], x[:, :3]], axis=1)

    scores = compute_factor_vae(data, collapsed_first, 0, batch_size=16, num_train=200, num_eval=100,
                                num_variance_estimate=500)
    assert scores["factor_vae_active_dims"] == 3
    assert scores["factor_vae"] == 1.0


# --- codes that ignore the factors ----------------------------------------------------


def test_scores_of_a_random_code_are_near_zero():
    rng = np.random.RandomState(0)
    factors = np.stack([rng.randint(v, size=3000) for v in NUM_VALUES], axis=1)
    codes = rng.normal(size=(3000, 4))
    # MI of independent variables is estimated at about (bins-1)(values-1)/(2N) nats,
    # < 0.013 here, and MIG divides the gap between two such estimates by H >= 1.09.
    assert mig(codes, factors)["mig"] < 0.01
    # Every code predicts every factor at chance (SAP's balanced SVM); the gaps are noise.
    assert sap(codes[:2000], factors[:2000], codes[2000:], factors[2000:])["sap"] < 0.05


def test_dci_of_a_random_code_is_near_zero():
    rng = np.random.RandomState(1)
    factors = rng.randint(2, size=(400, 2))
    codes = rng.normal(size=(400, 4))
    scores = dci(codes[:300], factors[:300], codes[300:], factors[300:])
    # Boosted trees overfit noise, but spread over all codes and factors alike.
    assert scores["dci_disentanglement"] < 0.15
    assert scores["dci_completeness"] < 0.15
    assert abs(scores["dci_informativeness"] - 0.5) < 0.15  # chance for binary factors


def test_sampling_metrics_of_a_random_code_are_at_chance():
    data = TinyFactors(noise_dims=3)
    small = dict(batch_size=16, num_train=300, num_eval=300)
    chance = 1 / data.num_factors
    assert abs(compute_beta_vae(data, noise_code, 0, **small)["beta_vae"] - chance) < 0.12
    # Majority vote over 3 codes x 3 factors wins a little more than chance on pure noise.
    fvae = compute_factor_vae(data, noise_code, 0, num_variance_estimate=300, **small)["factor_vae"]
    assert abs(fvae - chance) < 0.12


def test_factor_vae_from_votes():
    votes = np.array([[8, 0, 1], [2, 9, 0], [0, 1, 3]])  # code j -> factor argmax, column by column
    scores = factor_vae(votes, votes)
    assert scores["factor_vae"] == pytest.approx((8 + 9 + 3) / votes.sum())


# --- invariance to the order of codes ---------------------------------------------------


def entangled(n: int, seed: int):
    rng = np.random.RandomState(seed)
    factors = np.stack([rng.randint(v, size=n) for v in NUM_VALUES], axis=1)
    mix = rng.normal(size=(3, 5))
    codes = factors @ mix + 0.7 * rng.normal(size=(n, 5))
    return codes, factors


def test_permuting_codes_leaves_every_array_score_unchanged():
    codes, factors = entangled(900, 0)
    perm = np.array([3, 0, 4, 2, 1])
    tr, te = slice(0, 600), slice(600, None)

    def scores(c):
        return {
            **mig(c, factors),
            **modularity(c, factors),
            **sap(c[tr], factors[tr], c[te], factors[te]),
            **explicitness(c[tr], factors[tr], c[te], factors[te]),
            **dci(c[tr][:300], factors[tr][:300], c[te], factors[te]),
        }

    base, permuted = scores(codes), scores(codes[:, perm])
    assert base.keys() == permuted.keys()
    for key in base:
        # Boosted trees break exact ties (two codes splitting a small node the same way)
        # by a random feature order, which a permutation changes: DCI moves by ~1e-3.
        tolerance = 5e-3 if key.startswith("dci") else 1e-6
        assert permuted[key] == pytest.approx(base[key], abs=tolerance), key


def test_permuting_codes_leaves_sampling_scores_unchanged():
    data = TinyFactors(noise_dims=1)
    perm = np.array([2, 3, 0, 1])

    def mixed(x):
        return x @ np.array([[1.0, 0.3, 0.0, 0.1], [0.2, 1.0, 0.1, 0.0], [0.0, 0.5, 1.0, 0.2], [0.4, 0.0, 0.3, 1.0]])

    small = dict(batch_size=8, num_train=150, num_eval=100)
    for compute, key, extra in ((compute_beta_vae, "beta_vae", {}),
                                (compute_factor_vae, "factor_vae", {"num_variance_estimate": 200})):
        a = compute(data, mixed, 3, **small, **extra)[key]
        b = compute(data, lambda x: mixed(x)[:, perm], 3, **small, **extra)[key]
        assert a == pytest.approx(b, abs=1e-9), key


# --- sampling, the flat record, errors --------------------------------------------------


def test_sampling_draws_batches_in_order_and_returns_rows_per_sample():
    data = TinyFactors()
    codes, factors = sample_codes_and_factors(data, identity, 50, np.random.RandomState(0), batch_size=16)
    assert codes.shape == (50, 3) and factors.shape == (50, 3)
    np.testing.assert_allclose(codes, factors / (np.array(NUM_VALUES) - 1.0), atol=1e-7)
    rs = np.random.RandomState(0)
    first = data.sample_factors(16, rs)
    np.testing.assert_array_equal(factors[:16], first)


def test_compute_all_is_one_flat_deterministic_record():
    data = TinyFactors()
    settings = {
        "beta_vae": dict(batch_size=8, num_train=60, num_eval=30),
        "factor_vae": dict(batch_size=8, num_train=60, num_eval=30, num_variance_estimate=100),
        "mig": dict(num_train=200),
        "dci": dict(num_train=100, num_test=50),
        "sap": dict(num_train=200, num_test=100),
        "modularity_explicitness": dict(num_train=200, num_test=100),
    }
    first = compute_all(data, identity, 0, settings=settings)
    assert tuple(first) == KEYS and all(isinstance(v, float) for v in first.values())
    assert first["mig"] > 0.9 and first["factor_vae"] == 1.0
    assert compute_all(data, identity, np.random.RandomState(0), settings=settings) == first
    with pytest.raises(BenchError, match="unknown disentanglement metric"):
        compute_all(data, identity, 0, settings={"nope": {}})
    with pytest.raises(BenchError, match="is not ground-truth data: it lacks num_factors"):
        compute_all(object(), identity, 0)


def test_bad_inputs_are_one_line_bench_errors():
    with pytest.raises(BenchError, match="expected \\(N, D\\) codes"):
        mig(np.zeros((10, 2)), np.zeros((9, 2), dtype=int))
    with pytest.raises(BenchError, match="at least 2 code dimensions"):
        mig(np.zeros((10, 1)), np.zeros((10, 2), dtype=int))
    with pytest.raises(BenchError, match="NaN or infinite"):
        mig(np.full((10, 2), np.nan), np.zeros((10, 2), dtype=int))
    with pytest.raises(BenchError, match="representation function"):
        sample_codes_and_factors(TinyFactors(), lambda x: x[:, 0], 10, np.random.RandomState(0))
    with pytest.raises(BenchError, match="random_state"):
        compute_beta_vae(TinyFactors(), identity, "0")


def test_dlib_backend_without_dlib_says_how_to_install():
    pytest.importorskip("bench.evaluation.disentanglement.dlib_backend")
    try:
        import disentanglement_lib.evaluation.metrics.mig  # noqa: F401
    except Exception:
        pass
    else:
        pytest.skip("disentanglement-lib is installed here")
    from bench.evaluation.disentanglement.dlib_backend import compute_all_dlib

    with pytest.raises(BenchError, match="^metrics backend 'dlib' needs disentanglement-lib.*install it with: ") as err:
        compute_all_dlib(TinyFactors(), identity, 0)
    assert "\n" not in str(err.value)
