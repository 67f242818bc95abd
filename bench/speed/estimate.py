"""How long a planned job's training steps should take, from a `bench speed` measurement of
the same networks and batch size on the same kind of device (results/speed/*.json).

A measurement matches a job when its method, device kind (from the file name,
`speed-<kind>-...`), batch size and resolved method config (the measured preset and `--set`
values, resolved as a run would resolve them) equal the job's: settings that do not change
a step's cost (steps, train_size) do not matter, and a `k=5` unroll is not timed by `k=10`.
Evaluation, k-means and the measures after training are not included.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from bench import config as config_lib
from bench.errors import BenchError
from bench.registry import METHODS

FILE = re.compile(r"speed-([a-z]+)-")


@dataclasses.dataclass
class Timing:
    ms_per_step: float
    source: Path


def load_timings(folders: list[Path], device_kind: str) -> dict[tuple, Timing]:
    """(method, batch size, method config as JSON) -> our step's ms/step, from every speed file
    of `device_kind` in `folders` (a later folder's file wins)."""
    out: dict[tuple, Timing] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("speed-*.json")):
            match = FILE.match(path.name)
            if not match or match.group(1) != device_kind:
                continue
            try:
                payload = json.loads(path.read_text())
                settings = payload["settings"]
                rows = payload["rows"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not a speed measurement: `bench report` names such files
            for row in rows:
                if row.get("loop") != "ours" or row.get("seeds") or row.get("method") not in METHODS.names():
                    continue
                try:
                    _, method_config = config_lib.resolve(METHODS.get(row["method"]), settings.get("preset", "paper"),
                                                          row.get("overrides") or settings.get("overrides") or {})
                except BenchError:  # measured with settings that no longer exist
                    continue
                key = (row["method"], int(row["batch_size"]), _config_key(method_config))
                out[key] = Timing(float(row["ms_per_step"]), path)
    return out


def _config_key(method_config) -> str:
    return json.dumps(dataclasses.asdict(method_config), sort_keys=True, default=str)


def job_timing(job, timings: dict[tuple, Timing]) -> Timing | None:
    return timings.get((job.method, job.train.batch_size, _config_key(job.method_config)))
