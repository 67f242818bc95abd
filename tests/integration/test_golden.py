"""Golden trajectories (tests/golden.py): every method's losses at each of 12 float64
steps, its final weights and clusters, as recorded, to rtol 1e-6 on any CPU.
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
    for module, digest in expected["weights"].items():
        assert measured["weights"][module] == pytest.approx(digest, rel=RTOL, abs=ATOL), module
    assert measured["cluster_sizes"] == expected["cluster_sizes"]
