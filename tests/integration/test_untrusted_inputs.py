"""What a probe of the hardened suite still broke (issue 24), one test per finding: a record
field that climbs out of the results folder, junk nested inside a record, NaN metrics, a full
disk under torch.save's zip writer, leftover temporary files, checkpoints that carry a valid
checksum but do not fit the method, settings that passed the parser and failed later, `.npz`
files that ended in internal errors, and folders made before the inputs were checked."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from bench import files
from bench.cli import main
from bench.runs import schema
from bench.training import checkpoint
from tests.helpers import TOY, sweep

CLIMB = "/../../../escaped"  # from results/tables/clustering_<dataset>.md up to the test's own folder


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """One completed toy run (12 steps, checkpoints every 4), trained once for this module:
    (record, checkpoint path)."""
    folder = tmp_path_factory.mktemp("toy_run")
    (record,), _ = sweep(["toy_infogan"], (folder / "results", folder / "runs"))
    assert record["status"] == "completed", record.get("message")
    return record, checkpoint.path_for(folder / "runs", record["run_id"])


@pytest.fixture
def trained(toy_run, dirs):
    """The toy run's record and checkpoint, copied into this test's folders."""
    record, source = toy_run
    path = checkpoint.path_for(dirs[1], record["run_id"])
    path.parent.mkdir(parents=True)
    shutil.copy(source, path)
    write_json(dirs[0], record["run_id"], record)
    return json.loads(json.dumps(record)), path


def write_json(results, name, content):
    path = results / "runs" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def every_file(folder):
    return {p for p in folder.rglob("*") if p.is_file()}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("bench: error: ") and "internal error" not in err[0], err[0]
    return err[0].removeprefix("bench: error: ")


# -- a record cannot send a write outside the results folder ---------------------------------------

def with_evaluations(record):
    """The record with one periodic evaluation, so that `bench report` draws its accuracy curve
    (`figures/accuracy-<dataset>-<preset>.png`)."""
    return {**record, "evaluations": [{"step": 6, **record["metrics"]}]}


CLIMBING = {  # field -> how a record sets it to climb out, and the field the error names
    "dataset": (lambda r: {**r, "dataset": CLIMB}, "dataset"),  # table stem clustering_<dataset>, figure stem
    "preset": (lambda r: {**r, "preset": CLIMB}, "preset"),  # figure stem accuracy-<dataset>-<preset>
    "method": (lambda r: {**r, "method": CLIMB}, "method"),
    "run_id": (lambda r: {**r, "run_id": CLIMB}, "run_id"),  # figure stems tsne-<run id>, kl-<run id>
    "variant": (lambda r: {**r, "overrides": {CLIMB: 1}}, "overrides"),  # variant labels come from settings
    "setting": (lambda r: {**r, "config": {**r["config"], "method": {CLIMB: 1}}}, "config.method"),
}


@pytest.mark.parametrize("command", ["report", "table"])
@pytest.mark.parametrize("field", sorted(CLIMBING))
def test_a_record_field_cannot_climb_out_of_the_results_folder(trained, dirs, tmp_path, capsys, field, command):
    record, _ = trained
    make, named = CLIMBING[field]
    path = write_json(dirs[0], record["run_id"], make(with_evaluations(record)))
    before = every_file(tmp_path)
    assert main([command, "--results-dir", str(dirs[0])]) == 2
    assert one_error_line(capsys).startswith(f"{path} is not a valid run record: {named}")
    assert every_file(tmp_path) == before  # nothing written anywhere, let alone outside
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.glob("escaped*"))


def test_a_table_stem_from_the_command_line_cannot_climb_out(trained, dirs, tmp_path, capsys):
    assert main(["table", "--results-dir", str(dirs[0]), "--dataset", CLIMB]) == 2
    assert one_error_line(capsys) == f"{CLIMB!r} is not a valid dataset name (letters, digits and _ only, at most 64)"
    assert not list(tmp_path.glob("escaped*"))


@pytest.mark.parametrize("folder", ["tables", "figures"])
def test_a_linked_folder_in_the_results_cannot_take_the_writes_elsewhere(trained, dirs, tmp_path, capsys, folder):
    record, _ = trained
    write_json(dirs[0], record["run_id"], with_evaluations(record))  # it has a table and a figure
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (dirs[0] / folder).symlink_to(elsewhere, target_is_directory=True)
    assert main(["report", "--results-dir", str(dirs[0])]) == 2
    assert one_error_line(capsys) == f"refusing to write {dirs[0] / folder}: it lies outside {dirs[0]}"
    assert not list(elsewhere.iterdir())


# -- a record is checked all the way down --------------------------------------------------------------

NESTED = [
    (lambda r: {**r, "config": {**r["config"], "train": "fast"}}, 'config.train: input should be a valid dictionary (got "fast")'),
    (lambda r: {**r, "evaluations": [1]}, "evaluations[0]: input should be a valid dictionary (got 1)"),
    (lambda r: {**r, "evaluations": [{"step": "six", **r["metrics"]}]}, 'evaluations[0].step: input should be a valid integer (got "six")'),
    (lambda r: {**r, "losses": [{"step": 2, "D_loss": "high"}]}, 'losses[0].D_loss: input should be a valid number (got "high")'),
    (lambda r: {**r, "metrics": {**r["metrics"], "test": {**r["metrics"]["test"], "nmi": float("nan")}}},
     "metrics.test.nmi: input should be a finite number (got NaN)"),
    (lambda r: {**r, "metrics": {**r["metrics"], "test": {**r["metrics"]["test"], "accuracy": float("inf")}}},
     "metrics.test.accuracy: input should be a finite number (got Infinity)"),
    (lambda r: {**r, "metrics": {**r["metrics"], "test": {**r["metrics"]["test"], "accuracy": 1.5}}},
     "metrics.test.accuracy: input should be less than or equal to 1 (got 1.5)"),
    (lambda r: {**r, "config": {**r["config"], "train": {**r["config"]["train"], "steps": -12}}},
     "config.train.steps: input should be greater than or equal to 1 (got -12)"),
    (lambda r: {**r, "seed": 2**32}, "seed: input should be less than or equal to 4294967295 (got 4294967296)"),
    (lambda r: {**r, "tsne": {"x": [0.0, 1.0], "y": [0.0], "label": [1, 2], "n": 2}},
     "tsne: x, y and label must each hold n = 2 values (they hold 2, 1, 2)"),
    (lambda r: {**r, "latent_kl": {"per_latent": [0.1], "groups": {"info": [0, 5]}, "group_mean": {"info": 0.1}, "n": 9}},
     "latent_kl: a group names a latent beyond the 1 of per_latent"),
    (lambda r: {**r, "disentanglement": {"backend": "bench", "metrics": {"mig": float("nan")}, "settings": {}, "seconds": 1}},
     "disentanglement.metrics.mig: input should be a finite number (got NaN)"),
]


@pytest.mark.parametrize("corrupt, why", NESTED, ids=[why.split(":")[0] for _, why in NESTED])
def test_junk_inside_a_record_is_one_line_naming_the_file_and_the_field(trained, dirs, capsys, corrupt, why):
    record, _ = trained
    path = write_json(dirs[0], record["run_id"], corrupt(record))
    for command in (["report"], ["table"]):
        assert main([*command, "--results-dir", str(dirs[0])]) == 2
        assert one_error_line(capsys) == f"{path} is not a valid run record: {why}"


# -- a full disk and what a killed writer leaves ---------------------------------------------------------

ZIP_WRITER_FAILED = ("[enforce fail at inline_container.cc:858] . PytorchStreamWriter failed writing file data/3: "
                     "file write failed\nException raised from write_record at ../caffe2/serialize/inline_container.cc")


def test_torch_saves_zip_writer_failing_is_one_line_and_leaves_no_temporary_file(dirs, monkeypatch):
    real_save, saves = torch.save, []

    def save_then_fail(obj, f, *args, **kwargs):
        saves.append(f)
        if len(saves) == 2:  # the checkpoint of step 8: torch's own error on a full disk
            f.write_bytes(b"PK\x03\x04partial")
            raise RuntimeError(ZIP_WRITER_FAILED)
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_fail)
    (record,), lines = sweep(["toy_infogan"], dirs)
    path = checkpoint.path_for(dirs[1], record["run_id"])
    first_line = ZIP_WRITER_FAILED.splitlines()[0]
    assert record["status"] == "failed"
    assert record["message"] == f"cannot write {path}: {first_line} (its previous version is kept)"
    assert lines == [f"toy_infogan seed 0: failed: {record['message']}"]
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "checkpoint.pt"]  # no temporary file
    monkeypatch.undo()
    for leftover in (dirs[0] / "runs").glob("*.json"):
        leftover.unlink()
    (resumed,), _ = sweep(["toy_infogan"], dirs, resume=True)  # --resume goes on from step 4
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == 4


@contextlib.contextmanager
def small_disk(folder, size_bytes):
    """A tmpfs of `size_bytes` at `folder`, where this machine lets the tests mount one."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no permission in this container)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("mount") is None, reason="tmpfs: Linux")
def test_a_really_full_disk_during_a_checkpoint(toy_run, dirs, tmp_path):
    _, done = toy_run
    size = done.stat().st_size
    with small_disk(tmp_path / "small", int(size * 1.5)) as workdir:  # one checkpoint fits, not a second beside it
        (record,), lines = sweep(["toy_infogan"], (dirs[0], workdir))
        path = checkpoint.path_for(workdir, record["run_id"])
        assert record["status"] == "failed"
        assert record["message"].startswith(f"cannot write {path}: ")
        assert record["message"].endswith(" (its previous version is kept)") and "\n" not in record["message"]
        assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "checkpoint.pt"]
        assert shutil.disk_usage(workdir).free > size * 0.4  # the temporary file's space is free again
        assert checkpoint.load(path)["step"] == 4


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_temporary_files_are_removed_when_its_run_starts_again(dirs):
    from bench.runs.plan import plan

    (job,) = plan(["toy_infogan"], [0], "toy", "smoke", TOY)
    run_folder, runs_folder = dirs[1] / job.run_id, dirs[0] / "runs"
    run_folder.mkdir(parents=True)
    runs_folder.mkdir(parents=True)
    gone = dead_pid()
    stale = [run_folder / f".checkpoint.pt.{gone}.0badc0de.tmp", runs_folder / f".{job.run_id}.json.{gone}.0badc0de.tmp"]
    live = runs_folder / f".{job.run_id}.json.{os.getpid()}.0badc0de.tmp"  # a writer still at work
    other = runs_folder / f".another-run.json.{gone}.0badc0de.tmp"  # not this run's
    for path in [*stale, live, other]:
        path.write_bytes(b"x" * 1000)
    (record,), _ = sweep(["toy_infogan"], dirs)
    assert record["status"] == "completed"
    assert not any(p.exists() for p in stale) and live.exists() and other.exists()


REFUSED = {  # what a refused `bench run` was given -> the arguments
    "missing data": ["--methods", "kmeans_pixels", "--dataset", "mnist"],
    "no training image": ["--methods", "kmeans_pixels", "--dataset", "npz:{refused_no_train}"],
    "a batch larger than the data": ["--methods", "toy_infogan", "--dataset", "toy", "--set", "batch_size=500",
                                     "--set", "train_size=none"],
    "images a method cannot take": ["--methods", "toy_infogan", "--dataset", "npz:{refused_tiny}"],
    "not an npz file": ["--methods", "kmeans_pixels", "--dataset", "npz:{refused_not_zip}"],
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_run_leaves_no_folder_behind(case, tmp_path, capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading: no network here")

    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive", no_network)
    data = tmp_path / "data"
    data.mkdir()
    np.savez(data / "refused_no_train.npz", x=np.zeros((0, 8, 8), np.uint8), y=np.zeros(0, np.int64),
             x_test=np.zeros((3, 8, 8), np.uint8), y_test=np.zeros(3, np.int64))
    np.savez(data / "refused_tiny.npz", x=np.zeros((20, 2, 2), np.uint8), y=np.arange(20) % 2)
    (data / "refused_not_zip.npz").write_bytes(b"PK\x03\x04 not really a zip")
    args = [a.format(**{p.stem: p for p in data.iterdir()}) for a in REFUSED[case]]
    results, workdir = tmp_path / "results", tmp_path / "work"
    code = main(["run", *args, "--data-root", str(data), "--results-dir", str(results), "--workdir", str(workdir),
                 "--tracker", "none", "--no-progress"])
    assert code == 2
    one_error_line(capsys)
    assert not results.exists() and not workdir.exists()


# -- checkpoints are checked against the method before loading -------------------------------------------

def rewrite(path, change):
    """Change a checkpoint and give it a valid checksum: what a crafted or foreign file looks like."""
    state = checkpoint.load(path)
    change(state)
    payload = {**state, "format": checkpoint.FORMAT}
    payload["sha256"] = checkpoint.digest(payload)
    torch.save(payload, path)


def first_weight(state):
    return next(k for k, v in state["method"].items() if v.is_floating_point() and v.ndim)


def reshaped(state):
    key = first_weight(state)
    state["method"][key] = torch.zeros(*state["method"][key].shape, 2)


def widened(state):
    key = first_weight(state)
    state["method"][key] = state["method"][key].double()


def moment_reshaped(state):
    moments = state["optimizers"][0]["state"][0]
    moments["exp_avg"] = torch.zeros(3)


BAD_CHECKPOINTS = {
    "another shape": (reshaped, "{key} is "),
    "another dtype": (widened, "{key} is "),
    "a missing weight": (lambda s: s["method"].pop(first_weight(s)), "it lacks '{key}', which toy_infogan has"),
    "a negative step": (lambda s: s.update(step=-1), "its step -1 is not in 0..12 (the run's steps)"),
    "a step past the end": (lambda s: s.update(step=13), "its step 13 is not in 0..12 (the run's steps)"),
    "a float step": (lambda s: s.update(step=4.5), "its step 4.5 is not in 0..12 (the run's steps)"),
    "another optimizer moment": (moment_reshaped, "optimizer 0's exp_avg of parameter 0 is 3 float32, the parameter"),
}


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINTS))
def test_a_checkpoint_that_does_not_fit_is_refused_on_resume_in_one_line(trained, dirs, case):
    record, path = trained
    change, why = BAD_CHECKPOINTS[case]
    key = first_weight(checkpoint.load(path))
    rewrite(path, change)
    (record_path,) = (dirs[0] / "runs").glob("*.json")
    record_path.unlink()  # so that --resume does not skip the run
    (resumed,), _ = sweep(["toy_infogan"], dirs, resume=True)
    assert resumed["status"] == "failed"
    assert resumed["message"].startswith(f"refusing checkpoint {path}: {why.format(key=key)}"), resumed["message"]
    assert "\n" not in resumed["message"]


@pytest.mark.parametrize("case", ["another shape", "another dtype", "a missing weight"])
def test_bench_plot_refuses_a_checkpoint_that_does_not_fit(trained, dirs, tmp_path, capsys, case):
    record, path = trained
    change, why = BAD_CHECKPOINTS[case]
    key = first_weight(checkpoint.load(path))
    rewrite(path, change)
    code = main(["plot", "traversals", "--method", "toy_infogan", "--run-id", record["run_id"], "--results-dir",
                 str(dirs[0]), "--workdir", str(dirs[1]), "--out", str(tmp_path / "figures")])
    assert code == 2
    assert one_error_line(capsys).startswith(f"refusing checkpoint {path}: {why.format(key=key)}")
    assert not (tmp_path / "figures").exists()


# -- settings and .npz files that passed and failed later ------------------------------------------------

@pytest.mark.parametrize("setting, message", [
    ("lr_d=inf", "lr_d=inf is not a valid float: it must be finite (for InfoGAN.Config)"),
    ("lr_d=1e999", "lr_d=inf is not a valid float: it must be finite (for InfoGAN.Config)"),
    ("lr_g=nan", "lr_g=nan is not a valid float: it must be finite (for InfoGAN.Config)"),
    ("lambda_cont=-1e999", "lambda_cont=-inf is not a valid float: it must be finite (for InfoGAN.Config)"),
    ("steps=1e30", "steps=1e+30: must be <= 9223372036854775807 (for TrainConfig)"),
    ("batch_size=true", "batch_size=True is not a valid int (for TrainConfig)"),
])
def test_settings_out_of_range_are_refused_before_anything(setting, message, tmp_path, capsys):
    code = main(["run", "--methods", "infogan", "--set", setting, "--data-root", str(tmp_path / "none"),
                 "--results-dir", str(tmp_path / "r"), "--workdir", str(tmp_path / "w")])
    assert code == 2 and one_error_line(capsys) == message
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()


def test_a_seed_beyond_32_bits_is_refused_by_the_parser_and_in_a_config_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--methods", "infogan", "--seeds", "4294967296,"])
    assert exit_.value.code == 2 and "seeds in 0..4294967295" in capsys.readouterr().err
    config = tmp_path / "sweep.toml"
    config.write_text('methods = "infogan"\nseeds = [1, 4294967296]\n')
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(config)])
    assert exit_.value.code == 2 and "seeds in 0..4294967295" in capsys.readouterr().err


def one_array(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros((4, 8, 8), np.uint8))


@pytest.mark.parametrize("name, write, message", [
    ("not_zip", lambda p: p.write_bytes(b"\x00" * 64), "cannot read {path} as an .npz file: "),
    ("bad_zip", lambda p: p.write_bytes(b"PK\x03\x04" + b"\x01" * 60), "cannot read {path} as an .npz file: "),
    ("one_array", one_array, "cannot read {path} as an .npz file: it holds one array, not an archive of named arrays"),
    ("no_train", lambda p: np.savez(p, x=np.zeros((0, 8, 8), np.uint8), y=np.zeros(0, np.int64),
                                    x_test=np.zeros((2, 8, 8), np.uint8), y_test=np.zeros(2, np.int64)),
     "{path}: 'x' holds no training image"),
    ("no_test", lambda p: np.savez(p, x=np.zeros((4, 8, 8), np.uint8), y=np.zeros(4, np.int64),
                                   x_test=np.zeros((0, 8, 8), np.uint8), y_test=np.zeros(0, np.int64)),
     "{path}: 'x_test' holds no image; leave it out to hold out a seventh of 'x'"),
    ("huge_label", lambda p: np.savez(p, x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 2, 2**40])),
     "{path}: 'y' must hold 4 integer labels in 0..9999"),
    ("huge_factors", lambda p: np.savez(p, x=np.zeros((4, 8, 8), np.uint8), y=np.zeros(4, np.int64),
                                        factors=np.array([[0, 0], [2**40, 2**40], [1, 1], [0, 1]])),
     "{path}: %d factor combinations but 4 images" % (2**40 + 1) ** 2),
])
def test_an_npz_file_that_is_not_a_dataset_is_one_line(tmp_path, capsys, name, write, message):
    from bench.datasets import resolve_dataset
    from bench.datasets.base import load_dataset
    from bench.errors import BenchError

    path = tmp_path / f"npzcase_{name}.npz"  # a dataset name of its own in this process
    write(path)
    with pytest.raises(BenchError) as refused:
        load_dataset(resolve_dataset(f"npz:{path}"), tmp_path)
    text = str(refused.value)
    assert text.startswith(message.format(path=path)) and "\n" not in text, text


# -- the +dirty mark sees the whole repository ---------------------------------------------------------------

def test_an_edited_adapter_marks_the_commit_dirty(tmp_path, monkeypatch):
    from bench import device

    repo = tmp_path / "repo"
    (repo / "bench").mkdir(parents=True)
    (repo / "methods").mkdir()
    (repo / "bench" / "device.py").write_text("")
    (repo / "methods" / "infogan.py").write_text("A = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(git + args, check=True, capture_output=True)
    monkeypatch.delenv("BENCH_GIT_COMMIT", raising=False)
    monkeypatch.setattr(device, "__file__", str(repo / "bench" / "device.py"))
    clean = device.git_commit()
    assert len(clean) == 40 and not clean.endswith("+dirty")
    (repo / "methods" / "infogan.py").write_text("A = 2\n")  # an adapter, outside bench/
    assert device.git_commit() == clean + "+dirty"


# -- records written and read with one schema ---------------------------------------------------------------

def test_a_diverged_runs_record_is_standard_json(dirs):
    (record,), _ = sweep(["nan_infogan"], dirs)
    assert record["status"] == "diverged"
    (path,) = (dirs[0] / "runs").glob("*.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    written = json.loads(text)
    assert any(value is None for row in written["losses"] for value in row.values())  # the non-finite window
    schema.check(written)


def test_a_measure_that_does_not_fit_its_model_is_kept_out_and_said_why(dirs, monkeypatch):
    from bench.evaluation import run_measures

    monkeypatch.setattr(run_measures, "reconstruction", lambda *a, **k: {"mse": float("inf"), "mean_image_mse": 1.0,
                                                                           "blank_mse": 1.0})
    (record,), _ = sweep(["cue_ae"], dirs)
    assert record["status"] == "completed" and "reconstruction" not in record
    assert record["measure_errors"]["reconstruction"] == ("not recorded: mse: input should be a finite number "
                                                         "(got Infinity)")


def test_a_failure_while_writing_names_the_file_even_for_errors_torch_raises(tmp_path):
    target = tmp_path / "out.bin"

    def fails(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    with pytest.raises(files.BenchError, match=f"cannot write {target}: PytorchStreamWriter failed"):
        files.write_atomic(target, fails)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(files.BenchError, match="No space left on device"):
        files.write_atomic(target, lambda tmp: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
