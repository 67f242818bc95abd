"""Feeds a trained method real images in large batches and scores its clustering."""

from __future__ import annotations

import contextlib

import torch

from bench.datasets.base import ImageDataset, to_float
from bench.evaluation.clustering import clustering_scores
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
    split. At a `step` during training its progress bars vanish when done (the training bar
    goes on); the final evaluation's stay."""
    out = {}
    at = f" at step {step}" if step is not None else ""
    for split, x, y in (("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)):
        pred = predict_clusters(method, x, batch_size, f"evaluate {split}{at}", leave=step is None)
        out[split] = {**clustering_scores(y.cpu().numpy(), pred.numpy()), "n": int(len(y))}
    return out
