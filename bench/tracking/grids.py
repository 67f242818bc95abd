"""The image grids a trained method draws, as tensors with what their rows and columns
mean: `bench plot` frames them as figures (`bench.report.figures`) and the trackers log
them while a run trains (`bench.tracking`), so both show the same grids.

The long form (readings, departures, history): docs/notes.md, `bench.tracking.grids`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torchvision.utils import make_grid

SWEEP = (-1.5, 1.5)  # past the prior's [-1, 1], as the papers' figures sweep
PADDING = 2


@dataclass
class Grid:
    """`images` (rows x columns, C, H, W), float in [-1, 1] on the host, with labels."""

    name: str  # file suffix and tag: categorical, continuous1, samples, reconstructions
    images: torch.Tensor
    columns: int
    title: str
    xlabel: str = ""
    ylabel: str = ""
    row_labels: list[str] = field(default_factory=list)
    column_labels: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.images) // self.columns

    def picture(self) -> torch.Tensor:
        """The grid as one (C, H, W) image in [0, 1] with white padding, as torchvision draws it."""
        images = ((self.images.float().clamp(-1, 1) + 1) / 2).cpu()
        return make_grid(images, nrow=self.columns, padding=PADDING, pad_value=1.0)


def category_rows(k: int, matching: list | None) -> list[tuple[int, str]]:
    """(category, row label) per row: the category matched to digit d in row d (by digit),
    then the unmatched ones. Without a matching: Q's own order."""
    if not matching:
        return [(c, f"c={c}") for c in range(k)]
    digit = {int(c): int(d) for c, d in matching if 0 <= int(c) < k}
    matched = sorted(digit, key=lambda c: (digit[c], c))
    rest = [c for c in range(k) if c not in digit]
    return [(c, f"{digit[c]} (c={c})") for c in matched] + [(c, f"— (c={c})") for c in rest]


@contextlib.contextmanager
def _eval_mode(method):
    was_training = method.training
    method.eval()
    try:
        yield
    finally:
        method.train(was_training)


def _device(method) -> torch.device:
    return next(iter(method.parameters()), torch.empty(0)).device


@torch.no_grad()
def traversals(method, matching: list | None = None, columns: int = 10, seed: int = 0) -> list[Grid]:
    """The categorical traversal and one traversal per continuous code (module docstring)."""
    spec = method.code_spec
    device = _device(method)
    g = torch.Generator(device=device).manual_seed(seed)
    k = max(spec.categorical, 1)
    order = category_rows(k, matching) if spec.categorical else [(0, "")]
    categories = torch.tensor([c for c, _ in order], device=device)
    ordered = " by matched digit" if matching and spec.categorical else ""
    grids = []
    with _eval_mode(method):
        base = method.sample_codes(columns, generator=g)  # one noise vector per column
        noise = base["noise"]
        codes = {"noise": noise.repeat(k, 1), "categorical": categories.repeat_interleave(columns),
                 "continuous": torch.zeros(k * columns, spec.continuous, device=device, dtype=noise.dtype)}
        grids.append(Grid(
            "categorical", method.generate(codes).float().cpu(), columns,
            title=(f"categorical code: one row per value (ordered{ordered})" if spec.categorical
                   else "samples at continuous codes 0"),
            xlabel="noise sample (the same down each column)",
            ylabel=("digit (code value)" if ordered else "code value") if spec.categorical else "",
            row_labels=[label for _, label in order], column_labels=[str(j + 1) for j in range(columns)]))

        rows = method.sample_codes(k, generator=g)
        values = torch.linspace(*SWEEP, columns, device=device)
        low, high = spec.continuous_range
        for j in range(spec.continuous):
            cont = torch.zeros(k * columns, spec.continuous, device=device, dtype=rows["noise"].dtype)
            cont[:, j] = values.repeat(k).to(cont.dtype)
            codes = {"noise": rows["noise"].repeat_interleave(columns, 0),
                     "categorical": categories.repeat_interleave(columns), "continuous": cont}
            grids.append(Grid(
                f"continuous{j + 1}", method.generate(codes).float().cpu(), columns,
                title=f"continuous code c{j + 1} swept from {SWEEP[0]:g} to {SWEEP[1]:g} "
                      f"(prior: [{low:g}, {high:g}]), other codes at 0",
                xlabel=f"c{j + 1}", ylabel=("digit (categorical value)" if ordered else "categorical value, noise")
                if spec.categorical else "noise sample",
                row_labels=[label for _, label in order] if spec.categorical else [],
                column_labels=[f"{v:.2g}" for v in values.tolist()]))
    return grids


@torch.no_grad()
def samples(method, n: int = 64, columns: int = 8, seed: int = 0) -> Grid:
    """`n` images from codes drawn from the prior (a fixed seed: the same codes at every step)."""
    g = torch.Generator(device=_device(method)).manual_seed(seed)
    with _eval_mode(method):
        images = method.generate(method.sample_codes(n, generator=g)).float().cpu()
    return Grid("samples", images, columns, title="samples from the prior")


@torch.no_grad()
def reconstructions(method, images: torch.Tensor, columns: int = 10) -> Grid:
    """`images` (float in [-1, 1]) and Dec(Enc(images)) in alternating rows."""
    n = (len(images) // columns) * columns
    real = images[:n].to(_device(method))
    with _eval_mode(method):
        recon = method.reconstruct(real)
    pairs = torch.stack([real.view(-1, columns, *real.shape[1:]), recon.view(-1, columns, *real.shape[1:])], 1)
    return Grid("reconstructions", pairs.flatten(0, 2).float().cpu(), columns,
                title="test images and their reconstructions Dec(Enc(x))",
                row_labels=["x", "Dec(Enc(x))"] * (n // columns))


@torch.no_grad()
def from_real(method, images: torch.Tensor, columns: int = 10) -> Grid:
    """`images`: float in [-1, 1]. Row j: real image j, then generate() of its posterior codes
    with continuous code j swept over `code_spec.continuous_range` in `columns - 1` steps
    (every other code at the image's own)."""
    from bench.errors import BenchError

    spec = method.code_spec
    if spec.continuous == 0:
        raise BenchError(f"{method.name} has no continuous codes to traverse")
    if len(images) < spec.continuous:
        raise BenchError(f"traversals from real images need {spec.continuous} images, got {len(images)}")
    real = images[: spec.continuous].to(_device(method))
    low, high = spec.continuous_range
    rows = []
    with _eval_mode(method):
        codes = method.posterior_codes(real)
        values = torch.linspace(low, high, columns - 1, device=real.device, dtype=codes["continuous"].dtype)
        for j in range(spec.continuous):
            swept = {k: v[j : j + 1].repeat_interleave(columns - 1, 0) for k, v in codes.items()}
            swept["continuous"] = swept["continuous"].clone()
            swept["continuous"][:, j] = values
            rows += [real[j : j + 1], method.generate(swept).to(real.dtype)]
    return Grid("fromreal", torch.cat(rows).float().cpu(), columns,
                title=f"from encoded test images: code j swept over [{low:g}, {high:g}]",
                xlabel="test image, then its code j swept", ylabel="continuous code j",
                row_labels=[f"c{j + 1}" for j in range(spec.continuous)],
                column_labels=["x"] + [f"{v:.2g}" for v in values.tolist()])


@torch.no_grad()
def interpolations(method, first: torch.Tensor, second: torch.Tensor, row_labels: list[str] | None = None,
                   steps: int = 8) -> Grid:
    """`first`, `second`: pairs of images (float in [-1, 1]). Row i: first[i], the decoded
    points of the line from its code to second[i]'s at `steps` evenly spaced t in [0, 1]
    (t = 0 and 1 are the two reconstructions), then second[i]."""
    device = _device(method)
    a, b = first.to(device), second.to(device)
    t = torch.linspace(0, 1, steps, device=device)
    with _eval_mode(method):
        za, zb = method.to_latent(a), method.to_latent(b)
        line = za[:, None] + t.to(za.dtype)[None, :, None] * (zb - za)[:, None]  # (pairs, steps, D)
        decoded = method.from_latent(line.flatten(0, 1)).view(len(a), steps, *a.shape[1:]).to(a.dtype)
    rows = torch.cat([a[:, None], decoded, b[:, None]], dim=1)
    return Grid("interpolations", rows.flatten(0, 1).float().cpu(), steps + 2,
                title="interpolations between encoded test images a and b: Dec((1 - t) Enc(a) + t Enc(b))",
                xlabel="test image a, then t from 0 to 1, then test image b", ylabel="pair (digits a → b)",
                row_labels=row_labels or [str(i + 1) for i in range(len(a))],
                column_labels=["a"] + [f"{v:.2g}" for v in t.tolist()] + ["b"])


def interpolation_pairs(labels: torch.Tensor, different: int = 3, same: int = 3) -> list[tuple[int, int]]:
    """Index pairs of test images: the first `different` pairs of consecutive images of two
    different classes (InfoAE's Fig. 2(c)), then `same` pairs of one class each, among
    other images (its Fig. 2(d)); deterministic."""
    labels = [int(v) for v in labels.tolist()]
    pairs, used = [], set()
    for i in range(len(labels) - 1):
        if len(pairs) == different:
            break
        if labels[i] != labels[i + 1] and not {i, i + 1} & used:
            pairs.append((i, i + 1))
            used |= {i, i + 1}
    seen: dict[int, int] = {}  # class -> its first unused image
    paired: set[int] = set()  # classes with a same-class pair already (one pair per class)
    for i, label in enumerate(labels):
        if len(pairs) == different + same:
            break
        if i in used or label in paired:
            continue
        if label in seen:
            pairs.append((seen[label], i))
            paired.add(label)
        else:
            seen[label] = i
    return pairs


def of_method(method, test_images: torch.Tensor | None = None, matching: list | None = None) -> list[Grid]:
    """Every grid that applies: samples and traversals for a generator, reconstructions of
    the first 50 `test_images` (float in [-1, 1]) for an autoencoder."""
    grids = []
    if method.generates:
        grids += [samples(method), *traversals(method, matching)]
    if method.reconstructs and test_images is not None:
        grids.append(reconstructions(method, test_images[:50]))
    return grids
