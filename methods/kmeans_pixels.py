"""k-means (k=10) on raw pixels: no training, the floor every method must beat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import KMeans

from bench.registry import register_method
from methods.base import Method


@register_method("kmeans_pixels")
class KMeansPixels(Method):
    """k-means on the flattened [-1, 1] pixels of the training images (sklearn, k-means++)."""

    name = "kmeans_pixels"

    @dataclass
    class Config:
        n_clusters: int = 10
        n_init: int = 10

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        dim = int(np.prod(self.image_shape))
        self.register_buffer("centers", torch.zeros(config.n_clusters, dim))

    @property
    def n_clusters(self) -> int:
        return self.config.n_clusters

    def fit(self, train_x):
        # seeded from numpy's global state, which the trainer seeds per run
        seed = int(np.random.randint(2**31 - 1))
        km = KMeans(self.config.n_clusters, n_init=self.config.n_init, random_state=seed)
        km.fit(train_x.flatten(1).cpu().numpy())
        self.centers.copy_(torch.from_numpy(km.cluster_centers_).to(self.centers))

    def embed(self, x):
        return x.flatten(1)

    def cluster(self, x):
        return torch.cdist(x.flatten(1), self.centers).argmin(dim=1)
