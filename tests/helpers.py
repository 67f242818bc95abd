"""Helpers shared by several test modules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from bench.device import choose_device
from bench.runs.plan import plan
from bench.runs.runner import fit_closed_form
from bench.runs.sweep import run_jobs
from bench.training import checkpoint
from bench.training.trainer import RunState, Trainer

ROOT = Path(__file__).resolve().parent.parent
# a dozen steps of the toy dataset: logs, checkpoints and the end all happen (no t-SNE: seconds)
TOY = {"steps": 12, "batch_size": 16, "checkpoint_every": 4, "log_every": 2, "train_size": None, "tsne_points": 0}


def run_id(*parts) -> str:
    """A valid run id (a plain file name) made of arbitrary parts, for synthetic records."""
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", "-".join(str(p) for p in parts))


def sweep(methods, dirs, seeds=(0,), resume=False, batch_seeds=False, **overrides):
    """`bench run` on the toy dataset, in this process: (records, printed lines)."""
    results, workdir = dirs
    jobs = plan(methods, list(seeds), "toy", "smoke", {**TOY, **overrides})
    lines = []
    records = run_jobs(jobs, Path("unused"), choose_device("cpu"), results, workdir,
                       resume=resume, progress=False, echo=lines.append, batch_seeds=batch_seeds)
    return records, lines


def records_on_disk(results) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (Path(results) / "runs").glob("*.json")}


def final_weights(workdir, run_id):
    return checkpoint.load(checkpoint.path_for(workdir, run_id))["method"]


def train_alone(method, data, config, seed: int = 0) -> RunState:
    """`method` trained (or fitted) on `data` as the runner does, on the CPU, without checkpoints."""
    run = RunState(method, seed, None)
    if not method.trains_by_gradient:
        fit_closed_form(run, data, torch.device("cpu"))
        return run
    (run,) = Trainer(config, torch.device("cpu"), progress=False).fit([run], data)
    return run
