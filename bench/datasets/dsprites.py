"""dSprites-style ground-truth-factor images, rendered on demand (nothing to download), and
disentanglement-lib's two procedural variants of them, `color_dsprites` and `noisy_dsprites`.

DeepMind's dSprites factors minus its constant colour: shape (square, ellipse, heart),
scale (6 values in [0.5, 1]), orientation (40 angles in [0, 2pi)), posX and posY (32 values
each in [0, 1]); 64x64 binary images, white shape on black.

The long form (readings, departures, history): docs/notes.md, `bench.datasets.dsprites`."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.errors import BenchError
from bench.registry import register_dataset

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
IMAGE_SIZE = 64

SCALES = torch.linspace(0.5, 1.0, 6, dtype=torch.float64)
ORIENTATIONS = torch.arange(40, dtype=torch.float64) * (2 * math.pi / 40)  # 2pi excluded
POSITIONS = torch.linspace(0.0, 1.0, 32, dtype=torch.float64)

# Shape geometry in "shape units": one unit is HALF_SIDE pixels at scale 1.
HALF_SIDE = 9.6  # the scale-1 square's half side: 0.15 of the canvas
# Square: max(|u|, |v|) <= 1, area 4.
# Ellipse: semi-axes ELL_A x ELL_B with pi * a * b = 4.
ELL_A = 1.5
ELL_B = 4.0 / (math.pi * ELL_A)
# Heart: a diamond (a square of side t turned 45 degrees, tip down) plus two discs of
# diameter t on its two upper edges; area t^2 (1 + pi/4) = 4.
_T = 2.0 / math.sqrt(1.0 + math.pi / 4.0)
HEART_D = _T / math.sqrt(2.0)  # diamond: |u| + |w| <= HEART_D
HEART_M = _T / (2.0 * math.sqrt(2.0))  # disc centres (+-M, M): the upper edges' midpoints
HEART_R = _T / 2.0
# The discs' outer halves add area pi t^2 / 4 with centroid height M + (4R / 3pi) / sqrt(2);
# the diamond's centroid is 0, so the heart's centroid is HEART_CY above the diamond centre.
HEART_CY = (math.pi * _T**2 / 4.0) * (HEART_M + 4.0 * HEART_R / (3.0 * math.pi) / math.sqrt(2.0)) / 4.0

# The farthest any shape's pixel gets from its centroid, in shape units: the ellipse's ELL_A,
# the square's sqrt(2), the heart's tip HEART_D + HEART_CY (about 1.39) or its lobes.
MAX_RADIUS = max(
    ELL_A,
    math.sqrt(2.0),
    HEART_D + HEART_CY,
    math.hypot(HEART_M, HEART_M - HEART_CY) + HEART_R,
)
# A sprite is 32x32 with the centroid at the centre of its pixel (16, 16); a position
# index k puts the sprite's top-left corner at canvas pixel k, so the centroid at 16 + k.
SPRITE = 32
SPRITE_CENTRE = 16
# dSprites' convention: the position range leaves a margin so the largest shape never clips;
# here it stays clear of the sprite's own edge, hence of the canvas's outermost pixels.
assert MAX_RADIUS * HALF_SIDE < SPRITE - 1 - SPRITE_CENTRE
assert (FACTOR_SIZES[3] - 1) + SPRITE <= IMAGE_SIZE

CHUNK = 4096  # images per scatter: bounds the (chunk, 1024) int64 index to 32 MB

DSPRITES_SEED = 20240601  # the fixed sample behind the registered dataset
TRAIN_SIZE, TEST_SIZE = 60_000, 10_000

_SPRITE_INDEX = (torch.arange(SPRITE)[:, None] * IMAGE_SIZE + torch.arange(SPRITE)).flatten()


def _check_factors(factors) -> torch.Tensor:
    f = torch.as_tensor(factors)
    if f.dim() != 2 or f.shape[1] != len(FACTOR_SIZES):
        raise BenchError(f"dsprites factors must be (N, {len(FACTOR_SIZES)}), got {tuple(f.shape)}")
    if f.is_floating_point() or f.is_complex() or f.dtype == torch.bool:
        raise BenchError(f"dsprites factors are integer indices, got {f.dtype}")
    f = f.long().cpu()
    if len(f):
        sizes = torch.tensor(FACTOR_SIZES)
        bad = ((f < 0) | (f >= sizes)).any(0)
        if bad.any():
            i = int(bad.nonzero()[0])
            raise BenchError(
                f"dsprites factor {FACTOR_NAMES[i]} must be in [0, {FACTOR_SIZES[i]}), "
                f"got values in [{int(f[:, i].min())}, {int(f[:, i].max())}]"
            )
    return f


def factor_values(factors) -> torch.Tensor:
    """float64 (N, 5) real values: shape index (categorical), scale, angle (radians), x, y."""
    f = _check_factors(factors)
    return torch.stack(
        [f[:, 0].double(), SCALES[f[:, 1]], ORIENTATIONS[f[:, 2]], POSITIONS[f[:, 3]], POSITIONS[f[:, 4]]],
        dim=1,
    )


def _inside(shape: int, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """bool (n, 32, 32): which sprite pixel centres fall inside `shape`, for per-sprite
    cos(angle) / (scale * HALF_SIDE) in `c` and the matching sin in `s`."""
    d = torch.arange(SPRITE, dtype=torch.float32) - SPRITE_CENTRE
    dx, dy = d[None, :], -d[None, :]  # pixel offsets: columns right-positive, rows up-positive
    # Shape coordinates: the offset turned back by the shape's angle, in shape units.
    cx, sx = (c[:, None] * dx)[:, None, :], (s[:, None] * dx)[:, None, :]
    cy, sy = (c[:, None] * dy)[:, :, None], (s[:, None] * dy)[:, :, None]
    if shape == 0:
        u, v = (cx + sy).abs_(), (cy - sx).abs_()
        return torch.maximum(u, v).le_(1.0)
    if shape == 1:
        u = (cx + sy).mul_(1.0 / ELL_A)
        v = (cy - sx).mul_(1.0 / ELL_B)
        return u.mul_(u).add_(v.mul_(v)).le_(1.0)
    u = (cx + sy).abs_()
    w = (cy + HEART_CY) - sx  # measured from the diamond centre
    diamond = (u + w.abs()).le_(HEART_D)
    du, dw = u.sub_(HEART_M), w.sub_(HEART_M)
    lobes = du.mul_(du).add_(dw.mul_(dw)).le_(HEART_R**2)
    return diamond.logical_or_(lobes)


@functools.lru_cache(maxsize=None)
def _sprites() -> torch.Tensor:
    """uint8 (3 * 6 * 40, 32 * 32) in {0, 255}: every (shape, scale, orientation), rendered once
    per process (a few ms); indexed by (shape * 6 + scale) * 40 + orientation. Read-only."""
    inv = 1.0 / (SCALES[:, None] * HALF_SIDE)  # pixels -> shape units, (6, 1)
    c = (torch.cos(ORIENTATIONS) * inv).flatten().float()  # (240,), scale-major
    s = (torch.sin(ORIENTATIONS) * inv).flatten().float()
    masks = torch.cat([_inside(shape, c, s) for shape in range(len(SHAPES))])
    return masks.flatten(1).to(torch.uint8).mul_(255)


def render(factors) -> torch.Tensor:
    """uint8 (N, 1, 64, 64) in {0, 255} for integer factor indices (N, 5), on the CPU."""
    f = _check_factors(factors)
    n_scale, n_orient = FACTOR_SIZES[1], FACTOR_SIZES[2]
    sprite = (f[:, 0] * n_scale + f[:, 1]) * n_orient + f[:, 2]
    corner = (f[:, 4] * IMAGE_SIZE + f[:, 3])[:, None]  # posY picks the row, posX the column
    out = torch.zeros((len(f), IMAGE_SIZE * IMAGE_SIZE), dtype=torch.uint8)
    table = _sprites()
    for i in range(0, len(f), CHUNK):
        j = slice(i, i + CHUNK)
        out[j].scatter_(1, corner[j] + _SPRITE_INDEX, table[sprite[j]])
    return out.view(len(f), 1, IMAGE_SIZE, IMAGE_SIZE)


class DSprites:
    """The ground-truth-data interface of disentanglement_lib (`GroundTruthData`), so its
    metrics can consume this directly; observations are channel-first (1, 64, 64)."""

    num_factors = len(FACTOR_SIZES)
    factors_num_values = list(FACTOR_SIZES)
    factor_names = list(FACTOR_NAMES)
    observation_shape = (1, IMAGE_SIZE, IMAGE_SIZE)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """int64 (num, 5), each factor uniform over its values (one randint per factor, as dlib)."""
        factors = np.zeros((num, self.num_factors), dtype=np.int64)
        for i, size in enumerate(self.factors_num_values):
            factors[:, i] = random_state.randint(size, size=num)
        return factors

    def sample_observations_from_factors(self, factors, random_state=None) -> np.ndarray:
        """float32 (num, 1, 64, 64) in {0, 1}; rendering is deterministic, random_state unused."""
        return render(np.asarray(factors, dtype=np.int64)).numpy().astype(np.float32) / 255.0

    def sample(self, num: int, random_state: np.random.RandomState):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sample(num, random_state)[1]

    render = staticmethod(render)
    factor_values = staticmethod(factor_values)


class ColorDSprites(DSprites):
    """dlib's ColorDSprites: the sprite in a random colour, uniform in [0.5, 1] per channel."""

    observation_shape = (3, IMAGE_SIZE, IMAGE_SIZE)

    def sample_observations_from_factors(self, factors, random_state) -> np.ndarray:
        white = super().sample_observations_from_factors(factors, random_state)  # (N, 1, 64, 64)
        color = random_state.uniform(0.5, 1, [len(white), 1, 1, 3]).transpose(0, 3, 1, 2)
        return (white * color).astype(np.float32)


class NoisyDSprites(DSprites):
    """dlib's NoisyDSprites: uniform noise in every pixel and channel, the sprite white."""

    observation_shape = (3, IMAGE_SIZE, IMAGE_SIZE)

    def sample_observations_from_factors(self, factors, random_state) -> np.ndarray:
        white = super().sample_observations_from_factors(factors, random_state)
        noise = random_state.uniform(0, 1, [len(white), IMAGE_SIZE, IMAGE_SIZE, 3]).transpose(0, 3, 1, 2)
        return np.minimum(white + noise, 1.0).astype(np.float32)


def split_factors() -> tuple[torch.Tensor, torch.Tensor]:
    """The factor indices behind `load_dsprites`' train and test images (row for row)."""
    g = torch.Generator().manual_seed(DSPRITES_SEED)
    n = TRAIN_SIZE + TEST_SIZE
    f = torch.stack([torch.randint(0, size, (n,), generator=g) for size in FACTOR_SIZES], dim=1)
    return f[:TRAIN_SIZE], f[TRAIN_SIZE:]


@register_dataset("dsprites")
def load_dsprites(root: Path) -> ImageDataset:
    """A fixed uniform sample of factor combinations (root unused: nothing to download);
    labels are the shape, so clustering metrics see three classes."""
    train_f, test_f = split_factors()
    return ImageDataset("dsprites", render(train_f), train_f[:, 0].clone(), render(test_f), test_f[:, 0].clone(),
                        n_classes=3, ground_truth=DSprites())


def render_variant(truth: DSprites, factors: torch.Tensor, random_state: np.random.RandomState) -> torch.Tensor:
    """uint8 (N, C, 64, 64): the variant's observations of `factors`, CHUNK at a time."""
    parts = []
    for i in range(0, len(factors), CHUNK):
        x = truth.sample_observations_from_factors(factors[i : i + CHUNK].numpy(), random_state)
        parts.append(torch.from_numpy(np.rint(x * 255).astype(np.uint8)))
    return torch.cat(parts)


def _variant(name: str, truth: DSprites, seed: int) -> ImageDataset:
    train_f, test_f = split_factors()
    random_state = np.random.RandomState(seed)
    train_x, test_x = render_variant(truth, train_f, random_state), render_variant(truth, test_f, random_state)
    return ImageDataset(name, train_x, train_f[:, 0].clone(), test_x, test_f[:, 0].clone(), n_classes=3,
                        ground_truth=truth)


@register_dataset("color_dsprites")
def load_color_dsprites(root: Path) -> ImageDataset:
    """dSprites' fixed sample, each sprite in a random colour (disentanglement-lib's color_dsprites)."""
    return _variant("color_dsprites", ColorDSprites(), DSPRITES_SEED + 1)


@register_dataset("noisy_dsprites")
def load_noisy_dsprites(root: Path) -> ImageDataset:
    """dSprites' fixed sample on uniform noise (disentanglement-lib's noisy_dsprites)."""
    return _variant("noisy_dsprites", NoisyDSprites(), DSPRITES_SEED + 2)
