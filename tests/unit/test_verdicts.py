"""Known answers for each branch of the verdict rule, and the verdicts a table carries."""

import math

import pytest

from bench.report.clustering import clustering_table
from bench.report.tables import text_view
from bench.report.verdicts import (
    INCONCLUSIVE,
    MIN_SEEDS,
    NO_RUN,
    NOT_REPRODUCED,
    REPRODUCED,
    bootstrap_interval,
    difference_interval,
    judge,
    judge_comparison,
)
from bench.runs.records import load_records, write_record
from tests.unit.test_tables import record


def test_the_interval_holds_the_mean_and_stays_inside_the_values():
    low, high = bootstrap_interval([4.0, 5.0, 6.0, 5.5, 4.5])
    assert 4.0 <= low < 5.0 < high <= 6.0
    assert bootstrap_interval([3.0, 3.0, 3.0]) == (3.0, 3.0)  # no spread: a point
    assert all(math.isnan(v) for v in bootstrap_interval([3.0]))  # one seed: no interval
    assert bootstrap_interval([4.0, 5.0, 6.0]) == bootstrap_interval([4.0, 5.0, 6.0])  # seeded: repeatable


@pytest.mark.parametrize("values, claimed, better, status", [
    ([4.0, 5.0, 6.0], 5.0, "lower", REPRODUCED),  # the claim inside our interval
    ([1.0, 1.2, 0.9], 5.0, "lower", REPRODUCED),  # wholly better than the claim
    ([10.0, 11.0, 12.0], 5.0, "lower", NOT_REPRODUCED),  # wholly worse
    ([0.50, 0.60, 0.55], 0.9, "higher", NOT_REPRODUCED),
    ([0.95, 0.97, 0.96], 0.9, "higher", REPRODUCED),
    ([8, 8, 8, 8, 8], 8.0, "higher", REPRODUCED),  # every seed at the claim
])
def test_judge(values, claimed, better, status):
    verdict = judge(values, claimed, better)
    assert verdict.status == status and verdict.reason == "" and verdict.n == len(values)


def test_too_few_seeds_or_none_are_inconclusive_and_say_why():
    assert MIN_SEEDS == 3
    two = judge([4.9, 5.1], 5.0, "lower")
    assert (two.status, two.reason) == (INCONCLUSIVE, "2 seeds; 3 needed")
    none = judge([], 5.0, "lower")
    assert (none.status, none.reason) == (INCONCLUSIVE, NO_RUN)
    smoke = judge([], 5.0, "lower", absent="only smoke runs")
    assert str(smoke) == "inconclusive (only smoke runs)"
    assert judge([float("nan"), 1.0, 2.0], 5.0, "lower").n == 2  # a non-finite value is no seed


def test_a_comparison_is_judged_on_the_interval_of_the_difference():
    better, worse = [1.0, 1.1, 1.2], [2.0, 2.1, 2.2]
    assert judge_comparison(better, worse, "lower").status == REPRODUCED
    assert judge_comparison(worse, better, "lower").status == NOT_REPRODUCED
    assert judge_comparison(worse, better, "higher").status == REPRODUCED
    tie = judge_comparison([1.0, 2.0, 3.0], [1.5, 2.0, 2.5], "lower")
    assert (tie.status, tie.reason) == (INCONCLUSIVE, "the interval of the difference contains 0")
    same = judge_comparison([2.0, 2.0, 2.0], [2.0, 2.0, 2.0], "higher")
    assert same.status == NOT_REPRODUCED and (same.low, same.high) == (0.0, 0.0)  # no advantage at all
    low, high = difference_interval(better, worse)
    assert low <= -1.0 <= high
    assert judge_comparison(better, [], "lower").reason == NO_RUN


def verdicts(tmp_path, records):
    for rec in records:
        write_record(rec, tmp_path)
    table = clustering_table(load_records(tmp_path))
    return {(row["method"], row["preset"]): row["verdict"] for _, row in table.iterrows()}, text_view(table)


def test_the_clustering_table_judges_paper_runs_and_says_why_not_for_the_others(tmp_path):
    runs = [record("infogan", s, acc) for s, acc in enumerate([0.96, 0.95, 0.94])]  # 4-6 % error against 5 %
    runs += [{**record("infogan", s, 0.5), "preset": "smoke", "run_id": f"infogan-mnist-smoke-s{s}"} for s in (0, 1)]
    runs += [record("aae", s, 0.5, k=16, many=0.60) for s in range(3)]  # 40 % error against 9.55
    found, view = verdicts(tmp_path, runs)
    assert found[("infogan", "paper")].status == REPRODUCED
    smoke = found[("infogan", "smoke")]
    assert (smoke.status, smoke.reason) == (INCONCLUSIVE, "smoke preset, not the claim's protocol")
    assert found[("aae", "paper")].status == NOT_REPRODUCED
    unrun = view[view["method"] == "latentgan_ae"].iloc[0]
    assert unrun["verdict"] == f"inconclusive ({NO_RUN})"
    assert view[view["method"] == "infogan"].iloc[0]["95 % interval"] == "[4.00, 6.00]"
    baseline = view[view["method"] == "kmeans_pixels"]
    assert baseline.empty or baseline.iloc[0]["verdict"] == "—"  # no claim: no verdict


def test_an_ablation_gets_no_verdict(tmp_path):
    runs = [record("infogan", s, 0.9, overrides={"lambda_cont": 0.5}, config=None) for s in range(3)]
    found, _ = verdicts(tmp_path, runs)
    assert found[("infogan [lambda_cont=0.5]", "paper")] is None
