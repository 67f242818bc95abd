"""The 2-D mixtures of Gaussians on which unrolled GANs were shown to cover every mode:
`ring2d`, 8 Gaussians of std 0.02 on a circle of radius 2 (Metz, Poole, Pfau &
Sohl-Dickstein 2016, "Unrolled Generative Adversarial Networks", arXiv:1611.02163, the
unrolled-InfoGAN report's Fig. 3), and `grid2d`, 25 Gaussians of std 0.05 on the grid
{-4, -2, 0, 2, 4}^2 (Srivastava et al. 2017, "VEEGAN", arXiv:1705.07761).

Points are drawn once from a fixed seed (100,000 to train on, 10,000 to test), labelled by
their mode, so a GAN trains on them like on images and the clustering measures still apply.
`mode_measures` scores a generator's samples as VEEGAN does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.registry import register_dataset

TRAIN, TEST, SEED = 100_000, 10_000, 0
SAMPLES = 2500  # generated samples scored per measurement (VEEGAN's protocol)
QUALITY_STDS = 3.0  # a sample within 3 std of its nearest mode is a high-quality sample


@dataclass
class PointDataset(ImageDataset):
    """2-D points (float32, N x 2) drawn from a mixture with these `centers` and `std`."""

    centers: torch.Tensor | None = None  # (modes, 2)
    std: float = 0.0


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_centers(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    v = torch.tensor(values, dtype=torch.float64)
    return torch.cartesian_prod(v, v)


def mixture(name: str, centers: torch.Tensor, std: float) -> PointDataset:
    """Equal-weight mixture samples, train and test, from one fixed generator."""
    g = torch.Generator().manual_seed(SEED)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        mode = torch.randint(len(centers), (n,), generator=g)
        points = centers[mode] + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
        return points.float(), mode

    train_x, train_y = draw(TRAIN)
    test_x, test_y = draw(TEST)
    return PointDataset(name, train_x, train_y, test_x, test_y, n_classes=len(centers), centers=centers.float(),
                        std=std)


@register_dataset("ring2d")
def load_ring2d(root: Path) -> PointDataset:
    """8 Gaussians (std 0.02) on a circle of radius 2 (Metz et al. 2016)."""
    return mixture("ring2d", ring_centers(), 0.02)


@register_dataset("grid2d")
def load_grid2d(root: Path) -> PointDataset:
    """25 Gaussians (std 0.05) on the grid {-4, -2, 0, 2, 4}^2 (VEEGAN)."""
    return mixture("grid2d", grid_centers(), 0.05)


def mode_measures(samples: np.ndarray, centers: np.ndarray, std: float,
                  quality_stds: float = QUALITY_STDS) -> dict[str, float]:
    """VEEGAN's measures of generated points: a sample within `quality_stds` std of its
    nearest mode is high quality; a mode is covered when it is the nearest mode of at least
    one high-quality sample. Also KL(histogram of the high-quality samples over modes ||
    uniform), in nats (log of the number of modes when they all sit on one mode; None when
    no sample is high quality)."""
    samples, centers = np.asarray(samples, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= quality_stds * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    out = {"modes_covered": int((counts > 0).sum()), "modes": int(len(centers)),
           "high_quality": float(good.mean()) if len(samples) else math.nan, "n": int(len(samples))}
    if counts.sum():
        share = counts / counts.sum()
        nonzero = share > 0
        out["kl_uniform"] = float(np.sum(share[nonzero] * np.log(share[nonzero] * len(centers))))
    else:
        out["kl_uniform"] = None  # no high-quality sample: no histogram
    return out
