import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

import tests.plugin  # noqa: F401  registers the toy dataset and misbehaving methods

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis (tests/fuzz): 500 examples per property, the same ones on every run (derandomized,
# no example database), no per-example deadline (a shared CI machine is slow at times).
# BENCH_HYPOTHESIS_PROFILE=dev runs 50 while working on a property.
settings.register_profile("ci", max_examples=500, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=50)
settings.load_profile(os.environ.get("BENCH_HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """Under pytest-xdist (`-n N`), each worker takes its share of the cores, so N workers
    do not oversubscribe the machine with N x all-cores torch threads. `bench` processes the
    tests start take the same count (BENCH_THREADS), so that a subprocess run and an
    in-process reference reduce in the same order."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(workers)))
    os.environ["BENCH_THREADS"] = str(torch.get_num_threads())


def pytest_collection_modifyitems(config, items):
    """The minutes-long smoke runs first, so that parallel workers fill in around them with
    the short tests instead of one worker starting a smoke run last."""
    items.sort(key=lambda item: item.get_closest_marker("smoke") is None)


def mnist_root() -> Path:
    return Path(os.environ.get("BENCH_DATA") or ROOT / "data")


@pytest.fixture(scope="session")
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


@pytest.fixture
def float64():
    """Float64 as the default dtype (parameters, and codes drawn in the default dtype), for
    comparisons that float32 rounding would blur; restored afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def one_thread():
    """One torch thread, so two computations reduce in the same order; restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
