"""`bench` command line: list, run, speed, table, report, plot.

Every user-facing failure ends in one line on stderr and a non-zero exit; set
BENCH_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from bench import config as config_lib
from bench.datasets.base import default_data_root, load_dataset, to_float
from bench.device import choose_device
from bench.errors import BenchError
from bench.files import check_writable
from bench.registry import DATASETS, METHODS

EXIT_ERROR, EXIT_RUN_FAILED, EXIT_INTERRUPTED = 2, 1, 130


def _seed_list(text: str) -> list[int]:
    """'5' -> seeds 0..4; '3,7' -> seeds 3 and 7; '3,' -> seed 3 alone."""
    usage = "a seed count >= 1 (e.g. 5) or a comma list of seeds >= 0 (e.g. 0,3)"
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            seeds = list(range(int(text))) if int(text) >= 1 else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {usage}, got {text!r}") from None
    if not seeds or min(seeds) < 0:
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage itself is one `-h` away)."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"bench: error: {message} (see '{self.prog} -h')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="methods, datasets, presets and metrics")

    run = sub.add_parser("run", help="train and evaluate methods over seeds; write run records")
    run.add_argument("--methods", required=True, help="'all', a glob ('info*') or a comma list")
    run.add_argument("--dataset", default="mnist")
    run.add_argument("--seeds", type=_seed_list, default=[0], help="a count (5 -> seeds 0..4) or a comma list (3,7; '3,' for seed 3 alone)")
    run.add_argument("--preset", default="smoke", choices=sorted(config_lib.PRESETS))
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a trainer or method setting (repeatable)")
    run.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    run.add_argument("--data-root", default=None, help="default: $BENCH_DATA, else ./data")
    run.add_argument("--results-dir", type=Path, default=Path("results"))
    run.add_argument("--workdir", type=Path, default=Path("runs"), help="checkpoints (not committed)")
    run.add_argument("--resume", action="store_true",
                     help="continue from checkpoints; skip runs already recorded as completed")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--metrics-backend", choices=("bench", "dlib"), default=None,
                     help="who computes disentanglement metrics on factor datasets: bench (default) or "
                          "disentanglement-lib, when installed")
    run.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="run up to N (method, seed) jobs at once, each in its own process on the "
                          "same device (default 1: one after another in this process)")
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
    speed.add_argument("--batch-seeds", type=_seed_counts, default=(), metavar="S[,S...]",
                       help="also time S seeds trained as one batched step (bench run --batch-seeds), e.g. 2,5")
    speed.add_argument("--out", type=Path, default=Path("results/speed"), help="where the JSON goes")

    table = sub.add_parser("table", help="a paper-shaped table from the run records")
    table.add_argument("--kind", choices=("clustering", "qloss"), default="clustering",
                       help="clustering: test error vs claims; qloss: unrolled InfoGAN's final Q losses per K")
    table.add_argument("--results-dir", type=Path, default=Path("results"))
    table.add_argument("--dataset", default="mnist")
    table.add_argument("--out", type=Path, default=None, help="default: RESULTS_DIR/tables")
    report = sub.add_parser("report", help="rebuild every table, t-SNE figure and RESULTS_DIR/README.md from the records")
    report.add_argument("--results-dir", type=Path, default=Path("results"))
    compare = sub.add_parser("compare-dlib", help="our disentanglement metrics beside disentanglement-lib's "
                                                  "(needs it installed, e.g. in `tox -e dlib`)")
    compare.add_argument("--quick", action="store_true", help="a tenth of the sizes (seconds, for a smoke check)")
    compare.add_argument("--seed", type=int, default=0)
    plot = sub.add_parser("plot", help="figures from a recorded run's checkpoint")
    plot.add_argument("kind", choices=["traversals", "reconstructions"],
                      help="traversals: latent-code grids (generators); reconstructions: Dec(Enc(x)) (autoencoders)")
    plot.add_argument("--method", required=True)
    plot.add_argument("--run-id", default=None, help="default: the latest completed run of --method")
    plot.add_argument("--preset", default=None)
    plot.add_argument("--seed", type=int, default=None)
    plot.add_argument("--results-dir", type=Path, default=Path("results"))
    plot.add_argument("--workdir", type=Path, default=Path("runs"))
    plot.add_argument("--from-real", action="store_true",
                      help="traversals that start from encoded real test images, one continuous code per row "
                           "(variational methods)")
    plot.add_argument("--data-root", default=None,
                      help="for reconstructions and --from-real: default $BENCH_DATA, else ./data")
    plot.add_argument("--out", type=Path, default=None, help="default: RESULTS_DIR/figures")
    return parser


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
    print("metrics:")
    print("  accuracy (Hungarian one-to-one), accuracy_many_to_one (majority), nmi, ari")
    return 0


def cmd_run(args) -> int:
    from bench.runs.plan import plan
    from bench.runs.records import RECORD_DIR
    from bench.runs.runner import run_jobs

    DATASETS.get(args.dataset)
    methods = METHODS.resolve(args.methods)
    overrides = config_lib.parse_overrides(args.overrides)
    if args.metrics_backend:
        overrides["metrics_backend"] = args.metrics_backend
    if args.batch_seeds and args.jobs > 1:
        raise BenchError("--batch-seeds and --jobs N are two ways to run seeds together; pick one")
    jobs = plan(methods, args.seeds, args.dataset, args.preset, overrides)
    device = choose_device(args.device)
    check_writable(args.results_dir / RECORD_DIR, "results directory")  # before training, not after
    check_writable(args.workdir, "workdir")
    if args.jobs > 1 and len(jobs) > 1:
        from bench.runs.parallel import run_jobs_parallel

        records = run_jobs_parallel(jobs, args.jobs, args.device, args.data_root, args.results_dir,
                                    args.workdir, resume=args.resume)
    else:
        records = run_jobs(jobs, default_data_root(args.data_root), device, args.results_dir, args.workdir,
                           resume=args.resume, progress=not args.no_progress, batch_seeds=args.batch_seeds)
    statuses = [r["status"] for r in records]
    if "interrupted" in statuses:
        return EXIT_INTERRUPTED
    if "failed" in statuses:
        print(f"bench: {statuses.count('failed')} run(s) failed; see 'message' and 'traceback' in "
              f"{args.results_dir}/runs/", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


def cmd_speed(args) -> int:
    from bench.report.tables import to_markdown
    from bench.speed.measure import speed_table, write_speed

    DATASETS.get(args.dataset)
    methods = METHODS.resolve(args.methods)
    overrides = config_lib.parse_overrides(args.overrides)
    config_lib.applicable([METHODS.get(m) for m in methods], overrides)  # a typo fails before timing
    device = choose_device(args.device)
    data = load_dataset(args.dataset, default_data_root(args.data_root))
    table, rows = speed_table(methods, data, device, args.preset, overrides, args.warmup, args.steps, args.repeats,
                              batch_seeds=args.batch_seeds)
    if table.empty:
        raise BenchError("none of the selected methods has a gradient training step to time")
    print(to_markdown(table))
    settings = {"methods": methods, "dataset": args.dataset, "preset": args.preset, "overrides": overrides,
                "warmup": args.warmup, "steps": args.steps, "repeats": args.repeats}
    if args.batch_seeds:
        settings["batch_seeds"] = list(args.batch_seeds)
    print(f"\nwritten: {write_speed(rows, table, device, settings, args.out)}")
    return 0


def cmd_table(args) -> int:
    from bench.report.clustering import clustering_table
    from bench.report.qloss import qloss_table
    from bench.report.tables import to_markdown, write_table
    from bench.runs.records import load_records

    build = {"clustering": clustering_table, "qloss": qloss_table}[args.kind]
    table = build(load_records(args.results_dir), args.dataset)
    print(to_markdown(table))
    paths = write_table(table, args.out or args.results_dir / "tables", f"{args.kind}_{args.dataset}")
    print("\nwritten: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_report(args) -> int:
    from bench.report.builder import build_report

    if not args.results_dir.is_dir():
        raise BenchError(f"no results directory at {args.results_dir}")
    for path in build_report(args.results_dir):
        print(path)
    return 0


def cmd_plot(args) -> int:
    from bench.report.figures import real_traversal_grid, reconstruction_grid, traversal_grids
    from bench.runs.recorded import find_run, load_trained

    record = find_run(args.results_dir, args.method, args.preset, args.seed, args.run_id)
    method = load_trained(record, args.workdir)
    out = args.out or args.results_dir / "figures"
    if args.from_real and args.kind != "traversals":
        raise BenchError("--from-real applies to traversals")
    if args.kind == "traversals" and args.from_real:
        if not method.variational:
            raise BenchError(f"{record['method']} does not encode images into its codes (--from-real needs a "
                             "variational method)")
        data = load_dataset(record["dataset"], default_data_root(args.data_root))
        paths = [real_traversal_grid(method, to_float(data.test_x[: method.code_spec.continuous]), out,
                                     record["run_id"])]
    elif args.kind == "traversals":
        if not method.generates:
            raise BenchError(f"{record['method']} has no generator to traverse")
        paths = traversal_grids(method, out, record["run_id"])
    else:
        if not method.reconstructs:
            raise BenchError(f"{record['method']} has no decoder to reconstruct with")
        data = load_dataset(record["dataset"], default_data_root(args.data_root))
        paths = [reconstruction_grid(method, to_float(data.test_x[:50]), out, record["run_id"])]
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_compare_dlib(args) -> int:
    from bench.evaluation.disentanglement.dlib_comparison import compare

    return compare(args.quick, args.seed)


def load_plugins() -> None:
    """Modules named in $BENCH_PLUGINS (comma-separated) are imported so they can
    register their own methods and datasets."""
    for name in filter(None, (s.strip() for s in os.environ.get("BENCH_PLUGINS", "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise BenchError(f"cannot import plugin {name!r} from BENCH_PLUGINS: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins()
        threads = os.environ.get("BENCH_THREADS")  # set for each worker of `bench run --jobs N`
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        commands = {"list": cmd_list, "run": cmd_run, "speed": cmd_speed, "table": cmd_table, "report": cmd_report,
                    "plot": cmd_plot, "compare-dlib": cmd_compare_dlib}
        return commands[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
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
        print(f"bench: internal error: {type(exc).__name__}: {exc} (BENCH_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
