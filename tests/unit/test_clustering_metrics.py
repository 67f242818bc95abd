"""Known-answer tests for the clustering scores."""

import itertools

import numpy as np
import pytest

from bench.evaluation.clustering import cluster_accuracy, clustering_scores


def brute_force_accuracy(y_true, y_pred, k):
    """Best accuracy over every one-to-one relabelling of k clusters onto k classes."""
    best = 0
    for perm in itertools.permutations(range(k)):
        best = max(best, np.mean(np.array(perm)[y_pred] == y_true))
    return best


def test_a_permuted_perfect_clustering_scores_one():
    y = np.repeat(np.arange(10), 7)
    relabel = np.random.default_rng(0).permutation(10)
    scores = clustering_scores(y, relabel[y])
    assert scores["accuracy"] == 1.0
    assert scores["accuracy_many_to_one"] == 1.0
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["clusters_used"] == 10
    assert scores["matching"] == sorted([int(relabel[d]), d] for d in range(10))  # cluster -> the digit it is


def test_the_matching_leaves_out_surplus_clusters():
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([5, 5, 2, 2, 7])  # cluster 7 holds one image of digit 1: matched to nothing
    assert clustering_scores(y_true, y_pred)["matching"] == [[2, 1], [5, 0]]


@pytest.mark.parametrize("seed", range(25))
def test_hungarian_equals_brute_force_on_small_random_cases(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    n = int(rng.integers(5, 40))
    y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(brute_force_accuracy(y_true, y_pred, k))


def test_known_small_case():
    # clusters 0->class 1 (3 of 4), 1->class 0 (2 of 2); one-to-one: 5/6
    y_true = np.array([1, 1, 1, 0, 0, 0])
    y_pred = np.array([0, 0, 0, 0, 1, 1])
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)


def test_everything_in_one_cluster_scores_the_majority_class_share():
    y_true = np.array([0] * 6 + [1] * 3 + [2] * 1)
    y_pred = np.zeros(10, dtype=int)
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(0.6)
    scores = clustering_scores(y_true, y_pred)
    assert scores["nmi"] == pytest.approx(0.0)
    assert scores["ari"] == pytest.approx(0.0)


def test_more_clusters_than_classes_one_to_one_versus_many_to_one():
    # 4 clusters over 2 classes, each cluster pure: many-to-one is perfect, while
    # one-to-one can match only 2 clusters
    y_true = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 2, 3])
    assert cluster_accuracy(y_true, y_pred, "many_to_one") == 1.0
    assert cluster_accuracy(y_true, y_pred, "hungarian") == pytest.approx(6 / 8)


def test_many_to_one_is_never_below_one_to_one():
    rng = np.random.default_rng(7)
    for _ in range(20):
        y_true, y_pred = rng.integers(0, 10, 200), rng.integers(0, 16, 200)
        assert cluster_accuracy(y_true, y_pred, "many_to_one") >= cluster_accuracy(y_true, y_pred)


def test_cluster_ids_need_not_be_contiguous():
    y_true = np.array([0, 0, 1, 1])
    assert cluster_accuracy(y_true, np.array([7, 7, 42, 42])) == 1.0


def test_random_clustering_scores_near_chance():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 20000), rng.integers(0, 10, 20000)
    scores = clustering_scores(y_true, y_pred)
    assert scores["accuracy"] < 0.13
    assert abs(scores["ari"]) < 0.01
    assert scores["nmi"] < 0.01


@pytest.mark.parametrize(
    "y_true, y_pred, mapping",
    [([0, 1], [0], "hungarian"), ([], [], "hungarian"), ([0, 1], [0, 1], "best")],
)
def test_bad_input_is_rejected(y_true, y_pred, mapping):
    with pytest.raises(ValueError):
        cluster_accuracy(np.array(y_true), np.array(y_pred), mapping)


def test_most_confident_labelling_takes_each_clusters_surest_image():
    from bench.evaluation.clustering import accuracy_with_labels, most_confident_labels

    probabilities = np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.2, 0.8, 0.0]])
    labels = most_confident_labels(probabilities, [3, 5, 7, 5])
    assert labels.tolist() == [3, 5, 7]  # cluster 0's surest image is the first (label 3), ...
    assert accuracy_with_labels(labels, [3, 3, 7, 5], [0, 1, 2, 1]) == 0.75
