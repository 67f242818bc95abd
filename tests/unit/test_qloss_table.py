"""`bench table --kind qloss`: unrolled InfoGAN's final Q losses per K beside the paper's."""

from bench.report.qloss import qloss_table
from bench.report.tables import text_view
from bench.runs.records import load_records, write_record
from tests.helpers import run_id


def record(seed, k, q_cont, q_disc, status="completed", overrides=None, method="unrolled_infogan", preset="paper"):
    overrides = {"k": k, **(overrides or {})}
    return {
        "run_id": run_id(method, seed, k, sorted(overrides.items()), status), "method": method,
        "dataset": "mnist", "seed": seed, "preset": preset, "overrides": overrides, "status": status,
        "config": {"method": overrides},  # a real record's config holds every setting; these, at least
        "losses": [{"step": 50, "q_cont": 9.0, "q_disc": 9.0}, {"step": 100, "q_cont": q_cont, "q_disc": q_disc}],
        **({"metrics": {"test": {"accuracy": 0.5, "accuracy_many_to_one": 0.5, "nmi": 0.3, "ari": 0.2}}}
           if status == "completed" else {}),
    }


def table_from(tmp_path, records):
    for rec in records:
        write_record(rec, tmp_path)
    return text_view(qloss_table(load_records(tmp_path)))


def test_final_window_mean_and_std_per_k_with_the_claim_beside(tmp_path):
    table = table_from(tmp_path, [
        record(0, 5, 0.10, 0.010), record(1, 5, 0.20, 0.030), record(2, 5, 0.0, 0.0, status="diverged"),
        record(0, 0, 0.30, 0.050), record(0, 3, 0.5, 0.5, method="infogan"),
    ]).set_index("K")
    row = table.loc["5"]
    assert row["Q loss continuous"] == "0.1500 ± 0.0707" and row["Q loss discrete"] == "0.0200 ± 0.0141"
    assert row["seeds"] == "2" and row["not completed"] == "1 diverged"
    assert (row["claimed continuous"], row["claimed discrete"]) == ("0.076", "0.006")
    assert table.loc["0", "Q loss continuous"] == "0.3000"  # one seed, last log window
    assert table.loc["7", "Q loss continuous"] == "not run" and table.loc["10", "claimed discrete"] == "0.0006"
    assert "3" not in table.index  # other methods' runs are not in this table


def test_runs_that_change_more_than_k_get_their_own_row_without_a_claim(tmp_path):
    table = table_from(tmp_path, [record(0, 5, 0.1, 0.01), record(0, 5, 0.4, 0.04, overrides={"unroll_rule": "sgd"})])
    ablation = table[table["other settings"] == "unroll_rule=\"sgd\""].iloc[0]
    assert ablation["Q loss continuous"] == "0.4000" and ablation["claimed continuous"] == "—"


def test_no_records_gives_the_claims_as_not_run(tmp_path):
    table = table_from(tmp_path, [])
    assert table["K"].tolist() == ["0", "5", "7", "10"] and set(table["Q loss continuous"]) == {"not run"}


def test_a_short_run_gets_no_claim_beside_it_and_the_claim_stays_not_run(tmp_path):
    table = table_from(tmp_path, [record(0, 0, 0.3, 0.05, preset="smoke")])
    smoke = table[(table["K"] == "0") & (table["preset"] == "smoke")].iloc[0]
    assert smoke["claimed continuous"] == "—"
    assert table[(table["K"] == "0") & (table["preset"] == "—")].iloc[0]["claimed continuous"] == "0.14"
