"""Figures say what they show: titles, axis labels and code ranges; traversal rows in the
order of the digits their categories were matched to."""

import torch

from bench.tracking import grids
from bench.report.figures import grid_figure


def test_matched_categories_take_their_digits_rows_and_unmatched_ones_follow():
    matching = [[0, 7], [1, 2], [3, 0]]  # category 2 left unmatched
    assert grids.category_rows(4, matching) == [(3, "0 (c=3)"), (1, "2 (c=1)"), (0, "7 (c=0)"), (2, "— (c=2)")]
    assert grids.category_rows(2, None) == [(0, "c=0"), (1, "c=1")]  # no matching: Q's own order


def test_a_grid_figure_has_the_run_and_grid_title_axis_labels_and_value_ticks():
    grid = grids.Grid("continuous1", torch.zeros(6, 1, 8, 8), 3, title="continuous code c1 swept from -1.5 to 1.5",
                      xlabel="c1", ylabel="digit", row_labels=["0", "1"], column_labels=["-1.5", "0", "1.5"])
    fig = grid_figure(grid, "infogan, mnist, smoke, seed 0")
    (ax,) = fig.axes
    title = " ".join(fig._suptitle.get_text().split())  # wrapped to the figure's width
    assert "infogan, mnist, smoke, seed 0" in title and "-1.5 to 1.5" in title
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("c1", "digit")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1.5", "0", "1.5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    fig.canvas.draw()  # the title stays inside the canvas (t-SNE's were clipped)
    box = fig._suptitle.get_window_extent()
    assert box.y1 <= fig.bbox.y1 and box.x0 >= 0 and box.x1 <= fig.bbox.x1
