"""The docs' example plugin (docs/how-to/add-method.md), exactly as printed there, registers a
dataset and a method that train through the installed `bench` command run from the plugin's
folder, with no PYTHONPATH (the console script, unlike `python -m`, does not put the current
folder on sys.path: bench does)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

BENCH = Path(sys.executable).parent / "bench"
EXAMPLE_PAGE = ROOT / "docs" / "how-to" / "add-method.md"


def example_plugin() -> str:
    text = EXAMPLE_PAGE.read_text()
    match = re.search(r"<!-- example plugin: my_methods.py -->\n```python\n(.*?)```", text, re.S)
    assert match, f"{EXAMPLE_PAGE} lost its example plugin"
    return match.group(1)


def example_command() -> list[str]:
    text = EXAMPLE_PAGE.read_text()
    match = re.search(r"<!-- example plugin command -->\n```bash\n(.*?)\n```", text, re.S)
    assert match, f"{EXAMPLE_PAGE} lost its example plugin's command"
    return shlex.split(match.group(1))


def test_the_docs_example_plugin_trains_through_bench_run(tmp_path):
    (tmp_path / "my_methods.py").write_text(example_plugin())
    env_words, (program, *args) = [], example_command()
    while "=" in program:
        env_words.append(program)
        program, *args = args
    assert program == "bench" and env_words == ["BENCH_PLUGINS=my_methods"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["BENCH_PLUGINS"] = "my_methods"

    def bench(*words):
        return subprocess.run([str(BENCH), *words], capture_output=True, text=True, cwd=tmp_path, env=env)

    listed = bench("list")
    assert listed.returncode == 0, listed.stderr
    assert "mlp_ae_kmeans" in listed.stdout and "sk_digits" in listed.stdout
    # the page's command, one seed and 30 steps, without the measures after training
    seeds = args.index("--seeds")
    args[seeds + 1] = "1"
    run = bench(*args, "--device", "cpu", "--no-progress", "--set", "steps=30", "--set", "tsne_points=0")
    assert run.returncode == 0, run.stderr
    (path,) = (tmp_path / "bench-results" / "runs").glob("mlp_ae_kmeans-sk_digits-*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "completed" and record["steps"] == 30
    assert record["image_shape"] == [1, 32, 32] and record["n_classes"] == 10
    assert record["losses"][-1]["AE_loss"] < record["losses"][0]["AE_loss"]
    assert record["metrics"]["test"]["clusters_used"] > 1
