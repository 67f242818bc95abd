"""One table, three views: Markdown text, a CSV of numbers, booktabs LaTeX in ASCII; and
`bench table --kind` for every kind."""

import math

import pandas as pd
import pytest

from bench.cli import main
from bench.report.clustering import LATEX, clustering_table
from bench.report.tables import latex_escape, write_table
from bench.runs.records import load_records, write_record
from tests.unit.test_tables import record


@pytest.fixture
def results(tmp_path):
    for rec in (record("infogan", 0, 0.90), record("infogan", 1, 0.94), record("kmeans_pixels", 0, 0.55)):
        write_record(rec, tmp_path)
    return tmp_path


def test_csv_cells_are_numbers_mean_and_std_in_columns_of_their_own(results, tmp_path):
    paths = write_table(clustering_table(load_records(results)), tmp_path / "t", "clustering_mnist", LATEX)
    csv = pd.read_csv(paths[1]).set_index("method")
    for column in ("test error % mean", "test error % std", "test error % best", "test error % median", "NMI mean"):
        assert pd.api.types.is_float_dtype(csv[column]), column
    assert csv.loc["infogan", "test error % mean"] == pytest.approx(8.0)
    assert csv.loc["infogan", "test error % std"] == pytest.approx(math.sqrt(8))  # errors 10 and 6
    assert csv.loc["infogan", "test error % n"] == 2 and csv.loc["infogan", "test error % best"] == pytest.approx(6.0)
    assert math.isnan(csv.loc["kmeans_pixels", "test error % std"])  # one seed: no spread, not a string
    assert csv.loc["infogan", "claimed error % mean"] == 5 and csv.loc["latentgan_ae", "test error % note"] == "not run"
    assert "±" not in paths[1].read_text()


def test_latex_is_booktabs_in_plain_ascii_with_fewer_columns_and_numbered_sources(results, tmp_path):
    table = clustering_table(load_records(results))
    tex = write_table(table, tmp_path / "t", "clustering_mnist", LATEX)[2].read_text()
    assert tex.isascii() and all(rule in tex for rule in ("\\toprule", "\\midrule", "\\bottomrule"))
    assert "\\hline" not in tex
    header = tex.splitlines()[tex.splitlines().index("\\toprule") + 1]
    assert header.count("&") + 1 == len(LATEX.columns) < len(table.columns)
    assert "8.00 $\\pm$ 2.83" in tex and "error \\%" in header
    assert "5 [" in tex and "arXiv:1606.03657" in tex  # InfoGAN's claim cites a note under the table
    assert latex_escape('a_b & 50% | "x" ρ — ~') == "a\\_b \\& 50\\% \\textbar{} ``x'' $\\rho$ --- \\textasciitilde{}"


@pytest.mark.parametrize("kind", ["clustering", "qloss", "disentanglement", "morphometrics"])
def test_bench_table_writes_each_kind(results, tmp_path, kind, capsys):
    assert main(["table", "--kind", kind, "--results-dir", str(results), "--out", str(tmp_path / "out")]) == 0
    assert "written:" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{kind}_mnist.{s}" for s in ("csv", "md", "tex")]


def test_bench_table_speed_without_measurements_is_one_line(results, capsys):
    assert main(["table", "--kind", "speed", "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: no speed measurements") and "\n" not in err
