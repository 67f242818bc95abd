"""Experiment tracking: what a run logs while it runs, to TensorBoard and/or MLflow.

One `RunTracker` per run, called from two places only: the trainer (every logged loss
window at its log step, every periodic evaluation with the model's image grids) and the
runner (the final scores, the measurements after training and the final grids). The
trainer calls it only where it already has host values (log steps read the loss sums back
anyway), so tracking adds no host sync to the training step.

A tracker never fails a run: an error in a backend, opening or writing, prints one
warning line and that backend is dropped for the rest of the run; the run goes on.

The long form (readings, departures, history): docs/notes.md, `bench.tracking.trackers`."""

from __future__ import annotations

import importlib.util
import json
import numbers
import os
import sys
import time
from pathlib import Path

import torch

from bench.errors import BenchError

KINDS = ("tensorboard", "mlflow")
INSTALL = {"tensorboard": "pip install tensorboard", "mlflow": "pip install 'gan-ae-bench[mlflow]'"}


def parse_kinds(text: str) -> tuple[str, ...]:
    """'tensorboard', 'mlflow', 'tensorboard,mlflow' or 'none' -> the backends to open."""
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if kinds == ("none",):
        return ()
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise BenchError(f"unknown tracker {', '.join(unknown) or repr(text)}; expected tensorboard, mlflow, "
                         "a comma list of them, or none")
    return kinds


def check_available(kinds: tuple[str, ...]) -> None:
    """Before any training: each chosen tracker's package is importable (one line if not)."""
    for kind in kinds:
        if importlib.util.find_spec(kind) is None:
            raise BenchError(f"--tracker {kind}: the {kind} package is not installed ({INSTALL[kind]}), "
                             "or pass --tracker none")


def warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"bench: warning: {message}", file=sys.stderr)  # between progress bars, not through them


def _numbers(prefix: str, values: dict) -> dict[str, float]:
    """{'eval/test/accuracy': 0.9, ...}: the numeric leaves of nested `values`, tagged by
    path (image counts `n` left out: a size, not a score)."""
    out = {}
    for key, value in values.items():
        tag = f"{prefix}/{key}" if prefix else str(key)
        if key == "n":
            continue
        if isinstance(value, dict):
            out.update(_numbers(tag, value))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            out[tag] = float(value)
    return out


class TensorBoard:
    name = "tensorboard"

    def __init__(self, run_dir: Path, purge_step: int | None, config: dict):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tb"), purge_step=purge_step)
        if purge_step is None:
            self.writer.add_text("config", "```\n" + json.dumps(config, indent=2, sort_keys=True, default=str) + "\n```")

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def image(self, step: int, tag: str, picture: torch.Tensor) -> None:
        self.writer.add_image(tag, picture, step, dataformats="CHW")

    def close(self, status: str) -> None:
        self.writer.close()


class MLflow:
    name = "mlflow"

    def __init__(self, run_dir: Path, purge_step: int | None, config: dict):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        workdir = Path(run_dir).resolve().parent
        local = not os.environ.get("MLFLOW_TRACKING_URI")
        self.client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}" if local else None)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "bench")
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
            name, artifact_location=(workdir / "mlartifacts").as_uri() if local else None)
        run_id = config["run_id"]
        previous = self.client.search_runs([experiment_id], f"tags.`bench.run_id` = '{run_id}'",
                                           order_by=["attributes.start_time DESC"], max_results=1)
        if purge_step is not None and previous:
            self.run = previous[0].info.run_id  # a resumed run continues its MLflow run
            self.client.update_run(self.run, status="RUNNING")
        else:
            self.run = self.client.create_run(experiment_id, run_name=run_id, tags={"bench.run_id": run_id}).info.run_id
            flat = {**{k: config[k] for k in ("method", "dataset", "seed", "preset") if k in config},
                    **_flatten(config.get("config") or {})}
            items = [Param(k, str(v)[:6000]) for k, v in sorted(flat.items())]
            for i in range(0, len(items), 100):  # MLflow's batch limit
                self.client.log_batch(self.run, params=items[i : i + 100])

    def scalars(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(tag, value, now, step) for tag, value in values.items()]
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(self.run, metrics=metrics[i : i + 1000])

    def image(self, step: int, tag: str, picture: torch.Tensor) -> None:
        pixels = (picture.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        self.client.log_image(self.run, pixels, key=tag.replace("/", "."), step=step)

    def close(self, status: str) -> None:
        outcome = {"completed": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
        self.client.set_terminated(self.run, status=outcome)


def _flatten(values: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


BACKENDS = {"tensorboard": TensorBoard, "mlflow": MLflow}


class RunTracker:
    """One run's trackers, as the trainer and the runner call them. Never raises."""

    def __init__(self, backends: list | None = None, label: str = ""):
        self.backends, self.label = list(backends or []), label
        self.drawing_failed = False

    @property
    def active(self) -> bool:
        return bool(self.backends)

    def _each(self, action: str, fn) -> None:
        for backend in list(self.backends):
            try:
                fn(backend)
            except Exception as exc:  # noqa: BLE001 -- a tracker must never fail a run
                self.backends.remove(backend)
                warn(f"{self.label}: {backend.name} tracking failed while {action} ({type(exc).__name__}: {exc}); "
                     "the run goes on without it")

    def scalars(self, step: int, values: dict[str, float], what: str = "scalars") -> None:
        if self.backends and values:
            self._each(f"logging {what}", lambda b: b.scalars(step, values))

    def losses(self, step: int, means: dict[str, float]) -> None:
        """One log window's mean losses (already on the host)."""
        if self.backends:
            self.scalars(step, {f"loss/{name}": float(value) for name, value in means.items()}, "losses")

    def evaluation(self, step: int, scores: dict, prefix: str = "eval") -> None:
        """Clustering scores ({'train': {...}, 'test': {...}}), or any nested numbers."""
        if self.backends:
            self.scalars(step, _numbers(prefix, scores), f"{prefix} scores")

    def measurements(self, step: int, record: dict) -> None:
        """What the runner measured after training: the final clustering scores (the last
        point of the `eval/` curves), disentanglement metrics, and |Spearman rho| of each
        (morphometric, continuous code)."""
        if not self.backends:
            return
        self.evaluation(step, record.get("metrics") or {}, "eval")
        self.evaluation(step, (record.get("disentanglement") or {}).get("metrics") or {}, "disentanglement")
        rows = (record.get("morphometrics") or {}).get("scores") or []
        self.scalars(step, {f"morphometrics/{r['morphometric']}/c{int(r['code']) + 1}": float(r["abs_spearman"])
                            for r in rows if isinstance(r.get("abs_spearman"), numbers.Real)}, "morphometrics")

    def images(self, step: int, method, test_images: torch.Tensor | None, matching: list | None) -> None:
        """The model's grids (`bench.tracking.grids.of_method`), drawn with their own seeded
        generator inside a forked RNG, so training draws the same numbers with or without
        them. A grid that cannot be drawn is one warning, and no more are tried."""
        if not self.backends or self.drawing_failed or len(method.image_shape) != 3:  # 2-D points: no pictures
            return
        from bench.tracking import grids

        try:
            with torch.random.fork_rng(devices=[method.device] if method.device.type == "cuda" else []):
                drawn = grids.of_method(method, test_images, matching)
        except Exception as exc:  # noqa: BLE001 -- a tracker must never fail a run
            self.drawing_failed = True
            warn(f"{self.label}: could not draw image grids for tracking ({type(exc).__name__}: {exc}); "
                 "the run goes on without them")
            return
        for grid in drawn:
            picture = grid.picture()
            self._each(f"logging the {grid.name} grid", lambda b: b.image(step, f"images/{grid.name}", picture))

    def close(self, status: str) -> None:
        self._each("closing", lambda b: b.close(status))
        self.backends = []


def open_tracker(kinds: tuple[str, ...], run_dir: Path, config: dict, resume_step: int | None = None,
                 label: str = "") -> RunTracker:
    """The run's trackers; one that cannot open is a warning and is left out. `config`
    is the run record's head (run_id, method, dataset, seed, preset, config)."""
    backends = []
    for kind in kinds:
        try:
            backends.append(BACKENDS[kind](run_dir, None if resume_step is None else resume_step + 1, config))
        except Exception as exc:  # noqa: BLE001 -- a tracker must never fail a run
            warn(f"{label}: could not open {kind} tracking ({type(exc).__name__}: {exc}); the run goes on without it")
    return RunTracker(backends, label)
