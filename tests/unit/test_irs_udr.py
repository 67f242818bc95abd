"""Known answers for IRS and UDR (no disentanglement-lib needed; `tox -e dlib` checks them
against dlib's own functions)."""

import itertools

import numpy as np
import pytest

from bench.errors import BenchError
from bench.evaluation.disentanglement import KEYS, compute_irs, compute_udr, irs, udr
from bench.evaluation.disentanglement.synthetic import SyntheticFactors
from bench.evaluation.disentanglement.udr import relative_strength, sample_representations, spearman_matrix

NUM_VALUES = (3, 4, 5)


def grid(repeats: int = 3) -> np.ndarray:
    return np.array(list(itertools.product(*map(range, NUM_VALUES))) * repeats)


# --- IRS ------------------------------------------------------------------------------


def test_irs_is_a_recorded_metric():
    assert "irs" in KEYS


def test_a_code_per_factor_is_perfectly_robust():
    factors = grid()
    result = irs(factors * 0.3 - 1.0, factors)
    assert result["irs"] == pytest.approx(1.0) and result["irs_active_dims"] == 3


def test_codes_that_ignore_the_factors_score_near_zero():
    factors = grid(repeats=300)
    noise = np.random.RandomState(0).uniform(size=(len(factors), 3))
    assert irs(noise, factors)["irs"] < 0.05


def test_irs_ignores_constant_codes_and_is_invariant_to_permuting_them():
    factors = grid()
    rng = np.random.RandomState(1)
    codes = factors + 0.4 * rng.normal(size=factors.shape)
    base = irs(codes, factors)
    with_constant = irs(np.concatenate([codes, np.full((len(codes), 1), 2.5)], axis=1), factors)
    assert with_constant == base  # dropped: the active count and the score are the same
    assert irs(codes[:, ::-1], factors)["irs"] == pytest.approx(base["irs"])
    assert 0.0 < base["irs"] < 1.0
    # codes are averaged weighted by their largest deviation (dlib's weighting): a scaled code weighs more
    assert irs(codes * [1.0, 1.0, 7.0], factors)["irs"] != pytest.approx(base["irs"])


def test_all_constant_codes_score_zero():
    assert irs(np.ones((60, 2)), grid()[:60]) == {"irs": 0.0, "irs_active_dims": 0}


def test_compute_irs_samples_through_the_random_state():
    data = SyntheticFactors(factors_num_values=(3, 5, 8, 10), noise=0.1)
    encoder = data.encoder()
    a = compute_irs(data, encoder, np.random.RandomState(3), num_train=500)
    b = compute_irs(data, encoder, 3, num_train=500)
    assert a == b and 0.0 < a["irs"] <= 1.0
    entangled = compute_irs(data, data.encoder(entanglement=1.0), 3, num_train=500)
    assert entangled["irs"] < a["irs"]


# --- UDR ------------------------------------------------------------------------------


def test_relative_strength_known_answers():
    assert relative_strength(np.eye(4)) == pytest.approx(1.0)
    assert relative_strength(np.ones((4, 4))) == pytest.approx(0.25)  # max^2 / sum = 1/4 everywhere
    assert relative_strength(np.zeros((0, 3))) == 0.0  # no informative latent in one model
    assert relative_strength(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(0.5)  # a zero row/column counts 0


def latents(n=2000, d=4, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


def factorial(repeats=2):
    """Latents on a full factorial grid: exactly uncorrelated columns, in values and in ranks."""
    return np.array(list(itertools.product(range(3), range(4), range(5), range(2))) * repeats, dtype=float)


@pytest.mark.parametrize("correlation, perfect", [("lasso", 0.9), ("spearman", 1.0)])
def test_models_equal_up_to_permutation_sign_and_scale(correlation, perfect):
    """Lasso (alpha 0.1) on standardised, uncorrelated latents gives coefficients 1 - alpha,
    so the relative strength of a permutation matrix of them is 0.9; Spearman's is 1."""
    z = factorial()
    other = -3.0 * z[:, [2, 0, 3, 1]]
    result = udr([z, other], [np.ones(4), np.ones(4)], correlation=correlation)
    assert result["udr"] == pytest.approx([perfect, perfect], abs=1e-12)
    assert result["informative"] == [4, 4]


def test_spearman_sees_monotone_transforms_as_the_same_latent():
    z = factorial()
    assert udr([z, np.exp(z)], [np.ones(4)] * 2, correlation="spearman")["udr"] == pytest.approx([1.0, 1.0])


def test_rotated_latents_score_lower():
    z = latents()
    rotation = np.linalg.qr(np.random.RandomState(5).normal(size=(4, 4)))[0]
    assert max(udr([z, z @ rotation], [np.ones(4)] * 2)["udr"]) < 0.8


def test_uninformative_latents_are_left_out():
    z = factorial()[:, :3]
    noise = np.random.RandomState(9).normal(size=(len(z), 1))
    kl = np.array([1.0, 1.0, 1.0, 0.001])
    a = np.concatenate([z, noise], axis=1)
    b = np.concatenate([z[:, ::-1], -noise], axis=1)
    result = udr([a, b], [kl, kl], correlation="spearman")
    assert result["udr"] == pytest.approx([1.0, 1.0], abs=1e-12) and result["informative"] == [3, 3]
    assert udr([a, b], [np.ones(4)] * 2, correlation="spearman")["udr"][0] < 1.0  # counted, the noise lowers it


def test_a_models_score_is_the_median_of_the_pairs_predicting_it():
    z = latents()
    rotation = np.linalg.qr(np.random.RandomState(5).normal(size=(4, 4)))[0]
    models = [z, z[:, ::-1], z @ rotation]
    result = udr(models, [np.ones(4)] * 3)
    pairwise = result["pairwise"]
    assert np.all(np.diag(pairwise) == 0)
    for i in range(3):
        assert result["udr"][i] == pytest.approx(np.median([pairwise[j, i] for j in range(3) if j != i]))
    assert result["udr"][2] < min(result["udr"][:2])  # the rotated model agrees with neither


def test_spearman_matrix_equals_scipy():
    from scipy.stats import spearmanr

    a, b = latents(200, 3, 1), latents(200, 2, 2)
    expected = np.abs(spearmanr(a, b).statistic[:3, 3:])
    np.testing.assert_allclose(spearman_matrix(a, b), expected, atol=1e-12)


@pytest.mark.parametrize("bad", [
    lambda z: udr([z], [np.ones(4)]),  # one model
    lambda z: udr([z, z[:, :3]], [np.ones(4), np.ones(3)]),  # different D
    lambda z: udr([z, z], [np.ones(4), np.ones(3)]),  # a KL per latent
    lambda z: udr([z, z * np.nan], [np.ones(4)] * 2),
    lambda z: udr([z, z], [np.ones(4)] * 2, correlation="pearson"),
])
def test_udr_refuses_bad_input_in_one_line(bad):
    with pytest.raises(BenchError):
        bad(latents(50))


def test_compute_udr_samples_every_model_on_the_same_observations():
    data = SyntheticFactors(factors_num_values=(3, 5, 8, 10), noise=0.05)
    good, entangled = data.encoder(), data.encoder(entanglement=1.0)

    def with_kl(encoder):
        return lambda x: (encoder(x), np.ones(4))

    functions = [with_kl(good), with_kl(data.encoder(seed=2)), with_kl(entangled)]
    codes, kl = sample_representations(data, functions, np.random.RandomState(0), 10, 100)
    assert [c.shape for c in codes] == [(100, 4)] * 3 and all(k.shape == (4,) for k in kl)
    np.testing.assert_array_equal(codes[0], codes[1])  # the pseudo-inverse does not depend on the seed
    result = compute_udr(data, functions, 0, num_data_points=500)
    again = compute_udr(data, functions, np.random.RandomState(0), num_data_points=500)
    assert result["udr"] == again["udr"] and np.array_equal(result["pairwise"], again["pairwise"])
    assert result["udr"][2] < result["udr"][0]
    with pytest.raises(BenchError, match="multiple"):
        compute_udr(data, functions, 0, batch_size=10, num_data_points=105)
