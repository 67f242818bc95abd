"""An `.npz` dataset named on the command line, image sizes a method cannot take, `--dry-run`
plans and config files, and results kept apart (reference folder, device kinds)."""

import json
import shutil

import numpy as np
import pytest

from bench.cli import main
from bench.datasets import load_dataset, resolve_dataset
from bench.errors import BenchError
from bench.files import check_not_reference, default_results_dir, reference_folder
from bench.report.clustering import clustering_table
from bench.runs.records import load_records
from tests.helpers import ROOT


def npz_file(path, n=140, side=32, **arrays):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
    np.savez(path, x=x, y=np.arange(n) % 5, **arrays)
    return path


def test_an_npz_file_is_a_dataset_with_a_fixed_split(tmp_path):
    name = resolve_dataset(f"npz:{npz_file(tmp_path / 'my-data.npz')}")
    assert name == "npz_my_data"
    data = load_dataset(name, tmp_path)
    assert data.train_x.shape == (120, 1, 32, 32) and data.test_x.shape == (20, 1, 32, 32) and data.n_classes == 5
    assert data.test_y.tolist() == load_dataset(name, tmp_path).test_y.tolist()  # the same split every time
    rgb = np.zeros((8, 16, 16, 3), np.uint8)
    np.savez(tmp_path / "rgb.npz", x=rgb, y=np.zeros(8, int), x_test=rgb[:2], y_test=np.zeros(2, int))
    assert load_dataset(resolve_dataset(f"npz:{tmp_path / 'rgb.npz'}"), tmp_path).train_x.shape == (8, 3, 16, 16)


def test_an_npz_file_with_a_full_factor_grid_gives_ground_truth(tmp_path):
    factors = np.array([[a, b] for a in range(2) for b in range(3)] * 2)
    name = resolve_dataset(f"npz:{npz_file(tmp_path / 'grid.npz', n=12, factors=factors)}")
    truth = load_dataset(name, tmp_path).ground_truth
    assert truth.factors_num_values == [2, 3]
    factors, images = truth.sample(4, np.random.RandomState(0))
    assert images.shape == (4, 1, 32, 32) and factors.shape == (4, 2)


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 8, 8), np.float32), "y": np.zeros(4, int)}, "'x' must be uint8"),
    ({"x": np.zeros((4, 8, 8), np.uint8)}, "has no 'y' array"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.zeros(4, int), "factors": np.array([[0], [0], [0], [2]])},
     "1 of 3 factor combinations have no image"),
])
def test_a_malformed_npz_file_is_one_line(tmp_path, arrays, message):
    path = tmp_path / f"bad{len(arrays)}.npz"  # a name is one file per process
    np.savez(path, **arrays)
    with pytest.raises(BenchError, match=message):
        load_dataset(resolve_dataset(f"npz:{path}"), tmp_path)


def run(tmp_path, *args):
    return main(["run", "--device", "cpu", "--no-progress", "--results-dir", str(tmp_path / "r"),
                 "--workdir", str(tmp_path / "w"), *args])


def test_a_run_on_an_npz_file_records_its_dataset_and_the_table_follows_it(tmp_path, capsys):
    path = npz_file(tmp_path / "blobs.npz")
    assert run(tmp_path, "--methods", "kmeans_pixels", "--dataset", f"npz:{path}", "--set", "tsne_points=0") == 0
    (record_path,) = (tmp_path / "r" / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["run_id"].startswith("kmeans_pixels-npz_blobs-smoke-s0-") and record["status"] == "completed"
    assert record["dataset_source"]["path"] == str(path) and len(record["dataset_source"]["sha256"]) == 64
    capsys.readouterr()
    assert main(["table", "--dataset", f"npz:{path}", "--results-dir", str(tmp_path / "r")]) == 0
    table = capsys.readouterr().out
    assert "kmeans_pixels" in table and "claim" not in table and "infogan" not in table  # MNIST's claims stay there
    # a GPU's run of the same job is its own record and its own table row, never averaged with the CPU's
    cuda = {**record, "run_id": record["run_id"] + "-cuda", "device": "cuda:0"}
    (record_path.parent / f"{cuda['run_id']}.json").write_text(json.dumps(cuda))
    rows = clustering_table(load_records(tmp_path / "r"), "npz_blobs")
    assert sorted(zip(rows["method"], rows["device"], rows["seeds"])) == [
        ("kmeans_pixels", "cpu", 1), ("kmeans_pixels", "cuda", 1)]


@pytest.mark.parametrize("method, side, message", [
    ("infoae", 28, "infoae on npz_small_infoae (1x28x28 images): infoae takes images whose sides are multiples of 8"),
    ("infogan", 24, "infogan on npz_small_infogan (1x24x24 images): infogan has architectures for 28x28, 32x32, "
                    "64x64 images"),
    ("latentgan_ae", 28, "architecture table2_mnist32 takes 1x32x32 images, not 1x28x28; no architecture here takes them"),
])
def test_a_conv_method_refuses_an_image_size_it_cannot_take_in_one_line(tmp_path, capsys, method, side, message):
    path = npz_file(tmp_path / f"small_{method}.npz", side=side)
    assert run(tmp_path, "--methods", method, "--dataset", f"npz:{path}", "--set", "steps=2") == 2  # short if not
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.json"))


def test_dry_run_prints_the_grid_and_trains_nothing(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text('methods = "unrolled_infogan,kmeans_pixels"\nseeds = 2\n[set]\nk = [0, 5]\n')
    assert run(tmp_path, "--config", str(grid), "--dry-run") == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| unrolled_infogan", "| kmeans"))]
    assert len(rows) == 6 and sum("k=5" in r for r in rows) == 2  # 2 K x 2 seeds, and k-means once per seed
    assert "6 job(s) on cpu; nothing trained (--dry-run)." in out
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()


def test_user_runs_stay_out_of_the_reference_results(tmp_path, capsys, monkeypatch):
    assert reference_folder(ROOT / "results" / "runs") == ROOT / "results"  # the shipped records are marked
    reference = tmp_path / "ref"
    reference.mkdir()
    shutil.copy(ROOT / "results" / "REFERENCE", reference)
    code = main(["run", "--methods", "kmeans_pixels", "--results-dir", str(reference), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "only with --reference" in err[0]
    check_not_reference(reference / "runs", True, "records")  # asked for: allowed
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "mine"))
    assert default_results_dir() == tmp_path / "mine"
    monkeypatch.delenv("BENCH_RESULTS")
    assert str(default_results_dir()) == "bench-results"
