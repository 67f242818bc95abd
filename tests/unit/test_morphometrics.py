"""Known-answer tests of the Morpho-MNIST morphometrics and the code-sweep scores, on
synthetic strokes drawn with anti-aliased edges (8x8 supersampling), so every expected
value is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.errors import BenchError
from bench.evaluation.code_sweep import code_sweep
from bench.evaluation.morphometrics import MORPHOMETRICS, measure
from bench.methods.base import CodeSpec, EmptyConfig, Method

SIZE, SS = 32, 8
_SUB = (torch.arange(SIZE * SS, dtype=torch.float64) + 0.5) / SS - 0.5  # sub-pixel centres, pixel i at i


def render(inside) -> torch.Tensor:
    """(N, 1, 32, 32) in [-1, 1] from a predicate on sub-pixel coordinates (y, x) broadcast to (N, h, w)."""
    y, x = _SUB[None, :, None], _SUB[None, None, :]
    cover = F.avg_pool2d(inside(y, x).double()[:, None], SS)
    return (cover * 2 - 1).float()


def bars(thickness, slant=0.0, length=20.0, cx=16.0, cy=15.5) -> torch.Tensor:
    """Bars `length` tall whose horizontal cross-section is `thickness` wide; `slant` (rad) > 0
    puts the top to the right of the bottom. Arguments broadcast over images. cx = 16 centres
    odd widths on a pixel, 15.5 even ones, so their edges fall on pixel boundaries."""
    t, s, c = (torch.as_tensor(v, dtype=torch.float64).reshape(-1, 1, 1) for v in (thickness, slant, cx))
    centre = c - torch.tan(s) * (_SUB[None, :, None] - cy)  # y grows downwards
    return render(lambda y, x: ((x - centre).abs() <= t / 2) & ((y - cy).abs() <= length / 2))


def diagonal(n: int) -> torch.Tensor:
    """A one-pixel-wide diagonal ("\\") of n pixels starting at (8, 8)."""
    return render(lambda y, x: ((x - y).abs() <= 0.5) & (y >= 7.5) & (y <= 7.5 + n) & (x >= 7.5) & (x <= 7.5 + n))


def one(images) -> dict:
    return measure(images).iloc[0].to_dict()


# -- morphometrics --------------------------------------------------------------------------


@pytest.mark.parametrize("w", [2, 3, 5])
def test_vertical_bar_thickness_and_zero_slant(w):
    m = one(bars(w, cx=16.0 if w % 2 else 15.5))
    assert m["thickness"] == pytest.approx(w, rel=0.1)
    assert abs(m["slant"]) < 0.01
    assert m["height"] == pytest.approx(20, abs=0.3)
    assert m["area"] == pytest.approx(w * 20, rel=0.05)


@pytest.mark.parametrize("angle", [0.3, -0.3, 0.15])
def test_sheared_bar_slant_and_sign(angle):
    img = bars(3.0, angle)
    # the sign convention, checked on the image itself: positive slant = top to the right
    cols = torch.arange(SIZE, dtype=torch.float32)
    mass = (img[0, 0] + 1) / 2
    top_x = (mass[6:10] * cols).sum() / mass[6:10].sum()
    bottom_x = (mass[22:26] * cols).sum() / mass[22:26].sum()
    assert (top_x > bottom_x) == (angle > 0)
    m, upright = one(img), one(bars(3.0))
    assert m["slant"] == pytest.approx(angle, abs=0.02)
    # the parallelogram follows the shear: about as wide as the upright bar, where an
    # axis-aligned box would be 3 + 20 tan(0.3) ~ 9.2 px wide
    assert m["width"] == pytest.approx(upright["width"], abs=0.3)
    # across its own axis the stroke is thinner: 3 cos(angle)
    assert m["thickness"] == pytest.approx(3.0 * math.cos(angle), rel=0.05)


def test_filled_rectangle_width_height():
    m = one(render(lambda y, x: ((x - 15.5).abs() <= 5) & ((y - 15.5).abs() <= 8)))  # 10 wide, 16 tall
    # within 0.6 px: the 4x resampling spreads mass ~0.2 px past each edge, 1% is trimmed
    assert m["width"] == pytest.approx(10, abs=0.6)
    assert m["height"] == pytest.approx(16, abs=0.6)
    assert abs(m["slant"]) < 0.01
    assert m["area"] == pytest.approx(160, rel=0.03)


def test_thicker_strokes_measure_thicker_and_larger():
    df = measure(torch.cat([bars(w, cx=16.0 if w % 2 else 15.5) for w in (1, 2, 3, 4, 5)]))
    assert df["thickness"].diff().min() > 0.4
    assert df["area"].diff().min() > 9
    # and at sub-pixel widths, drawn off the pixel grid
    df = measure(bars([1.5, 2.5, 3.5, 4.5], cx=15.77))
    assert df["thickness"].diff().min() > 0.4 and df["area"].diff().min() > 9


def test_one_pixel_line_length():
    df = measure(torch.cat([bars(1, length=20), bars(1, length=10), diagonal(14), diagonal(7)]))
    length = df["length"].to_numpy()
    # the thinned skeleton stops short of free ends by a fixed amount, < 3 px for these
    # lines; differences are exact, and diagonal links count sqrt(2)
    assert 20 - 3 < length[0] <= 20 and 10 - 3 < length[1] <= 10
    assert length[0] - length[1] == pytest.approx(10, abs=0.3)
    assert 14 * math.sqrt(2) - 3 < length[2] <= 14 * math.sqrt(2)
    assert length[2] - length[3] == pytest.approx(7 * math.sqrt(2), abs=0.3)
    assert df["thickness"][0] == pytest.approx(1.5, abs=0.1)  # the resampling floor


def test_input_formats_agree_and_blank_is_nan():
    x = torch.cat([bars(3.0, 0.2), -torch.ones(1, 1, SIZE, SIZE)])
    as_float = measure(x)
    as_uint8 = measure(((x + 1) * 127.5).round().to(torch.uint8).numpy()[:, 0])  # (N, H, W) numpy
    assert list(as_float.columns) == list(MORPHOMETRICS) and len(as_float) == 2
    np.testing.assert_allclose(as_float.iloc[0], as_uint8.iloc[0], rtol=0.02, atol=0.02)
    assert as_float.iloc[1].isna().all()
    with pytest.raises(BenchError):
        measure(torch.zeros(2, 3, SIZE, SIZE))


# -- code sweep -------------------------------------------------------------------------------


class BarGenerator(Method):
    """Continuous code 0 sets a bar's thickness, code 1 its slant; the noise moves it sideways."""

    name = "bars"

    def __init__(self):
        super().__init__(EmptyConfig())
        self.code_spec = CodeSpec(categorical=0, continuous=2, continuous_range=(-1.0, 1.0), noise=1)

    def sample_codes(self, n, generator=None):
        u = torch.rand(n, 3, generator=generator) * 2 - 1
        return {"noise": u[:, :1], "categorical": torch.zeros(n, dtype=torch.long), "continuous": u[:, 1:]}

    def generate(self, codes):
        c = codes["continuous"].double()
        return bars(3.0 + 1.5 * c[:, 0], 0.35 * c[:, 1], cx=15.5 + 2 * codes["noise"][:, 0].double())


def test_code_sweep_finds_the_driving_codes():
    result = code_sweep(BarGenerator(), n=12, steps=7, seed=0)
    score = result.scores.set_index(["code", "morphometric"])["abs_spearman"]
    assert score[0, "thickness"] > 0.95
    assert score[1, "slant"] > 0.95
    assert score[0, "slant"] < 0.3
    assert score[1, "thickness"] < 0.5  # cos(slant) is even: no monotone trend over the sweep
    gap = result.gaps.set_index("morphometric")
    assert gap.loc["thickness", "best_code"] == 0 and gap.loc["thickness", "gap"] > 0.5
    assert gap.loc["slant", "best_code"] == 1 and gap.loc["slant", "gap"] > 0.6
    assert set(result.scores.columns) >= {"code", "morphometric", "abs_spearman"}
    assert len(result.samples) == 2 * 12 * 7
    # reproducible: a fixed seed draws the same base codes
    again = code_sweep(BarGenerator(), n=12, steps=7, seed=0)
    np.testing.assert_allclose(result.scores["spearman"], again.scores["spearman"])


@pytest.mark.parametrize("spec", [None, CodeSpec(categorical=10, continuous=0)])
def test_code_sweep_without_continuous_codes_is_a_bench_error(spec):
    method = BarGenerator()
    method.code_spec = spec
    with pytest.raises(BenchError, match="no continuous codes"):
        code_sweep(method)
