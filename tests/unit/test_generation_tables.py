"""The generation and modes tables from hand-made records: measures as mean ± std, the
claims' verdicts, the reference row, and the figure of 2-D samples over training."""

import pandas as pd

from bench.report.builder import tables_of, verdicts_of
from bench.report.generation import generation_table, modes_table
from bench.report.snapshots import mode_figures
from bench.report.tables import text_view
from bench.report.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from bench.runs.records import load_records, write_record
from tests.helpers import run_id

TEST = {"accuracy": 0.125, "accuracy_many_to_one": 0.125, "nmi": 0.0, "ari": 0.0, "clusters_used": 1}


def mode_record(k, seed, covered, preset="paper", rule=None, dataset="ring2d"):
    overrides = {"k": k, **({"unroll_rule": rule} if rule else {})}
    shot = {"modes_covered": covered, "modes": 8, "high_quality": 0.5, "kl_uniform": 0.1, "n": 2500,
            "samples": [[2.0, 0.0], [0.0, 2.0]]}
    return {"run_id": run_id("unrolled_infogan", dataset, preset, seed, k, rule), "method": "unrolled_infogan",
            "dataset": dataset, "seed": seed, "preset": preset, "overrides": overrides, "status": "completed",
            "n_clusters": 1, "n_classes": 8, "steps": 25000, "metrics": {"test": TEST},
            "config": {"method": {"k": k, "unroll_rule": rule or "adam", "n_categories": 1, "n_continuous": 0}},
            "evaluations": [{"step": 0, "test": TEST, "modes": shot}, {"step": 5000, "test": TEST, "modes": shot}],
            "generation": {"kind": "modes", **shot, "modes_covered": covered}}


def records(tmp_path, recs) -> pd.DataFrame:
    for rec in recs:
        write_record(rec, tmp_path)
    return load_records(tmp_path)


def test_the_report_claims_all_modes_with_unrolling_and_collapse_without(tmp_path):
    recs = [mode_record(10, s, c) for s, c in enumerate([8, 8, 7])] + \
           [mode_record(0, s, c) for s, c in enumerate([1, 2, 1])] + \
           [mode_record(10, s, 3, rule="lookahead") for s in range(3)]
    table = modes_table(records(tmp_path, recs), "ring2d")
    protocol = table[table["unroll rule"] == "adam"].set_index("K")
    assert str(protocol.loc[10, "modes covered"]) == "7.7 ± 0.6"
    assert str(protocol.loc[10, "95 % interval"]) == "[7.0, 8.0]"  # bootstrap means of {8, 8, 7}: 7 to 8
    assert text_view(table).set_index(["K", "unroll rule"]).loc[("0", "adam"), "best"] == "2.0"
    assert protocol.loc[10, "verdict"].status == REPRODUCED  # the interval reaches 8
    assert protocol.loc[0, "verdict"].status == REPRODUCED  # K=10 covers more modes than K=0
    lookahead = table[table["unroll rule"] == "lookahead"].iloc[0]
    assert pd.isna(lookahead["verdict"])  # not the claim's procedure: no claim beside it


def test_a_k10_that_collapses_too_does_not_reproduce(tmp_path):
    recs = [mode_record(10, s, 2) for s in range(3)] + [mode_record(0, s, 2) for s in range(3)]
    table = modes_table(records(tmp_path, recs), "ring2d").set_index("K")
    assert table.loc[10, "verdict"].status == NOT_REPRODUCED
    assert table.loc[0, "verdict"].status == NOT_REPRODUCED  # the difference is 0 with no spread: not above 0


def test_a_mixture_no_paper_claims_anything_on_has_no_claim_columns(tmp_path):
    table = modes_table(records(tmp_path, [mode_record(10, s, 20, dataset="grid2d") for s in range(3)]), "grid2d")
    assert "verdict" not in table and "claim" not in table and str(table.iloc[0]["modes covered"]) == "20.0 ± 0.0"


def test_smoke_runs_get_a_reason_not_a_verdict(tmp_path):
    table = modes_table(records(tmp_path, [mode_record(10, s, 8, preset="smoke") for s in range(3)]), "ring2d")
    verdict = table.iloc[0]["verdict"]
    assert verdict.status == INCONCLUSIVE and "smoke preset" in verdict.reason


def generation_record(seed, score, prior=None, preset="paper"):
    overrides = {"prior": prior} if prior else {}
    return {"run_id": run_id("learned_prior_aae", "mnist", preset, seed, prior), "method": "learned_prior_aae",
            "dataset": "mnist", "seed": seed, "preset": preset, "overrides": overrides, "status": "completed",
            "n_clusters": 10, "n_classes": 10, "metrics": {"test": TEST},
            "generation": {"kind": "classifier", "classes_covered": 10, "kl_uniform": 0.01, "classifier_score": score,
                           "frechet_distance": 3.0, "category_purity": 0.8, "n": 10000,
                           "reference": {"classes_covered": 10, "kl_uniform": 0.0, "classifier_score": 9.5,
                                         "frechet_distance": 0.1, "category_purity": 0.99, "n": 10000},
                           "classifier": {"sha256": "0" * 64, "test_accuracy": 0.99}}}


def test_the_learned_prior_claim_is_judged_against_the_fixed_prior(tmp_path):
    recs = [generation_record(s, v) for s, v in enumerate([8.0, 8.5, 8.2])] + \
           [generation_record(s, v, prior="fixed") for s, v in enumerate([6.0, 6.2, 5.9])]
    table = generation_table(records(tmp_path, recs), "mnist").set_index("method")
    assert str(table.loc["real training images (10,000)", "classifier score"]) == "9.50"
    assert table.loc["learned_prior_aae", "verdict"].status == REPRODUCED
    assert str(table.loc["learned_prior_aae", "classifier score"]) == "8.23 ± 0.25"
    low, high = table.loc["learned_prior_aae", "95 % interval"].numbers().values()
    assert 8.0 <= low < 8.23 < high <= 8.5  # the interval of the mean lies within the seeds' range
    assert text_view(table.reset_index()).set_index("method").loc["learned_prior_aae", "best"] == "8.50"
    assert pd.isna(table.loc['learned_prior_aae [prior="fixed"]', "verdict"])


def test_every_table_s_verdicts_are_listed_and_the_figure_drawn(tmp_path):
    recs = [mode_record(10, s, 8) for s in range(3)] + [mode_record(0, s, 1) for s in range(3)] + \
           [generation_record(s, 8.0 + s) for s in range(2)]
    found = records(tmp_path, recs)
    listed = verdicts_of(tables_of(found)).table
    claims = set(listed["claim"])
    assert "ring2d, K=10: all 8 modes covered" in claims
    assert any(c.startswith("learned_prior_aae: better samples") for c in claims)
    assert any(c.startswith("infogan, mnist, K=10") for c in claims)  # the clustering claims, not run
    (path, dataset, _), = mode_figures(found, tmp_path / "figures")
    assert path.name == "modes-ring2d-paper-adam.png" and path.stat().st_size > 1000 and dataset == "ring2d"


def test_a_plain_gan_on_points_gets_no_q_loss_table_nor_accuracy_figure(tmp_path):
    from bench.report.curves import accuracy_curves, qloss_curves

    found = records(tmp_path, [mode_record(k, s, 8) for k in (0, 10) for s in range(3)])
    assert not [t for t in tables_of(found) if t.kind in ("qloss", "clustering")]
    assert accuracy_curves(found, tmp_path / "figures") == [] and qloss_curves(found, tmp_path / "figures") == []
