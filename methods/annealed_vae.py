"""AnnealedVAE (Burgess et al., "Understanding disentangling in beta-VAE", 2018), as
disentanglement-lib builds it (`methods/unsupervised/vae.py`, `AnnealedVAE`).

loss = reconstruction + gamma * |KL - C|, the capacity C raised linearly from 0 at step 0
to c_max at `iteration_threshold` and held there: C = min(c_max, c_max * step /
iteration_threshold), the step counted before the update as TensorFlow's global step is.
The step is a buffer the loss advances, so a resumed run continues the schedule and a
CUDA-graph replay advances it.

The study (and Burgess et al. on dSprites) anneal over 100,000 of 300,000 steps, a third
of training. Preset `smoke` and `quick` keep that third (166 of 500 steps, 666 of 2,000) so
that their runs see the whole schedule; `--set iteration_threshold=N` for any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import NonNegativeFloat, PositiveInt
from bench.methods.beta_vae import DLIB_STUDY, BetaVAE, DlibVAEConfig
from bench.registry import register_method


@register_method("annealed_vae")
class AnnealedVAE(BetaVAE):
    """VAE + gamma * |KL - C|, C annealed linearly to c_max (dlib's AnnealedVAE)."""

    @dataclass
    class Config(DlibVAEConfig):
        gamma: NonNegativeFloat = 1000.0  # the study's, fixed
        c_max: NonNegativeFloat = 25.0  # dlib's study grid: 5, 10, 25, 50, 75, 100
        iteration_threshold: PositiveInt = 100_000  # the study's, fixed

    presets = {"paper": DLIB_STUDY, "smoke": {"iteration_threshold": 500 // 3},
               "quick": {"iteration_threshold": 2000 // 3}}

    def __init__(self, config: Config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))

    def capacity(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """C at the current step (before this step's update)."""
        cfg = self.config
        return torch.clamp(self.step.to(dtype) * (cfg.c_max / cfg.iteration_threshold), max=cfg.c_max)

    def regularizer(self, kl, post, z):
        c = self.capacity(kl.dtype)
        self.step.add_(1)
        return {"regularizer": self.config.gamma * (kl - c).abs(), "capacity": c}
