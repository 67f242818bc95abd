"""Baseline: LatentGAN-AE's autoencoder without the latent GAN, then k-means (k=10) on
Enc(x) of the training images. The gap to `latentgan_ae` is what the latent GAN adds."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import Beta, PositiveFloat, PositiveInt
from bench.datasets.base import to_float
from bench.methods.autoencoder import ArchitectureName, ConvAutoencoder, architecture
from bench.methods.base import Method, Phase
from bench.methods.kmeans import KMeansHead
from bench.registry import register_method


@register_method("ae_kmeans")
class AEKMeans(Method):
    """LatentGAN-AE's conv autoencoder (MSE only), then k-means on its latent codes."""

    reconstructs = True

    @dataclass
    class Config:
        architecture: ArchitectureName = "table2_mnist32"
        n_clusters: PositiveInt = 10
        n_init: PositiveInt = 10
        lr: PositiveFloat = 2e-4
        beta1: Beta = 0.5
        beta2: Beta = 0.9
        embed_batch_size: PositiveInt = 2000

    presets = {"paper": {"steps": 50 * 60000 // 128, "batch_size": 128}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        arch = architecture(config.architecture, self.image_shape)
        self.autoencoder = ConvAutoencoder(arch)
        self.kmeans = KMeansHead(config.n_clusters, arch.latent, config.n_init)

    def ae_loss(self, x):
        return {"loss": self.autoencoder.reconstruction_loss(x)}

    def phases(self):
        return [Phase("AE", [self.autoencoder], self.ae_loss, self.config.lr)]

    def after_training(self, train_x):
        n = self.config.embed_batch_size
        codes = torch.cat([self.embed(to_float(train_x[i : i + n])) for i in range(0, len(train_x), n)])
        self.kmeans.fit(codes)

    def to_latent(self, x):
        return self.autoencoder.encoder(x)

    def from_latent(self, z):
        return self.autoencoder.decoder(z)

    def embed(self, x):
        return self.autoencoder.encoder(x)

    def cluster(self, x):
        return self.kmeans.assign(self.embed(x))
