"""The loop's promises: diverged and failed runs are recorded and the sweep goes on;
an interrupted or killed run resumes to exactly the result of an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from bench.training import checkpoint
from tests.helpers import ROOT, TOY, final_weights, records_on_disk, sweep


def ctrl_c(*args, **kwargs):
    """Stands in for a step of the run that a Ctrl-C reaches."""
    raise KeyboardInterrupt


def toy_run_command(results, workdir) -> tuple[list[str], dict]:
    """`bench run` of the toy method on the toy dataset as a subprocess: (command, environment)."""
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", "toy_infogan", "--dataset", "toy",
           "--results-dir", str(results), "--workdir", str(workdir), "--device", "cpu", "--no-progress"]
    cmd += [arg for k, v in TOY.items() for arg in ("--set", f"{k}={v}")]
    return cmd, {**os.environ, "BENCH_PLUGINS": "tests.plugin", "PYTHONPATH": str(ROOT)}


def test_nan_loss_is_recorded_as_diverged_and_the_sweep_goes_on(dirs):
    records, lines = sweep(["nan_infogan", "toy_infogan"], dirs)
    assert [r["status"] for r in records] == ["diverged", "completed"]
    assert "non-finite D_loss" in records[0]["message"] and records[0]["steps"] == 8  # caught at the log step
    assert "metrics" not in records[0] and "metrics" in records[1]
    assert lines[0].startswith("nan_infogan seed 0: diverged: non-finite")
    saved = checkpoint.load(dirs[1] / records[0]["run_id"] / "checkpoint.pt")
    assert saved["step"] == 4  # the last finite checkpoint is kept, not overwritten by NaNs


def test_an_exception_is_recorded_as_failed_in_one_line(dirs):
    records, lines = sweep(["broken_method", "toy_infogan"], dirs)
    assert [r["status"] for r in records] == ["failed", "completed"]
    assert records[0]["message"] == "RuntimeError: deliberately broken"
    assert "Traceback" in records[0]["traceback"]
    assert lines[0] == "broken_method seed 0: failed: RuntimeError: deliberately broken"


def test_each_log_step_keeps_the_window_mean_and_the_last_steps_value():
    """Known answer: a run logged every step gives each step's values; the same run logged
    every 3 steps must give their mean and the third one's value."""
    from bench import create_method
    from bench.config import TrainConfig
    from bench.rng import seed_everything
    from tests.helpers import train_alone
    from tests.plugin import load_toy

    def run(log_every):
        seed_everything(0)
        data = load_toy(None)
        method = create_method("toy_infogan", image_shape=data.image_shape)
        return train_alone(method, data, TrainConfig(steps=6, batch_size=16, log_every=log_every, checkpoint_every=0))

    every, third = run(1), run(3)
    assert every.losses == every.losses_last  # a window of one step: its mean is its last value
    assert [row["step"] for row in third.losses_last] == [3, 6]
    for i, row in enumerate(third.losses_last):
        steps = every.losses[3 * i: 3 * i + 3]
        assert row == pytest.approx(steps[-1], rel=1e-6)
        mean = {k: sum(s[k] for s in steps) / 3 for k in row if k != "step"}
        assert {k: v for k, v in third.losses[i].items() if k != "step"} == pytest.approx(mean, rel=1e-6)


def test_ctrl_c_checkpoints_and_resume_matches_an_uninterrupted_run(dirs, tmp_path, monkeypatch):
    reference, _ = sweep(["toy_infogan"], (tmp_path / "ref", tmp_path / "ref_runs"))

    # step 5 is inside a log window (log_every 2): the window's partial sums are checkpointed too
    monkeypatch.setenv("BENCH_TEST_INTERRUPT_AT", "5")
    records, lines = sweep(["toy_infogan"], dirs, seeds=(0, 1))
    assert [r["status"] for r in records] == ["interrupted"]  # seed 1 never started
    assert records[0]["steps"] == 5
    assert "rerun the same command with --resume" in lines[-1]

    monkeypatch.delenv("BENCH_TEST_INTERRUPT_AT")
    records, _ = sweep(["toy_infogan"], dirs, seeds=(0, 1), resume=True)
    assert [r["status"] for r in records] == ["completed", "completed"]
    on_disk = records_on_disk(dirs[0])
    assert sorted(on_disk) == ["toy_infogan-toy-smoke-s0-" + records[0]["run_id"].rsplit("-", 1)[1],
                               "toy_infogan-toy-smoke-s1-" + records[1]["run_id"].rsplit("-", 1)[1]]
    assert on_disk[records[0]["run_id"]]["metrics"] == reference[0]["metrics"]
    resumed, uninterrupted = final_weights(dirs[1], records[0]["run_id"]), final_weights(tmp_path / "ref_runs", reference[0]["run_id"])
    for key in uninterrupted:
        assert torch.equal(resumed[key], uninterrupted[key]), key
    # the loss history is the uninterrupted run's, the log window across the stop included
    assert on_disk[records[0]["run_id"]]["losses"] == reference[0]["losses"]
    assert on_disk[records[0]["run_id"]]["losses_last"] == reference[0]["losses_last"]

    _, lines = sweep(["toy_infogan"], dirs, seeds=(0, 1), resume=True)
    assert all("already recorded" in line for line in lines)


def test_ctrl_c_while_evaluating_is_recorded_and_resume_evaluates_it(dirs, tmp_path, monkeypatch):
    """The stop a time limit sends after training, during the measures: the run is recorded
    interrupted (trained, not scored), no seed starts after it, and --resume scores it."""
    from bench.runs import runner

    reference, _ = sweep(["toy_infogan"], (tmp_path / "ref", tmp_path / "ref_runs"))
    scored = runner.evaluate_clustering

    monkeypatch.setattr(runner, "evaluate_clustering", ctrl_c)
    records, lines = sweep(["toy_infogan"], dirs, seeds=(0, 1))
    assert [(r["status"], r["steps"]) for r in records] == [("interrupted", 12)]
    assert "metrics" not in records[0] and records[0]["message"] == runner.STOPPED_EVALUATING
    assert "rerun the same command with --resume" in lines[-1]
    assert records_on_disk(dirs[0])[records[0]["run_id"]]["status"] == "interrupted"

    monkeypatch.setattr(runner, "evaluate_clustering", scored)
    records, _ = sweep(["toy_infogan"], dirs, seeds=(0, 1), resume=True)
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert records[0]["resumed_from_step"] == 12 and records[0]["metrics"] == reference[0]["metrics"]


def test_a_run_stopped_while_scored_is_not_fitted_again_on_resume(dirs, tmp_path, monkeypatch):
    """after_training (k-means on the codes) ran before the final checkpoint: resuming that
    checkpoint scores the run as it was, not a k-means refitted from other random draws."""
    from bench.runs import runner
    from tests.plugin import CueAutoencoder

    reference, _ = sweep(["cue_ae"], (tmp_path / "ref", tmp_path / "ref_runs"))
    scored, fits = runner.evaluate_clustering, []

    monkeypatch.setattr(runner, "evaluate_clustering", ctrl_c)
    (record,), _ = sweep(["cue_ae"], dirs)
    assert record["status"] == "interrupted"
    monkeypatch.setattr(runner, "evaluate_clustering", scored)
    fit = CueAutoencoder.after_training
    monkeypatch.setattr(CueAutoencoder, "after_training", lambda self, x: fits.append(1) or fit(self, x))
    (record,), _ = sweep(["cue_ae"], dirs, resume=True)
    assert record["status"] == "completed" and fits == []
    assert record["metrics"] == reference[0]["metrics"]


def test_ctrl_c_before_training_is_recorded(dirs, monkeypatch):
    from bench.runs import runner

    monkeypatch.setattr(runner, "choose_device", ctrl_c)  # after the data loaded, before the runs are built
    records, lines = sweep(["toy_infogan"], dirs, seeds=(0, 1))
    assert [(r["status"], r["message"]) for r in records] == [("interrupted", runner.STOPPED_OUTSIDE_TRAINING)]
    assert "rerun the same command with --resume" in lines[-1]


@pytest.mark.parametrize("cue", ["SIGTERM@1", "SIGTERM@2", "SIGINT@1", "SIGINT@2"])
def test_a_signal_after_training_keeps_the_runs_record(cue, dirs):
    """`timeout` sends SIGTERM: after the training steps (@1: while after_training runs, @2:
    while the run is scored) it must not end the run unrecorded, and --resume scores it."""
    results, workdir = dirs
    cmd, env = toy_run_command(results, workdir)
    # SIGINT as a terminal gives it, also when these tests run as a background job (which
    # starts with SIGINT ignored, and a Python that starts so never raises KeyboardInterrupt)
    stopped = subprocess.run(cmd, env={**env, "BENCH_TEST_SIGNAL_AFTER_TRAINING": cue}, capture_output=True,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert stopped.returncode == 130, stopped.stderr
    (record,) = records_on_disk(results).values()
    assert record["status"] == "interrupted" and record.get("steps") == 12 and "metrics" not in record, record
    resumed = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    (record,) = records_on_disk(results).values()
    assert record["status"] == "completed" and record["resumed_from_step"] == 12


def test_a_killed_process_resumes_from_its_last_checkpoint_and_records_once(dirs, tmp_path):
    results, workdir = dirs
    cmd, env = toy_run_command(results, workdir)

    killed = subprocess.run(cmd, env={**env, "BENCH_TEST_KILL_AT": "7"}, capture_output=True, text=True)
    assert killed.returncode == -9
    assert not (results / "runs").exists() or not list((results / "runs").glob("*.json"))
    (path,) = workdir.glob("*/checkpoint.pt")
    before_kill = checkpoint.load(path)
    assert before_kill["step"] == 4 and before_kill["elapsed_s"] > 0

    resumed = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    (record_path,) = (results / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["status"] == "completed" and record["steps"] == 12
    assert record["resumed_from_step"] == 4
    assert record["wall_time_s"] > before_kill["elapsed_s"]  # the time before the kill is counted

    reference, _ = sweep(["toy_infogan"], (tmp_path / "ref", tmp_path / "ref_runs"))
    assert record["metrics"] == reference[0]["metrics"]
