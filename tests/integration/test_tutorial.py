"""docs/tutorial.ipynb runs, cell by cell, in a fresh kernel (nbclient, as `pytest --nbmake`
does), and is kept without outputs."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


def test_the_tutorial_is_kept_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_tutorial_runs_a_sweep_and_tabulates_it(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(mnist))  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    results = [out["data"] for out in outputs if out.output_type == "execute_result"]
    assert "kmeans_pixels-mnist-smoke-s0-" in results[0]["text/plain"] and "'completed'" in results[0]["text/plain"]
    frame = results[1]["text/html"]  # the DataFrame: one row per seed
    assert "metrics.test.accuracy" in frame and frame.count("<td>kmeans_pixels</td>") == 2
