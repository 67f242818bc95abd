"""Damaged and hostile files: checkpoints and records that were altered, truncated or
crafted are refused in one line naming the file; nothing in them runs; a full disk or a
second `bench run` on the same folders loses no result."""

import copy
import errno
import json
import shutil
import threading

import pytest
import torch

from bench import files
from bench.cli import main
from bench.errors import BenchError
from bench.training import checkpoint
from tests.helpers import TOY, final_weights, records_on_disk, sweep

MARKER_NAME = "pickle-ran"


class RunsCodeWhenUnpickled:
    """A pickled object whose loading would create a file (what a crafted checkpoint does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (self.marker,)


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory):
    """A completed toy run (12 steps, checkpoints every 4), trained once for the module."""
    folder = tmp_path_factory.mktemp("trained")
    (record,), _ = sweep(["toy_infogan"], (folder / "results", folder / "runs"))
    assert record["status"] == "completed", record.get("message")
    return folder, record


@pytest.fixture
def trained(trained_once, dirs):
    """A fresh copy of that run in this test's folders: (record, its checkpoint path)."""
    folder, record = trained_once
    for source, target in zip((folder / "results", folder / "runs"), dirs):
        shutil.copytree(source, target)
    return copy.deepcopy(record), checkpoint.path_for(dirs[1], record["run_id"])


def resume(dirs):
    """Resume the toy run after its record was removed (so --resume does not skip it)."""
    for path in (dirs[0] / "runs").glob("*.json"):
        path.unlink()
    (record,), lines = sweep(["toy_infogan"], dirs, resume=True)
    return record, lines


def test_a_checkpoint_holding_code_is_refused_and_nothing_runs(trained, dirs, tmp_path, capsys):
    record, path = trained
    marker = tmp_path / MARKER_NAME
    torch.save({"step": 4, "method": RunsCodeWhenUnpickled(marker), "sha256": "x"}, path)

    resumed, lines = resume(dirs)
    assert resumed["status"] == "failed"
    assert resumed["message"].startswith(f"refusing checkpoint {path}: it holds pickled objects")
    assert lines == [f"toy_infogan seed 0: failed: {resumed['message']}"]

    code = main(["plot", "traversals", "--method", "toy_infogan", "--results-dir", str(dirs[0]),
                 "--workdir", str(dirs[1]), "--out", str(tmp_path / "figs"), "--run-id", record["run_id"]])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"bench: error: {resumed['message']}"]
    assert not marker.exists()


def test_a_bit_flipped_optimizer_moment_is_refused_on_resume(trained, dirs):
    _, path = trained
    state = torch.load(path, weights_only=True)
    moment = state["optimizers"][0]["state"][0]["exp_avg"]
    moment.view(-1)[0] = moment.view(-1)[0] * -2.0  # what one flipped bit can do
    torch.save(state, path)  # same digest, other content

    resumed, _ = resume(dirs)
    assert resumed["status"] == "failed"
    assert resumed["message"] == f"checkpoint {path} is corrupt: its content does not match its checksum"


def test_a_truncated_checkpoint_is_refused_naming_the_file(trained, dirs):
    _, path = trained
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    resumed, _ = resume(dirs)
    assert resumed["status"] == "failed"
    assert resumed["message"].startswith(f"checkpoint {path} is unreadable (truncated or not a checkpoint)")
    assert "\n" not in resumed["message"]


def test_a_checkpoint_with_non_finite_weights_is_refused_even_with_a_valid_checksum(trained):
    _, path = trained
    state = checkpoint.load(path)
    next(iter(state["method"].values())).view(-1)[0] = float("nan")
    with pytest.raises(BenchError, match="not writing .* non-finite values in method"):
        checkpoint.save(state, path)
    payload = {**state, "format": checkpoint.FORMAT}
    payload["sha256"] = checkpoint.digest(payload)
    torch.save(payload, path)  # written by hand, checksum and all
    with pytest.raises(BenchError, match=f"refusing checkpoint {path}: non-finite values in method"):
        checkpoint.load(path)


def test_weights_gone_non_finite_between_log_steps_are_never_checkpointed(dirs):
    # nan_infogan's loss is NaN from step 7; with one log at step 12 the NaN weights
    # would reach the checkpoint of step 8 unless each save checks them
    (record,), _ = sweep(["nan_infogan"], dirs, log_every=12)
    assert record["status"] == "diverged"
    assert record["message"].startswith("non-finite values in method.") and record["message"].endswith("at step 8")
    assert checkpoint.load(checkpoint.path_for(dirs[1], record["run_id"]))["step"] == 4


def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(dirs, monkeypatch):
    real_save = torch.save
    saves = []

    def save_then_fill_the_disk(obj, f, *args, **kwargs):
        saves.append(f)
        if len(saves) == 2:  # the checkpoint of step 8
            f.write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_fill_the_disk)
    (record,), lines = sweep(["toy_infogan"], dirs)
    path = checkpoint.path_for(dirs[1], record["run_id"])
    assert record["status"] == "failed"
    assert record["message"] == f"cannot write {path}: No space left on device (its previous version is kept)"
    assert lines == [f"toy_infogan seed 0: failed: {record['message']}"]
    assert checkpoint.load(path)["step"] == 4
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "checkpoint.pt"]  # no temp file left


def test_a_run_held_by_another_process_is_skipped_not_trampled(dirs):
    from bench.runs.plan import plan

    (job,) = plan(["toy_infogan"], [0], "toy", "smoke", TOY)
    with files.run_lock(dirs[1] / job.run_id):  # what a second `bench run` holds while it trains
        records, lines = sweep(["toy_infogan"], dirs)
    assert records == [] and records_on_disk(dirs[0]) == {}
    assert lines == [f"toy_infogan seed 0: another bench process is running it (lock in {dirs[1] / job.run_id}), skipped"]
    (record,), _ = sweep(["toy_infogan"], dirs)  # released: it runs
    assert record["status"] == "completed", record.get("message")


def test_concurrent_atomic_writes_of_one_file_use_their_own_temporary_files(tmp_path):
    target, errors, started = tmp_path / "record.json", [], threading.Barrier(8)

    def write(i):
        started.wait()
        try:
            files.write_atomic(target, lambda tmp: tmp.write_text(json.dumps({"writer": i})))
        except BenchError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and json.loads(target.read_text())["writer"] in range(8)
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


# -- records --------------------------------------------------------------------------------------

def write_json(results, name, content):
    path = results / "runs" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("corrupt, why", [
    (lambda r: [r], "a JSON list, not an object"),
    (lambda r: {k: v for k, v in r.items() if k != "status"}, "no 'status'"),
    (lambda r: {**r, "seed": "zero"}, 'seed: input should be a valid integer (got "zero")'),
    (lambda r: {**r, "metrics": {"test": {**r["metrics"]["test"], "accuracy": None}}},
     "the record: a completed run without metrics.test.accuracy"),
    (lambda r: {**r, "metrics": {"test": {**r["metrics"]["test"], "accuracy": "high"}}},
     'metrics.test.accuracy: input should be a valid number (got "high")'),
    (lambda r: {**r, "status": "great"},
     "status: input should be 'completed', 'diverged', 'failed' or 'interrupted' (got \"great\")"),
    (lambda r: {**r, "run_id": "../../.."},
     "run_id: string should match pattern '^[A-Za-z0-9_][A-Za-z0-9_.=+-]{0,199}$' (got \"../../..\")"),
    (lambda r: {**r, "run_id": r["run_id"] + "-other"}, "its run_id '<run_id>-other' is not its file name"),
])
def test_a_malformed_record_is_one_line_naming_the_file(trained, dirs, corrupt, why, capsys):
    record, _ = trained
    path = write_json(dirs[0], record["run_id"], corrupt(record))
    for command in (["report"], ["table"]):
        assert main([*command, "--results-dir", str(dirs[0])]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"bench: error: {path} is not a valid run record: {why.replace('<run_id>', record['run_id'])}"]


def test_a_record_cannot_send_a_figure_outside_the_results(trained, dirs, tmp_path):
    record, _ = trained
    write_json(dirs[0], record["run_id"], {**record, "run_id": "../../escaped", "tsne": {"x": [0.0], "y": [0.0], "label": [1], "n": 1}})
    assert main(["report", "--results-dir", str(dirs[0])]) == 2
    assert not list(tmp_path.rglob("*escaped*"))


def test_unrelated_json_files_are_skipped_with_a_warning(trained, dirs, capsys):
    write_json(dirs[0], "notes", {"todo": "rerun aae"})
    (dirs[0] / "runs" / "broken-notes.json").write_text("{not json")
    assert main(["table", "--results-dir", str(dirs[0])]) == 0
    err = capsys.readouterr().err
    assert "bench: warning: skipping" in err and "notes.json: not a run record" in err


def test_a_run_id_argument_is_not_a_path(dirs, capsys):
    assert main(["plot", "traversals", "--method", "infogan", "--run-id", "../../etc/passwd",
                 "--results-dir", str(dirs[0])]) == 2
    assert capsys.readouterr().err.strip() == (
        "bench: error: '../../etc/passwd' is not a valid run id (letters, digits and _.=+- only)")


def test_records_keep_the_versions_and_hardware_they_ran_on(trained):
    record, _ = trained
    assert set(record["versions"]) == {"python", "torch", "torchvision", "numpy", "scipy", "scikit-learn"}
    assert record["cpu"] and record["gpu"] is None


def test_resumed_weights_still_equal_an_uninterrupted_run(trained, dirs, tmp_path):
    record, _ = trained
    resumed, _ = resume(dirs)  # resumes the finished checkpoint: evaluates and records again
    assert resumed["status"] == "completed" and resumed["metrics"] == record["metrics"]
    reference = final_weights(dirs[1], record["run_id"])
    assert all(torch.isfinite(v).all() for v in reference.values() if v.is_floating_point())
