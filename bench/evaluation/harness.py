"""Feeds a trained method real images in large batches and scores its clustering."""

from __future__ import annotations

import torch

from bench.datasets.base import ImageDataset, to_float
from bench.evaluation.clustering import clustering_scores


@torch.inference_mode()
def apply_in_batches(method, fn, x_uint8: torch.Tensor, batch_size: int) -> torch.Tensor:
    """fn(images) over uint8 images in float batches, the method in eval mode; on the host."""
    was_training = method.training
    method.eval()
    try:
        parts = [fn(to_float(x_uint8[i : i + batch_size])) for i in range(0, len(x_uint8), batch_size)]
    finally:
        method.train(was_training)
    return torch.cat(parts).cpu()


def predict_clusters(method, x_uint8: torch.Tensor, batch_size: int) -> torch.Tensor:
    return apply_in_batches(method, method.cluster, x_uint8, batch_size)


def evaluate_clustering(method, data: ImageDataset, batch_size: int = 1000) -> dict[str, dict]:
    """Clustering scores on the training images (no labels were used to train) and the test split."""
    out = {}
    for split, x, y in (("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)):
        pred = predict_clusters(method, x, batch_size)
        out[split] = {**clustering_scores(y.cpu().numpy(), pred.numpy()), "n": int(len(y))}
    return out
