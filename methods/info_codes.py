"""InfoGAN-style latent codes: noise, a categorical code and continuous codes, drawn
through `bench.rng` (so seeds trained as one batched step each draw their own), and the
generator's input vector made of them."""

from __future__ import annotations

import torch

from bench import rng


def sample_codes(n: int, noise_dim: int, n_categories: int, n_continuous: int, device,
                 noise: str = "uniform", generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """noise ~ U(-1, 1) or N(0, I); categorical ~ Cat(K); continuous ~ U(-1, 1)."""

    def uniform(*shape):
        return rng.rand(*shape, generator=generator, device=device) * 2 - 1

    if noise == "uniform":
        z = uniform(n, noise_dim)
    elif noise == "normal":
        z = rng.randn(n, noise_dim, generator=generator, device=device)
    else:
        raise ValueError(f"noise must be 'uniform' or 'normal', got {noise!r}")
    return {
        "noise": z,
        "categorical": rng.randint(n_categories, (n,), generator=generator, device=device),
        "continuous": uniform(n, n_continuous),
    }


def one_hot(index: torch.Tensor, n_categories: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot rows, like `F.one_hot(index, n).to(dtype)` but without its range check, which
    reads a GPU value on the host (a CUDA graph cannot hold that)."""
    out = torch.zeros(index.shape[0], n_categories, dtype=dtype, device=index.device)
    return out.scatter(1, index[:, None], 1.0)  # out of place: seed-batched steps vmap this


def generator_input(codes: dict[str, torch.Tensor], n_categories: int) -> torch.Tensor:
    """[noise, one-hot(categorical), continuous], the generator's input vector."""
    onehot = one_hot(codes["categorical"], n_categories, codes["noise"].dtype)
    return torch.cat([codes["noise"], onehot, codes["continuous"]], dim=1)
