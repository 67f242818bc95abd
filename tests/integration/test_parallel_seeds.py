"""Seeds trained side by side (`bench run --jobs N`) give each seed the result of a lone
run: the same losses at every log step, the same scores, the same final weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from bench.training import checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY = {"steps": 12, "batch_size": 16, "checkpoint_every": 6, "log_every": 3}


def bench_run(tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, Path]:
    results, workdir = tmp / "results", tmp / "runs"
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", "infogan", "--dataset", "toy", "--seeds", "0,1",
           "--results-dir", str(results), "--workdir", str(workdir), "--device", "cpu", "--no-progress", *extra]
    cmd += [arg for k, v in TINY.items() for arg in ("--set", f"{k}={v}")]
    # one thread everywhere: a lone run and a worker then reduce in the same order
    env = {**os.environ, "BENCH_PLUGINS": "tests.plugin", "PYTHONPATH": str(ROOT), "BENCH_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    records = {json.loads(p.read_text())["seed"]: json.loads(p.read_text()) for p in (results / "runs").glob("*.json")}
    return proc, records, workdir


def test_parallel_seeds_equal_lone_runs(tmp_path):
    lone_proc, lone, lone_runs = bench_run(tmp_path / "lone")
    par_proc, par, par_runs = bench_run(tmp_path / "parallel", "--jobs", "2")
    assert lone_proc.returncode == 0, lone_proc.stderr
    assert par_proc.returncode == 0, par_proc.stderr
    assert sorted(lone) == sorted(par) == [0, 1]
    lines = par_proc.stdout.splitlines()  # each job's summary line, then a tally of the sweep
    assert sorted(line.split(":")[0] for line in lines if not line.startswith("[")) == ["infogan seed 0",
                                                                                       "infogan seed 1"]
    assert lines[-1] == "[2/2 done, 0 failed, 0 running]"
    for seed in (0, 1):
        assert par[seed]["status"] == lone[seed]["status"] == "completed"
        assert par[seed]["losses"] == lone[seed]["losses"]
        assert par[seed]["metrics"] == lone[seed]["metrics"]
        run_id = lone[seed]["run_id"]
        a = checkpoint.load(lone_runs / run_id / "checkpoint.pt")["method"]
        b = checkpoint.load(par_runs / run_id / "checkpoint.pt")["method"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert lone[0]["losses"] != lone[1]["losses"]  # the seeds really differ


def test_parallel_resume_skips_recorded_jobs(tmp_path):
    bench_run(tmp_path, "--jobs", "2")
    proc, records, _ = bench_run(tmp_path, "--jobs", "2", "--resume")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("already recorded") == 2
