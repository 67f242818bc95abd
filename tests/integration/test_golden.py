"""Golden trajectories (tests/golden.py): every method's losses at each of 12 float64
steps, its final weights and clusters, as recorded, to rtol 1e-6 on any CPU (a weight
projection to 1e-6 of the weights' norm).
Run alone with `pytest -m golden`."""

import json

import pytest

from tests.golden import ATOL, GOLDEN, RTOL, cases, trajectory

RECORDED = json.loads(GOLDEN.read_text())
CASES = cases()


def test_every_method_and_variant_has_a_recorded_trajectory():
    assert sorted(RECORDED) == sorted(CASES), "record them with: python -m tests.golden --record"


@pytest.mark.golden
@pytest.mark.parametrize("case", sorted(CASES))
def test_training_follows_its_golden_trajectory(case):
    measured, expected = trajectory(*CASES[case]), RECORDED[case]
    assert len(measured["losses"]) == len(expected["losses"])
    for step, (got, want) in enumerate(zip(measured["losses"], expected["losses"]), start=1):
        assert got.keys() == want.keys(), step
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL), f"losses at step {step}"
    assert measured["weights"].keys() == expected["weights"].keys()
    for module, (norm, projection) in expected["weights"].items():
        got_norm, got_projection = measured["weights"][module]
        assert got_norm == pytest.approx(norm, rel=RTOL, abs=ATOL), module
        # a random projection of the weights can cancel to near zero, so its tolerance is
        # RTOL of the weights' scale (their norm), not of its own value: a few of the look-ahead
        # discriminator's Adam steps lift last-bit kernel differences to ~1e-6 of a cancelled sum
        assert got_projection == pytest.approx(projection, rel=0, abs=RTOL * norm + ATOL), module
    assert measured["cluster_sizes"] == expected["cluster_sizes"]
