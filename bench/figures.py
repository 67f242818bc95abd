"""Image grids like the papers' figures, drawn from a recorded run's checkpoint.

- categorical grid (LatentGAN-AE Fig. 2): row k = category k, column j = noise sample j
  (the same noise down each column), continuous codes at 0;
- one grid per continuous code (Figs. 3-4): row i = a (category, noise) pair, columns
  sweep that code over [-1.5, 1.5] with the other codes at 0;
- reconstructions (AE methods): rows alternate real test images and Dec(Enc(x)).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

SWEEP = (-1.5, 1.5)


def _save(images: torch.Tensor, path: Path, ncol: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.float().cpu(), path, nrow=ncol, normalize=True, value_range=(-1, 1), padding=2, pad_value=1)
    return path


@torch.no_grad()
def traversal_grids(method, out_dir: Path, stem: str, columns: int = 10, seed: int = 0) -> list[Path]:
    spec = method.code_spec
    method.eval()
    g = torch.Generator(device=next(method.parameters()).device).manual_seed(seed)
    k = max(spec.categorical, 1)
    base = method.sample_codes(columns, generator=g)  # one noise vector per column
    paths = []

    # rows = category, columns = noise
    codes = {
        "noise": base["noise"].repeat(k, 1),
        "categorical": torch.arange(k, device=base["noise"].device).repeat_interleave(columns),
        "continuous": torch.zeros(k * columns, spec.continuous, device=base["noise"].device),
    }
    paths.append(_save(method.generate(codes), out_dir / f"{stem}_categorical.png", columns))

    # one grid per continuous code: rows = (category, noise) pairs, columns = the sweep
    rows = method.sample_codes(k, generator=g)
    rows["categorical"] = torch.arange(k, device=rows["noise"].device)
    values = torch.linspace(*SWEEP, columns, device=rows["noise"].device)
    for j in range(spec.continuous):
        cont = torch.zeros(k * columns, spec.continuous, device=values.device)
        cont[:, j] = values.repeat(k)
        codes = {
            "noise": rows["noise"].repeat_interleave(columns, 0),
            "categorical": rows["categorical"].repeat_interleave(columns),
            "continuous": cont,
        }
        paths.append(_save(method.generate(codes), out_dir / f"{stem}_continuous{j + 1}.png", columns))
    return paths


@torch.no_grad()
def reconstruction_grid(method, images: torch.Tensor, out_dir: Path, stem: str, columns: int = 10) -> Path:
    """`images`: float in [-1, 1]; drawn as pairs of rows (real, reconstruction)."""
    method.eval()
    n = (len(images) // columns) * columns
    real = images[:n]
    recon = method.reconstruct(real)
    pairs = torch.stack([real.view(-1, columns, *real.shape[1:]), recon.view(-1, columns, *real.shape[1:])], 1)
    return _save(pairs.flatten(0, 2), out_dir / f"{stem}_reconstructions.png", columns)
