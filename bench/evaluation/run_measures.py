"""What a finished run measures beyond clustering, each kept in its run record so that
`bench report` can rebuild every table and figure from records alone:

- disentanglement metrics, on datasets whose images come from known factors (dSprites and
  its variants, Shapes3D, an `.npz` file with a factor grid: `ImageDataset.ground_truth`),
  by our implementation or disentanglement-lib's (`--metrics-backend dlib`);
- morphometrics (MNIST, methods with continuous codes): how strongly each code drives
  stroke thickness, slant, width, height, area and length of generated digits;
- a t-SNE layout of `embed(x)` on test images, coloured later by the true label;
- for variational methods, the average KL(q(z_j|x) || N(0, 1)) of each latent j on the
  test images, and the method's groups of latents (e.g. info / incompressible);
- for generators, what they draw (`bench.evaluation.generation`): classes covered, KL to
  uniform, classifier score, Fréchet distance and category purity on MNIST and
  Fashion-MNIST, the modes covered on the 2-D mixtures.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.evaluation.harness import apply_in_batches
from bench.tracking import progress


def check_backend(backend: str) -> None:
    """Fail before any training when the chosen metrics backend (a valid choice, see
    `TrainConfig.metrics_backend`) cannot run here."""
    if backend == "dlib":
        from bench.evaluation.disentanglement.dlib_backend import import_dlib

        import_dlib()


def metric_settings(samples: int) -> dict[str, dict[str, int]]:
    """dlib's study sizes scaled to `samples` training points (10000 is the study's own)."""
    train, test = samples, max(samples // 2, 1)
    return {
        "beta_vae": {"num_train": train, "num_eval": test},
        "factor_vae": {"num_train": train, "num_eval": test, "num_variance_estimate": train},
        "mig": {"num_train": train},
        "dci": {"num_train": train, "num_test": test},
        "sap": {"num_train": train, "num_test": test},
        "modularity_explicitness": {"num_train": train, "num_test": test},
        "irs": {"num_train": train},
    }


def representation(method, device: torch.device, batch_size: int = 1000):
    """observations in [0, 1] (numpy, N x C x H x W) -> method.embed codes (numpy float64)."""

    @torch.inference_mode()
    def encode(observations: np.ndarray) -> np.ndarray:
        method.eval()
        parts = []
        for i in range(0, len(observations), batch_size):
            x = torch.as_tensor(observations[i : i + batch_size], device=device, dtype=torch.float32) * 2 - 1
            parts.append(method.embed(x).float().cpu().numpy())
        return np.concatenate(parts).astype(np.float64)

    return encode


def disentanglement(method, data: ImageDataset, device: torch.device, seed: int, samples: int,
                    backend: str = "bench") -> dict | None:
    """Every disentanglement metric on the dataset's ground-truth view (`data.ground_truth`:
    datasets made from known factors), None for a dataset without one."""
    ground_truth = data.ground_truth
    if ground_truth is None:
        return None
    settings = metric_settings(samples)
    start = time.perf_counter()
    if backend == "dlib":
        from bench.evaluation.disentanglement.dlib_backend import (
            compute_all_dlib as compute,
        )
    else:
        from bench.evaluation.disentanglement import compute_all as compute
    was_training = method.training
    try:
        scores = compute(ground_truth, representation(method, device), seed, settings=settings)
    finally:
        method.train(was_training)
    return {"backend": backend, "metrics": {k: float(v) for k, v in scores.items()},
            "settings": settings, "seconds": round(time.perf_counter() - start, 2)}


def morphometrics(method, dataset: str) -> dict | None:
    """Code sweeps scored by morphometrics, for MNIST generators with continuous codes."""
    if dataset != "mnist" or method.code_spec is None or method.code_spec.continuous == 0:
        return None
    from bench.evaluation.code_sweep import code_sweep

    result = code_sweep(method)
    return {"scores": result.scores.to_dict(orient="records"), "gaps": result.gaps.to_dict(orient="records")}


def reconstruction(method, data: ImageDataset, batch_size: int = 1000) -> dict | None:
    """For autoencoders: the test images' reconstruction MSE (pixels in [-1, 1]) beside two
    baselines that reconstruct nothing, the training images' mean image and a blank image,
    so a decoder that learned nothing reads as such."""
    if not method.reconstructs:
        return None
    test = apply_in_batches(method, lambda x: x, data.test_x, batch_size)
    recon = apply_in_batches(method, method.reconstruct, data.test_x, batch_size).float()
    mean_image = apply_in_batches(method, lambda x: x, data.train_x, batch_size).mean(dim=0, keepdim=True)
    return {"mse": float((recon - test).square().mean()),
            "mean_image_mse": float((mean_image - test).square().mean()),
            "blank_mse": float((-1 - test).square().mean())}


def tsne_layout(method, data: ImageDataset, points: int, seed: int, batch_size: int = 1000) -> dict | None:
    """2-D t-SNE of embed(x) for the first `points` test images (sklearn, PCA init)."""
    if points <= 0:
        return None
    from sklearn.manifold import TSNE

    x, y = data.test_x[:points], data.test_y[:points]
    codes = apply_in_batches(method, lambda batch: method.embed(batch).float(), x, batch_size,
                             what="t-SNE: embed test images").numpy()
    perplexity = min(30.0, max(2.0, (len(codes) - 1) / 3))
    with progress.stage(f"t-SNE of {len(codes)} codes of {codes.shape[1]} dimensions"):
        layout = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)
    return {"x": np.round(layout[:, 0], 3).tolist(), "y": np.round(layout[:, 1], 3).tolist(),
            "label": y.cpu().tolist(), "n": len(codes)}


def latent_kl(method, data: ImageDataset, batch_size: int = 1000) -> dict | None:
    """Per latent: the mean over test images of KL(q(z_j|x) || N(0, 1)); per group of
    latents, the mean of those (the unrolled-InfoGAN report's Fig. 15 compares the info
    latents' with the incompressible ones')."""
    if not method.variational:
        return None
    kl = apply_in_batches(method, lambda batch: method.latent_kl(batch).double(), data.test_x, batch_size)
    per_latent = kl.mean(dim=0)
    groups = method.latent_groups()
    return {"per_latent": [round(float(v), 6) for v in per_latent],
            "groups": {name: list(idx) for name, idx in groups.items()},
            "group_mean": {name: round(float(per_latent[idx].mean()), 6) for name, idx in groups.items()},
            "n": int(len(kl))}


def generation(method, data: ImageDataset, seed: int, samples: int) -> dict | None:
    """What a generator draws (`bench.evaluation.generation.measure`), from a seed of its own."""
    from bench.evaluation.generation import measure

    return measure(method, data, seed, samples)
