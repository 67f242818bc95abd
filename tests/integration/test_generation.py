"""The generation measures end to end: a real (small) MNIST classifier scores real digits
near the ideal, one digit as one class and noise worst; the classifier is cached and
retrained when altered; `bench run` records what a generator draws, on MNIST and on the
2-D mixtures (with its samples over training)."""

import dataclasses
import json
import shutil

import pytest
import torch

from bench.cli import main
from bench.datasets.base import load_dataset, to_float
from bench.evaluation import generation
from bench.files import sha256_of
from bench.runs.records import read_record

SMALL = generation.ClassifierSpec(epochs=2, train_size=8000)  # ~96 %: enough to tell digits apart, seconds to train


@pytest.fixture(scope="module")
def mnist_data(mnist):
    return load_dataset("mnist", mnist)


@pytest.fixture(scope="module")
def classifier(mnist_data, tmp_path_factory):
    return generation.classifier_for(mnist_data, tmp_path_factory.mktemp("cache"), SMALL)


def test_real_digits_score_near_the_ideal_one_digit_covers_one_class_and_noise_is_worst(mnist_data, classifier):
    assert classifier.test_accuracy > 0.9
    test = mnist_data.test_x
    real = generation.scores(classifier, to_float(test[:3000]), test[5000:])
    ones = generation.scores(classifier, to_float(test[mnist_data.test_y == 1][:1000]), test[5000:])
    noise = generation.scores(classifier, torch.rand(1000, 1, 32, 32) * 2 - 1, test[5000:])
    assert real["classes_covered"] == 10 and real["kl_uniform"] < 0.02 and real["classifier_score"] > 5
    assert ones["classes_covered"] == 1 and ones["kl_uniform"] > 2.0
    assert noise["classifier_score"] < real["classifier_score"]
    assert real["frechet_distance"] < ones["frechet_distance"] < noise["frechet_distance"]
    assert real["frechet_distance"] < 0.05 * noise["frechet_distance"]
    per_class = generation._real_per_class(mnist_data)
    assert generation.scores(classifier, to_float(test[:500]), test[5000:], per_class)["category_purity"] > 0.9


def test_the_cached_classifier_is_reused_and_an_altered_one_retrained(mnist_data, tmp_path):
    tiny = generation.ClassifierSpec(epochs=1, train_size=1024)
    mnist_data = dataclasses.replace(mnist_data, train_x=mnist_data.train_x[:2000], train_y=mnist_data.train_y[:2000],
                                     test_x=mnist_data.test_x[:1000], test_y=mnist_data.test_y[:1000])  # seconds
    first = generation.classifier_for(mnist_data, tmp_path, tiny)
    weights = tmp_path / "classifiers" / f"mnist-{tiny.key()}.pt"
    stamp = weights.stat().st_mtime_ns
    again = generation.classifier_for(mnist_data, tmp_path, tiny)
    assert again.sha256 == first.sha256 and weights.stat().st_mtime_ns == stamp  # loaded, not retrained
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    retrained = generation.classifier_for(mnist_data, tmp_path, tiny)
    assert retrained.sha256 == sha256_of(weights) and weights.stat().st_mtime_ns != stamp
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["sha256"] == retrained.sha256 and meta["reference"]["n"] == min(generation.REFERENCE_IMAGES, 2000)


def run(args, dirs) -> int:
    return main(["run", "--device", "cpu", "--no-progress", "--tracker", "none", "--results-dir", str(dirs[0]),
                 "--workdir", str(dirs[1]), *args])


def test_bench_run_records_what_an_mnist_generator_draws(mnist, classifier, tmp_path, dirs):
    root = tmp_path / "data"
    shutil.copytree(mnist / "MNIST", root / "MNIST")
    cache = root / "classifiers" / f"mnist-{generation.ClassifierSpec().key()}.pt"
    cache.parent.mkdir(parents=True)  # the small classifier, cached where the default one would be
    torch.save(classifier.net.state_dict(), cache)
    cache.with_suffix(".json").write_text(json.dumps({"sha256": sha256_of(cache), "test_accuracy": 0.97,
                                                      "reference": classifier.reference}))
    code = run(["--methods", "infogan", "--seeds", "0,", "--data-root", str(root), "--set", "steps=2",
                "--set", "train_size=256", "--set", "tsne_points=0", "--set", "morphometrics=false",
                "--set", "generation_samples=500"], dirs)
    assert code == 0
    (path,) = (dirs[0] / "runs").glob("*.json")
    gen = read_record(dirs[0], path.stem)["generation"]
    assert gen["kind"] == "classifier" and gen["n"] == 500 and 1 <= gen["classes_covered"] <= 10
    assert gen["classifier"]["sha256"] == sha256_of(cache) and 0 <= gen["category_purity"] <= 1
    assert gen["reference"]["classes_covered"] == 10


def test_bench_run_on_a_2d_mixture_keeps_samples_over_training(dirs):
    code = run(["--methods", "unrolled_infogan", "--dataset", "ring2d", "--seeds", "0,", "--set", "steps=6",
                "--set", "eval_every=3", "--set", "k=1", "--set", "batch_size=64"], dirs)
    assert code == 0
    (path,) = (dirs[0] / "runs").glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "completed"
    assert [e["step"] for e in record["evaluations"]] == [0, 3]  # from the untrained model on
    for shot in [e["modes"] for e in record["evaluations"]] + [record["generation"]]:
        assert len(shot["samples"]) == 500 and shot["n"] == 2500 and shot["modes"] == 8
        assert 0 <= shot["modes_covered"] <= 8 and 0 <= shot["high_quality"] <= 1
    assert record["generation"]["kind"] == "modes"
    assert record["config"]["method"]["unroll_rule"] == "adam" and record["config"]["train"]["batch_size"] == 64
