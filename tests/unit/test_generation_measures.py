"""Known answers for the measures of what a generator draws, as pure functions of arrays:
the classifier's (classes covered, KL to uniform, classifier score, Fréchet distance,
category purity) and VEEGAN's on 2-D mixtures (modes covered, high quality, KL)."""

import math

import numpy as np
import pytest

from bench.datasets.base import load_dataset
from bench.datasets.mixtures import grid_centers, mode_measures, ring_centers
from bench.evaluation.generation import category_purity, class_measures, frechet_distance


def one_hot(classes: np.ndarray, n: int = 10, confidence: float = 1.0) -> np.ndarray:
    p = np.full((len(classes), n), (1 - confidence) / (n - 1))
    p[np.arange(len(classes)), classes] = confidence
    return p


def test_an_even_confident_sample_of_every_class_scores_the_ideal():
    out = class_measures(one_hot(np.arange(1000) % 10))
    assert out["classes_covered"] == 10
    assert out["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert out["classifier_score"] == pytest.approx(10.0)  # exp(log 10): ten equally likely, certain classes


def test_a_generator_of_one_digit_covers_one_class():
    out = class_measures(one_hot(np.full(1000, 3)))
    assert out["classes_covered"] == 1
    assert out["kl_uniform"] == pytest.approx(math.log(10))
    assert out["classifier_score"] == pytest.approx(1.0)


def test_uncertain_samples_score_low_however_even():
    noise = class_measures(np.full((1000, 10), 0.1))  # the classifier cannot tell: every sample uniform
    assert noise["classifier_score"] == pytest.approx(1.0)
    rare = class_measures(one_hot(np.r_[np.zeros(995, int), np.arange(1, 6)]))
    assert rare["classes_covered"] == 1  # five stray samples of a class are not coverage (under 10 % of 100)


def test_frechet_distance_is_zero_for_one_set_and_the_squared_shift_for_a_moved_one():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + np.array([3.0, 0, 0, 0])) == pytest.approx(9.0, rel=1e-6)
    wide = frechet_distance(a, 2 * a)  # same mean, covariance scaled by 4: Tr(S + 4S - 2*2S) = Tr(S)
    assert wide == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-3)


def test_category_purity():
    assert category_purity([np.full(50, 3), np.full(50, 7)]) == 1.0
    assert category_purity([np.r_[np.zeros(30, int), np.ones(20, int)]]) == pytest.approx(0.6)
    assert math.isnan(category_purity([]))


def test_mode_measures_on_the_modes_near_them_and_far_away():
    centers = ring_centers()
    assert centers.shape == (8, 2) and np.allclose(np.linalg.norm(centers.numpy(), axis=1), 2.0)
    on = mode_measures(np.repeat(centers.numpy(), 10, axis=0), centers.numpy(), 0.02)
    assert on == {"modes_covered": 8, "modes": 8, "high_quality": 1.0, "n": 80, "kl_uniform": pytest.approx(0.0)}
    one = mode_measures(np.tile(centers.numpy()[2] + 0.05, (50, 1)), centers.numpy(), 0.02)  # 3.5 std off
    assert one["high_quality"] == 0.0 and one["modes_covered"] == 0 and one["kl_uniform"] is None
    collapsed = mode_measures(np.tile(centers.numpy()[2] + 0.03, (50, 1)), centers.numpy(), 0.02)
    assert collapsed["modes_covered"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(8))


def test_the_mixtures_are_what_their_papers_draw():
    ring = load_dataset("ring2d", "unused")
    assert ring.image_shape == (2,) and ring.n_classes == 8 and ring.std == 0.02
    assert len(ring.train_x) == 100_000 and len(ring.test_x) == 10_000
    drawn = mode_measures(ring.test_x.numpy(), ring.centers.numpy(), ring.std)
    assert drawn["modes_covered"] == 8 and drawn["high_quality"] > 0.98 and drawn["kl_uniform"] < 0.01
    grid = load_dataset("grid2d", "unused")
    assert grid.n_classes == 25 and grid.std == 0.05 and set(grid_centers().flatten().tolist()) == {-4, -2, 0, 2, 4}
    assert mode_measures(grid.test_x.numpy(), grid.centers.numpy(), grid.std)["modes_covered"] == 25
    again = load_dataset("ring2d", "unused")  # drawn from a fixed seed: the same points every time
    assert (again.train_x == ring.train_x).all()
