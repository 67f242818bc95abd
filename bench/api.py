"""The Python API: `bench.run` runs a sweep as `bench run` does and returns its records;
`bench.load_records` reads a results folder into a DataFrame.

`run` turns its keywords into `bench run` options (as `--config FILE.toml` does) and goes
through the command's own parsing, planning and runner, so a sweep from a notebook is the
sweep the command line would run: same checks, run ids, records and files. A bad option
raises `BenchError` with the one line the command would print.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def run(methods: str | list[str], seeds: int | list[int] | None = None, preset: str | None = None,
        overrides: dict[str, Any] | None = None, dataset: str | None = None,
        results_dir: str | Path | None = None, device: str | None = None, **options: Any) -> list[dict]:
    """Train and evaluate `methods` over `seeds`, as `bench run`; returns the run records it
    wrote, as dicts (the JSON of RESULTS_DIR/runs/RUN_ID.json; `bench.runs.schema` types
    them). A run that fails, diverges or is interrupted is a record with that status, not
    an exception.

    Each keyword is the `bench run` option of the same name, None for its default: `seeds`
    a count (3: seeds 0..2) or a list of seeds; `overrides` the `--set` settings, where a
    list is a grid (`{"k": [0, 5]}`: two variants) and a tuple one value (`betas=(0.5, 0.9)`).
    `options` are the other options with underscores (`workdir`, `jobs`, `resume`,
    `tracker`, `keep_checkpoints`, `batch_seeds`, `no_progress`, `data_root`, ...)."""
    from bench import cli
    from bench.plugins import load_plugins
    from bench.runs.config_file import option_arguments

    given = {"methods": methods, "seeds": seeds, "preset": preset, "set": overrides, "dataset": dataset,
             "results_dir": results_dir, "device": device, **options}
    parser = cli.build_parser(cli.RaisingParser)
    argv = ["run", *option_arguments({k: v for k, v in given.items() if v is not None}, parser.run_parser,
                                     "bench.run")]
    args = parser.parse_args(argv)
    load_plugins()
    return cli.run_records(args) or []


def load_records(path: str | Path) -> pd.DataFrame:
    """Every run record under `path/runs` (a results folder) as one row of a DataFrame,
    nested fields flattened with dots (`metrics.test.accuracy`); empty when there are none."""
    from bench.runs.records import load_records as load

    return load(Path(path))
