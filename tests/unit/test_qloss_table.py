"""`bench table --kind qloss`: unrolled InfoGAN's final Q losses per K and procedure, the
report's statistic (each run's last minibatch) beside ours (the last log window's mean),
and the paper's values beside the procedure that produced them."""

from bench.report.qloss import qloss_table
from bench.report.tables import text_view
from bench.runs.records import load_records, write_record
from tests.helpers import run_id

LAST_C, LAST_D, MEAN_C, MEAN_D = ("continuous, last batch", "discrete, last batch", "continuous, window mean",
                                  "discrete, window mean")


def record(seed, k, q_cont, q_disc, status="completed", overrides=None, method="unrolled_infogan", preset="paper",
           last=None):
    """A run whose last log window averages (q_cont, q_disc) and whose last minibatch logged
    `last` (default: the window's values plus 1)."""
    overrides = {"k": k, **(overrides or {})}
    last_c, last_d = last if last is not None else (q_cont + 1, q_disc + 1)
    return {
        "run_id": run_id(method, seed, k, sorted(overrides.items()), status), "method": method,
        "dataset": "mnist", "seed": seed, "preset": preset, "overrides": overrides, "status": status,
        "config": {"method": overrides},  # a real record's config holds every setting; these, at least
        "losses": [{"step": 50, "q_cont": 9.0, "q_disc": 9.0}, {"step": 100, "q_cont": q_cont, "q_disc": q_disc}],
        "losses_last": [{"step": 50, "q_cont": 8.0, "q_disc": 8.0}, {"step": 100, "q_cont": last_c, "q_disc": last_d}],
        **({"metrics": {"test": {"accuracy": 0.5, "accuracy_many_to_one": 0.5, "nmi": 0.3, "ari": 0.2}}}
           if status == "completed" else {}),
    }


def table_from(tmp_path, records):
    for rec in records:
        write_record(rec, tmp_path)
    return text_view(qloss_table(load_records(tmp_path)))


def test_both_statistics_mean_and_std_per_k_with_the_claim_beside(tmp_path):
    table = table_from(tmp_path, [
        record(0, 5, 0.10, 0.010, last=(0.5, 0.05)), record(1, 5, 0.20, 0.030, last=(0.7, 0.07)),
        record(2, 5, 0.0, 0.0, status="diverged"), record(0, 3, 0.5, 0.5, method="infogan"),
    ]).set_index("K")
    row = table.loc["5"]
    assert row[MEAN_C] == "0.1500 ± 0.0707" and row[MEAN_D] == "0.0200 ± 0.0141"  # the last window's mean
    assert row[LAST_C] == "0.6000 ± 0.1414" and row[LAST_D] == "0.0600 ± 0.0141"  # the last minibatch's
    assert row[f"best ({LAST_C})"] == "0.5000" and row[f"best ({LAST_D})"] == "0.0500"  # lower is better
    assert row["95 % interval continuous"] == "[0.5000, 0.7000]"  # two seeds: the means of resamples of {0.5, 0.7}
    assert row["procedure"] == "lookahead" and row["seeds"] == "2" and row["not completed"] == "1 diverged"
    assert (row["claimed continuous"], row["claimed discrete"]) == ("0.076", "0.006")
    assert table.loc["7", MEAN_C] == "not run" and table.loc["10", "claimed discrete"] == "0.0006"
    assert "3" not in table.index  # other methods' runs are not in this table


def test_the_k0_claim_sits_only_beside_train_pys_procedure(tmp_path):
    table = table_from(tmp_path, [record(0, 0, 0.3, 0.05), record(0, 0, 0.2, 0.04, overrides={"unroll_rule": "folded_q"})])
    k0 = table[table["K"] == "0"].set_index("procedure")
    assert k0.loc["lookahead", "claimed continuous"] == "—"  # the look-ahead at K = 0 did not produce it
    assert k0.loc["folded_q", "claimed continuous"] == "0.14" and k0.loc["folded_q", LAST_C] == "1.2000"
    assert k0.loc["folded_q", "other settings"] == ""  # the procedure is a column, not an ablation
    assert len(k0) == 2  # no "not run" row: the claim is matched


def test_a_claim_of_the_lookahead_never_matches_another_procedure(tmp_path):
    table = table_from(tmp_path, [record(0, 5, 0.4, 0.04, overrides={"unroll_rule": "sgd"})])
    rows = table[table["K"] == "5"].set_index("procedure")
    assert rows.loc["sgd", "claimed continuous"] == "—" and rows.loc["sgd", MEAN_C] == "0.4000"
    assert rows.loc["lookahead", MEAN_C] == "not run" and rows.loc["lookahead", "claimed continuous"] == "0.076"


def test_runs_that_change_more_than_k_get_their_own_row_without_a_claim(tmp_path):
    table = table_from(tmp_path, [record(0, 5, 0.1, 0.01), record(0, 5, 0.4, 0.04, overrides={"lambda_cont": 1.0})])
    ablation = table[table["other settings"] == "lambda_cont=1.0"].iloc[0]
    assert ablation[MEAN_C] == "0.4000" and ablation["claimed continuous"] == "—"


def test_a_record_without_last_minibatch_values_shows_none(tmp_path):
    old = record(0, 5, 0.1, 0.01)
    del old["losses_last"]  # records before issue 23 kept window means only
    row = table_from(tmp_path, [old]).set_index("K").loc["5"]
    assert row[MEAN_C] == "0.1000" and row[LAST_C] == "—"


def test_no_records_gives_the_claims_as_not_run(tmp_path):
    table = table_from(tmp_path, [])
    assert table["K"].tolist() == ["0", "5", "7", "10"] and set(table[MEAN_C]) == {"not run"}
    assert table["procedure"].tolist() == ["folded_q", "lookahead", "lookahead", "lookahead"]


def test_a_short_run_gets_no_claim_beside_it_and_the_claim_stays_not_run(tmp_path):
    table = table_from(tmp_path, [record(0, 0, 0.3, 0.05, preset="smoke", overrides={"unroll_rule": "folded_q"})])
    smoke = table[(table["K"] == "0") & (table["preset"] == "smoke")].iloc[0]
    assert smoke["claimed continuous"] == "—"
    assert table[(table["K"] == "0") & (table["preset"] == "—")].iloc[0]["claimed continuous"] == "0.14"
