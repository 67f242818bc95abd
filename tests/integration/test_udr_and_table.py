"""`bench udr` across the seeds of recorded runs, and the Locatello-style disentanglement table
(mean ± std with the best seed, UDR beside the other metrics, the rank correlation between
metrics across runs once there are enough)."""

import json

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.report.disentanglement import MIN_RUNS_FOR_CORRELATION, metric_correlation
from bench.report.tables import numeric_view, text_view
from bench.runs.records import load_records, write_record


def grid_npz(path):
    """32x32 images of a full 3 x 4 factor grid (each combination five times): a band whose
    height is factor 0 and whose brightness is factor 1, plus noise."""
    rng = np.random.default_rng(0)
    factors = np.array([[a, b] for a in range(3) for b in range(4)] * 5)
    x = rng.integers(0, 40, size=(len(factors), 32, 32)).astype(np.uint8)
    for i, (a, b) in enumerate(factors):
        x[i, 6 + 8 * a : 12 + 8 * a] = 100 + 50 * b
    np.savez(path, x=x, y=factors[:, 0], factors=factors)
    return path


def bench(tmp_path, *args):
    return main([*args, "--results-dir", str(tmp_path / "r")])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two seeds of beta_tcvae on the grid, a few steps each, checkpoints kept; and a record of
    one seed of dip_vae_i (a copy: UDR only reads that it is alone)."""
    tmp_path = tmp_path_factory.mktemp("udr")
    path = grid_npz(tmp_path / "udr_grid.npz")  # a stem of its own: one dataset name per process
    common = ["--dataset", f"npz:{path}", "--device", "cpu", "--no-progress", "--tracker", "none",
              "--workdir", str(tmp_path / "w"), "--set", "steps=6", "--set", "batch_size=16",
              "--set", "metric_samples=16", "--set", "tsne_points=0"]
    assert bench(tmp_path, "run", "--methods", "beta_tcvae", "--seeds", "2", *common) == 0
    (first,) = (tmp_path / "r" / "runs").glob("beta_tcvae-*-s0-*.json")
    alone = {**json.loads(first.read_text()), "method": "dip_vae_i",
             "run_id": first.stem.replace("beta_tcvae", "dip_vae_i")}
    write_record(alone, tmp_path / "r")
    return tmp_path, path


def test_udr_scores_each_seed_against_the_others_and_keeps_it_in_the_record(trained, capsys):
    tmp_path, path = trained
    code = bench(tmp_path, "udr", "--dataset", f"npz:{path}", "--workdir", str(tmp_path / "w"), "--points", "100",
                 "--device", "cpu")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "beta_tcvae (smoke): UDR" in out and "over 2 seeds" in out
    assert "skipped dip_vae_i [" in out and "1 completed seed (UDR compares at least 2)" in out
    records = load_records(tmp_path / "r").set_index("run_id")
    tc = records[records["method"] == "beta_tcvae"]
    assert tc["udr.score"].notna().all() and tc["udr.points"].eq(100).all()
    first, second = tc.index
    assert json.loads((tmp_path / "r" / "runs" / f"{first}.json").read_text())["udr"]["compared_with"] == [second]
    assert records.loc[records["method"] == "dip_vae_i"].get("udr.score", pd.Series([np.nan])).isna().all()

    capsys.readouterr()
    assert bench(tmp_path, "table", "--kind", "disentanglement", "--dataset", f"npz:{path}") == 0
    table = capsys.readouterr().out
    assert "\nbeta_tcvae " in table and "udr" in table and "(best " in table  # the terminal's view
    assert max(map(len, table.splitlines())) <= 120
    assert "| beta_tcvae" in (tmp_path / "r" / "tables" / "disentanglement_npz_udr_grid.md").read_text()
    assert f"shown from {MIN_RUNS_FOR_CORRELATION} scored runs on" in table  # three runs: no correlation yet


def test_udr_says_in_one_line_what_it_cannot_score(trained, tmp_path, capsys):
    source, path = trained
    assert bench(source, "udr", "--dataset", f"npz:{path}", "--methods", "dip_vae_i", "--workdir",
                 str(source / "w")) == 2
    assert "no run group of npz_udr_grid" in capsys.readouterr().err
    assert bench(source, "udr", "--dataset", f"npz:{path}", "--methods", "beta_tcvae", "--workdir",
                 str(tmp_path / "elsewhere"), "--points", "100") == 2
    assert "its checkpoint is not on this machine" in capsys.readouterr().err


def scored_record(i, method, **metrics):
    return {"run_id": f"{method}-dsprites-smoke-s{i}", "method": method, "dataset": "dsprites", "seed": i,
            "preset": "smoke", "overrides": {}, "status": "completed",
            "metrics": {"test": {"accuracy": 0.5, "accuracy_many_to_one": 0.5, "nmi": 0.1, "ari": 0.1}},
            "disentanglement": {"backend": "bench", "metrics": metrics, "settings": {}, "seconds": 1.0}}


def test_rank_correlation_between_metrics_across_runs(tmp_path):
    runs = [scored_record(i, "beta_tcvae" if i % 2 else "factor_vae", mig=0.1 * i, sap=0.01 * i ** 2,
                          irs=1.0 - 0.05 * i, modularity=[0.3, 0.9, 0.1, 0.5, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0][i])
            for i in range(MIN_RUNS_FOR_CORRELATION)]
    for run in runs[:-1]:
        write_record(run, tmp_path)
    assert metric_correlation(load_records(tmp_path), "dsprites") is None  # nine runs: not enough
    write_record(runs[-1], tmp_path)
    table = metric_correlation(load_records(tmp_path), "dsprites")
    view = text_view(table).set_index("metric")
    assert view.loc["MIG", "SAP"] == "1.00" and view.loc["MIG", "IRS"] == "-1.00" and view.loc["IRS", "IRS"] == "1.00"
    expected = pd.Series(range(10)).corr(pd.Series(runs[i]["disentanglement"]["metrics"]["modularity"]
                                                   for i in range(10)), method="spearman")
    assert numeric_view(table).set_index("metric").loc["MIG", "Mod."] == pytest.approx(expected)
    assert "BetaVAE" not in view.columns  # a metric no run carries is left out


def test_bench_report_writes_the_correlation_once_there_are_enough_runs(tmp_path, capsys):
    results = tmp_path / "r"
    for i in range(MIN_RUNS_FOR_CORRELATION):
        write_record(scored_record(i, "factor_vae", mig=0.1 * i, irs=0.5 + 0.01 * i, sap=0.3 - 0.02 * i), results)
    assert main(["report", "--results-dir", str(results)]) == 0
    table = (results / "tables" / "disentanglement_dsprites_correlation.md").read_text()
    assert "| MIG " in table and "-1.00" in table
    assert "disentanglement_dsprites_correlation" in (results / "README.md").read_text()
    assert "Spearman rank correlation between metrics across 10 runs" in (results / "index.html").read_text()
    capsys.readouterr()
    assert main(["table", "--kind", "disentanglement", "--dataset", "dsprites", "--results-dir", str(results)]) == 0
    assert "Spearman rank correlation between metrics across 10 runs" in capsys.readouterr().out
