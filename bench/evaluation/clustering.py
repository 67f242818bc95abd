"""Unsupervised clustering scores: accuracy under a cluster->class mapping, NMI, ARI.

Three mappings, because the papers use them:
- "hungarian": one-to-one (scipy's linear_sum_assignment on the contingency table);
  with more clusters than classes, the unmatched clusters count as errors.
- "many_to_one": each cluster takes its majority class; with K = classes it can only be
  >= the Hungarian score.
- "most confident" (`most_confident_labels`): each cluster takes the class of the one
  labelled image its model is most confident belongs to it, the AAE paper's protocol for
  K = 16 or 30; it needs the model's cluster probabilities on labelled images.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

MAPPINGS = ("hungarian", "many_to_one")


def cluster_accuracy(y_true, y_pred, mapping: str = "hungarian") -> float:
    """Fraction of samples whose cluster maps to their class, under the best mapping."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"expected two 1-d arrays of one length, got {y_true.shape} and {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("cannot score an empty clustering")
    table = contingency_matrix(y_pred, y_true)  # clusters x classes
    if mapping == "hungarian":
        rows, cols = linear_sum_assignment(table, maximize=True)
        correct = table[rows, cols].sum()
    elif mapping == "many_to_one":
        correct = table.max(axis=1).sum()
    else:
        raise ValueError(f"unknown mapping {mapping!r}; expected one of {MAPPINGS}")
    return float(correct) / len(y_true)


def hungarian_matching(y_true, y_pred) -> list[list[int]]:
    """[[cluster, class], ...] sorted by cluster: the one-to-one mapping that "accuracy"
    scores, so figures can put the cluster that stands for digit d in row d. Clusters
    left unmatched (more clusters than classes) or never predicted are absent."""
    clusters, y_pred = np.unique(np.asarray(y_pred), return_inverse=True)
    classes, y_true = np.unique(np.asarray(y_true), return_inverse=True)
    table = contingency_matrix(y_pred, y_true)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return sorted([int(clusters[r]), int(classes[c])] for r, c in zip(rows, cols))


def clustering_scores(y_true, y_pred) -> dict:
    """Everything a run record stores about a clustering of labelled data."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        "accuracy": cluster_accuracy(y_true, y_pred, "hungarian"),
        "accuracy_many_to_one": cluster_accuracy(y_true, y_pred, "many_to_one"),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        "clusters_used": int(len(np.unique(y_pred))),
        "matching": hungarian_matching(y_true, y_pred),
    }


def most_confident_labels(probabilities, labels) -> np.ndarray:
    """Per cluster k: the label of the image with the highest probability of cluster k."""
    return np.asarray(labels)[np.asarray(probabilities).argmax(axis=0)]


def accuracy_with_labels(cluster_labels, y_true, y_pred) -> float:
    """Accuracy when cluster k means class cluster_labels[k]."""
    return float(np.mean(np.asarray(cluster_labels)[np.asarray(y_pred)] == np.asarray(y_true)))
