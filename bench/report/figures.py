"""Figures as PNGs: a method's image grids framed with a title and axis labels (`bench
plot`), and the t-SNE layout a run record keeps (`bench report`).

Also two figures of variational methods: traversals that start from encoded real images
(the unrolled-InfoGAN report's Fig. 14: row j starts from real test image j and sweeps
continuous code j) and the average KL per latent from a run record (its Fig. 15).

Every figure is drawn on a bare Agg figure (no pyplot state) and saved without a
Software stamp (`save`), so the same input always gives the same bytes. Every figure has a
title wrapped to its width, labelled axes, and legends outside the plotting area
(`legend_below`), so they cover nothing; a long variant shows as its tag, its settings
listed under the figure (`settings_footnote`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from bench.files import write_atomic
from bench.names import check_run_id, check_stem
from bench.runs.records import changed_settings, variant_label
from bench.tracking import grids


def new_figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas, with no global pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save(fig, path: Path, within: Path | None = None) -> Path:
    """`fig` as a PNG at `path`, written atomically; its stem must be a checked name, and with
    `within` the file must land inside that folder (`bench.files.inside`)."""
    path = Path(path)
    check_stem(path.stem)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", metadata={"Software": None}),
                        within=within if within is not None else path.parent)


def wrap(text: str, width_inches: float, fontsize: float = 10) -> str:
    """`text` with each line wrapped to about the characters that fit `width_inches`."""
    chars = max(20, int(width_inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def legend_below(ax, columns: int = 3, fontsize: float = 7, **kwargs) -> None:
    """The axes' legend under it, outside the plotting area and clear of the x label, so it covers nothing."""
    ax.legend(fontsize=fontsize, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=columns,
              **kwargs)


def _settings(labels, width_inches: float) -> str:
    notes = dict.fromkeys(f"{label.tag} = {label.variant}" for label in labels if getattr(label, "long", False))
    return wrap("\n".join(notes), width_inches, 7) if notes else ""


def settings_lines(labels, width_inches: float = 1e9) -> int:
    """How many lines `settings_footnote` takes (to leave room for it: about 0.13 inch each)."""
    text = _settings(labels, width_inches)
    return len(text.splitlines()) + 1 if text else 0


def settings_footnote(fig, labels, width_inches: float) -> None:
    """Under the figure, the settings behind each tag its labels show (`Label.short`)."""
    text = _settings(labels, width_inches)
    if text:
        fig.text(0.01, 0.005, text, fontsize=7, ha="left", va="bottom", color="0.3")


def run_name(record: dict) -> str:
    """'infogan [k=0], mnist, smoke, seed 0' for a record's figures."""
    variant = record["variant"] if "variant" in record else variant_label(changed_settings(record))
    name = record["method"] + (f" [{variant}]" if variant else "")
    return f"{name}, {record.get('dataset', '?')}, {record.get('preset', '?')}, seed {record.get('seed', '?')}"


def grid_figure(grid: grids.Grid, heading: str, scale: float = 1.6):
    """`grid` at `scale` screen pixels per image pixel, titled '<heading>' and the grid's
    own title, with its row and column labels as ticks and its axis labels."""
    picture = grid.picture()
    _, height, width = picture.shape
    cell_h, cell_w = (height - grids.PADDING) / grid.rows, (width - grids.PADDING) / grid.columns
    left = 1.2 if grid.row_labels else 0.4
    fig_w, fig_h = width * scale / 100 + left + 0.3, height * scale / 100 + 1.5
    fig = new_figure(fig_w, fig_h)
    ax = fig.add_axes((left / fig_w, 0.65 / fig_h, width * scale / 100 / fig_w, height * scale / 100 / fig_h))
    ax.imshow(picture.permute(1, 2, 0).numpy(), interpolation="nearest")
    centre = grids.PADDING / 2

    def ticks(labels, cell):
        return [centre + cell * (i + 0.5) for i in range(len(labels))]

    ax.set_xticks(ticks(grid.column_labels, cell_w), grid.column_labels, fontsize=8)
    ax.set_yticks(ticks(grid.row_labels, cell_h), grid.row_labels, fontsize=8)
    ax.tick_params(length=0)
    ax.set_xlabel(grid.xlabel, fontsize=9)
    ax.set_ylabel(grid.ylabel, fontsize=9)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle(wrap(f"{heading}\n{grid.title}", fig_w, 10), fontsize=10, y=1 - 0.08 / fig_h, va="top")
    return fig


def grid_png(grid: grids.Grid, heading: str, out_dir: Path, stem: str) -> Path:
    return save(grid_figure(grid, heading), Path(out_dir) / f"{check_run_id(stem)}_{grid.name}.png", within=out_dir)


def traversal_grids(method, out_dir: Path, stem: str, heading: str = "", matching: list | None = None,
                    columns: int = 10, seed: int = 0) -> list[Path]:
    """`<stem>_categorical.png` and `<stem>_continuousJ.png` (see `bench.tracking.grids`)."""
    return [grid_png(grid, heading or stem, out_dir, stem)
            for grid in grids.traversals(method, matching, columns, seed)]


def reconstruction_grid(method, images: torch.Tensor, out_dir: Path, stem: str, heading: str = "",
                        columns: int = 10) -> Path:
    """`<stem>_reconstructions.png`: `images` (float in [-1, 1]) over their reconstructions."""
    return grid_png(grids.reconstructions(method, images, columns), heading or stem, out_dir, stem)


def real_traversal_grid(method, images: torch.Tensor, out_dir: Path, stem: str, heading: str = "",
                        columns: int = 10) -> Path:
    """`<stem>_fromreal.png` (see `bench.tracking.grids.from_real`)."""
    return grid_png(grids.from_real(method, images, columns), heading or stem, out_dir, stem)


def interpolation_grid(method, images: torch.Tensor, labels: torch.Tensor, out_dir: Path, stem: str,
                       heading: str = "", steps: int = 8) -> Path:
    """`<stem>_interpolations.png`: pairs of `images` (float in [-1, 1]) picked by their
    `labels` (`bench.tracking.grids.interpolation_pairs`), interpolated in the latent space."""
    pairs = grids.interpolation_pairs(labels)
    first, second = zip(*pairs)
    row_labels = [f"{int(labels[a])} → {int(labels[b])}" for a, b in pairs]
    grid = grids.interpolations(method, images[list(first)], images[list(second)], row_labels, steps)
    return grid_png(grid, heading or stem, out_dir, stem)


GROUP_COLOURS = {"info": "tab:orange", "incompressible": "tab:blue"}


def latent_kl_figure(record: dict, out_dir: Path) -> Path:
    """`out_dir/kl-{run_id}.png` (`latent_kl_plot`)."""
    return save(latent_kl_plot(record), Path(out_dir) / f"kl-{check_run_id(record['run_id'])}.png", within=out_dir)


def latent_kl_plot(record: dict):
    """The record's average KL(q(z_j|x) || N(0, 1)) of each latent on test images, coloured by
    group, each group's mean dashed; and, where the loss history logs it per group
    (`kl_<group>`), that average on the training batches over steps."""
    kl = record["latent_kl"]
    groups = sorted(kl["groups"].items(), key=lambda item: min(item[1]))
    curves = {name: [(row["step"], row[f"kl_{name}"]) for row in record.get("losses") or []
                     if row.get(f"kl_{name}") is not None] for name, _ in groups}
    curves = {name: points for name, points in curves.items() if points}
    width = 10.0 if curves else 6.0
    fig = new_figure(width, 4.6)
    axes = fig.subplots(1, 2 if curves else 1, squeeze=False)[0]
    ax = axes[0]
    for name, idx in groups:
        colour = GROUP_COLOURS.get(name, "tab:gray")
        ax.bar(idx, [kl["per_latent"][j] for j in idx], color=colour, label=f"{name} (mean {kl['group_mean'][name]:.3g})")
        ax.hlines(kl["group_mean"][name], min(idx) - 0.4, max(idx) + 0.4, colors=colour, linestyles="dashed")
    ax.set(xlabel="latent j", ylabel="KL(q(z_j|x) || N(0, 1)), nats",
           title=f"test images (n = {int(kl['n']):,})", xticks=range(len(kl["per_latent"])))
    legend_below(ax, columns=2, fontsize=8)
    if curves:
        ax = axes[1]
        for name, points in curves.items():
            steps, values = zip(*points)
            ax.plot(steps, values, color=GROUP_COLOURS.get(name, "tab:gray"), label=name)
        ax.set(xlabel="training step", ylabel="KL per latent, nats", title="training batches (logged means)")
        legend_below(ax, columns=2, fontsize=8)
    fig.suptitle(wrap(f"Average KL per latent: {run_name(record)}", width), fontsize=10)
    fig.tight_layout()
    return fig


def tsne_figure(record: dict, out_dir: Path) -> Path:
    """`out_dir/tsne-{run_id}.png` (`tsne_plot`)."""
    return save(tsne_plot(record), Path(out_dir) / f"tsne-{check_run_id(record['run_id'])}.png", within=out_dir)


def tsne_plot(record: dict):
    """The record's t-SNE layout of embed(x) on test images, one colour per true class."""
    import pandas as pd
    import seaborn as sns

    layout = record["tsne"]
    points = pd.DataFrame({"x": layout["x"], "y": layout["y"], "class": layout["label"]})
    classes = sorted(points["class"].unique())
    colours = sns.color_palette("tab10" if len(classes) <= 10 else "husl", len(classes))

    fig = new_figure(6.4, 5.8)
    ax = fig.subplots()
    sns.scatterplot(data=points, x="x", y="y", hue="class", hue_order=classes, palette=dict(zip(classes, colours)),
                    s=6, linewidth=0, alpha=0.8, legend="full", ax=ax)
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, markerscale=2)
    ax.set(xticks=[], yticks=[], xlabel="t-SNE 1", ylabel="t-SNE 2")
    fig.suptitle(wrap(_tsne_title(record, len(points)), 6.4), fontsize=10)
    fig.tight_layout()
    return fig


def _tsne_title(record: dict, n: int) -> str:
    line = f"t-SNE of embed(x): {run_name(record)}"
    test = (record.get("metrics") or {}).get("test") or {}
    many = (record.get("n_clusters") or 0) > (record.get("n_classes") or 10)
    accuracy = test.get("accuracy_many_to_one" if many else "accuracy")
    detail = f"{n} {record.get('dataset', '')} test images".replace("  ", " ")
    if isinstance(accuracy, (int, float)) and accuracy == accuracy:  # not None, not NaN
        detail += f", test accuracy {100 * accuracy:.1f}% ({'many-to-one' if many else 'Hungarian'})"
    return f"{line}\n{detail}"
