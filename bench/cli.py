"""`bench` command line: list, run, speed, table, verdicts, report, plot, udr, compare-dlib.

Every user-facing failure ends in one line on stderr and a non-zero exit; set
BENCH_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

from bench import config as config_lib
from bench.datasets import resolve_dataset
from bench.datasets.base import default_data_root, load_dataset, to_float
from bench.device import choose_device
from bench.errors import BenchError
from bench.files import check_not_reference, default_results_dir
from bench.plugins import load_plugins
from bench.registry import DATASETS, METHODS
from bench.training.checkpoint import KEEP_CHECKPOINTS

EXIT_ERROR, EXIT_RUN_FAILED, EXIT_INTERRUPTED = 2, 1, 130


MAX_SEEDS = 1000  # seeds in one sweep


def _seed_list(text: str) -> list[int]:
    """'5' -> seeds 0..4; '3,7' -> seeds 3 and 7; '3,' -> seed 3 alone. A seed is in
    [0, 2^32 - 1] (numpy seeds with 32 bits), so a bad one fails here, not at run time."""
    usage = (f"a seed count in 1..{MAX_SEEDS} (e.g. 5) or a comma list of seeds in 0..{config_lib.SEED_MAX} "
             "(e.g. 0,3)")
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            seeds = list(range(int(text))) if 1 <= int(text) <= MAX_SEEDS else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {usage}, got {text!r}") from None
    if not seeds or min(seeds) < 0 or max(seeds) > config_lib.SEED_MAX or len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"expected {usage}, got {text!r}")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"seed {', '.join(map(str, repeated))} is given twice in {text!r}")
    return seeds


def _seed_counts(text: str) -> tuple[int, ...]:
    """'2,5' -> (2, 5): numbers of seeds per batched step, each >= 2."""
    try:
        counts = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        counts = ()
    if not counts or min(counts) < 2:
        raise argparse.ArgumentTypeError(f"expected seed counts >= 2 (e.g. 2,5), got {text!r}")
    return counts


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 (fractions allowed), got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def one_line(text: str) -> str:
    """A message as one line: control characters that came with a user's input (a newline in
    a setting's name, a file name) escaped as Python writes them."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage itself is one `-h` away)."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"bench: error: {one_line(message)} (see '{self.prog} -h')\n")


class RaisingParser(_Parser):
    """The same parser for `bench.run`: a bad option is a `BenchError`, not an exit."""

    def error(self, message: str):
        raise BenchError(one_line(message))


def build_parser(parser_class: type[argparse.ArgumentParser] = _Parser) -> argparse.ArgumentParser:
    parser = parser_class(prog="bench", description=__doc__.splitlines()[0])
    results = default_results_dir()
    results_help = f"run records and what is built from them (default {results}: $BENCH_RESULTS, else ./bench-results)"
    reference_help = "allow writing into a reference results folder (one holding a REFERENCE file, as results/)"
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="methods, datasets, presets and metrics")

    run = parser.run_parser = sub.add_parser("run", help="train and evaluate methods over seeds; write run records")
    run.add_argument("--config", type=Path, default=None, metavar="FILE.toml",
                     help="options and [set] settings from a TOML file (arrays in [set] are grids); "
                          "options typed on the command line override the file's")
    run.add_argument("--methods", required=True, help="'all', a glob ('info*') or a comma list")
    run.add_argument("--dataset", default="mnist",
                     help="mnist, fashion_mnist, dsprites, a plugin's, "
                          "or npz:PATH (an .npz file: x uint8 N x H x W[x C], y)")
    run.add_argument("--seeds", type=_seed_list, default=[0], help="a count (5 -> seeds 0..4) or a comma list (3,7; '3,' for seed 3 alone)")
    run.add_argument("--preset", default="smoke", choices=sorted(config_lib.PRESETS))
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE[,VALUE...]",
                     help="override a trainer or method setting (repeatable); a comma list is a grid "
                          "(k=0,5,7,10), several keys give every combination; a tuple goes in brackets")
    run.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    run.add_argument("--data-root", default=None, help="default: $BENCH_DATA, else ./data")
    run.add_argument("--results-dir", type=Path, default=results, help=results_help)
    run.add_argument("--reference", action="store_true", help=reference_help)
    run.add_argument("--workdir", type=Path, default=Path("runs"), help="checkpoints (not committed)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the jobs (method, dataset, seed, variant, steps) and their estimated training "
                          "time from recorded `bench speed` measurements; train nothing")
    run.add_argument("--resume", action="store_true",
                     help="continue from checkpoints; skip runs already recorded as completed")
    run.add_argument("--keep-checkpoints", choices=KEEP_CHECKPOINTS, default="last",
                     help="last (default): each run's one checkpoint, replaced at each checkpoint step, kept "
                          "at its end; all: also a copy at every checkpoint step (checkpoint-step<N>.pt); none: "
                          "a completed run's checkpoint is deleted (`bench plot` and `bench udr` then cannot "
                          "use it); an interrupted, diverged or failed run keeps its own either way")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress (bars on a terminal, else plain lines on stderr) of training and what follows")
    run.add_argument("--tracker", default="tensorboard", metavar="tensorboard|mlflow|none",
                     help="where each run logs its losses, evaluations and image grids as it trains: tensorboard "
                          "(default; WORKDIR/RUN_ID/tb), mlflow (when installed; $MLFLOW_TRACKING_URI, else "
                          "WORKDIR/mlflow.db), both as a comma list, or none")
    run.add_argument("--metrics-backend", choices=("bench", "dlib"), default=None,
                     help="who computes disentanglement metrics on factor datasets: bench (default) or "
                          "disentanglement-lib, when installed")
    run.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="run up to N (method, seed) jobs at once, each in its own process on the "
                          "same device (default 1: one after another in this process)")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: this machine (--jobs N); ray: each job a Ray task on a local or joined Ray cluster")
    run.add_argument("--ray-address", default=None, metavar="ADDRESS",
                     help="with --executor ray: 'auto' or HOST:PORT joins a running cluster "
                          "(default: start a local one for this sweep)")
    run.add_argument("--cpus-per-job", type=_positive, default=None, metavar="C",
                     help="with --executor ray: CPUs each job reserves (default 1; also its torch threads)")
    run.add_argument("--gpus-per-job", type=_non_negative, default=None, metavar="G",
                     help="with --executor ray: GPUs each job reserves, fractions allowed (0.25: four jobs "
                          "share a GPU; default 0)")
    run.add_argument("--batch-seeds", action="store_true",
                     help="train the seeds of each method as one vmapped step (each seed still gets its "
                          "lone run's result, to float tolerance); closed-form methods and unrolled InfoGAN still run one seed at a time")

    speed = sub.add_parser("speed", help="training throughput per method: our step vs the eager reference loop")
    speed.add_argument("--methods", default="all", help="'all', a glob or a comma list (default all)")
    speed.add_argument("--dataset", default="mnist")
    speed.add_argument("--preset", default="paper", choices=sorted(config_lib.PRESETS),
                       help="whose batch size and network widths to time (default paper)")
    speed.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    speed.add_argument("--device", default="auto")
    speed.add_argument("--data-root", default=None)
    speed.add_argument("--warmup", type=_positive_int, default=5, help="untimed steps first (default 5)")
    speed.add_argument("--steps", type=_positive_int, default=20, help="steps per timed repeat (default 20)")
    speed.add_argument("--repeats", type=_positive_int, default=5, help="timed repeats; the median is reported")
    speed.add_argument("--at-step", type=int, default=0, metavar="N",
                       help="time the phases a staged method runs at step N (e.g. DEC's clustering stage)")
    speed.add_argument("--batch-seeds", type=_seed_counts, default=(), metavar="S[,S...]",
                       help="also time S seeds trained as one batched step (bench run --batch-seeds), e.g. 2,5")
    speed.add_argument("--out", type=Path, default=results / "speed",
                       help=f"where the JSON goes (default {results}/speed)")
    speed.add_argument("--reference", action="store_true", help=reference_help)

    table = sub.add_parser("table", help="one table from the run records (Markdown, numeric CSV, LaTeX)")
    table.add_argument("--kind", choices=("clustering", "qloss", "disentanglement", "morphometrics", "generation",
                                          "modes", "speed"),
                       default="clustering",
                       help="clustering: test error vs claims; qloss: unrolled InfoGAN's final Q losses per K; "
                            "disentanglement: metrics on a dataset with known factors (e.g. --dataset dsprites); "
                            "morphometrics: which code drives which morphometric; generation: what generators draw, "
                            "scored by the dataset's classifier; modes: modes covered on a 2-D mixture (--dataset "
                            "ring2d); speed: every results/speed measurement")
    table.add_argument("--results-dir", type=Path, default=results, help=results_help)
    table.add_argument("--dataset", default="mnist")
    table.add_argument("--out", type=Path, default=None, help="default: RESULTS_DIR/tables")
    verdicts = sub.add_parser("verdicts", help="every paper claim with its verdict: reproduced, not reproduced, "
                                               "or inconclusive and why")
    verdicts.add_argument("--results-dir", type=Path, default=results, help=results_help)
    verdicts.add_argument("--out", type=Path, default=None, help="default: RESULTS_DIR/tables")
    report = sub.add_parser("report", help="rebuild every table, t-SNE figure and RESULTS_DIR/README.md from the records")
    report.add_argument("--results-dir", type=Path, default=results,
                        help=f"{results_help}; the repository's reference: --results-dir results")
    report.add_argument("--readme", type=Path, default=None,
                        help="also refresh the tables this Markdown file shows between `<!-- NAME table: generated "
                             "by `bench report` (results/tables/FILE.md) -->` markers (e.g. docs/results.md)")
    compare = sub.add_parser("compare-dlib", help="our disentanglement metrics beside disentanglement-lib's "
                                                  "(needs it installed, e.g. in `tox -e dlib`)")
    compare.add_argument("--quick", action="store_true", help="a tenth of the sizes (seconds, for a smoke check)")
    compare.add_argument("--seed", type=int, default=0)
    udr = sub.add_parser("udr", help="UDR (Duan et al. 2020) across the seeds of each recorded run group, "
                                     "from their checkpoints; kept in the records")
    udr.add_argument("--dataset", default="dsprites")
    udr.add_argument("--methods", default="all", help="'all', a glob or a comma list (default all variational ones)")
    udr.add_argument("--results-dir", type=Path, default=results, help=results_help)
    udr.add_argument("--reference", action="store_true", help=reference_help)
    udr.add_argument("--workdir", type=Path, default=Path("runs"), help="where the runs' checkpoints are")
    udr.add_argument("--data-root", default=None)
    udr.add_argument("--device", default="auto")
    udr.add_argument("--points", type=_positive_int, default=1000,
                     help="observations every model encodes (a multiple of 10; dlib's udr.gin: 1000)")
    udr.add_argument("--correlation", choices=("lasso", "spearman"), default="lasso",
                     help="lasso: UDR_L (dlib's default); spearman: UDR_S")
    plot = sub.add_parser("plot", help="figures from a recorded run's checkpoint")
    plot.add_argument("kind", choices=["traversals", "reconstructions", "interpolations"],
                      help="traversals: latent-code grids (generators); reconstructions: Dec(Enc(x)) (autoencoders); "
                           "interpolations: decoded points between two test images' codes (autoencoders)")
    plot.add_argument("--method", required=True)
    plot.add_argument("--run-id", default=None, help="default: the latest completed run of --method")
    plot.add_argument("--preset", default=None)
    plot.add_argument("--seed", type=int, default=None)
    plot.add_argument("--results-dir", type=Path, default=results, help=results_help)
    plot.add_argument("--reference", action="store_true", help=reference_help)
    plot.add_argument("--workdir", type=Path, default=Path("runs"))
    plot.add_argument("--from-real", action="store_true",
                      help="traversals that start from encoded real test images, one continuous code per row "
                           "(variational methods)")
    plot.add_argument("--data-root", default=None,
                      help="for reconstructions, interpolations, --from-real, and traversals of a record without "
                           "the matching of its categories to digits: default $BENCH_DATA, else ./data")
    plot.add_argument("--out", type=Path, default=None, help="default: RESULTS_DIR/figures")
    return parser


def _written(paths) -> str:
    """'written: DIR/stem.{md,csv,tex}' for the views of one table, each table on its own line."""
    stems: dict[Path, list[str]] = {}
    for path in map(Path, paths):
        stems.setdefault(path.with_suffix(""), []).append(path.suffix[1:])
    return "written: " + "\n         ".join(f"{stem}.{{{','.join(ext)}}}" if len(ext) > 1 else f"{stem}.{ext[0]}"
                                            for stem, ext in stems.items())


def cmd_list(args) -> int:
    print("methods:")
    for name in METHODS.names():
        doc = (METHODS.get(name).__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<16} {doc}")
    print("datasets:")
    for name in DATASETS.names():
        print(f"  {name}")
    print("presets:")
    for name, values in config_lib.PRESETS.items():
        print(f"  {name:<8} " + ", ".join(f"{k}={v}" for k, v in values.items()))
    from bench.evaluation.disentanglement import METRICS

    print("metrics:")
    print("  clustering: accuracy (Hungarian one-to-one), accuracy_many_to_one (majority), nmi, ari")
    print(f"  disentanglement (datasets with known factors): {', '.join(METRICS)}")
    print("  across the seeds of a run group: udr (bench udr)")
    return 0


def _executor(args, n_jobs: int):
    """The executor `bench run` asked for, and the device string its jobs resolve."""
    from bench.runs.executors import LocalExecutor

    ray_only = {"--ray-address": args.ray_address, "--cpus-per-job": args.cpus_per_job,
                "--gpus-per-job": args.gpus_per_job}
    if args.executor == "local":
        given = [name for name, value in ray_only.items() if value is not None]
        if given:
            raise BenchError(f"{', '.join(given)}: for --executor ray only")
        return LocalExecutor(args.jobs if n_jobs > 1 else 1), str(choose_device(args.device))
    from bench.runs.ray_executor import RayExecutor

    if args.jobs > 1:
        raise BenchError("--jobs N is the local executor's; under Ray the cluster's free resources "
                         "(--cpus-per-job, --gpus-per-job) decide how many jobs run at once")
    gpus = args.gpus_per_job or 0.0
    device = args.device
    if device == "auto":  # what Ray reserved for the job decides, not what the driver has
        device = "cuda" if gpus > 0 else "cpu"
    elif device.startswith("cuda") and gpus == 0:
        raise BenchError(f"--device {device} under Ray needs --gpus-per-job > 0, so that Ray hands each job "
                         "its share of a GPU")
    return RayExecutor(args.ray_address, args.cpus_per_job or 1.0, gpus), device


def cmd_run(args) -> int:
    records = run_records(args)
    if records is None:  # --dry-run
        return 0
    statuses = [r["status"] for r in records]
    if "interrupted" in statuses:
        return EXIT_INTERRUPTED
    if "failed" in statuses:
        print(f"bench: {statuses.count('failed')} run(s) failed; see 'message' and 'traceback' in "
              f"{args.results_dir}/runs/", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


def run_records(args) -> list[dict] | None:
    """What `bench run` (and `bench.run`) does with its parsed options: plan, check, run the
    sweep; the records it wrote (None for --dry-run, which prints the plan instead)."""
    from bench.runs.plan import plan
    from bench.runs.sweep import run_jobs
    from bench.tracking.trackers import check_available, parse_kinds

    dataset = resolve_dataset(args.dataset)
    methods = METHODS.resolve(args.methods)
    variants = config_lib.parse_grid(args.overrides)
    if args.metrics_backend:
        variants = [{**v, "metrics_backend": args.metrics_backend} for v in variants]
    if args.batch_seeds and args.jobs > 1:
        raise BenchError("--batch-seeds and --jobs N are two ways to run seeds together; pick one")
    trackers = parse_kinds(args.tracker)
    check_available(trackers)
    jobs = plan(methods, args.seeds, dataset, args.preset, variants,
                device_kind=choose_device(args.device).type if args.executor == "local" else
                ("cuda" if (args.gpus_per_job or 0) > 0 or args.device.startswith("cuda") else "cpu"))
    executor, device = _executor(args, len(jobs))
    if args.dry_run:
        from bench.runs.dry_run import print_plan

        print_plan(jobs, choose_device(device), args.results_dir)
        return None
    check_not_reference(args.results_dir, args.reference, "new run records")
    return run_jobs(jobs, default_data_root(args.data_root), device, args.results_dir, args.workdir,
                    resume=args.resume, progress=not args.no_progress, batch_seeds=args.batch_seeds,
                    executor=executor, trackers=trackers, keep_checkpoints=args.keep_checkpoints)


def cmd_speed(args) -> int:
    from bench.report.tables import terminal_text
    from bench.speed.measure import speed_table, write_speed

    args.dataset = resolve_dataset(args.dataset)
    methods = METHODS.resolve(args.methods)
    overrides = config_lib.parse_overrides(args.overrides)
    config_lib.applicable([METHODS.get(m) for m in methods], overrides)  # a typo fails before timing
    check_not_reference(args.out, args.reference, "new speed measurements")
    device = choose_device(args.device)
    data = load_dataset(args.dataset, default_data_root(args.data_root))
    table, rows = speed_table(methods, data, device, args.preset, overrides, args.warmup, args.steps, args.repeats,
                              batch_seeds=args.batch_seeds, at_step=args.at_step)
    if table.empty:
        raise BenchError("none of the selected methods has a gradient training step to time")
    print(terminal_text(table))
    settings = {"methods": methods, "dataset": args.dataset, "preset": args.preset, "overrides": overrides,
                "warmup": args.warmup, "steps": args.steps, "repeats": args.repeats}
    if args.batch_seeds:
        settings["batch_seeds"] = list(args.batch_seeds)
    if args.at_step:
        settings["at_step"] = args.at_step
    print(f"\nwritten: {write_speed(rows, table, device, settings, args.out)}")
    return 0


def cmd_table(args) -> int:
    from bench.datasets.npz import dataset_name, is_npz
    from bench.report.builder import results_folder, table_for
    from bench.report.speed import write_speed_tables
    from bench.report.tables import terminal_text, write_table
    from bench.runs.records import load_records

    if is_npz(args.dataset):  # the name its runs were recorded under
        args.dataset = dataset_name(Path(args.dataset[len("npz:"):]))
    out = args.out or results_folder(args.results_dir, "tables")
    if args.kind == "speed":
        import pandas as pd

        written = write_speed_tables(args.results_dir, out)
        if not written:
            raise BenchError(f"no speed measurements under {args.results_dir}/speed; run `bench speed` first")
        for path, _, payload in written:
            print(f"{path.stem}: {payload.get('device', 'unknown device')}")
            print(terminal_text(pd.DataFrame(payload.get("summary") or []), full=path) + "\n")
        print(_written(path for path, _, _ in written))
        return 0
    records = load_records(args.results_dir)
    table = table_for(args.kind, records, args.dataset)
    paths = write_table(table.table, out, table.stem, table.latex)
    print(terminal_text(table.table, table.terminal, paths[0]))
    if args.kind == "disentanglement":  # and how the metrics rank the same runs, once there are enough
        from bench.report.builder import correlation_table_for
        from bench.report.disentanglement import MIN_RUNS_FOR_CORRELATION

        correlation = correlation_table_for(records, args.dataset)
        if correlation is None:
            print(f"\n(rank correlation between the metrics: shown from {MIN_RUNS_FOR_CORRELATION} scored runs on)")
        else:
            more = write_table(correlation.table, out, correlation.stem, correlation.latex)
            print(f"\n{correlation.title}\n\n{terminal_text(correlation.table, full=more[0])}")
            paths += more
    print("\n" + _written(paths))
    return 0


def cmd_verdicts(args) -> int:
    from bench.report.builder import tables_of, verdicts_of
    from bench.report.tables import TERMINAL_WIDTH, terminal_text, write_table
    from bench.runs.records import load_records

    table = verdicts_of(tables_of(load_records(args.results_dir)))
    paths = write_table(table.table, args.out or args.results_dir / "tables", table.stem, table.latex)
    print(terminal_text(table.table.drop(columns=["table"]), table.terminal, paths[0]))
    print("\n" + textwrap.fill(table.note, TERMINAL_WIDTH))
    print("\n" + _written(paths))
    return 0


def cmd_report(args) -> int:
    from bench.report.builder import build_report, sync_blocks

    if not args.results_dir.is_dir():
        raise BenchError(f"no results directory at {args.results_dir}")
    for path in build_report(args.results_dir):
        print(path)
    if args.readme and sync_blocks(args.readme, args.results_dir):
        print(args.readme)
    return 0


def cmd_plot(args) -> int:
    from bench.report.builder import results_folder
    from bench.report.figures import (interpolation_grid, real_traversal_grid, reconstruction_grid, run_name,
                                      traversal_grids)
    from bench.runs.recorded import find_run, load_trained, test_matching

    record = find_run(args.results_dir, args.method, args.preset, args.seed, args.run_id)
    method = load_trained(record, args.workdir)
    out = args.out or results_folder(args.results_dir, "figures")
    check_not_reference(out, args.reference, "new figures")
    heading = f"{record['run_id']} ({run_name(record)})"
    if args.from_real and args.kind != "traversals":
        raise BenchError("--from-real applies to traversals")
    if args.kind == "traversals" and args.from_real:
        if not method.variational:
            raise BenchError(f"{record['method']} does not encode images into its codes (--from-real needs a "
                             "variational method)")
        data = load_dataset(record["dataset"], default_data_root(args.data_root)).cropped(method.image_shape)
        paths = [real_traversal_grid(method, to_float(data.test_x[: method.code_spec.continuous]), out,
                                     record["run_id"], heading)]
    elif args.kind == "traversals":
        if not method.generates:
            raise BenchError(f"{record['method']} has no generator to traverse")
        matching = test_matching(record, method, default_data_root(args.data_root)) \
            if method.code_spec.categorical else None
        paths = traversal_grids(method, out, record["run_id"], heading, matching)
    else:
        if not method.reconstructs:
            what = "reconstruct with" if args.kind == "reconstructions" else "interpolate between codes with"
            raise BenchError(f"{record['method']} has no encoder and decoder to {what}")
        source = record.get("dataset_source") or {}
        name = resolve_dataset("npz:" + source["path"]) if source.get("path") else record["dataset"]
        data = load_dataset(name, default_data_root(args.data_root)).cropped(method.image_shape)
        if args.kind == "reconstructions":
            paths = [reconstruction_grid(method, to_float(data.test_x[:50]), out, record["run_id"], heading)]
        else:
            n = min(len(data.test_x), 1000)  # enough test images to find each pair
            paths = [interpolation_grid(method, to_float(data.test_x[:n]), data.test_y[:n].cpu(), out,
                                        record["run_id"], heading)]
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_udr(args) -> int:
    from bench.report.tables import stat
    from bench.runs.udr import run_udr

    dataset = resolve_dataset(args.dataset)
    check_not_reference(args.results_dir, args.reference, "UDR scores in run records")
    scored, skipped = run_udr(dataset, METHODS.resolve(args.methods), args.results_dir, args.workdir,
                              default_data_root(args.data_root), choose_device(args.device), args.points,
                              args.correlation)
    for records in scored:
        first = records[0]
        scores = [r["udr"]["score"] for r in records]
        seeds = ", ".join(f"s{r['seed']} {r['udr']['score']:.3f}" for r in records)
        print(f"{first['method']} ({first['preset']}): UDR {stat(scores, 3)} over {len(records)} seeds ({seeds})")
    for line in skipped:
        print(f"skipped {line}")
    print(f"written: udr in {sum(len(r) for r in scored)} records under {args.results_dir}/runs")
    return 0


def cmd_compare_dlib(args) -> int:
    from bench.evaluation.disentanglement.dlib_comparison import compare

    return compare(args.quick, args.seed)


def main(argv: list[str] | None = None) -> int:
    from bench.runs.config_file import expand_config

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = expand_config(argv, parser.run_parser)
    except BenchError as exc:
        print(f"bench: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    args = parser.parse_args(argv)
    with _sigterm_as_ctrl_c():
        return _dispatch(args)


@contextlib.contextmanager
def _sigterm_as_ctrl_c():
    """SIGTERM (`timeout`, a scheduler, tox) stops a command as Ctrl-C does, also outside a
    training step (which handles both itself): a run being scored is then recorded, not lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def terminated(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispatch(args) -> int:
    try:
        load_plugins()  # entry points (group bench.plugins) and $BENCH_PLUGINS
        threads = os.environ.get("BENCH_THREADS")  # torch threads (the tests set it; --jobs workers read it too)
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        commands = {"list": cmd_list, "run": cmd_run, "speed": cmd_speed, "table": cmd_table, "verdicts": cmd_verdicts,
                    "report": cmd_report, "plot": cmd_plot, "compare-dlib": cmd_compare_dlib, "udr": cmd_udr}
        return commands[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. `bench list | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("BENCH_DEBUG"):
            raise
        print(f"bench: internal error: {type(exc).__name__}: {one_line(str(exc))} (BENCH_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
