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

from bench.runs.records import changed_settings, variant_label

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


def tsne_figure(record: dict, out_dir: Path) -> Path:
    """`out_dir/tsne-{run_id}.png`: the record's t-SNE layout of embed(x) on test images,
    one colour per true class. Drawn on a bare Agg figure (no pyplot state) and saved
    without a Software stamp, so the same record always gives the same bytes."""
    import pandas as pd
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layout = record["tsne"]
    points = pd.DataFrame({"x": layout["x"], "y": layout["y"], "class": layout["label"]})
    classes = sorted(points["class"].unique())
    colours = sns.color_palette("tab10" if len(classes) <= 10 else "husl", len(classes))

    fig = Figure(figsize=(6.4, 5.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    sns.scatterplot(data=points, x="x", y="y", hue="class", hue_order=classes, palette=dict(zip(classes, colours)),
                    s=6, linewidth=0, alpha=0.8, legend="full", ax=ax)
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, markerscale=2)
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
    ax.set_title(_tsne_title(record, len(points)), fontsize=10)
    fig.tight_layout()
    path = Path(out_dir) / f"tsne-{record['run_id']}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def _tsne_title(record: dict, n: int) -> str:
    variant = record["variant"] if "variant" in record else variant_label(changed_settings(record))
    name = record["method"] + (f" [{variant}]" if variant else "")
    line = f"t-SNE of embed(x): {name}, {record.get('preset', '?')}, seed {record.get('seed', '?')}"
    test = (record.get("metrics") or {}).get("test") or {}
    many = (record.get("n_clusters") or 0) > (record.get("n_classes") or 10)
    accuracy = test.get("accuracy_many_to_one" if many else "accuracy")
    detail = f"{n} {record.get('dataset', '')} test images".replace("  ", " ")
    if isinstance(accuracy, (int, float)) and accuracy == accuracy:  # not None, not NaN
        detail += f", test accuracy {100 * accuracy:.1f}% ({'many-to-one' if many else 'Hungarian'})"
    return f"{line}\n{detail}"
