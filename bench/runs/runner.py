"""Runs one group of a sweep's jobs (one seed, or S seeds trained as one batched step)
wherever an executor puts it: seeding, building, training, evaluation, and one finished run
record per job, handed back rather than written, since a Ray worker may have no view of
the driver's results directory; the driver (`bench.runs.sweep`) writes them. Each run is
told to its trackers (`bench.tracking.trackers`) as it goes. A job that fails or diverges
is recorded and the sweep goes on."""

from __future__ import annotations

import contextlib
import functools
import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from bench import config as config_lib
from bench.datasets import npz
from bench.datasets.base import ImageDataset, load_dataset, to_float
from bench.device import choose_device, git_commit, provenance
from bench.errors import BenchError
from bench.evaluation import run_measures
from bench.evaluation.harness import evaluate_clustering
from bench.factory import create_method
from bench.files import RunLocked, remove_leftovers, run_lock
from bench.registry import METHODS
from bench.rng import SeedRNG, seed_everything
from bench.runs import schema
from bench.runs.plan import Job
from bench.tracking import progress as progress_bars
from bench.tracking.trackers import RunTracker, open_tracker
from bench.training import checkpoint
from bench.training.trainer import RunState, Trainer


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _head(job: Job) -> dict:
    """What every record of `job` starts with: which run it is and the settings it used."""
    return {"run_id": job.run_id, "method": job.method, "dataset": job.dataset, "seed": job.seed,
            "preset": job.preset, "overrides": job.overrides, "config": job.config_dict()}


def new_record(job: Job, **fields) -> dict:
    """The one place a run record is made: `job`'s head, then `fields` (its status, what it
    ran on, how it went, what it scored), as plain JSON values checked against the schema
    (`bench.runs.schema`). A record that does not fit would be a bug here: the run is then
    recorded as failed, naming the field, and `--resume` evaluates it again."""
    record = json.loads(json.dumps({**_head(job), "finished_at": _utc_now(), **fields}, default=str))
    try:
        return schema.check(record)
    except schema.Invalid as exc:
        return {**_head(job), "status": "failed", "finished_at": record["finished_at"],
                "message": f"its record does not fit the record schema: {exc}",
                "traceback": "", **({"checkpoint": record["checkpoint"]} if record.get("checkpoint") else {})}


def _started(job: Job, device: torch.device) -> dict:
    """What a run ran on: device, versions, hardware, code, when, and which data file."""
    return {
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch_version": torch.__version__,
        **provenance(device),
        "git_commit": git_commit(),
        "started_at": _utc_now(),
        **({"dataset_source": source} if (source := npz.source_of(job.dataset)) else {}),
    }


def _record_outcome(found: dict, job: Job, run: RunState, run_data: ImageDataset, device: torch.device) -> None:
    """Add to `found` how the run went and, for a completed run, what it scored."""
    found.update(status=run.status, steps=run.steps, losses=run.losses, losses_last=run.losses_last,
                 evaluations=run.evaluations,
                 message=run.message, resumed_from_step=run.resumed_from, step_mode=run.step_mode)
    if run.seed_batch:
        found["seed_batch"] = run.seed_batch
    if run.graph_error:
        found["graph_error"] = run.graph_error
    if run.reused_prefix:  # its first steps were another run's kept prefix (a shared pretraining)
        found["reused_prefix"] = run.reused_prefix
    if run.status == "completed":
        found["metrics"] = evaluate_clustering(run.method, run_data, job.train.eval_batch_size)
        found.update(measure_beyond_clustering(job, run.method, run_data, device))
        run.tracker.measurements(run.steps, found)
        run.tracker.images(run.steps, run.method, to_float(run_data.test_x[:50]), found["metrics"]["test"]["matching"])


def _failed(found: dict, exc: Exception) -> None:
    message = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
    found.update(status="failed", message=message, traceback=traceback.format_exc())


STOPPED_EVALUATING = "stopped by Ctrl-C while evaluating; --resume evaluates it again"
STOPPED_OUTSIDE_TRAINING = "stopped by Ctrl-C outside training"


def bare_records(group: list[Job], status: str, message: str, trace: str = "") -> list[dict]:
    """Records of a group that ended outside `execute`'s own bookkeeping: its worker died past
    its retries or could not start it (failed), or a stop reached it before or after
    training (interrupted; its checkpoint, if any, is what `--resume` continues)."""
    return [new_record(job, status=status, message=message, traceback=trace) for job in group]


def one_line(exc: BaseException) -> str:
    """An exception as a record's message: a BenchError's own line, else its type and first line."""
    if isinstance(exc, BenchError):
        return str(exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def fit_closed_form(run: RunState, data: ImageDataset, device: torch.device) -> None:
    """A method without gradient training (k-means on pixels) fits once; checkpointed at step 0."""
    run.method.to(device).train()
    run.method.fit(to_float(data.train_x))
    if run.checkpoint is not None:
        checkpoint.save(checkpoint.run_state(run, 0, [], None, 0.0), run.checkpoint)


def _open_tracker(job: Job, record: dict, workdir: Path, resume: bool, trackers: tuple[str, ...]) -> RunTracker:
    """The run's trackers in its work folder; a resumed run's start after its checkpoint's step."""
    step = None
    if trackers and resume and job.checkpoint(workdir).exists():
        try:
            step = checkpoint.peek_step(job.checkpoint(workdir))
        except BenchError:
            pass  # the run fails on its checkpoint in a moment, and says why
    return open_tracker(trackers, Path(workdir) / job.run_id, record, step, label=f"{job.method} s{job.seed}")


def execute(group: list[Job], data: ImageDataset, device: torch.device, workdir: Path,
            resume: bool = False, progress: bool = True, trackers: tuple[str, ...] = (),
            keep_checkpoints: str = "last") -> list[dict]:
    """Train one seed, or S seeds of one (method, config) as one batched step
    (`bench.training.seed_batch`), then evaluate each seed as its lone run would; return
    one finished record per seed (status completed, diverged, interrupted or failed). A seed's
    wall_time_s is the group's training time (shared by its seeds; for a resumed run, plus
    the segments before the stop) and its own evaluation; `seed_batch` in the record says
    how many seeds shared it. `trackers`: the backends each run logs to (none by default
    here; `bench run` opens TensorBoard unless told otherwise). `keep_checkpoints`: see
    `bench.training.checkpoint.KEEP_CHECKPOINTS`; a run not completed keeps its checkpoint."""
    started = [_started(job, device) for job in group]
    found: list[dict] = [{} for _ in group]  # what each run finds out, as it goes
    first, runs, tracked = group[0], None, [RunTracker() for _ in group]
    start = time.perf_counter()
    try:
        # held-out images label the clusters of a method whose paper labels them so (the AAE)
        # only: no other method's training images change
        held = first.train.validation_size if METHODS.get(first.method).labels_by_held_out else 0
        run_data = data.subset(first.train.train_size, first.train.test_size, held).to(device)
        run_data = run_data.cropped(METHODS.get(first.method).input_shape(first.method_config, run_data))
        runs = []
        for job in group:  # each seed built exactly as its lone run builds it
            seed_everything(job.seed)
            method = create_method(job.method, job.preset, run_data.image_shape, dataset=job.dataset, **job.overrides)
            rng = SeedRNG(device) if len(group) > 1 else None  # alone, a run owns the global generators
            runs.append(RunState(method, job.seed, job.checkpoint(workdir), rng))
        for i, (job, run) in enumerate(zip(group, runs)):
            run.tracker = tracked[i] = _open_tracker(job, {**_head(job), **started[i]}, workdir, resume, trackers)
        for own, run in zip(found, runs):
            own.update(n_clusters=run.method.n_clusters, n_classes=run_data.n_classes,
                       image_shape=list(run_data.image_shape))
        if runs[0].method.trains_by_gradient:
            seeds = ",".join(str(job.seed) for job in group)
            Trainer(first.train, device, progress, desc=f"{first.method} s{seeds}",
                    keep_checkpoints=keep_checkpoints).fit(runs, run_data, resume)
        else:
            for job, run in zip(group, runs):
                with progress_bars.shown(progress, f"{job.method} s{job.seed}"):
                    fit_closed_form(run, run_data, device)
    except Exception as exc:  # every seed of the group failed with it
        runs = None
        for own in found:
            _failed(own, exc)
    train_seconds = time.perf_counter() - start
    out, stopped = [], False
    for i, job in enumerate(group):
        own_start = time.perf_counter()
        if runs is not None and not stopped:
            before = dict(found[i])
            try:
                with runs[i].own_rng(), progress_bars.shown(progress, f"{job.method} s{job.seed}"):
                    _record_outcome(found[i], job, runs[i], run_data, device)
            except KeyboardInterrupt:  # a stop while evaluating: this seed and the ones after it
                stopped = True
                found[i] = before
            except Exception as exc:  # recorded; the other seeds go on
                _failed(found[i], exc)
        if stopped:  # trained and checkpointed: `--resume` evaluates it again
            found[i].update(status="interrupted", steps=runs[i].steps, message=STOPPED_EVALUATING)
        prior = runs[i].prior_seconds if runs is not None else 0.0
        path = job.checkpoint(workdir)
        if keep_checkpoints == "none" and found[i].get("status") == "completed":
            checkpoint.discard(path)  # evaluated and recorded from the model in memory
        out.append(new_record(job, **started[i], **found[i],
                              wall_time_s=round(prior + train_seconds + time.perf_counter() - own_start, 2),
                              checkpoint=str(path) if path.exists() else None))
        tracked[i].close(out[-1]["status"])
    return out


def measure_beyond_clustering(job: Job, method, data: ImageDataset, device: torch.device) -> dict:
    """Disentanglement metrics, morphometrics, the t-SNE layout, the per-latent KL and what
    the generator draws, where they apply. One that fails is recorded under
    `measure_errors`; the run stays completed."""
    cfg, out, errors = job.train, {}, {}
    measures = {
        "disentanglement": lambda: run_measures.disentanglement(method, data, device, job.seed,
                                                               cfg.metric_samples, cfg.metrics_backend),
        "morphometrics": lambda: run_measures.morphometrics(method, job.dataset) if cfg.morphometrics else None,
        "tsne": lambda: run_measures.tsne_layout(method, data, cfg.tsne_points, job.seed),
        "reconstruction": lambda: run_measures.reconstruction(method, data, cfg.eval_batch_size),
        "latent_kl": lambda: run_measures.latent_kl(method, data, cfg.eval_batch_size),
        "generation": lambda: run_measures.generation(method, data, job.seed, cfg.generation_samples),
    }
    for name, measure in measures.items():
        try:
            value = measure()
            if value is not None:  # as JSON holds it, an undefined (NaN) value as null
                value = schema.nan_as_null(json.loads(json.dumps(value, default=str)))
                schema.check_measure(name, value)
        except schema.Invalid as exc:
            errors[name] = f"not recorded: {exc}"
            continue
        except Exception as exc:  # noqa: BLE001 -- recorded, the run's training result stands
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        if value is not None:
            out[name] = value
    if errors:
        out["measure_errors"] = errors
    return out


def summary_line(record: dict) -> str:
    head = f"{record['method']} seed {record['seed']}: {record['status']}"
    if record["status"] == "completed":
        test = record["metrics"]["test"]
        many = record.get("n_clusters", 0) > record.get("n_classes", 10)  # the table's mapping rule
        accuracy = test["accuracy_many_to_one"] if many else test["accuracy"]
        return (f"{head}, test error {100 * (1 - accuracy):.2f}%{' (many-to-one)' if many else ''} "
                f"(NMI {test['nmi']:.3f}, ARI {test['ari']:.3f}), "
                f"{record['steps']} steps in {record['wall_time_s']:.0f}s")
    return f"{head}: {record.get('message', '')}"


def check_jobs(jobs: list[Job], data_root: Path) -> dict[str, ImageDataset]:
    """Load each dataset the jobs use and check, before any training, that every job's batch
    fits in its images and that its method can take their shape; returns the datasets."""
    datasets = {}
    for name in sorted({job.dataset for job in jobs}):
        with progress_bars.slow(f"loading {name} from {data_root} (a first load may extract files)"):
            datasets[name] = dataset(name, Path(data_root))
    checked = set()
    for job in jobs:
        data = datasets[job.dataset]
        config_lib.check_batch(job.train, len(data.train_x))
        key = (job.method, job.dataset, json.dumps(job.overrides, sort_keys=True, default=str))
        if key not in checked:
            checked.add(key)
            check_image_shape(job, data.image_shape)
    return datasets


def check_image_shape(job: Job, shape: tuple[int, ...]) -> None:
    """Build the job's method for `shape` without memory (on the meta device): a method that
    cannot take these images says so in one line."""
    try:
        with torch.device("meta"):
            create_method(job.method, job.preset, shape, dataset=job.dataset, **job.overrides)
    except BenchError as exc:
        raise BenchError(f"{job.method} on {job.dataset} ({'x'.join(map(str, shape))} images): {exc}") from None
    except Exception as exc:  # noqa: BLE001 -- a layer that does not fit, one line instead of a traceback
        raise BenchError(f"{job.method} cannot take {job.dataset}'s {'x'.join(map(str, shape))} images "
                         f"({type(exc).__name__}: {exc})") from None


@dataclass
class GroupTask:
    """What a group needs besides its jobs, the same for every group of a sweep: plain
    values, so that it travels to a worker process or a Ray task as it is."""

    data_root: Path
    device: str  # resolved where the group runs (`auto` on a GPU node is that node's GPU)
    workdir: Path
    resume: bool = False
    progress: bool = True
    trackers: tuple[str, ...] = ()  # tensorboard, mlflow (bench.tracking.trackers)
    keep_checkpoints: str = "last"  # last, all, none (bench.training.checkpoint.KEEP_CHECKPOINTS)


@dataclass
class Finished:
    """What came back of one group: its finished records (not yet written), or a line
    saying why it has none (another process holds its lock; it never started)."""

    group: list[Job]
    records: list[dict] = field(default_factory=list)
    note: str = ""


@functools.lru_cache(maxsize=1)
def dataset(name: str, root: Path) -> ImageDataset:
    """The dataset, loaded once per process for consecutive groups (a worker runs many)."""
    return load_dataset(name, root)


def run_group(group: list[Job], task: GroupTask, resume: bool | None = None) -> Finished:
    """Run one group here, under its runs' locks: the one unit of work of every executor.
    `resume` overrides the sweep's (a retried Ray task resumes its own checkpoint)."""
    resume = task.resume if resume is None else resume
    data = dataset(group[0].dataset, Path(task.data_root))
    device = choose_device(task.device)
    with contextlib.ExitStack() as locks:
        try:
            for job in group:
                locks.enter_context(run_lock(Path(task.workdir) / job.run_id))
        except RunLocked as held:
            return Finished(group, note=f"{group[0].method} seed {','.join(str(j.seed) for j in group)}: another "
                                        f"bench process is running it (lock in {held}), skipped")
        for job in group:  # what a killed writer left of this run's checkpoint
            remove_leftovers(Path(task.workdir) / job.run_id)
        return Finished(group, execute(group, data, device, Path(task.workdir), resume, task.progress,
                                       task.trackers, task.keep_checkpoints))
