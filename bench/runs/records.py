"""Run records: one JSON file per run, written atomically, checked against the schema
(`bench.runs.schema`) when written and when read; all records as a DataFrame.

A record is read back only after it is checked: its fields have the types the tables
rely on, and its `run_id` is its file name, which is a plain name (never a path), since
run ids name checkpoint folders and figure files.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import sys
from pathlib import Path

import pandas as pd

from bench.config import BOOKKEEPING_KEYS, PRESETS, resolve, set_argument
from bench.errors import BenchError
from bench.files import write_atomic
from bench.names import check_run_id
from bench.registry import METHODS
from bench.runs import schema

RECORD_DIR = "runs"  # under the results directory
STATUSES = schema.STATUSES
# <method>-<dataset>-<preset>-s<seed>[-<overrides digest>][-<device kind>]: a file named like
# this is a record (runs on a CPU, and every record written before device kinds were named,
# carry no device suffix)
DEVICE_KINDS = ("cpu", "cuda", "mps")
RECORD_NAME = re.compile(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+-[A-Za-z0-9_]+-s\d+(-[0-9a-f]{8})?(-(cuda|mps))?")


def validate_record(record, path: Path) -> dict:
    """`record` if it is a well-formed run record read from `path` (`bench.runs.schema`),
    else one line naming the file and the field."""
    try:
        schema.check(record)
    except schema.Invalid as exc:
        raise BenchError(f"{path} is not a valid run record: {exc}") from None
    if record["run_id"] != path.stem:
        raise BenchError(f"{path} is not a valid run record: its run_id {record['run_id']!r} is not its file name")
    return record


def record_path(results_dir: Path, run_id: str) -> Path:
    return Path(results_dir) / RECORD_DIR / f"{check_run_id(run_id)}.json"


def write_record(record: dict, results_dir: Path) -> Path:
    """Write a record (checked against the schema: a record that does not fit is a bug of
    the code that built it) atomically into `results_dir/runs`."""
    path = record_path(results_dir, record["run_id"])
    text = schema.to_json(record)
    return write_atomic(path, lambda tmp: tmp.write_text(text), within=Path(results_dir) / RECORD_DIR)


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BenchError(f"{path} is not a valid run record (not JSON: {exc})") from None
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_record(results_dir: Path, run_id: str) -> dict | None:
    path = record_path(results_dir, run_id)
    if not path.exists():
        return None
    return validate_record(_read(path), path)


def load_records(results_dir: Path) -> pd.DataFrame:
    """Every record under `results_dir/runs` as one row, nested fields flattened with dots
    (e.g. `metrics.test.accuracy`). A malformed record is an error naming its file; a JSON
    file that is not a record (neither named like one nor holding a run_id) is skipped
    with a warning."""
    rows = []
    for path in sorted((Path(results_dir) / RECORD_DIR).glob("*.json")):
        if RECORD_NAME.fullmatch(path.stem):
            content = _read(path)
        else:
            try:
                content = json.loads(path.read_text())
            except (OSError, ValueError, RecursionError):  # not JSON, not text, not a file
                content = None
            if not (isinstance(content, dict) and "run_id" in content):
                print(f"bench: warning: skipping {path}: not a run record", file=sys.stderr)
                continue
        rows.append(validate_record(content, path))
        rows[-1]["variant"] = variant_label(changed_settings(rows[-1]))
        rows[-1]["device_kind"] = device_kind(rows[-1])
    if not rows:
        return pd.DataFrame()
    return pd.json_normalize(rows, max_level=3)


def device_kind(record: dict) -> str:
    """cpu, cuda or mps: what a run trained on, so that tables never average a GPU's runs
    with a CPU's (bf16 autocast, other kernels). Older records name a GPU by its model."""
    device = str(record.get("device") or "")
    for kind in DEVICE_KINDS:
        if device == kind or device.startswith(kind + ":"):
            return kind
    return "cuda" if device or record.get("gpu") else "unknown"


def changed_settings(record: dict) -> dict:
    """The settings a run used that differ from what `bench run --preset P` does today for
    its method (bookkeeping settings such as log intervals aside): its recorded config against
    the current defaults. So a run made before a default changed is labelled with what it
    ran, and is never averaged with runs of the new default. For a record without a config,
    or of a method not registered here: the `--set` overrides it was run with."""
    config, method, preset = record.get("config"), record.get("method"), record.get("preset")
    if not isinstance(config, dict) or method not in METHODS.names() or preset not in PRESETS:
        return {k: v for k, v in (record.get("overrides") or {}).items() if k not in BOOKKEEPING_KEYS}
    train_now, method_now = resolve(METHODS.get(method), preset, {}, record.get("dataset"))
    now = {**dataclasses.asdict(train_now), **dataclasses.asdict(method_now)}
    used = {**(config.get("train") or {}), **(config.get("method") or {})}
    inert = inert_settings(record)
    return {k: v for k, v in sorted(used.items())
            if k in now and k not in BOOKKEEPING_KEYS and k not in inert and not _same(v, now[k])}


def inert_settings(record: dict) -> set[str]:
    """Settings whose value changed nothing a run computed: `amp` off CUDA (bf16 autocast is
    CUDA's only), `validation_size` for a method that labels no clusters by held-out images
    (nothing is held out for it), and what its method says (`Method.inert_settings`)."""
    inert = set() if device_kind(record) == "cuda" else {"amp"}
    method = record.get("method")
    if method in METHODS.names():
        cls = METHODS.get(method)
        if not cls.labels_by_held_out:
            inert.add("validation_size")
        inert |= cls.inert_settings(((record.get("config") or {}).get("method")) or {})
    return inert


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def variant_label(settings: dict | None) -> str:
    """'' for a run at the preset's settings, else 'key=value ...' (bookkeeping aside)."""
    return " ".join(f"{k}={json.dumps(v)}" for k, v in sorted((settings or {}).items())
                    if k not in BOOKKEEPING_KEYS)


def settings_of(variant: str) -> dict:
    """`variant_label` read back: 'k=0 prior="fixed"' -> {'k': 0, 'prior': 'fixed'}."""
    decoder, out, i = json.JSONDecoder(), {}, 0
    while i < len(variant or ""):
        eq = variant.index("=", i)
        out[variant[i:eq]], end = decoder.raw_decode(variant, eq + 1)
        i = end + 1
    return out


def run_command(method: str, dataset: str, seeds: list[int], preset: str, overrides: dict,
                device: str = "cpu") -> str:
    """The `bench run` line that makes these records."""
    parts = ["bench", "run", "--methods", method, "--dataset", dataset, "--seeds", _seeds(seeds), "--preset", preset]
    if device not in ("cpu", "unknown"):
        parts += ["--device", device]
    for key, value in sorted(overrides.items()):
        parts += ["--set", set_argument(key, value)]
    return shlex.join(parts)


def _seeds(seeds: list[int]) -> str:
    seeds = sorted(set(seeds))
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds)) + ("," if len(seeds) == 1 else "")
