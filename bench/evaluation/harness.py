"""Feeds a trained method real images in large batches and scores its clustering."""

from __future__ import annotations

import contextlib

import torch

from bench.datasets.base import ImageDataset, to_float
from bench.datasets.mixtures import PointDataset
from bench.evaluation.clustering import accuracy_with_labels, clustering_scores, most_confident_labels
from bench.tracking import progress


@torch.inference_mode()
def apply_in_batches(method, fn, x_uint8: torch.Tensor, batch_size: int, what: str = "",
                     leave: bool = True) -> torch.Tensor:
    """fn(images) over uint8 images in float batches, the method in eval mode; on the host.
    With `what`, a progress bar of that name counts the images."""
    was_training = method.training
    method.eval()
    parts = []
    try:
        with progress.bar(what, len(x_uint8), "img", leave) if what else contextlib.nullcontext() as bar:
            for i in range(0, len(x_uint8), batch_size):
                batch = x_uint8[i : i + batch_size]
                parts.append(fn(to_float(batch)))
                if bar is not None:
                    bar.update(len(batch))
    finally:
        method.train(was_training)
    return torch.cat(parts).cpu()


def predict_clusters(method, x_uint8: torch.Tensor, batch_size: int, what: str = "", leave: bool = True) -> torch.Tensor:
    return apply_in_batches(method, method.cluster, x_uint8, batch_size, what, leave)


def evaluate_clustering(method, data: ImageDataset, batch_size: int = 1000, step: int | None = None) -> dict[str, dict]:
    """Clustering scores on the training images (no labels were used to train) and the test
    split. A method with cluster probabilities also gets `accuracy_most_confident`: each
    cluster labelled by its most confident training image (labels are read for that one
    image per cluster, as the AAE paper labels with held-out images). At a `step` during
    training the progress bars vanish when done (the training bar goes on); the final
    evaluation's stay."""
    splits = {"train": (data.train_x, data.train_y), "test": (data.test_x, data.test_y)}
    at = f" at step {step}" if step is not None else ""
    if method.soft_clusters:
        probabilities = {split: apply_in_batches(method, method.cluster_probabilities, x, batch_size,
                                                 f"evaluate {split}{at}", leave=step is None)
                         for split, (x, _) in splits.items()}
        predictions = {split: p.argmax(dim=1) for split, p in probabilities.items()}
        labels = most_confident_labels(probabilities["train"].numpy(), data.train_y.cpu().numpy())
    else:
        predictions = {split: predict_clusters(method, x, batch_size, f"evaluate {split}{at}", leave=step is None)
                       for split, (x, _) in splits.items()}
    out = {}
    for split, (_, y) in splits.items():
        truth, pred = y.cpu().numpy(), predictions[split].numpy()
        out[split] = {**clustering_scores(truth, pred), "n": int(len(y))}
        if method.soft_clusters:
            out[split]["accuracy_most_confident"] = accuracy_with_labels(labels, truth, pred)
    return out


def evaluate_during_training(method, data: ImageDataset, batch_size: int, step: int, seed: int) -> dict[str, dict]:
    """What the trainer records at a periodic evaluation: the clustering scores, and for a
    generator of 2-D points its samples and mode measures (the unrolled-InfoGAN report's
    Fig. 3 shows such snapshots over training), drawn from their own seeded generator."""
    scores = evaluate_clustering(method, data, batch_size, step)
    if isinstance(data, PointDataset) and method.generates:
        from bench.evaluation.generation import point_samples

        scores["modes"] = point_samples(method, data, seed * 1_000_003 + step)
    return scores
