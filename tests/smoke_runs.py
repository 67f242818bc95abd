"""The smoke regression: every built-in method at the `smoke` preset, seed 0, on real
MNIST, on the CPU, through the real command line (`bench run`: data, trainer,
evaluation, record).

A 500-step GAN amplifies the last-bit differences between CPUs (vector instruction sets,
BLAS and oneDNN kernels) far past any tolerance around one machine's value: one CPU's
InfoGAN scored 0.49 where another's scored 0.32. So a smoke run is held to what must
hold on every machine: it completes, its losses are finite, its record is complete, and
its test scores and final losses lie in bands that span what several seeds give. A seed
is another draw of the same noise that CPU differences perturb, so the spread over seeds
is the scale a CPU's drift moves a run by, while a broken method falls outside.
(Exact regressions are the golden trajectories' job: `tests/golden.py`.)

A variant of a banded method (its class subclasses the banded method's: a config field and
an overridden loss, e.g. the disentanglement-lib models of `beta_vae`) gets no smoke run of
its own (`unbanded_variants`): its networks, data path, trainer, evaluation and record are
the parent's, whose band excludes a collapsed model, and what differs, its loss, is pinned
exactly by its golden trajectories and checked against known answers. CI pays minutes only
for code paths a golden case cannot reach.

Bands (tests/smoke_bands.json) are derived from the completed smoke records of at least
three seeds (any machines), by `derive_bands`:

    python -m tests.smoke_runs --derive-bands RESULTS_DIR [RESULTS_DIR ...] [--methods NEW ...]

after e.g. `bench run --methods all --seeds 5 --preset smoke --set tsne_points=0 --set
morphometrics=false --results-dir RESULTS_DIR`. Re-derive them after a change that is
meant to alter results, and say so in the commit.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from bench import list_methods
from bench.cli import main as bench_main
from bench.registry import METHODS
from bench.runs.plan import plan
from bench.runs.records import load_records, read_record

BANDS = Path(__file__).with_name("smoke_bands.json")
METRICS = ("accuracy", "nmi", "ari")
# the regression compares clustering and losses; t-SNE, code sweeps and the generation measures
# (whose classifier would be trained first on a fresh machine) would only add minutes; the
# generation measures have their own tests (tests/integration/test_generation.py)
NO_EXTRA_MEASURES = {"tsne_points": 0, "morphometrics": False, "generation_samples": 0}
# every MNIST test image in one cluster: the score of a collapsed model (the most frequent
# digit, 1, is 11.35 % of the test split)
COLLAPSED = {"accuracy": 0.1135, "nmi": 0.0, "ari": 0.0}
MIN_SEEDS = 3


def unbanded_variants(methods: list[str], bands: dict) -> dict[str, str]:
    """{method: the banded method it is a variant of} for the methods without bands of their own."""
    out = {}
    for name in methods:
        parents = [other for other in bands if other != name and issubclass(METHODS.get(name), METHODS.get(other))]
        if name not in bands and len(parents) == 1:
            out[name] = parents[0]
    return out


def run_smoke(method: str, data_root: Path, results: Path, workdir: Path) -> dict:
    """`bench run --methods METHOD --preset smoke` on the CPU, seed 0; its record."""
    args = ["run", "--methods", method, "--seeds", "0,", "--preset", "smoke", "--device", "cpu",
            "--data-root", str(data_root), "--results-dir", str(results), "--workdir", str(workdir),
            "--no-progress", "--tracker", "none"]  # what the bands hold is the record; tracking has its tests
    for key, value in NO_EXTRA_MEASURES.items():
        args += ["--set", f"{key}={value}"]
    code = bench_main(args)
    (job,) = plan([method], [0], "mnist", "smoke", NO_EXTRA_MEASURES)
    record = read_record(results, job.run_id)
    assert record is not None, f"bench run exited {code} and wrote no record"
    return record


def _spread_band(values: list[float], floor: float, relative: float = 0.0) -> tuple[float, float]:
    """[min - m, max + m], m = the seeds' range, at least `floor` and `relative` x mean |value|."""
    lo, hi = min(values), max(values)
    margin = max(hi - lo, floor, relative * sum(abs(v) for v in values) / len(values))
    return lo - margin, hi + margin


def _seeds_disagree(values: list[float]) -> bool:
    """Whether the seeds' final values of a loss spread over more than half their mean magnitude
    (and over 0.1): such a loss (a GAN's feature-matching term) says nothing a seed could fail
    on, so it is listed, with the seeds' range, under "unbanded_losses" instead of banded."""
    spread = max(values) - min(values)
    return spread > 0.5 * sum(abs(v) for v in values) / len(values) and spread > 0.1


def derive_bands(records: pd.DataFrame) -> dict:
    """Per method: a band for each test score (clipped to [0, 1]) and each final loss, from
    the completed default-setting smoke runs of MIN_SEEDS or more seeds."""
    runs = records[(records["preset"] == "smoke") & (records["dataset"] == "mnist")
                   & (records["status"] == "completed") & (records["variant"] == "")]
    bands = {}
    for method, group in runs.groupby("method"):
        seeds = sorted(int(s) for s in group["seed"])
        if len(set(seeds)) < MIN_SEEDS:
            continue
        entry = {"seeds": seeds, "runs": len(group)}
        for metric in METRICS:
            lo, hi = _spread_band(group[f"metrics.test.{metric}"].tolist(), floor=0.05)
            entry[metric] = [round(max(lo, 0.0), 4), round(min(hi, 1.0), 4)]
        finals = [{k: v for k, v in losses[-1].items() if k != "step"} for losses in group["losses"] if losses]
        if finals:
            entry["final_losses"], entry["unbanded_losses"] = {}, {}
            for name in sorted(finals[0]):
                values = [f[name] for f in finals]
                if _seeds_disagree(values):  # a band around them would pass a collapsed run too
                    entry["unbanded_losses"][name] = [round(min(values), 4), round(max(values), 4)]
                else:
                    entry["final_losses"][name] = [round(x, 4) for x in _spread_band(values, floor=0.01, relative=0.25)]
        bands[method] = entry
    return bands


def above_collapse(band: dict) -> bool:
    """Whether the band's accuracy or NMI excludes a model with one cluster."""
    return band["accuracy"][0] > COLLAPSED["accuracy"] or band["nmi"][0] > COLLAPSED["nmi"]


def outside(band: list[float], value: float) -> bool:
    return not (math.isfinite(value) and band[0] <= value <= band[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--derive-bands", nargs="+", type=Path, metavar="RESULTS_DIR", required=True,
                        help=f"write {BANDS.name} from the smoke records under these results directories")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"derive only these methods' bands and keep the others' in {BANDS.name} "
                             "(for a new method)")
    args = parser.parse_args()
    import tests.plugin  # noqa: F401  (so TEST_METHODS are known and left out)

    records = pd.concat([load_records(d) for d in args.derive_bands], ignore_index=True)
    bands = derive_bands(records)
    if args.methods:
        kept = {m: b for m, b in json.loads(BANDS.read_text()).items() if m not in args.methods}
        bands = {**kept, **{m: b for m, b in bands.items() if m in args.methods}}
    builtin = [m for m in list_methods() if m not in tests.plugin.TEST_METHODS]
    missing = [m for m in builtin if m not in bands and m not in unbanded_variants(builtin, bands)]
    if missing:
        raise SystemExit(f"fewer than {MIN_SEEDS} seeds of smoke records for {', '.join(missing)}")
    BANDS.write_text(json.dumps(bands, indent=2, sort_keys=True) + "\n")
    for method, band in bands.items():
        print(f"{method}: accuracy {band['accuracy']}, nmi {band['nmi']} "
              f"({'excludes' if above_collapse(band) else 'does not exclude'} a collapsed model), seeds {band['seeds']}")
    print(f"wrote {BANDS}")


if __name__ == "__main__":
    main()
