"""The Python API (`bench.run`, `bench.load_records`) runs what `bench run` runs and hands
back its records; `--keep-checkpoints` keeps what it says and no less than `--resume` needs."""

import json
from pathlib import Path

import pandas as pd
import pytest

import bench
from bench.errors import BenchError
from bench.training import checkpoint
from tests.helpers import TOY

CUE = {**TOY, "steps": 12}  # cue_ae: a millisecond a step


def api_run(tmp: Path, methods="cue_ae", **kwargs):
    options = {"dataset": "toy", "seeds": 2, "overrides": CUE, "results_dir": tmp / "results",
               "workdir": tmp / "runs", "device": "cpu", "tracker": "none", "no_progress": True, **kwargs}
    return bench.run(methods, **options)


def test_run_returns_the_records_it_wrote_and_load_records_reads_them(tmp_path):
    records = api_run(tmp_path)
    assert [(r["method"], r["seed"], r["status"]) for r in records] == [("cue_ae", 0, "completed"),
                                                                        ("cue_ae", 1, "completed")]
    on_disk = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "results" / "runs").glob("*.json")}
    assert {r["run_id"]: r for r in records} == on_disk
    frame = bench.load_records(tmp_path / "results")
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["run_id"]) == sorted(on_disk)
    assert frame["metrics.test.accuracy"].between(0, 1).all()
    # the command's own path: the same option again with --resume skips what is recorded
    assert api_run(tmp_path, resume=True) == []


def test_run_takes_a_grid_as_the_command_line_does(tmp_path):
    records = api_run(tmp_path, seeds=[3], overrides={**CUE, "latent": [4, 6]})
    assert sorted(r["config"]["method"]["latent"] for r in records) == [4, 6]
    assert {r["seed"] for r in records} == {3}


@pytest.mark.parametrize("kwargs, message", [
    ({"methods": "no_such_method"}, "unknown method 'no_such_method'"),
    ({"seeds": 0}, "argument --seeds: expected a seed count"),
    ({"overrides": {"lr": -1.0}}, "lr=-1.0: must be > 0"),
    ({"overrides": {"no_such_setting": 1}}, "unknown setting no_such_setting"),
    ({"keep_checkpoints": "some"}, "invalid choice: 'some'"),
    ({"no_such_option": 1}, "bench.run: no_such_option: not a bench run option"),
    ({"dataset": "no_such_dataset"}, "no_such_dataset"),
])
def test_bad_input_is_a_one_line_bench_error_before_anything_runs(tmp_path, kwargs, message):
    with pytest.raises(BenchError, match=None) as caught:
        api_run(tmp_path, **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


def checkpoints(workdir: Path) -> dict[str, list[str]]:
    return {d.name: sorted(p.name for p in d.glob("*.pt")) for d in sorted(workdir.iterdir()) if d.is_dir()}


def test_keep_checkpoints_last_keeps_each_runs_final_checkpoint(tmp_path):
    (record,) = api_run(tmp_path, seeds=1)
    assert checkpoints(tmp_path / "runs") == {record["run_id"]: ["checkpoint.pt"]}
    assert checkpoint.load(record["checkpoint"])["step"] == 12


def test_keep_checkpoints_all_keeps_a_copy_at_every_checkpoint_step(tmp_path):
    (record,) = api_run(tmp_path, seeds=1, keep_checkpoints="all")
    kept = checkpoints(tmp_path / "runs")[record["run_id"]]
    assert kept == ["checkpoint-step12.pt", "checkpoint-step4.pt", "checkpoint-step8.pt", "checkpoint.pt"]
    folder = tmp_path / "runs" / record["run_id"]
    for step in (4, 8, 12):  # each copy holds its own step, not the last one's content
        assert checkpoint.load(folder / f"checkpoint-step{step}.pt")["step"] == step


def test_keep_checkpoints_none_deletes_a_completed_runs_checkpoint_and_keeps_a_diverged_ones(tmp_path):
    (done,) = api_run(tmp_path, seeds=1, keep_checkpoints="none")
    assert done["status"] == "completed" and done["checkpoint"] is None
    assert checkpoints(tmp_path / "runs")[done["run_id"]] == []
    (diverged,) = api_run(tmp_path, methods="nan_infogan", seeds=1, keep_checkpoints="none")
    assert diverged["status"] == "diverged" and Path(diverged["checkpoint"]).exists()
    assert checkpoint.load(diverged["checkpoint"])["step"] == 4  # its last good one


def test_keep_checkpoints_none_keeps_an_interrupted_runs_checkpoint_for_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_TEST_INTERRUPT_AT", "6")
    (stopped,) = api_run(tmp_path, methods="toy_infogan", seeds=1, keep_checkpoints="none")
    assert stopped["status"] == "interrupted" and checkpoint.load(stopped["checkpoint"])["step"] == 6
    monkeypatch.delenv("BENCH_TEST_INTERRUPT_AT")
    (resumed,) = api_run(tmp_path, methods="toy_infogan", seeds=1, keep_checkpoints="none", resume=True)
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == 6
    assert resumed["checkpoint"] is None and not Path(stopped["checkpoint"]).exists()
