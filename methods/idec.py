"""IDEC (Guo, Gao, Liu & Yin, "Improved Deep Embedded Clustering with Local Structure
Preservation", IJCAI 2017), as its authors' code (XifengGuo/IDEC) trains it on MNIST: DEC
whose clustering stage keeps the decoder, minimising gamma x KL(P || Q) + the reconstruction's
mean squared error, so that the embedding keeps the data's local structure.

Everything else is DEC's (`bench.methods.dec`): the authors' code loads the autoencoder that
DEC's Caffe code pretrains layer-wise (the default here; `pretrain=end_to_end` is their
IDEC-toy/DEC-keras reading), k-means centres, the target distribution renewed every
`update_interval` = 140 steps, the stop at `tol` = 0.001. On MNIST their code clusters with
Adam (Keras' defaults: lr 0.001, betas 0.9 / 0.999), gamma 0.1, batch 256, at most 20,000
steps. With the same seed, data and pretraining settings DEC and IDEC pretrain the same
autoencoder, so the trainer shares it (`shared_prefix`): whichever runs second continues from
the first one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F

from bench.config import NonNegativeFloat, PositiveFloat, PositiveInt
from bench.methods.dec import DEC
from bench.registry import register_method


@register_method("idec")
class IDEC(DEC):
    """DEC whose clustering loss adds the autoencoder's reconstruction error."""

    @dataclass
    class Config(DEC.Config):
        gamma: NonNegativeFloat = 0.1  # weight of the clustering loss
        cluster_optimizer: Literal["sgd", "adam"] = "adam"
        cluster_lr: PositiveFloat = 0.001
        update_interval: PositiveInt = 140

    presets = {
        "paper": {**DEC.presets["paper"]},
        "quick": {**DEC.presets["quick"]},
        "smoke": {**DEC.presets["smoke"]},
    }

    def cluster_loss(self, x):
        kl, logged, inputs = self.clustering_terms(x)
        recon = F.mse_loss(self.autoencoder.decode(self.autoencoder.encode(inputs)), inputs)
        return {"loss": self.config.gamma * kl + recon, "kl": kl, "recon": recon, **logged}

    def cluster_trains(self):
        return [self.autoencoder.encoders, self.autoencoder.decoders, self.centers]
