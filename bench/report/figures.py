"""Image grids like the papers' figures, drawn from a recorded run's checkpoint.

- categorical grid (LatentGAN-AE Fig. 2): row k = category k, column j = noise sample j
  (the same noise down each column), continuous codes at 0;
- one grid per continuous code (Figs. 3-4): row i = a (category, noise) pair, columns
  sweep that code over [-1.5, 1.5] with the other codes at 0;
- reconstructions (AE methods): rows alternate real test images and Dec(Enc(x));
- traversals from real images (variational methods; the unrolled-InfoGAN report's Fig. 14):
  row j starts from real test image j, encoded, and sweeps continuous code j;
- the average KL per latent (the report's Fig. 15), drawn from a run record.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from bench.errors import BenchError
from bench.runs.records import variant_label

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


@torch.no_grad()
def real_traversal_grid(method, images: torch.Tensor, out_dir: Path, stem: str, columns: int = 10) -> Path:
    """`images`: float in [-1, 1]. Row j: real image j, then generate() of its posterior codes
    with continuous code j swept over `code_spec.continuous_range` in `columns - 1` steps
    (every other code at the image's own)."""
    spec = method.code_spec
    method.eval()
    if spec.continuous == 0:
        raise BenchError(f"{method.name} has no continuous codes to traverse")
    if len(images) < spec.continuous:
        raise BenchError(f"traversals from real images need {spec.continuous} images, got {len(images)}")
    real = images[: spec.continuous]
    codes = method.posterior_codes(real)
    values = torch.linspace(*spec.continuous_range, columns - 1, device=real.device, dtype=codes["continuous"].dtype)
    rows = []
    for j in range(spec.continuous):
        swept = {k: v[j : j + 1].repeat_interleave(columns - 1, 0) for k, v in codes.items()}
        swept["continuous"] = swept["continuous"].clone()
        swept["continuous"][:, j] = values
        rows += [real[j : j + 1], method.generate(swept).to(real.dtype)]
    return _save(torch.cat(rows), out_dir / f"{stem}_fromreal.png", columns)


def _figure(width: float, height: float):
    """A bare Agg figure (no pyplot state), so the same record always gives the same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save_figure(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})  # no stamp: byte-identical reruns
    return path


GROUP_COLOURS = {"info": "tab:orange", "incompressible": "tab:blue"}


def latent_kl_figure(record: dict, out_dir: Path) -> Path:
    """`out_dir/kl-{run_id}.png`: the record's average KL(q(z_j|x) || N(0, 1)) of each latent
    on test images, coloured by group, each group's mean dashed; and, where the loss history
    logs it per group (`kl_<group>`), that average on the training batches over steps."""
    kl = record["latent_kl"]
    groups = sorted(kl["groups"].items(), key=lambda item: min(item[1]))
    curves = {name: [(row["step"], row[f"kl_{name}"]) for row in record.get("losses") or [] if f"kl_{name}" in row]
              for name, _ in groups}
    curves = {name: points for name, points in curves.items() if points}
    fig = _figure(10.0 if curves else 6.0, 4.2)
    axes = fig.subplots(1, 2 if curves else 1, squeeze=False)[0]
    ax = axes[0]
    for name, idx in groups:
        colour = GROUP_COLOURS.get(name, "tab:gray")
        ax.bar(idx, [kl["per_latent"][j] for j in idx], color=colour, label=f"{name} (mean {kl['group_mean'][name]:.3g})")
        ax.hlines(kl["group_mean"][name], min(idx) - 0.4, max(idx) + 0.4, colors=colour, linestyles="dashed")
    ax.set(xlabel="latent j", ylabel="KL(q(z_j|x) || N(0, 1)), nats",
           title=f"test images (n = {kl['n']})", xticks=range(len(kl["per_latent"])))
    ax.legend(frameon=False, fontsize=8)
    if curves:
        ax = axes[1]
        for name, points in curves.items():
            steps, values = zip(*points)
            ax.plot(steps, values, color=GROUP_COLOURS.get(name, "tab:gray"), label=name)
        ax.set(xlabel="training step", ylabel="KL per latent, nats", title="training batches (logged means)")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"Average KL per latent: {_run_name(record)}, {record.get('dataset', '')}, "
                 f"{record.get('preset', '?')}, seed {record.get('seed', '?')}", fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, Path(out_dir) / f"kl-{record['run_id']}.png")


def _run_name(record: dict) -> str:
    variant = variant_label(record.get("overrides"))
    return record["method"] + (f" [{variant}]" if variant else "")


def tsne_figure(record: dict, out_dir: Path) -> Path:
    """`out_dir/tsne-{run_id}.png`: the record's t-SNE layout of embed(x) on test images,
    one colour per true class. Drawn on a bare Agg figure (no pyplot state) and saved
    without a Software stamp, so the same record always gives the same bytes."""
    import pandas as pd
    import seaborn as sns

    layout = record["tsne"]
    points = pd.DataFrame({"x": layout["x"], "y": layout["y"], "class": layout["label"]})
    classes = sorted(points["class"].unique())
    colours = sns.color_palette("tab10" if len(classes) <= 10 else "husl", len(classes))

    fig = _figure(6.4, 5.6)
    ax = fig.subplots()
    sns.scatterplot(data=points, x="x", y="y", hue="class", hue_order=classes, palette=dict(zip(classes, colours)),
                    s=6, linewidth=0, alpha=0.8, legend="full", ax=ax)
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, markerscale=2)
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
    ax.set_title(_tsne_title(record, len(points)), fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, Path(out_dir) / f"tsne-{record['run_id']}.png")


def _tsne_title(record: dict, n: int) -> str:
    line = f"t-SNE of embed(x): {_run_name(record)}, {record.get('preset', '?')}, seed {record.get('seed', '?')}"
    test = (record.get("metrics") or {}).get("test") or {}
    many = (record.get("n_clusters") or 0) > (record.get("n_classes") or 10)
    accuracy = test.get("accuracy_many_to_one" if many else "accuracy")
    detail = f"{n} {record.get('dataset', '')} test images".replace("  ", " ")
    if isinstance(accuracy, (int, float)) and accuracy == accuracy:  # not None, not NaN
        detail += f", test accuracy {100 * accuracy:.1f}% ({'many-to-one' if many else 'Hungarian'})"
    return f"{line}\n{detail}"
