"""What a run records beyond clustering: disentanglement metrics on dSprites (all of
them, finite, by the chosen backend), a t-SNE layout, and one-line errors for a backend
that cannot run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.device import choose_device
from bench.errors import BenchError
from bench.evaluation.disentanglement import KEYS
from bench.runs.plan import plan
from bench.runs.sweep import run_jobs

ROOT = Path(__file__).resolve().parents[2]
TINY = {"steps": 3, "batch_size": 16, "train_size": 256, "test_size": 200, "checkpoint_every": 0,
        "log_every": 3, "metric_samples": 20}


def run(method, dataset, dirs, **overrides):
    results, workdir = dirs
    jobs = plan([method], [0], dataset, "smoke", {**TINY, **overrides})
    (record,) = run_jobs(jobs, Path("unused"), choose_device("cpu"), results, workdir, progress=False,
                         echo=lambda line: None)
    return record


# vae_infogan holds every 64x64 network of the VAE family (its encoder, decoder and D)
@pytest.mark.parametrize("method", ["infogan", "vae_infogan"])
def test_a_dsprites_run_records_every_disentanglement_metric(dirs, method):
    record = run(method, "dsprites", dirs, tsne_points=0)
    assert record["status"] == "completed", record.get("message")
    assert record["image_shape"] == [1, 64, 64] and record["n_classes"] == 3
    scores = record["disentanglement"]
    assert scores["backend"] == "bench" and set(scores["metrics"]) == set(KEYS)
    assert all(0.0 <= v <= 1.0 for v in scores["metrics"].values()), scores["metrics"]
    assert scores["settings"]["dci"] == {"num_train": 20, "num_test": 10}
    assert "measure_errors" not in record and "morphometrics" not in record  # dSprites: no digits


def test_a_run_records_a_tsne_layout_of_its_test_images(dirs):
    record = run("infogan", "toy", dirs, tsne_points=60)
    layout = record["tsne"]
    assert layout["n"] == 60 and len(layout["x"]) == len(layout["y"]) == len(layout["label"]) == 60
    assert set(layout["label"]) <= set(range(10))
    assert "disentanglement" not in record  # the toy images have no ground-truth factors
    assert "latent_kl" not in record  # InfoGAN has no posterior


def test_a_variational_run_records_the_average_kl_of_each_latent_by_group(dirs, tmp_path):
    from bench.report.figures import latent_kl_figure

    record = run("vae_infogan", "toy", dirs, tsne_points=0, k=0, latent=6, info_latents=2)
    assert record["status"] == "completed", record.get("message")
    kl = record["latent_kl"]
    assert kl["n"] == 200 and len(kl["per_latent"]) == 6 and min(kl["per_latent"]) >= 0
    assert kl["groups"] == {"incompressible": [0, 1, 2, 3], "info": [4, 5]}  # the last latents are Q's
    assert kl["group_mean"]["info"] == pytest.approx(sum(kl["per_latent"][4:]) / 2, abs=1e-5)
    assert {"kl_info", "kl_incompressible"} <= set(record["losses"][-1])  # the training-time curves
    path = latent_kl_figure(record, tmp_path)
    assert path.name == f"kl-{record['run_id']}.png" and path.read_bytes() == latent_kl_figure(record, tmp_path / "again").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--set", "metrics_backend=nope"], "bench: error: metrics_backend='nope' is not one of 'bench', 'dlib'"),
    (["--metrics-backend", "dlib"], "bench: error: metrics backend 'dlib' needs disentanglement-lib"),
])
def test_a_backend_that_cannot_run_fails_before_training(tmp_path, args, message):
    pytest.importorskip("torch")
    if "dlib" in args:
        try:
            import disentanglement_lib  # noqa: F401
            pytest.skip("disentanglement-lib is installed here")
        except ImportError:
            pass
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", "infogan", "--dataset", "dsprites",
           "--results-dir", str(tmp_path), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_method_without_a_64px_architecture_is_refused_in_one_line_before_training(dirs):
    with pytest.raises(BenchError) as refused:
        run("ae_kmeans", "dsprites", dirs)
    assert "ae_kmeans on dsprites (1x64x64 images)" in str(refused.value) and "\n" not in str(refused.value)
    assert not list(dirs[0].rglob("*.json"))  # nothing trained, nothing recorded
