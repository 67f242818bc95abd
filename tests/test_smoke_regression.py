"""Each built-in method, trained at the smoke preset on real MNIST, reproduces the
metrics and final losses recorded in smoke_expectations.json (tolerances: tests/smoke.py)."""

import json

import pytest

from bench.registry import list_methods
from tests.plugin import TEST_METHODS
from tests.smoke import EXPECTATIONS, LOSS_TOLERANCE, METRICS, TOLERANCE, run_smoke

EXPECTED = json.loads(EXPECTATIONS.read_text())
BUILTIN = [name for name in list_methods() if name not in TEST_METHODS]


def test_every_method_has_recorded_expectations():
    assert sorted(EXPECTED) == sorted(BUILTIN), "record them with: python -m tests.smoke --record"


@pytest.mark.smoke
@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_smoke_run_matches_its_recorded_metrics(method, mnist, dirs):
    record = run_smoke(method, mnist, *dirs)
    assert record["status"] == "completed", record.get("message")
    assert record["metrics"]["test"]["n"] == 10000  # scored on the whole MNIST test split
    measured = {m: record["metrics"]["test"][m] for m in METRICS}
    for metric in METRICS:
        assert measured[metric] == pytest.approx(EXPECTED[method][metric], abs=TOLERANCE), (metric, measured)
    final = {k: v for k, v in record["losses"][-1].items() if k != "step"} if record["losses"] else {}
    expected_losses = EXPECTED[method].get("final_losses", {})
    assert final.keys() == expected_losses.keys()
    for name, value in expected_losses.items():
        assert final[name] == pytest.approx(value, rel=LOSS_TOLERANCE, abs=0.01), (name, final)
