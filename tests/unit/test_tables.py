"""The paper-shaped table from run records: numbers, claimed column, files."""

import pandas as pd

from bench.report.clustering import clustering_table
from bench.report.tables import text_view, write_table
from bench.runs.records import load_records, write_record
from tests.helpers import run_id


def record(method, seed, acc, status="completed", k=10, many=None, overrides=None, dataset="mnist", used=None,
           config=None):
    rec = {"run_id": run_id(method, seed, status, k, overrides), "method": method, "dataset": dataset,
           "seed": seed, "preset": "paper", "overrides": overrides or {}, "status": status, "n_clusters": k, "n_classes": 10}
    if config is not None:
        rec["config"] = config
    if status == "completed":
        rec["metrics"] = {"test": {"accuracy": acc, "accuracy_many_to_one": many if many is not None else acc,
                                   "nmi": 0.5, "ari": 0.4, "clusters_used": used if used is not None else k}}
    return rec


def table_from(tmp_path, records):
    for rec in records:
        write_record(rec, tmp_path)
    # as the Markdown shows it (the CSV's numbers are tested in test_table_views)
    return text_view(clustering_table(load_records(tmp_path))).set_index("method")


def test_mean_std_over_completed_seeds_with_the_claim_beside(tmp_path):
    table = table_from(tmp_path, [
        record("infogan", 0, 0.90), record("infogan", 1, 0.94), record("infogan", 2, None, status="diverged"),
        record("kmeans_pixels", 0, 0.55),
    ])
    row = table.loc["infogan"]
    assert row["test error %"] == "8.00 ± 2.83"  # errors 10 and 6: mean 8, sample std 2.83
    assert row["seeds"] == "2" and row["not completed"] == "1 diverged"
    assert row["claimed error %"] == "5" and row["mapping"] == "hungarian"  # InfoGAN's 5 % has no spread
    assert row["claim source"].startswith("Chen, Duan, Houthooft") and "arXiv:1606.03657" in row["claim source"]
    assert table.loc["kmeans_pixels", "test error %"] == "45.00"  # one seed: no std
    assert table.loc["kmeans_pixels", "claimed error %"] == "none: a baseline"
    assert table.loc["latentgan_ae", "test error %"] == "not run"  # claims with no runs stay visible


def test_more_clusters_than_classes_uses_the_many_to_one_mapping(tmp_path):
    table = table_from(tmp_path, [record("aae", 0, 0.70, k=16, many=0.90)])
    row = table[table["K"] == "16"].loc["aae"]
    assert row["mapping"] == "many-to-one" and row["test error %"] == "10.00"
    assert row["claimed error %"] == "9.55 ± 2.05"


def test_a_run_varying_only_what_the_paper_varies_keeps_the_claim(tmp_path):
    table = table_from(tmp_path, [record("aae", 0, 0.5, k=30, many=0.95, overrides={"n_categories": 30})])
    row = table.loc["aae [n_categories=30]"]
    assert row["test error %"] == "5.00" and row["claimed error %"] == "4.1 ± 1.13"
    unrun = table.loc["aae"]  # the K=16 claim has no run yet, so it stays visible
    assert unrun["K"] == "16" and unrun["test error %"] == "not run"


def test_ablations_get_their_own_rows_without_the_papers_claim(tmp_path):
    table = table_from(tmp_path, [record("infogan", 0, 0.9), record("infogan", 0, 0.8, overrides={"lambda_cont": 0.5})])
    assert table.loc["infogan [lambda_cont=0.5]", "test error %"] == "20.00"
    assert table.loc["infogan [lambda_cont=0.5]", "claimed error %"] == "—"


def test_other_datasets_are_left_out(tmp_path):
    table = table_from(tmp_path, [record("infogan", 0, 0.9, dataset="toy")])
    assert table.loc["infogan", "test error %"] == "not run"


def test_markdown_csv_and_latex_are_written(tmp_path):
    table = clustering_table(pd.DataFrame())
    paths = write_table(table, tmp_path / "tables", "clustering_mnist")
    assert [p.suffix for p in paths] == [".md", ".csv", ".tex"]
    assert "| method" in paths[0].read_text()
    assert pd.read_csv(paths[1])["method"].tolist() == table["method"].tolist()
    assert "\\toprule" in paths[2].read_text()
    assert "\\begin{tabular}" in paths[2].read_text()


def test_best_median_and_collapsed_seeds_tell_a_dead_seed_from_noise(tmp_path):
    table = table_from(tmp_path, [
        record("infogan", 0, 0.95), record("infogan", 1, 0.90), record("infogan", 2, 0.85),
        record("infogan", 3, 0.19, used=8),  # below twice chance (0.2): collapsed
        record("infogan", 4, 0.60, used=4),  # fewer than K/2 clusters used: collapsed
    ])
    row = table.loc["infogan"]
    assert (row["best"], row["median"], row["collapsed"]) == ("5.00", "15.00", "2 of 5")


def test_a_run_made_before_a_default_changed_is_labelled_with_what_it_ran(tmp_path):
    import dataclasses

    from bench.config import resolve
    from bench.registry import METHODS

    train, method = resolve(METHODS.get("infogan"), "paper", {})
    today = {"train": dataclasses.asdict(train), "method": dataclasses.asdict(method)}
    older = {"train": today["train"], "method": {**today["method"], "lambda_cont": 0.5}}
    table = table_from(tmp_path, [record("infogan", 0, 0.9, config=today), record("infogan", 1, 0.7, config=older)])
    assert table.loc["infogan", "test error %"] == "10.00"  # not averaged with the older default
    assert table.loc["infogan [lambda_cont=0.5]", "test error %"] == "30.00"
    assert table.loc["infogan [lambda_cont=0.5]", "claimed error %"] == "—"


def test_settings_that_changed_nothing_a_run_computed_make_no_variant():
    """amp on a CPU (autocast is CUDA's), validation_size for a method that holds nothing out,
    the unroll rule of a VAE-GAN that unrolls nothing; each still labels the runs it changed."""
    import dataclasses

    from bench.config import resolve
    from bench.registry import METHODS
    from bench.runs.records import changed_settings

    def recorded(method, device, train=None, config=None):
        t, m = resolve(METHODS.get(method), "smoke", {})
        return {"method": method, "preset": "smoke", "device": device,
                "config": {"train": {**dataclasses.asdict(t), **(train or {})},
                           "method": {**dataclasses.asdict(m), **(config or {})}}}

    assert changed_settings(recorded("infogan", "cpu", {"amp": True})) == {}
    assert changed_settings(recorded("infogan", "NVIDIA H100", {"amp": True})) == {"amp": True}  # bf16 ran
    assert changed_settings(recorded("infogan", "cpu", {"validation_size": 0})) == {}
    assert changed_settings(recorded("aae", "cpu", {"validation_size": 0})) == {"validation_size": 0}
    assert changed_settings(recorded("vae_gan", "cpu", config={"k": 0, "unroll_rule": "adam"})) == {}
    assert changed_settings(recorded("vae_gan", "cpu", config={"k": 2, "unroll_rule": "adam"})) == {
        "k": 2, "unroll_rule": "adam"}
    assert changed_settings(recorded("unrolled_infogan", "cpu", config={"k": 0, "unroll_rule": "adam"})) == {
        "k": 0, "unroll_rule": "adam"}  # at K = 0 its rules are different procedures
