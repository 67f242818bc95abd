"""Experiment tracking: TensorBoard events for losses, evaluations and image grids; a
tracker that fails never fails the run; --tracker is checked before training."""

import io
import os
import sys
import time

import pytest
import torch

from bench.errors import BenchError
from bench.factory import create_method
from bench.tracking import progress
from bench.tracking.trackers import RunTracker, check_available, open_tracker, parse_kinds


def read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0}).Reload()
    return events


def test_tensorboard_gets_every_loss_every_score_and_the_grids(tmp_path):
    pytest.importorskip("tensorboard")
    head = {"run_id": "latentgan_ae-toy-smoke-s0", "method": "latentgan_ae", "seed": 0, "config": {"train": {}}}
    tracker = open_tracker(("tensorboard",), tmp_path / head["run_id"], head, label="latentgan_ae s0")
    method = create_method("latentgan_ae", "smoke", image_shape=(1, 32, 32))
    tracker.losses(10, {"d": 1.5, "g": 0.7})
    tracker.losses(20, {"d": 1.2, "g": 0.9})
    tracker.evaluation(20, {"test": {"accuracy": 0.4, "nmi": 0.2, "n": 100, "matching": [[0, 3]]}})
    before = torch.get_rng_state()
    tracker.images(20, method, torch.zeros(20, 1, 32, 32), [[0, 3], [1, 5]])
    assert torch.equal(torch.get_rng_state(), before) and method.training  # training draws what it would have
    tracker.close("completed")

    events = read_events(tmp_path / head["run_id"] / "tb")
    tags = events.Tags()
    assert {"loss/d", "loss/g", "eval/test/accuracy", "eval/test/nmi"} <= set(tags["scalars"])
    assert "eval/test/n" not in tags["scalars"]  # a size, not a score
    assert [(e.step, round(e.value, 3)) for e in events.Scalars("loss/d")] == [(10, 1.5), (20, 1.2)]
    assert {"images/samples", "images/categorical", "images/reconstructions"} <= set(tags["images"])


def test_a_failing_tracker_is_one_warning_and_the_run_goes_on(capsys):
    class Broken:
        name = "broken"

        def scalars(self, step, values):
            raise OSError("disk full")

        def close(self, status):
            raise AssertionError("a dropped backend is not closed")

    tracker = RunTracker([Broken()], label="infogan s0")
    tracker.losses(1, {"d": 1.0})
    tracker.losses(2, {"d": 1.0})  # dropped after the first failure: no second warning
    tracker.close("completed")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken tracking failed while logging losses" in err[0] and "disk full" in err[0]


def test_tracker_names_and_packages_are_checked_before_training(monkeypatch):
    assert parse_kinds("none") == () and parse_kinds("tensorboard, mlflow") == ("tensorboard", "mlflow")
    with pytest.raises(BenchError, match="unknown tracker wandb"):
        parse_kinds("wandb")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(BenchError, match="mlflow package is not installed .*or pass --tracker none"):
        check_available(("mlflow",))


def test_mlflow_logs_a_run_when_installed(tmp_path):
    pytest.importorskip("mlflow")
    head = {"run_id": "infogan-toy-smoke-s0", "method": "infogan", "seed": 0, "config": {"train": {"steps": 2}}}
    tracker = open_tracker(("mlflow",), tmp_path / head["run_id"], head)
    tracker.losses(1, {"d": 1.0})
    tracker.close("completed")
    assert tracker.backends == [] and (tmp_path / "mlflow.db").exists()


def test_a_stage_after_training_says_what_runs_and_stays_on_screen(capsys):
    with progress.shown(True, "infogan s0"), progress.stage("k-means, K=10"):
        pass
    with progress.bar("evaluate test", total=3, unit="img") as bar:  # outside `shown`: silent (library use)
        bar.update(3)
    err = capsys.readouterr().err
    assert "infogan s0 · k-means, K=10" in err and "1/1" in err and err.endswith("\n")
    assert "evaluate test" not in err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal (of the width `os.get_terminal_size` reports)."""

    def isatty(self):
        return True

    def fileno(self):
        return 2


@pytest.mark.parametrize("width", [None, 0])  # not a terminal (a log file); a terminal of width 0
def test_progress_falls_back_to_plain_lines_where_tqdm_draws_nothing(monkeypatch, width):
    stream = io.StringIO() if width is None else _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: os.terminal_size((width or 0, 24)))
    clock = iter(range(0, 1000, 40))  # 40 s between updates: each one is a line
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))
    with progress.shown(True, "infogan s0"):
        progress.note("step 0: training AE")
        with progress.bar("train", total=4, unit="step") as bar:
            bar.update(2)
            bar.set_postfix({"D": "0.693"})
            bar.update(2)
    lines = stream.getvalue().splitlines()
    assert lines == ["infogan s0 · step 0: training AE",
                     "infogan s0 · train: started",
                     "infogan s0 · train: 2/4 step (50%), 40s",
                     "infogan s0 · train: 4/4 step (100%), 80s, D=0.693",
                     "infogan s0 · train: 4/4 step (100%), done in 120.0s, D=0.693"]
    assert "\r" not in stream.getvalue()


def test_progress_draws_tqdm_bars_on_a_terminal_with_a_width(monkeypatch):
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: os.terminal_size((100, 24)))
    with progress.shown(True, "infogan s0"):
        assert progress.drawable(sys.stderr)
        with progress.bar("train", total=4, unit="step") as bar:
            assert not isinstance(bar, progress.LineBar)
            bar.update(4)
    assert "\r" in stream.getvalue() and "4/4" in stream.getvalue()


def test_a_stage_without_a_bar_is_named_once_it_is_slow_and_not_when_quick(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress.shown(True, "infogan s0"):
        with progress.slow("loading mnist", after_s=0.05):
            pass  # quick (or failing at once with its one-line error): nothing
        assert stream.getvalue() == ""
        with progress.slow("loading mnist", after_s=0.05):
            time.sleep(0.5)
    assert stream.getvalue() == "infogan s0 · loading mnist\n"


def test_no_progress_writes_nothing_even_where_lines_would_show(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress.shown(False, "infogan s0"):
        progress.note("step 0: training AE")
        with progress.slow("loading mnist", after_s=0.0):
            time.sleep(0.1)
        with progress.stage("k-means"):
            pass
    assert stream.getvalue() == ""
