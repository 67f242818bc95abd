"""Known answers for how smoke bands are derived from seeds (tests/smoke_runs.py)."""

import pandas as pd
import pytest

from tests.smoke_runs import above_collapse, derive_bands, outside


def _records(accuracies, losses, method="m", preset="smoke"):
    return pd.DataFrame([{"method": method, "dataset": "mnist", "preset": preset, "status": "completed",
                          "variant": "", "seed": seed, "metrics.test.accuracy": acc, "metrics.test.nmi": 0.3,
                          "metrics.test.ari": 0.2, "losses": [{"step": 500, **loss}]}
                         for seed, (acc, loss) in enumerate(zip(accuracies, losses))])


def test_a_band_is_the_seeds_range_widened_by_that_range_or_its_floor():
    band = derive_bands(_records([0.4, 0.5, 0.6], [{"D": 1.0}, {"D": 1.1}, {"D": 1.2}]))["m"]
    assert band["accuracy"] == pytest.approx([0.2, 0.8])
    assert band["nmi"] == pytest.approx([0.25, 0.35])  # one value: the floor, 0.05
    assert band["final_losses"]["D"] == pytest.approx([1.1 - 0.375, 1.1 + 0.375], abs=1e-4)  # 0.25 x mean |value|
    assert band["seeds"] == [0, 1, 2] and above_collapse(band)
    assert outside(band["accuracy"], 0.1135) and outside(band["accuracy"], float("nan"))


def test_a_loss_whose_seeds_disagree_is_listed_not_banded():
    band = derive_bands(_records([0.4, 0.5, 0.6], [{"feature": 156.0, "D": 1.0}, {"feature": 389.0, "D": 1.0},
                                                   {"feature": 270.0, "D": 1.0}]))["m"]
    assert "feature" not in band["final_losses"] and band["unbanded_losses"]["feature"] == [156.0, 389.0]
    assert "D" in band["final_losses"]


def test_fewer_than_three_seeds_or_other_presets_give_no_band():
    assert derive_bands(_records([0.4, 0.5], [{"D": 1.0}] * 2)) == {}
    assert derive_bands(_records([0.4, 0.5, 0.6], [{"D": 1.0}] * 3, preset="paper")) == {}
