"""`bench run --executor ray` on a local Ray cluster of 2 CPUs, started once for this
module: each job's record is its lone run's, a killed worker is retried by Ray and resumes
its checkpoint to the lone run's result, a failing job is recorded while the others go on,
Ctrl-C cancels the tasks and `--resume` continues them; without Ray, one line says how to
install it."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from bench.cli import main
from bench.runs.plan import plan
from bench.runs.runner import Finished
from bench.runs.sweep import run_jobs
from tests.helpers import ROOT, TOY, final_weights, records_on_disk, sweep

try:
    import ray
except ImportError:  # CI installs the extra; elsewhere these tests skip unless told not to
    if os.environ.get("BENCH_REQUIRE_RAY") == "1":
        raise
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason="Ray is not installed (pip install -e '.[ray]')")
COMPARED = ("status", "steps", "losses", "metrics")  # what a record computes, not when or where


@pytest.fixture(scope="module")
def cluster():
    from bench.runs.ray_executor import RayExecutor

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", str(ROOT))  # the workers import tests.plugin, as the driver does
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield RayExecutor(cpus_per_job=1, plugins="tests.plugin")
    ray.shutdown()


@pytest.fixture(scope="module")
def lone(tmp_path_factory):
    """Seeds 0 and 1 of a tiny autoencoder on the toy data, each alone in this process on one thread (as a
    1-CPU Ray task runs it): (records by seed, workdir)."""
    tmp = tmp_path_factory.mktemp("lone")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        records, _ = sweep(["cue_ae"], (tmp / "results", tmp / "runs"), seeds=(0, 1))
    finally:
        torch.set_num_threads(threads)
    return {r["seed"]: r for r in records}, tmp / "runs"


def ray_sweep(executor, methods, dirs, seeds=(0,), resume=False, batch_seeds=False, **overrides):
    results, workdir = dirs
    jobs = plan(methods, list(seeds), "toy", "smoke", {**TOY, **overrides})
    lines = []
    records = run_jobs(jobs, Path("unused"), "cpu", results, workdir, resume=resume, progress=False,
                       echo=lines.append, batch_seeds=batch_seeds, executor=executor)
    return {r["seed"]: r for r in records}, lines


def assert_lone_result(record, reference, workdir, lone_workdir):
    for key in COMPARED:
        assert record[key] == reference[key], key
    mine, theirs = final_weights(workdir, record["run_id"]), final_weights(lone_workdir, reference["run_id"])
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)


@needs_ray
def test_two_jobs_give_their_lone_runs_records(cluster, lone, dirs):
    reference, lone_workdir = lone
    records, lines = ray_sweep(cluster, ["cue_ae"], dirs, seeds=(0, 1))
    assert sorted(records) == [0, 1]
    for seed in (0, 1):
        assert_lone_result(records[seed], reference[seed], dirs[1], lone_workdir)
    assert records[0]["losses"] != records[1]["losses"]  # the seeds really differ
    assert records_on_disk(dirs[0]) == {r["run_id"]: r for r in records.values()}  # written by the driver
    assert sorted(line.split(":")[0] for line in lines if ": completed" in line) == ["cue_ae seed 0",
                                                                                       "cue_ae seed 1"]
    assert lines[-1] == "[2/2 done, 0 failed, 0 running or queued]"
    assert not any("does not see this driver's --workdir" in line for line in lines)
    assert not list(dirs[1].glob(".bench-driver-*"))  # the driver's marker is gone


@needs_ray
def test_a_failing_job_is_recorded_and_the_others_go_on(cluster, dirs, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_PLUGINS", "tests.plugin")
    results, workdir = dirs
    settings = [arg for k, v in TOY.items() for arg in ("--set", f"{k}={'none' if v is None else v}")]
    code = main(["run", "--executor", "ray", "--methods", "broken_method,cue_ae", "--dataset", "toy",
                 "--results-dir", str(results), "--workdir", str(workdir), "--no-progress", *settings])
    assert code == 1  # a run failed
    by_method = {r["method"]: r for r in records_on_disk(results).values()}
    assert by_method["broken_method"]["status"] == "failed"
    assert by_method["broken_method"]["message"] == "RuntimeError: deliberately broken"
    assert by_method["cue_ae"]["status"] == "completed"
    assert "broken_method seed 0: failed: RuntimeError: deliberately broken" in capsys.readouterr().out


@needs_ray
def test_ctrl_c_interrupts_every_task_and_resume_continues(cluster, lone, dirs, tmp_path):
    reference, lone_workdir = lone
    cue = tmp_path / "cue"

    def ctrl_c_when_both_wait():
        deadline = time.monotonic() + 120
        while len(list(cue.glob("[0-9]*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # reaches the driver's loop, which holds the SIGINT handler

    sender = threading.Thread(target=ctrl_c_when_both_wait, daemon=True)
    sender.start()
    settings = {"cue": "wait_for_stop", "cue_at": 7, "cue_dir": str(cue)}
    records, lines = ray_sweep(cluster, ["cue_ae"], dirs, seeds=(0, 1), **settings)
    sender.join()
    assert [records[s]["status"] for s in (0, 1)] == ["interrupted", "interrupted"]
    assert [records[s]["steps"] for s in (0, 1)] == [7, 7]
    assert "rerun the same command with --resume" in lines[-1]

    records, _ = ray_sweep(cluster, ["cue_ae"], dirs, seeds=(0, 1), resume=True, **settings)
    for seed in (0, 1):
        assert records[seed]["resumed_from_step"] == 7
        assert_lone_result(records[seed], reference[seed], dirs[1], lone_workdir)


@needs_ray
def test_a_batch_of_seeds_is_one_task_with_the_in_process_batch_result(cluster, dirs, tmp_path, one_thread):
    local, _ = sweep(["cue_ae"], (tmp_path / "local", tmp_path / "local_runs"), seeds=(0, 1), batch_seeds=True)
    records, _ = ray_sweep(cluster, ["cue_ae"], dirs, seeds=(0, 1), batch_seeds=True)
    for reference in local:
        record = records[reference["seed"]]
        assert record["seed_batch"] == 2
        for key in COMPARED:
            assert record[key] == reference[key], key


@needs_ray
def test_a_node_that_does_not_see_the_workdir_is_named_once(cluster, dirs):
    """What a task returns when its node has no view of the driver's marker file: one line per node."""
    group = plan(["cue_ae"], [0], "toy", "smoke", TOY)
    lines, unshared = [], set()
    for node, sees in (("f00dfeed0000aaaa", False), ("f00dfeed0000aaaa", False), ("beef", True)):
        cluster._outcome(ray.put((Finished(group), node, sees)), group, dirs[1], unshared, lines.append)
    assert len(lines) == 1 and "node f00dfeed0000 does not see this driver's --workdir" in lines[0]


@needs_ray
def test_a_killed_worker_is_retried_and_resumes_to_the_lone_result(cluster, lone, dirs, tmp_path):
    reference, lone_workdir = lone
    cue = tmp_path / "cue"
    records, _ = ray_sweep(cluster, ["cue_ae"], dirs, cue="kill_once", cue_at=7, cue_dir=str(cue))
    assert (cue / "killed").exists()  # the first attempt's worker was SIGKILLed at step 7
    (record,) = records.values()
    assert record["resumed_from_step"] == 4  # the retry went on from the last checkpoint, not from scratch
    assert_lone_result(record, reference[0], dirs[1], lone_workdir)


def test_without_ray_the_ray_executor_is_one_line_saying_how_to_install(monkeypatch, capsys, dirs):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    code = main(["run", "--executor", "ray", "--methods", "kmeans_pixels", "--results-dir", str(dirs[0]),
                 "--workdir", str(dirs[1])])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "needs Ray, which is not installed: pip install '.[ray]'" in err
