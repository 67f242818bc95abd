"""The README's example plugin, exactly as printed there, registers and trains a method
through `bench run`."""

import json
import os
import re
import subprocess
import sys

from tests.helpers import ROOT


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- example plugin: my_methods.py -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its example plugin"
    return match.group(1)


def test_the_readme_example_plugin_trains_through_bench_run(tmp_path):
    (tmp_path / "my_methods.py").write_text(readme_example())
    env = {**os.environ, "BENCH_PLUGINS": "my_methods,tests.plugin", "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}

    def bench(*args):
        return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env)

    listed = bench("list")
    assert listed.returncode == 0 and "mlp_ae_kmeans" in listed.stdout, listed.stderr
    run = bench("run", "--methods", "mlp_ae_kmeans", "--dataset", "toy", "--device", "cpu", "--no-progress",
                "--set", "steps=30", "--set", "batch_size=32", "--set", "train_size=none", "--set", "tsne_points=0")
    assert run.returncode == 0, run.stderr
    (path,) = (tmp_path / "results" / "runs").glob("mlp_ae_kmeans-*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "completed" and record["steps"] == 30
    assert record["losses"][-1]["AE_loss"] < record["losses"][0]["AE_loss"]
    assert record["metrics"]["test"]["clusters_used"] > 1
