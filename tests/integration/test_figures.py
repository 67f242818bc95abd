"""`bench plot` draws the papers' grids from a recorded checkpoint."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from bench.cli import main
from bench.datasets.base import to_float
from bench.device import choose_device
from bench.runs.plan import plan
from bench.runs.sweep import run_jobs

SHORT = {"steps": 2, "batch_size": 16, "checkpoint_every": 0, "log_every": 1, "train_size": None}


@pytest.fixture
def trained_toy(tmp_path):
    results, workdir = tmp_path / "results", tmp_path / "runs"

    def train(method, **overrides):
        jobs = plan([method], [0], "toy", "smoke", {**SHORT, **overrides})
        (record,) = run_jobs(jobs, Path("unused"), choose_device("cpu"), results, workdir,
                             progress=False, echo=lambda line: None)
        assert record["status"] == "completed", record.get("message")
        return record

    return train, results, workdir


def test_traversals_write_one_categorical_grid_and_one_grid_per_continuous_code(trained_toy, tmp_path, capsys):
    train, results, workdir = trained_toy
    record = train("latentgan_ae")
    out = tmp_path / "figs"
    code = main(["plot", "traversals", "--method", "latentgan_ae", "--results-dir", str(results),
                 "--workdir", str(workdir), "--out", str(out)])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{record['run_id']}_{kind}.png" for kind in ("categorical", "continuous1", "continuous2")]
    width, height = Image.open(out / names[0]).size
    # 10 categories x 10 noise samples of 32px + padding, framed with a title and axis labels
    assert width > 10 * 34 + 2 and height > 10 * 34 + 2


def test_reconstructions_pair_real_and_decoded_rows(trained_toy, tmp_path, monkeypatch):
    train, results, workdir = trained_toy
    record = train("ae_kmeans")
    import tests.plugin

    monkeypatch.setattr("bench.datasets.base.load_dataset", lambda name, root: tests.plugin.load_toy(root))
    out = tmp_path / "figs"
    assert main(["plot", "reconstructions", "--method", "ae_kmeans", "--results-dir", str(results),
                 "--workdir", str(workdir), "--out", str(out)]) == 0
    width, height = Image.open(out / f"{record['run_id']}_reconstructions.png").size
    assert width > 10 * 34 + 2 and height > 10 * 34 + 2  # 5 pairs of rows, framed


def test_traversals_from_real_images_start_each_row_from_an_encoded_test_image(trained_toy, tmp_path):
    train, results, workdir = trained_toy
    record = train("vae_infogan", k=0, tsne_points=0)
    import tests.plugin

    out = tmp_path / "figs"
    assert main(["plot", "traversals", "--from-real", "--method", "vae_infogan", "--results-dir", str(results),
                 "--workdir", str(workdir), "--out", str(out)]) == 0
    assert (out / f"{record['run_id']}_fromreal.png").exists()
    from bench.tracking import grids
    from bench.runs.recorded import load_trained

    method = load_trained(record, workdir)
    real = tests.plugin.load_toy(None).test_x
    grid = grids.from_real(method, to_float(real[:8]))
    info = record["config"]["method"]["info_latents"]
    assert grid.rows == info and grid.columns == 10  # a row per info latent: the real image + 9 steps
    for j in range(info):  # the first tile of row j is test image j
        assert torch.equal(grid.images[j * 10], to_float(real[j]).float())


def test_interpolations_run_from_one_encoded_test_image_to_another(trained_toy, tmp_path, monkeypatch):
    train, results, workdir = trained_toy
    record = train("ae_kmeans")
    import tests.plugin
    from bench.tracking import grids
    from bench.runs.recorded import load_trained

    monkeypatch.setattr("bench.datasets.base.load_dataset", lambda name, root: tests.plugin.load_toy(root))
    out = tmp_path / "figs"
    assert main(["plot", "interpolations", "--method", "ae_kmeans", "--results-dir", str(results),
                 "--workdir", str(workdir), "--out", str(out)]) == 0
    width, height = Image.open(out / f"{record['run_id']}_interpolations.png").size
    assert width > 10 * 34 + 2 and height > 6 * 34 + 2  # 6 pairs x (a, 8 steps, b), framed

    toy = tests.plugin.load_toy(None)
    pairs = grids.interpolation_pairs(toy.test_y)
    labels = toy.test_y.tolist()
    assert len(pairs) == 6 and all(labels[a] != labels[b] for a, b in pairs[:3])  # Fig. 2(c): two digits
    assert all(labels[a] == labels[b] for a, b in pairs[3:]) and len({labels[a] for a, _ in pairs[3:]}) == 3  # 2(d)
    method = load_trained(record, workdir).eval()
    a, b = to_float(toy.test_x[:2]), to_float(toy.test_x[2:4])
    grid = grids.interpolations(method, a, b, steps=5)
    assert grid.rows == 2 and grid.columns == 7
    tiles = grid.images.view(2, 7, *a.shape[1:])
    with torch.no_grad():
        assert torch.equal(tiles[:, 0], a) and torch.equal(tiles[:, -1], b)  # the real images at the ends
        assert torch.allclose(tiles[:, 1], method.reconstruct(a), atol=1e-6)  # t = 0, 1: their reconstructions
        assert torch.allclose(tiles[:, -2], method.reconstruct(b), atol=1e-6)
        middle = method.from_latent((method.to_latent(a) + method.to_latent(b)) / 2)
        assert torch.allclose(tiles[:, 3], middle, atol=1e-6)  # t = 0.5: the code halfway


def test_plot_errors_are_one_line(trained_toy, capsys):
    train, results, workdir = trained_toy
    train("kmeans_pixels")
    args = ["--results-dir", str(results), "--workdir", str(workdir)]
    assert main(["plot", "traversals", "--method", "kmeans_pixels", *args]) == 2
    assert capsys.readouterr().err.strip() == "bench: error: kmeans_pixels has no generator to traverse"
    assert main(["plot", "traversals", "--method", "infogan", *args]) == 2
    assert "no completed run of infogan" in capsys.readouterr().err
    assert main(["plot", "traversals", "--method", "kmeans_pixels", "--workdir", "/nonexistent",
                 "--results-dir", str(results)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "its checkpoint is not on this machine (no /nonexistent/" in line
    assert "re-create it with `bench run --methods kmeans_pixels --dataset toy --seeds 1 --preset smoke --set " in line
    assert line.endswith(" --workdir /nonexistent` (or pass --workdir where it is)")
    assert main(["plot", "traversals", "--from-real", "--method", "kmeans_pixels", *args]) == 2
    assert capsys.readouterr().err.strip() == ("bench: error: kmeans_pixels does not encode images into its codes "
                                               "(--from-real needs a variational method)")
    assert main(["plot", "reconstructions", "--from-real", "--method", "kmeans_pixels", *args]) == 2
    assert capsys.readouterr().err.strip() == "bench: error: --from-real applies to traversals"
    assert main(["plot", "interpolations", "--method", "kmeans_pixels", *args]) == 2
    assert capsys.readouterr().err.strip() == ("bench: error: kmeans_pixels has no encoder and decoder to "
                                               "interpolate between codes with")
