"""What a user sees at the command line: one clear line and a non-zero exit on error."""

import subprocess
import sys

import pytest

from bench import list_methods
from bench.cli import main
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
                 "--results-dir", str(tmp_path / "r"), "--workdir", str(tmp_path / "w"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    if message:
        assert err[0].startswith(message)


def test_missing_data_without_network_is_one_line(tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading:\n<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive", no_network)
    code = main(["run", "--methods", "kmeans_pixels", "--data-root", str(tmp_path / "empty"),
                 "--results-dir", str(tmp_path / "r"), "--workdir", str(tmp_path / "w")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("bench: error: mnist is not in") and "put train-images-idx3-ubyte.gz" in err[0]
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()  # nothing made before the inputs pass


def test_bad_seed_count_is_rejected_by_the_parser():
    out = bench("run", "--methods", "infogan", "--seeds", "0")
    assert out.returncode == 2 and "expected a seed count in 1..1000" in out.stderr


@pytest.mark.parametrize("seeds, message", [
    (",", "expected a seed count in 1..1000 (e.g. 5) or a comma list of seeds in 0..4294967295"),
    ("-1,", "expected a seed count in 1..1000 (e.g. 5) or a comma list of seeds in 0..4294967295"),
    ("4294967296,", "a comma list of seeds in 0..4294967295 (e.g. 0,3), got '4294967296,'"),  # numpy's 32 bits
    ("1001", "expected a seed count in 1..1000"),
    ("0,0", "seed 0 is given twice in '0,0'"),
])
def test_seed_lists_that_would_run_nothing_or_twice_are_refused(seeds, message):
    out = bench("run", "--methods", "infogan", f"--seeds={seeds}")
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("setting", ["log_every=0", "eval_batch_size=0", "batch_size=5000", "lr_d=-0.001",
                                     "n_categories=0", "seed=1"])
def test_bad_settings_fail_before_any_training(setting, tmp_path, capsys):
    code = main(["run", "--methods", "infogan", "--set", setting, "--data-root", str(tmp_path / "none"),
                 "--results-dir", str(tmp_path / "r"), "--workdir", str(tmp_path / "w")])
    assert code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()


@pytest.mark.parametrize("flag", ["--results-dir", "--workdir"])
def test_an_unwritable_folder_fails_before_training(flag, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    folders = {"--results-dir": str(tmp_path / "r"), "--workdir": str(tmp_path / "w"), flag: str(tmp_path / "a-file" / "x")}
    code = main(["run", "--methods", "toy_infogan", "--dataset", "toy",  # data that loads: the folders fail next
                 *[arg for pair in folders.items() for arg in pair]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("bench: error: cannot write to the ")
    assert str(tmp_path / "a-file" / "x") in err[0]
