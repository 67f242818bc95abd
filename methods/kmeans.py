"""k-means as a module: sklearn fits the centres, a buffer keeps them in checkpoints,
and assignment is a nearest-centre lookup on the model's device."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

from bench.tracking import progress


class KMeansHead(nn.Module):
    def __init__(self, n_clusters: int, dim: int, n_init: int = 10):
        super().__init__()
        self.n_clusters, self.n_init = n_clusters, n_init
        self.register_buffer("centers", torch.zeros(n_clusters, dim))

    def fit(self, features: torch.Tensor) -> None:
        # seeded from numpy's global state, which the runner seeds per run
        seed = int(np.random.randint(2**31 - 1))
        km = KMeans(self.n_clusters, n_init=self.n_init, random_state=seed)
        points = features.detach().to(self.centers.dtype).cpu().numpy()
        with progress.stage(f"k-means, K={self.n_clusters}, {self.n_init} inits, {len(points)} x {points.shape[1]}"):
            km.fit(points)
        self.centers.copy_(torch.from_numpy(km.cluster_centers_).to(self.centers))

    def assign(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cdist(features.to(self.centers.dtype), self.centers).argmin(dim=1)
