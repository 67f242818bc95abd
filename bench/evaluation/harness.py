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
    split. A method with cluster probabilities also gets each cluster labelled by its most
    confident image (labels are read for that one image per cluster): the AAE paper's
    protocol, `accuracy_most_confident_validation`, where the data holds images out of
    training for it (`valid_x`; their count and the labels under `validation`), and
    `accuracy_most_confident` from the training images. At a `step` during training the
    progress bars vanish when done (the training bar goes on); the final evaluation's stay."""
    splits = {"train": (data.train_x, data.train_y), "test": (data.test_x, data.test_y)}
    held_out = method.soft_clusters and data.valid_x is not None and len(data.valid_x) > 0
    at = f" at step {step}" if step is not None else ""
    labels = {}
    if method.soft_clusters:
        every = {**splits, **({"validation": (data.valid_x, data.valid_y)} if held_out else {})}
        probabilities = {split: apply_in_batches(method, method.cluster_probabilities, x, batch_size,
                                                 f"evaluate {split}{at}", leave=step is None)
                         for split, (x, _) in every.items()}
        predictions = {split: p.argmax(dim=1) for split, p in probabilities.items()}
        labels = {split: most_confident_labels(probabilities[split].numpy(), every[split][1].cpu().numpy())
                  for split in every if split != "test"}
    else:
        predictions = {split: predict_clusters(method, x, batch_size, f"evaluate {split}{at}", leave=step is None)
                       for split, (x, _) in splits.items()}
    out = {}
    for split, (_, y) in splits.items():
        truth, pred = y.cpu().numpy(), predictions[split].numpy()
        out[split] = {**clustering_scores(truth, pred), "n": int(len(y))}
        if "train" in labels:
            out[split]["accuracy_most_confident"] = accuracy_with_labels(labels["train"], truth, pred)
        if "validation" in labels:
            out[split]["accuracy_most_confident_validation"] = accuracy_with_labels(labels["validation"], truth, pred)
    if "validation" in labels:
        out["validation"] = {"n": int(len(data.valid_x)), "cluster_labels": [int(v) for v in labels["validation"]]}
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
