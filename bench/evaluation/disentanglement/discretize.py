"""Histogram discretisation of codes, and mutual information for every code x factor pair.

The bins are dlib's (`_histogram_discretize`): per code, `np.histogram`'s `num_bins` equal
bins over [min, max], and `np.digitize` against all edges but the last, so labels run
1..num_bins and the maximum falls in the last bin.

dlib then calls sklearn's `mutual_info_score` once per (code, factor) pair in a double
Python loop. Here all D x F contingency tables come out of one sparse product of one-hot
matrices, and the MI of every pair from one pass over the non-zero cells; the numbers are
sklearn's (natural log) to rounding, about 1e-15.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

NUM_BINS = 20


def histogram_discretize(codes: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Integer bin labels (N, D), 1..num_bins, each code binned over its own range."""
    codes = np.asarray(codes)
    out = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram(codes[:, d], num_bins)[1]
        out[:, d] = np.digitize(codes[:, d], edges[:-1])
    return out


def _one_hot(labels: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """One-hot (N, total labels) over all columns, each label's count, and its column's index."""
    n, k = labels.shape
    inverse = np.empty((n, k), dtype=np.int64)
    sizes = np.empty(k, dtype=np.int64)
    for j in range(k):
        _, inverse[:, j] = np.unique(labels[:, j], return_inverse=True)
        sizes[j] = inverse[:, j].max() + 1
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cols = (inverse + offsets).ravel()
    rows = np.repeat(np.arange(n), k)
    onehot = sparse.csr_matrix((np.ones(n * k), (rows, cols)), shape=(n, int(sizes.sum())))
    counts = np.bincount(cols, minlength=int(sizes.sum())).astype(np.float64)
    owner = np.repeat(np.arange(k), sizes)
    return onehot, counts, owner


def mutual_information(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MI in nats between every column of `a` (N, D) and every column of `b` (N, F): (D, F).

    Both are discrete labellings (any integer values); equal to
    `sklearn.metrics.mutual_info_score(b[:, j], a[:, i])` for each pair.
    """
    a, b = np.asarray(a), np.asarray(b)
    n = len(a)
    onehot_a, count_a, owner_a = _one_hot(a)
    onehot_b, count_b, owner_b = _one_hot(b)
    joint = (onehot_a.T @ onehot_b).tocoo()  # all contingency tables, block by block
    nij, r, c = joint.data, joint.row, joint.col
    terms = nij / n * (np.log(nij) + np.log(n) - np.log(count_a[r]) - np.log(count_b[c]))
    num_b = b.shape[1]
    mi = np.bincount(owner_a[r] * num_b + owner_b[c], weights=terms, minlength=a.shape[1] * num_b)
    mi = mi.reshape(a.shape[1], num_b)
    # sklearn: a labelling with one value has MI exactly 0, and rounding never makes it negative.
    single_a = np.bincount(owner_a, minlength=a.shape[1]) == 1
    single_b = np.bincount(owner_b, minlength=num_b) == 1
    mi[single_a, :] = 0.0
    mi[:, single_b] = 0.0
    return np.clip(mi, 0.0, None)


def entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy in nats of each column of `labels` (N, F): dlib's `discrete_entropy`, H(y) = I(y; y)."""
    labels = np.asarray(labels)
    _, counts, owner = _one_hot(labels)
    p = counts / len(labels)
    return -np.bincount(owner, weights=p * np.log(p), minlength=labels.shape[1])
