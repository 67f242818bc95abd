"""What a user sees at the command line: one clear line and a non-zero exit on error."""

import subprocess
import sys

import pytest

from bench.cli import main
from bench.registry import list_methods
from tests.plugin import TEST_METHODS

BUILTIN = [name for name in list_methods() if name not in TEST_METHODS]


def bench(*args):
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


def test_unknown_method_is_one_line_listing_the_available_ones():
    out = bench("run", "--methods", "nope")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"bench: error: unknown method 'nope'; available: {', '.join(BUILTIN)}"
    ]


def test_list_shows_methods_datasets_and_presets():
    out = bench("list")
    assert out.returncode == 0
    for word in ("infogan", "kmeans_pixels", "mnist", "smoke", "paper", "accuracy"):
        assert word in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "stepz=3"], "bench: error: unknown setting stepz"),
        (["--set", "steps=abc"], "bench: error: steps='abc' is not a valid int"),
        (["--device", "cuda:0"], None),  # either runs on a GPU box or fails in one line
        (["--dataset", "imagenet"], "bench: error: unknown dataset 'imagenet'"),
    ],
)
def test_bad_options_fail_in_one_line(args, message, capsys, tmp_path):
    code = main(["run", "--methods", "infogan", "--data-root", str(tmp_path / "none"),
                 "--results-dir", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    if message:
        assert err[0].startswith(message)


def test_missing_data_without_network_is_one_line(tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading:\n<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive", no_network)
    code = main(["run", "--methods", "kmeans_pixels", "--data-root", str(tmp_path / "empty"),
                 "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("bench: error: MNIST is not in") and "put train-images-idx3-ubyte.gz" in err[0]
    assert not (tmp_path / "r" / "runs").exists()  # nothing half-recorded


def test_bad_seed_count_is_rejected_by_the_parser():
    out = bench("run", "--methods", "infogan", "--seeds", "0")
    assert out.returncode == 2 and "expected a seed count >= 1" in out.stderr
