"""`bench speed`: the reference loop trains the same thing as ours (only the loop
differs), and the command writes a per-method table with the ratio."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from bench import create_method
from bench.rng import seed_everything
from bench.speed.reference_loop import ReferenceStep
from bench.training.step import TrainStep

ROOT = Path(__file__).resolve().parents[2]


def test_reference_step_computes_what_our_step_computes():
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    seed_everything(3)
    ref_method = create_method("infogan")
    ref = ReferenceStep(ref_method, torch.device("cpu"))
    seed_everything(3)
    our_method = create_method("infogan")
    ours = TrainStep(our_method, torch.device("cpu"))
    for _ in range(2):
        state = torch.random.get_rng_state()
        ref(x)
        torch.random.set_rng_state(state)  # both steps draw the same codes
        ours([x])
        (means,) = ours.read_means()
        assert means.keys() == {k.replace("/loss", "_loss").split("/")[-1] for k in ref.log}
        for key, value in ref.log.items():
            phase, name = key.split("/")
            assert means[f"{phase}_loss" if name == "loss" else name] == value
    a, b = ref_method.state_dict(), our_method.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bench_speed_writes_a_table_with_the_ratio(tmp_path):
    cmd = [sys.executable, "-m", "bench.cli", "speed", "--methods", "infogan,kmeans_pixels", "--dataset", "toy",
           "--preset", "smoke", "--set", "batch_size=8", "--device", "cpu", "--warmup", "1", "--steps", "1",
           "--repeats", "2", "--out", str(tmp_path)]
    env = {**os.environ, "BENCH_PLUGINS": "tests.plugin", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "kmeans_pixels: no gradient training step" in proc.stdout
    (path,) = tmp_path.glob("speed-cpu-*.json")
    assert path.name == "speed-cpu-smoke-batch_size=8.json"  # the --set changes are in the name
    payload = json.loads(path.read_text())
    (row,) = payload["summary"]
    assert row["method"] == "infogan" and row["batch"] == 8 and row["step mode"] == "eager"
    assert row["ours ms/step"] > 0 and row["reference ms/step"] > 0
    assert abs(row["speedup"] - row["reference ms/step"] / row["ours ms/step"]) < 0.01
    assert {r["loop"] for r in payload["rows"]} == {"ours", "reference"}


def test_bench_speed_rejects_an_unknown_setting():
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "speed", "--methods", "infogan", "--set", "nope=1"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith("bench: error: unknown setting nope")
