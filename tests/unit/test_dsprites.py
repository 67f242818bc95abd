import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

import bench.datasets.dsprites as ds
from bench.datasets.dsprites import DSprites, factor_values, load_dsprites, render, split_factors
from bench.errors import BenchError

SQUARE, ELLIPSE, HEART = 0, 1, 2


def one(shape=SQUARE, scale=5, orientation=0, x=15, y=15) -> torch.Tensor:
    return torch.tensor([[shape, scale, orientation, x, y]])


def centre_of_mass(img: torch.Tensor) -> tuple[float, float]:
    """(column, row) of a (1, 64, 64) image's foreground."""
    m = img[0].float()
    rows, cols = torch.arange(64.0)[:, None], torch.arange(64.0)[None, :]
    return float((m * cols).sum() / m.sum()), float((m * rows).sum() / m.sum())


def test_factor_sizes_and_values_follow_dsprites():
    gt = DSprites()
    assert gt.num_factors == 5 and gt.factors_num_values == [3, 6, 40, 32, 32]
    assert gt.factor_names == ["shape", "scale", "orientation", "posX", "posY"]
    assert gt.observation_shape == (1, 64, 64)  # channel-first
    top = torch.tensor([[2, 5, 39, 31, 31]])
    assert factor_values(torch.zeros(1, 5, dtype=torch.long)).tolist() == [[0, 0.5, 0, 0, 0]]
    assert factor_values(top)[0].tolist() == pytest.approx([2, 1.0, 2 * np.pi * 39 / 40, 1.0, 1.0])


def test_rendering_is_deterministic_and_binary_uint8():
    f = torch.stack([torch.randint(0, n, (300,)) for n in (3, 6, 40, 32, 32)], dim=1)
    x = render(f)
    assert x.shape == (300, 1, 64, 64) and x.dtype == torch.uint8
    assert set(x.unique().tolist()) == {0, 255}
    assert torch.equal(x, render(f))
    assert torch.equal(x[7:8], render(f[7:8]))  # an image does not depend on its batch


def test_dlib_interface_shapes_dtypes_and_seeding():
    gt = DSprites()
    f = gt.sample_factors(50, np.random.RandomState(0))
    assert f.shape == (50, 5) and f.dtype == np.int64
    assert (f >= 0).all() and (f < np.array(gt.factors_num_values)).all()
    f2, obs = gt.sample(50, np.random.RandomState(0))
    assert np.array_equal(f, f2)
    assert obs.shape == (50, 1, 64, 64) and obs.dtype == np.float32
    assert set(np.unique(obs).tolist()) == {0.0, 1.0}
    assert np.array_equal(obs, gt.sample_observations(50, np.random.RandomState(0)))
    # uniform over each factor's values
    many = gt.sample_factors(20000, np.random.RandomState(1))
    for i, n in enumerate(gt.factors_num_values):
        counts = np.bincount(many[:, i], minlength=n)
        assert len(counts) == n and counts.min() > 0.7 * 20000 / n


def test_bad_factors_are_clear_errors():
    with pytest.raises(BenchError, match=r"factor orientation must be in \[0, 40\)"):
        render(one(orientation=40))
    with pytest.raises(BenchError, match=r"must be \(N, 5\)"):
        render(torch.zeros(3, 4, dtype=torch.long))


def test_every_shape_stays_off_the_border_at_extreme_scales_and_positions():
    edge = [0, 15, 31]
    combos = [
        (s, sc, o, x, y)
        for s, sc, o, x, y in itertools.product(range(3), (0, 5), range(40), edge, edge)
        if (x, y) != (15, 15)
    ]
    x = render(torch.tensor(combos))
    assert (x.flatten(1).max(1).values == 255).all()  # nothing vanishes
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
    assert border.max() == 0


def test_area_grows_with_scale_and_the_shapes_have_about_equal_area():
    f = torch.tensor([[s, sc, o, 15, 15] for s in range(3) for sc in range(6) for o in (0, 3, 7)])
    area = (render(f) > 0).sum((1, 2, 3)).view(3, 6, 3).float()
    assert (area.diff(dim=1) > 0).all()  # every shape, every orientation
    ratio = area.max(0).values / area.min(0).values
    assert ratio.max() < 1.2  # rasterisation only; the geometry gives equal areas


def test_the_three_shapes_differ():
    for sc, o in [(0, 0), (5, 0), (5, 13)]:
        x = render(torch.tensor([[s, sc, o, 15, 15] for s in range(3)]))
        for a, b in itertools.combinations(range(3), 2):
            assert (x[a] != x[b]).sum() > 10


def test_rotation_steps_change_the_square_and_a_quarter_turn_restores_it():
    x = render(torch.tensor([[SQUARE, 5, o, 15, 15] for o in range(40)]))
    for o in range(1, 10):
        assert not torch.equal(x[o], x[0])
    for o in range(10):  # a quarter turn is a symmetry of the square: at most 4 boundary pixels differ
        for k in (1, 2, 3):
            assert (x[o] != x[o + 10 * k]).sum() <= 4


def test_orientation_turns_counter_clockwise_as_displayed():
    # the heart's tip is farther from its centroid than its lobes: at angle 0 it points down,
    # after a quarter turn (10 steps) counter-clockwise it points right
    def extents(img):
        rows, cols = img[0].nonzero(as_tuple=True)
        cx, cy = centre_of_mass(img)
        return cx - cols.min(), cols.max() - cx, cy - rows.min(), rows.max() - cy  # left, right, up, down

    left, right, up, down = extents(render(one(HEART, orientation=0))[0])
    assert down > up + 3 and abs(left - right) < 1
    left, right, up, down = extents(render(one(HEART, orientation=10))[0])
    assert right > left + 3 and abs(up - down) < 1


def test_posx_moves_columns_and_posy_moves_rows_downwards():
    for s, sc, o in [(SQUARE, 0, 0), (ELLIPSE, 5, 7), (HEART, 2, 21)]:
        xs = render(torch.tensor([[s, sc, o, p, 10] for p in range(32)]))
        ys = render(torch.tensor([[s, sc, o, 10, p] for p in range(32)]))
        cx = torch.tensor([centre_of_mass(img) for img in xs])
        cy = torch.tensor([centre_of_mass(img) for img in ys])
        assert (cx[:, 0].diff() > 0).all() and (cx[:, 1] - cx[0, 1]).abs().max() < 0.5
        assert (cy[:, 1].diff() > 0).all() and (cy[:, 0] - cy[0, 0]).abs().max() < 0.5
        assert cx[-1, 0] - cx[0, 0] == pytest.approx(31, abs=0.5)  # a pixel a step
        # positions step by whole pixels: the next posX is the same picture one column right
        assert torch.equal(xs[1:], xs[:-1].roll(1, dims=-1))
        assert torch.equal(ys[1:], ys[:-1].roll(1, dims=-2))


def reference(factors: torch.Tensor) -> torch.Tensor:
    """The documented geometry, tested directly at every canvas pixel centre in float64."""
    out = []
    for shape, scale, angle, px, py in factor_values(factors).tolist():
        centre_x, centre_y = 16.5 + 31 * px, 16.5 + 31 * py  # in pixels from the top-left corner
        grid = torch.arange(64, dtype=torch.float64) + 0.5
        dx, dy = grid[None, :] - centre_x, centre_y - grid[:, None]  # y up
        k = 1 / (scale * ds.HALF_SIDE)
        u = (np.cos(angle) * dx + np.sin(angle) * dy) * k
        v = (-np.sin(angle) * dx + np.cos(angle) * dy) * k
        if shape == SQUARE:
            m = torch.maximum(u.abs(), v.abs()) <= 1
        elif shape == ELLIPSE:
            m = (u / ds.ELL_A) ** 2 + (v / ds.ELL_B) ** 2 <= 1
        else:
            w = v + ds.HEART_CY
            lobe = (u.abs() - ds.HEART_M) ** 2 + (w - ds.HEART_M) ** 2 <= ds.HEART_R**2
            m = (u.abs() + w.abs() <= ds.HEART_D) | lobe
        out.append(m)
    return torch.stack(out)[:, None].to(torch.uint8) * 255


def test_sprites_match_a_direct_inside_test_at_every_pixel():
    g = torch.Generator().manual_seed(5)
    f = torch.stack([torch.randint(0, n, (60,), generator=g) for n in (3, 6, 40, 32, 32)], dim=1)
    diff = (render(f) != reference(f)).flatten(1).sum(1)
    assert diff.max() <= 1  # float32 vs float64 rounding can flip a pixel centre on the boundary


def test_load_dsprites_is_a_fixed_60k_10k_sample_through_the_registry():
    from bench.datasets.base import load_dataset, to_float
    from bench.registry import DATASETS
    assert "dsprites" in DATASETS.names()
    data = load_dataset("dsprites", Path("."))
    assert data.name == "dsprites" and data.n_classes == 3
    assert data.train_x.shape == (60000, 1, 64, 64) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (10000, 1, 64, 64) and data.image_shape == (1, 64, 64)
    assert data.train_y.dtype == torch.int64 and len(data.train_y) == 60000 and len(data.test_y) == 10000
    assert set(data.train_y.unique().tolist()) == {0, 1, 2} == set(data.test_y.unique().tolist())
    assert set(to_float(data.test_x[:100]).unique().tolist()) == {-1.0, 1.0}
    train_f, test_f = split_factors()  # the factors behind the images, row for row
    assert torch.equal(train_f[:, 0], data.train_y) and torch.equal(test_f[:, 0], data.test_y)
    assert torch.equal(render(test_f), data.test_x)
    assert torch.equal(load_dsprites(Path("/nonexistent")).test_x, data.test_x)  # root unused
