"""Morpho-MNIST morphometrics of digit images: thickness, slant, width, height, area, length.

Follows `morphomnist.morpho` / `measure_image` (Castro et al. 2019, github.com/dccastro/Morpho-MNIST)
with their defaults: scale 4, relative threshold 0.5, bound_frac 0.02. Lengths are in pixels
of the *input* image, areas in pixels^2, slant in radians.

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.morphometrics`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage.morphology import skeletonize
from skimage.transform import resize

from bench.errors import BenchError

MORPHOMETRICS = ("thickness", "slant", "width", "height", "area", "length")

# correlated with the skeleton, counts each pixel's links to its E, SW, S and SE neighbours:
# every 8-connected link once, weighted by its length
_LINK_MASK = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [np.sqrt(2.0), 1.0, np.sqrt(2.0)]])


def _as_unit_images(images) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W), torch or numpy, uint8 or float in [-1, 1] -> float64 (N, H, W) in [0, 1]."""
    if hasattr(images, "detach"):  # torch tensor, possibly on an accelerator or in bf16
        images = images.detach().cpu()
        images = (images.double() if images.dtype.is_floating_point else images).numpy()
    x = np.asarray(images)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise BenchError(f"morphometrics need single-channel images, got shape {x.shape}")
        x = x[:, 0]
    if x.ndim != 3:
        raise BenchError(f"morphometrics need images shaped (N, 1, H, W) or (N, H, W), got {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise BenchError(f"morphometrics need uint8 or float images, got {x.dtype}")
    return np.clip((x.astype(np.float64) + 1.0) / 2.0, 0.0, 1.0)


@lru_cache(maxsize=8)
def _upscale_matrices(size: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1-d operators of pyramid_expand along one axis: spline resize (scale*size x size)
    and Gaussian blur (scale*size x scale*size), obtained by applying each to unit vectors."""
    eye = np.eye(size)
    spline = resize(eye, (scale * size, size), order=3, mode="reflect", anti_aliasing=False, clip=False)
    blur = ndi.gaussian_filter1d(np.eye(scale * size), sigma=2 * scale / 6.0, axis=0, mode="reflect", truncate=4.0)
    # float32: half the memory traffic of the batch GEMMs, and ample for 8-bit images
    return spline.astype(np.float32), blur.astype(np.float32)


def _sandwich(rows: np.ndarray, x: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """rows @ x[i] @ cols.T for every image, as two large 2-d GEMMs (numpy's stacked
    matmul with a broadcast operand is ~20x slower)."""
    n, h, w = x.shape
    t = (x.reshape(n * h, w) @ cols.T).reshape(n, h, -1).transpose(0, 2, 1)
    t = (np.ascontiguousarray(t).reshape(-1, h) @ rows.T).reshape(n, -1, rows.shape[0])
    return np.ascontiguousarray(t.transpose(0, 2, 1))


def upscale(x: np.ndarray, scale: int) -> np.ndarray:
    """Batched skimage.transform.pyramid_expand(img, upscale=scale, order=3) of (N, H, W) in [0, 1]."""
    x = x.astype(np.float32)
    if scale == 1:
        return x
    (ah, gh), (aw, gw) = _upscale_matrices(x.shape[1], scale), _upscale_matrices(x.shape[2], scale)
    lo, hi = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    up = np.clip(_sandwich(ah, x, aw), lo, hi)  # resize(clip=True) keeps the input's range before the blur
    up = _sandwich(gh, up, gw)
    # Morpho-MNIST keeps the upscaled image as uint8, truncated: that trims the faint
    # resampling tails, which otherwise move the 1% mass bounds of the width by ~0.3 px
    return np.floor(up * 255, out=up) / 255


def _stroke_measures(binary: np.ndarray, scale: int) -> tuple[float, float]:
    """(thickness, length) of one binary image, on its foreground's bounding box plus a
    1-pixel margin: thinning and the distance to the nearest background are unchanged by
    that crop, and it is 2-3x cheaper than the full upscaled frame."""
    rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, binary.shape[0])
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, binary.shape[1])
    crop = binary[r0:r1, c0:c1]
    skeleton = skeletonize(crop)
    if not skeleton.any():
        return float("nan"), float("nan")
    distance = ndi.distance_transform_edt(crop)
    thickness = 2.0 * distance[skeleton].mean() / scale
    skel = skeleton.astype(np.float64)
    links = ndi.correlate(skel, _LINK_MASK, mode="constant")
    return float(thickness), float((links * skel).sum() / scale)


def _slant_and_box(hires: np.ndarray, scale: int, bound_frac: float) -> np.ndarray:
    """(N, 3) slant, width, height of upscaled grey images (Morpho-MNIST's ImageMoments and
    bounding_parallelogram, vectorised over the batch)."""
    n, h, w = hires.shape
    y, x = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    rows = hires.sum(axis=2, dtype=np.float64)  # (n, h) mass of each row
    row_x = (hires @ x.astype(np.float32)).astype(np.float64)  # (n, h) x-moment of each row
    mass = rows.sum(axis=1)
    mx, my = row_x.sum(axis=1) / mass, rows @ y / mass
    u11 = row_x @ y / mass - mx * my
    u02 = rows @ (y * y) / mass - my * my
    shear = u11 / u02
    slant = np.arctan(-shear)

    # horizontal CDF along the sheared x axis: mass with x + 0.5 - shear * (y - my) < t, for
    # t = 0..w-1, i.e. mass whose bin floor(x + 0.5 - shear * (y - my)) + 1 is <= t; x is an
    # integer, so each row's pixels land in their own column's bin shifted by one offset
    offset = np.floor(0.5 - shear[:, None] * (y[None, :] - my[:, None])).astype(np.int64) + 1  # (n, h)
    bins = np.clip(np.arange(w)[None, None, :] + offset[:, :, None], 0, w) + (w + 1) * np.arange(n)[:, None, None]
    counts = np.bincount(bins.ravel(), weights=hires.ravel(), minlength=n * (w + 1)).reshape(n, w + 1)
    hcdf = np.cumsum(counts, axis=1)[:, :w] / mass[:, None]
    # vertical CDF: mass in rows above t
    vcdf = np.concatenate([np.zeros((n, 1)), np.cumsum(rows, axis=1)[:, :-1]], axis=1) / mass[:, None]

    half = bound_frac / 2
    out = np.empty((n, 3))
    out[:, 0] = slant
    for i in range(n):
        left, right = np.interp([half, 1 - half], hcdf[i], np.arange(w))
        top, bottom = np.interp([half, 1 - half], vcdf[i], np.arange(h))
        out[i, 1], out[i, 2] = (right - left) / scale, (bottom - top) / scale
    return out


def measure(images, scale: int = 4, threshold: float = 0.5, bound_frac: float = 0.02,
            min_contrast: float = 0.1, chunk: int = 256) -> pd.DataFrame:
    """Morphometrics of each image: a DataFrame with one row per image and the columns
    thickness, slant, width, height, area, length (see the module docstring).

    `images`: (N, 1, H, W) or (N, H, W), torch or numpy; uint8 in [0, 255] or float in [-1, 1].
    """
    if scale < 1 or int(scale) != scale:
        raise BenchError(f"morphometrics scale must be a positive integer, got {scale}")
    x = _as_unit_images(images)
    result = np.full((len(x), len(MORPHOMETRICS)), np.nan)
    col = {name: i for i, name in enumerate(MORPHOMETRICS)}
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk]
        contrast = part.max(axis=(1, 2)) - part.min(axis=(1, 2))
        keep = np.flatnonzero(contrast >= min_contrast)
        if not len(keep):
            continue
        hires = upscale(part[keep], scale)
        rows = start + keep
        box = _slant_and_box(hires, scale, bound_frac)
        result[rows, col["slant"]], result[rows, col["width"]], result[rows, col["height"]] = box.T
        lo, hi = hires.min(axis=(1, 2)), hires.max(axis=(1, 2))
        for i, row in enumerate(rows):
            binary = hires[i] >= lo[i] + (hi[i] - lo[i]) * threshold
            result[row, col["area"]] = binary.sum() / scale**2
            result[row, col["thickness"]], result[row, col["length"]] = _stroke_measures(binary, scale)
    return pd.DataFrame(result, columns=list(MORPHOMETRICS))


__all__ = ["MORPHOMETRICS", "measure", "upscale"]
