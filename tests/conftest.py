import os
from pathlib import Path

import pytest

import tests.plugin  # noqa: F401  registers the toy dataset and misbehaving methods

ROOT = Path(__file__).resolve().parent.parent


def mnist_root() -> Path:
    return Path(os.environ.get("BENCH_DATA") or ROOT / "data")


@pytest.fixture
def mnist():
    """The MNIST data root. Skips where the files are absent, except under
    BENCH_REQUIRE_DATA=1 (CI), where their absence is a failure."""
    root = mnist_root()
    if not (root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("BENCH_REQUIRE_DATA") == "1":
            pytest.fail(f"MNIST files missing under {root}/MNIST/raw (BENCH_REQUIRE_DATA=1)")
        pytest.skip(f"MNIST files not under {root}/MNIST/raw")
    return root


@pytest.fixture
def dirs(tmp_path):
    """A results directory and a checkpoint workdir, both fresh."""
    return tmp_path / "results", tmp_path / "runs"
