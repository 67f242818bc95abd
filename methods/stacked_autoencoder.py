"""The stacked MLP autoencoder that DEC, IDEC and VaDE share (Xie, Girshick & Farhadi 2016:
d-500-500-2000-10 on flattened images, ReLU everywhere but the embedding and the output), and
the two ways their authors pretrain it, as phases in step ranges:

The paper reading and every departure in full: docs/ledger.md, section `stacked_autoencoder`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench import rng
from bench.methods.base import Phase


def hidden_widths(width: int) -> tuple[int, int, int]:
    """The hidden layers for a first width w: (w, w, 4w); DEC's is 500."""
    return (width, width, 4 * width)


@dataclass(frozen=True)
class Pretraining:
    """One reading of the authors' pretraining, resolved from a method's config."""

    mode: str  # "layerwise" | "end_to_end"
    layer_steps: int
    finetune_steps: int
    steps: int  # end_to_end's
    dropout: float
    lr: float
    momentum: float
    decay_every: int  # lr x 0.1 every this many steps of a stage (0: constant)
    momentum_burnin: int  # momentum reached linearly over a stage's first steps (0: at once)

    @property
    def end(self) -> int:
        """The first step after pretraining."""
        return 4 * self.layer_steps + self.finetune_steps if self.mode == "layerwise" else self.steps


READINGS = {  # (lr, momentum, decay_every, momentum_burnin, init, pixel_scale) of each way
    "layerwise": (0.1, 0.9, 20000, 1000, "caffe", 5.1),
    "end_to_end": (1.0, 0.9, 0, 0, "fan_in", 1.0),
}


def pretraining(cfg) -> Pretraining:
    lr, momentum, decay_every, burnin, _, _ = READINGS[cfg.pretrain]
    return Pretraining(cfg.pretrain, cfg.layer_steps, cfg.finetune_steps, cfg.pretrain_steps, cfg.dropout,
                       cfg.pretrain_lr or lr, momentum, decay_every, burnin)


def pixel_scale(cfg) -> float:
    return cfg.pixel_scale if cfg.pixel_scale is not None else READINGS[cfg.pretrain][5]


def dropout(h: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout (Caffe's: kept units x 1/(1-p)), its mask drawn through `bench.rng`."""
    if p <= 0:
        return h
    return h * (rng.rand_like(h) >= p).to(h.dtype) / (1 - p)


def euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The EUCLIDEAN_LOSS of DEC's Caffe: half the squared error averaged over every element
    (its fork divides by the element count, not by the batch as Caffe upstream does)."""
    return 0.5 * (a - b).square().mean()


class StackedAutoencoder(nn.Module):
    """encoders[i]: layer i -> i+1; decoders[i]: layer i+1 -> i (decoders[0] makes the output)."""

    def __init__(self, input_dim: int, latent: int, init: str, hidden=(500, 500, 2000), output: str = "linear"):
        super().__init__()
        dims = [input_dim, *hidden, latent]
        self.dims, self.output = dims, output
        self.encoders = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.decoders = nn.ModuleList(nn.Linear(b, a) for a, b in zip(dims[:-1], dims[1:]))
        for layer in (*self.encoders, *self.decoders):
            initialise(layer, init)

    def encode(self, x: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """The embedding of flattened inputs; with `layers`, of those (weight, bias) instead."""
        layers = layers if layers is not None else [(m.weight, m.bias) for m in self.encoders]
        h = x
        for i, (w, b) in enumerate(layers):
            h = F.linear(h, w, b)
            if i < len(layers) - 1:
                h = F.relu(h)
        return h

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The output layer's pre-activation."""
        h = z
        for i in reversed(range(len(self.decoders))):
            h = self.decoders[i](h)
            if i:
                h = F.relu(h)
        return h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decode_logits(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    # -- DEC's layer-wise pretraining ---------------------------------------------------------
    def layer_loss(self, k: int, x: torch.Tensor, drop: float) -> torch.Tensor:
        """Denoising autoencoder k: reconstruct the (frozen) codes of layers < k from their
        corrupted copy, as DEC's `pretrain.py` builds it."""
        with torch.no_grad():
            h = x
            for layer in self.encoders[:k]:
                h = F.relu(layer(h))
        last = k == len(self.encoders) - 1
        code = self.encoders[k](dropout(h, drop if k else 0.0))
        if not last:
            code = dropout(F.relu(code), drop)
        recon = self.decoders[k](code)
        if k:
            recon = F.relu(recon)
        return euclidean(recon, h)

    def pretraining_phases(self, pre: Pretraining, to_input) -> list[Phase]:
        """The pretraining stage's phases; `to_input` maps the suite's images to the flattened
        inputs on the authors' scale."""
        sgd = dict(optimizer="sgd", momentum=pre.momentum, decay_every=pre.decay_every, lr_decay=0.1,
                   momentum_burnin=pre.momentum_burnin)
        if pre.mode == "end_to_end":
            def loss(x):
                inputs = to_input(x)
                return {"loss": F.mse_loss(self(inputs), inputs)}

            return [Phase("AE", [self.encoders, self.decoders], loss, pre.lr, steps=(0, pre.steps), **sgd)]
        phases, n = [], pre.layer_steps
        for k in range(len(self.encoders)):
            def loss(x, k=k):
                return {"loss": self.layer_loss(k, to_input(x), pre.dropout)}

            phases.append(Phase(f"DAE{k + 1}", [self.encoders[k], self.decoders[k]], loss, pre.lr,
                                steps=(k * n, (k + 1) * n), **sgd))

        def finetune(x):
            inputs = to_input(x)
            return {"loss": euclidean(self(inputs), inputs)}

        start = len(self.encoders) * n
        phases.append(Phase("finetune", [self.encoders, self.decoders], finetune, pre.lr,
                            steps=(start, start + pre.finetune_steps), **sgd))
        return phases


@torch.no_grad()
def initialise(layer: nn.Linear, init: str) -> None:
    """"caffe": N(0, 0.01) (DEC's `inner_init`); "fan_in": U(+-1/sqrt(fan_in)) (DEC-keras'
    VarianceScaling(1/3, fan_in, uniform)); "glorot": Keras' default glorot_uniform (VaDE's
    networks). Biases 0 in all three."""
    if init == "caffe":
        nn.init.normal_(layer.weight, std=0.01)
    elif init == "fan_in":
        bound = 1 / math.sqrt(layer.in_features)
        nn.init.uniform_(layer.weight, -bound, bound)
    elif init == "glorot":
        nn.init.xavier_uniform_(layer.weight)
    else:
        raise ValueError(f"unknown init {init!r}")
    nn.init.zeros_(layer.bias)
