"""k-means (k=10) on raw pixels: no training, the floor every method must beat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.config import PositiveInt
from bench.methods.base import Method
from bench.methods.kmeans import KMeansHead
from bench.registry import register_method


@register_method("kmeans_pixels")
class KMeansPixels(Method):
    """k-means on the flattened [-1, 1] pixels of the training images (sklearn, k-means++)."""

    trains_by_gradient = False

    @dataclass
    class Config:
        n_clusters: PositiveInt = 10
        n_init: PositiveInt = 10

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        self.kmeans = KMeansHead(config.n_clusters, int(np.prod(self.image_shape)), config.n_init)

    def fit(self, train_x):
        self.kmeans.fit(train_x.flatten(1))

    def embed(self, x):
        return x.flatten(1)

    def cluster(self, x):
        return self.kmeans.assign(x.flatten(1))
