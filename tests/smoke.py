"""The smoke regression: every built-in method at the `smoke` preset, seed 0, on real
MNIST, on the CPU. `python -m tests.smoke --record` re-records tests/smoke_expectations.json
(do that only when a change is meant to alter results, and say so in the commit);
`--from-records results` takes them from the seed-0 records of
`bench run --methods all --seeds 2 --preset smoke` on a CPU, which are the same runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench.data import default_data_root
from bench.device import choose_device
from bench.registry import list_methods
from bench.results import read_record
from bench.runner import plan, run_jobs

EXPECTATIONS = Path(__file__).with_name("smoke_expectations.json")
METRICS = ("accuracy", "nmi", "ari")
# Runs are bit-for-bit repeatable on one machine; the tolerance absorbs float differences
# between CPUs (instruction sets, thread counts), which a 500-step GAN can amplify.
TOLERANCE = 0.03
LOSS_TOLERANCE = 0.25  # relative, on the final losses
# the regression compares clustering and losses; t-SNE and code sweeps would only add minutes
NO_EXTRA_MEASURES = {"tsne_points": 0, "morphometrics": False}


def run_smoke(method: str, data_root: Path, results: Path, workdir: Path) -> dict:
    torch.set_num_threads(2)  # CI's core count, so thread-dependent reductions match
    (job,) = plan([method], [0], "mnist", "smoke", NO_EXTRA_MEASURES)
    (record,) = run_jobs([job], data_root, choose_device("cpu"), results, workdir, progress=False,
                         echo=lambda line: None)
    return record


def expectation(record: dict) -> dict:
    """What the regression compares: test metrics, and the last log window's mean losses,
    which catch a broken component even where clustering is still at chance."""
    test = record["metrics"]["test"]
    out = {m: round(test[m], 4) for m in METRICS}
    if record["losses"]:
        out["final_losses"] = {k: round(v, 4) for k, v in record["losses"][-1].items() if k != "step"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help=f"write {EXPECTATIONS.name}")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--from-records", type=Path, default=None, metavar="RESULTS_DIR",
                        help="take the seed-0 smoke records of a `bench run --preset smoke` on a CPU "
                             "instead of training again")
    args = parser.parse_args()
    import tempfile

    import tests.plugin  # noqa: F401  (so TEST_METHODS are known and skipped)

    expectations = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in list_methods():
            if method in tests.plugin.TEST_METHODS:
                continue
            if args.from_records:
                (job,) = plan([method], [0], "mnist", "smoke", {})
                record = read_record(args.from_records, job.run_id)
                if record is None or record["status"] != "completed" or record["device"] != "cpu":
                    raise SystemExit(f"no completed CPU record {job.run_id} under {args.from_records}/runs")
            else:
                record = run_smoke(method, default_data_root(args.data_root), Path(tmp) / "r", Path(tmp) / "w")
            expectations[method] = expectation(record)
            print(method, expectations[method], f"{record['wall_time_s']:.0f}s")
    if args.record:
        EXPECTATIONS.write_text(json.dumps(expectations, indent=2, sort_keys=True) + "\n")
        print(f"wrote {EXPECTATIONS}")


if __name__ == "__main__":
    main()
