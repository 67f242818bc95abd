"""What the VAE family (`beta_vae` and disentanglement-lib's models built on it, `vae_gan`,
`vae_infogan`) shares: the conv encoder with a diagonal-Gaussian posterior, its KL to the
N(0, I) prior, the decoder, and the adapter base that turns them into a method (codes,
reconstructions, clustering, per-latent KL).

The paper reading and every departure in full: docs/ledger.md, section `vae`."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from bench import rng
from bench.datasets.base import to_float
from bench.errors import BenchError
from bench.methods import info_codes
from bench.methods.base import CodeSpec, Method
from bench.methods.gan import fp32
from bench.methods.kmeans import KMeansHead
from bench.methods.nets import build

ENCODERS = {
    (32, 32): ["conv 32 k4 s2 relu", "conv 32 k4 s2 relu", "conv 64 k2 s2 relu", "flatten", "fc 256 relu"],
    (64, 64): ["conv 32 k4 s2 relu", "conv 32 k4 s2 relu", "conv 64 k2 s2 relu", "conv 64 k2 s2 relu",
               "flatten", "fc 256 relu"],
}
DECODERS = {  # the last layer (deconv to the image's channels, tanh) is added by `decoder`
    (32, 32): ["fc 256 relu", "fc 1024 relu", "reshape 64 4 4", "deconv 32 k4 s2 relu", "deconv 32 k4 s2 relu"],
    (64, 64): ["fc 256 relu", "fc 1024 relu", "reshape 64 4 4", "deconv 64 k4 s2 relu", "deconv 32 k4 s2 relu",
               "deconv 32 k4 s2 relu"],
}
# the prior is N(0, 1): sweeps and traversals run over +-2 standard deviations
CODE_RANGE = (-2.0, 2.0)


def checked_size(name: str, image_shape) -> tuple[int, int]:
    size = tuple(image_shape[1:])
    if size not in ENCODERS:
        sizes = ", ".join(f"{a}x{b}" for a, b in ENCODERS)
        raise BenchError(f"{name} has architectures for {sizes} images, not {size[0]}x{size[1]}")
    return size


class Posterior(NamedTuple):
    mean: torch.Tensor  # (N, latent)
    std: torch.Tensor  # (N, latent)
    logits: torch.Tensor | None  # (N, K) of q(c|x), or None without a categorical code
    log_var: torch.Tensor | None = None  # (N, latent), what a log-variance encoder outputs

    def log_variance(self) -> torch.Tensor:
        """log std^2: the encoder's own output where it has one, else from the scale."""
        return self.log_var if self.log_var is not None else 2 * torch.log(self.std)


def gaussian_kl(mean: torch.Tensor, std: torch.Tensor, log_var: torch.Tensor | None = None) -> torch.Tensor:
    """KL(N(mean, std^2) || N(0, 1)) per latent dimension, (N, latent); from the log-variance
    when the encoder outputs one (dlib's formula, exact where exp(log_var / 2) would underflow)."""
    if log_var is not None:
        return 0.5 * (mean.square() + log_var.exp() - log_var - 1)
    return 0.5 * (mean.square() + std.square() - 1) - torch.log(std)


def categorical_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(logits) || Uniform(K)) per image, (N,)."""
    log_q = F.log_softmax(logits, dim=1)
    return (log_q.exp() * log_q).sum(dim=1) + math.log(logits.shape[1])


def gumbel_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """A relaxed one-hot sample of softmax(logits); its noise is drawn through `bench.rng`."""
    u = rng.rand_like(logits)
    gumbel = -torch.log(-torch.log(u + 1e-10) + 1e-10)
    return F.softmax((logits + gumbel) / temperature, dim=1)


class VariationalMethod(Method):
    """Base of the VAE family: `encoder` (x -> posterior) and `decoder` ([z, c] -> image).

    `n_info` latents (the last ones) are the generator's continuous codes in `code_spec`;
    the rest are its noise. Subclasses add `phases()`."""

    generates = True
    reconstructs = True
    variational = True
    temperature = 1.0  # of the relaxed categorical sample (a subclass with one sets it)

    def __init__(self, config, image_shape, latent: int, n_info: int, n_categories: int = 0,
                 log_var: bool = False, logits_decoder: bool = False):
        super().__init__(config, image_shape)
        c = self.image_shape[0]
        size = checked_size(self.name, self.image_shape)
        if not 0 <= n_info <= latent:
            raise BenchError(f"{self.name}: info latents must be between 0 and latent={latent}, got {n_info}")
        self.latent, self.n_info, self.n_categories = latent, n_info, n_categories
        self.code_spec = CodeSpec(n_categories, n_info, CODE_RANGE, latent - n_info)
        self.log_var_posterior, self.logits_decoder = log_var, logits_decoder
        self.encoder = build([*ENCODERS[size], f"fc {2 * latent + n_categories}"], self.image_shape)
        last = f"deconv {c} k4 s2" + ("" if logits_decoder else " tanh")
        self.decoder = build([*DECODERS[size], last], (latent + n_categories,))
        # without a categorical code, real images are clustered by k-means on posterior means
        self.kmeans = None if n_categories else KMeansHead(config.n_clusters, latent)

    # -- posterior, sampling, decoding -----------------------------------------------------
    def posterior(self, x: torch.Tensor) -> Posterior:
        out = self.encoder(x)
        n = self.latent
        logits = out[:, 2 * n:] if self.n_categories else None
        if self.log_var_posterior:
            log_var = out[:, n : 2 * n]
            return Posterior(out[:, :n], torch.exp(0.5 * log_var), logits, log_var)
        return Posterior(out[:, :n], F.softplus(out[:, n : 2 * n]) + 1e-5, logits)

    def sample_posterior(self, post: Posterior) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z ~ q(z|x) reparameterised, a relaxed sample of q(c|x) at `temperature`, or None)."""
        z = post.mean + post.std * rng.randn_like(post.std)
        c = gumbel_softmax(post.logits, self.temperature) if post.logits is not None else None
        return z, c

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The image in [-1, 1]: the tanh decoder's output, or a Bernoulli decoder's mean."""
        out = self.decoder(z if c is None else torch.cat([z, c], dim=1))
        return torch.tanh(0.5 * out) if self.logits_decoder else out

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """With `logits_decoder`: the Bernoulli logits of each pixel being white."""
        return self.decoder(z)

    def kl_terms(self, post: Posterior) -> dict[str, torch.Tensor]:
        """{"kl": the total KL per image, batch mean} (+ "kl_cat", the categorical part)."""
        log_var = fp32(post.log_var) if post.log_var is not None else None
        kl = gaussian_kl(fp32(post.mean), fp32(post.std), log_var).sum(dim=1).mean()
        if post.logits is None:
            return {"kl": kl}
        kl_cat = categorical_kl(fp32(post.logits)).mean()
        return {"kl": kl + kl_cat, "kl_cat": kl_cat}

    def prior_sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(z ~ N(0, I), one-hot c ~ Cat(K) or None, c's index or None), drawn through `bench.rng`."""
        z = rng.randn(n, self.latent, device=self.device, dtype=self._dtype)
        if not self.n_categories:
            return z, None, None
        index = rng.randint(self.n_categories, (n,), device=self.device)
        return z, info_codes.one_hot(index, self.n_categories, z.dtype), index

    @property
    def _dtype(self) -> torch.dtype:
        return next(self.decoder.parameters()).dtype

    # -- the generator's codes (code_spec: noise = the first latents, continuous = the last n_info)
    def sample_codes(self, n, generator=None):
        z = rng.randn(n, self.latent, generator=generator, device=self.device, dtype=self._dtype)
        if self.n_categories:
            index = rng.randint(self.n_categories, (n,), generator=generator, device=self.device)
        else:  # no categorical code: index 0 everywhere (what traversal grids pass)
            index = torch.zeros(n, dtype=torch.long, device=self.device)
        return self._codes(z, index)

    def _codes(self, z, index):
        split = self.latent - self.n_info
        return {"noise": z[:, :split], "continuous": z[:, split:], "categorical": index}

    def generate(self, codes):
        z = torch.cat([codes["noise"], codes["continuous"]], dim=1)
        c = info_codes.one_hot(codes["categorical"], self.n_categories, z.dtype) if self.n_categories else None
        return self.decode(z, c)

    def posterior_codes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The codes of real images: posterior means (and argmax q(c|x)), so that
        generate(posterior_codes(x)) == reconstruct(x)."""
        post = self.posterior(x)
        index = post.logits.argmax(dim=1) if post.logits is not None else torch.zeros(
            len(x), dtype=torch.long, device=x.device)
        return self._codes(post.mean, index)

    def to_latent(self, x):
        """The decoder's input for x: the posterior mean [and one-hot argmax q(c|x)]."""
        codes = self.posterior_codes(x)
        z = torch.cat([codes["noise"], codes["continuous"]], dim=1)
        if not self.n_categories:
            return z
        return torch.cat([z, info_codes.one_hot(codes["categorical"], self.n_categories, z.dtype)], dim=1)

    def from_latent(self, z):
        return self.decode(z)  # the one-hot code, if any, is already part of z

    # -- what the measurements read ----------------------------------------------------------
    def latent_kl(self, x: torch.Tensor) -> torch.Tensor:
        """KL(q(z_j|x) || N(0, 1)) of each Gaussian latent j, (N, latent)."""
        post = self.posterior(x)
        return gaussian_kl(post.mean, post.std, post.log_var)

    def latent_groups(self) -> dict[str, list[int]]:
        """Named groups of latent indices, for the per-latent KL figure."""
        return {"latent": list(range(self.latent))}

    # -- clustering and embedding -------------------------------------------------------------
    def embed(self, x):
        post = self.posterior(x)
        return post.mean if post.logits is None else torch.cat([post.mean, post.logits.softmax(dim=1)], dim=1)

    def cluster(self, x):
        post = self.posterior(x)
        if post.logits is not None:
            return post.logits.argmax(dim=1)
        return self.kmeans.assign(post.mean)

    def after_training(self, train_x):  # the trainer calls it in eval mode, under no_grad
        if self.kmeans is None:
            return
        n = 2000
        means = [self.posterior(to_float(train_x[i : i + n]).to(self.device)).mean for i in range(0, len(train_x), n)]
        self.kmeans.fit(torch.cat(means))
