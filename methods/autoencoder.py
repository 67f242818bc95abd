"""The LatentGAN-AE paper's conv autoencoder and latent-GAN MLPs, one spec per table
(Kalwar, Aich & Dixit, "LatentGAN Autoencoder", arXiv:2204.02010).

Table 2 (MNIST 1x32x32, 64-d latent), Table 3 (3D chairs 1x64x64, 128-d latent) and
Table 4 (CelebA 3x32x32, 128-d latent) differ only in these specs. Encoders: 4x4
stride-2 convs with ReLU down to 1x1, then a linear layer to the latent. Decoders: a ReLU
on the latent, bilinear upsampling x4 then x2 with 3x3 convs + BN + ReLU, tanh output.
(The tables print 3 output channels for MNIST's decoder; we output the image's channels.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.methods.gan import fp32
from bench.methods.nets import build


@dataclass(frozen=True)
class Architecture:
    image_shape: tuple[int, int, int]
    latent: int
    encoder_channels: tuple[int, ...]  # 4x4 stride-2 convs, each halving the size
    decoder_channels: tuple[int, ...]  # 3x3 convs after each upsampling (x4 first, then x2)
    d_widths: tuple[int, ...]  # the D/Q trunk's hidden layers
    g_widths: tuple[int, ...]  # G's hidden layers

    def encoder_spec(self) -> list[str]:
        convs = [f"conv {c} k4 s2 relu" for c in self.encoder_channels]
        return [*convs, "flatten", f"fc {self.latent}"]

    def decoder_spec(self) -> list[str]:
        spec = [f"reshape {self.latent} 1 1", "relu"]
        for i, c in enumerate(self.decoder_channels):
            spec += [f"up s{4 if i == 0 else 2}", f"conv {c} k3 s1 p1 bn relu"]
        return [*spec, "up s2", f"conv {self.image_shape[0]} k3 s1 p1 tanh"]

    def d_trunk_spec(self) -> list[str]:
        return [f"fc {w} relu" for w in self.d_widths]

    def generator_spec(self) -> list[str]:
        return [*(f"fc {w} relu" for w in self.g_widths), f"fc {self.latent}"]


ARCHITECTURES = {
    "table2_mnist32": Architecture((1, 32, 32), 64, (16, 32, 64, 128, 128), (128, 64, 32),
                                   (1000, 1000, 512), (1000, 1000, 1000)),
    "table3_chairs64": Architecture((1, 64, 64), 128, (64, 128, 256, 512, 1024, 128), (512, 256, 128, 64),
                                    (3000, 3000, 3000, 512), (3000, 3000, 3000, 3000)),
    "table4_rgb32": Architecture((3, 32, 32), 128, (64, 128, 256, 512, 128), (512, 256, 128),
                                 (3000, 3000, 3000, 512), (3000, 3000, 3000, 3000)),
}


# the `architecture` setting's choices, checked by bench.config before anything is built
ArchitectureName = Literal[tuple(ARCHITECTURES)]


def architecture(name: str, image_shape) -> Architecture:
    arch = ARCHITECTURES[name]
    if tuple(image_shape) != arch.image_shape:
        fits = [n for n, a in ARCHITECTURES.items() if a.image_shape == tuple(image_shape)]
        hint = f"; --set architecture={fits[0]} takes them" if fits else "; no architecture here takes them"
        shape = "x".join(map(str, arch.image_shape))
        raise BenchError(f"architecture {name} takes {shape} images, not {'x'.join(map(str, image_shape))}{hint}")
    return arch


class ConvAutoencoder(nn.Module):
    """Enc: image -> latent; Dec: latent -> image; trained with pixel MSE."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.encoder = build(arch.encoder_spec(), arch.image_shape)
        self.decoder = build(arch.decoder_spec(), (arch.latent,))
        assert self.decoder.out_shape == arch.image_shape, (self.decoder.out_shape, arch.image_shape)

    def forward(self, x):
        """Dec(Enc(x))."""
        return self.decoder(self.encoder(x))

    def reconstruction_loss(self, x):
        return F.mse_loss(fp32(self(x)), x)
