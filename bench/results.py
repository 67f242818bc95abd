"""Run records: one JSON file per run, written atomically; all records as a DataFrame."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd

from bench.errors import BenchError

RECORD_DIR = "runs"  # under the results directory


def write_record(record: dict, results_dir: Path) -> Path:
    path = Path(results_dir) / RECORD_DIR / f"{record['run_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def read_record(results_dir: Path, run_id: str) -> dict | None:
    path = Path(results_dir) / RECORD_DIR / f"{run_id}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def load_records(results_dir: Path) -> pd.DataFrame:
    """Every record under `results_dir/runs` as one row, nested fields flattened with dots
    (e.g. `metrics.test.accuracy`). A file that is not valid JSON is an error naming it."""
    rows = []
    for path in sorted((Path(results_dir) / RECORD_DIR).glob("*.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise BenchError(f"{path} is not a valid run record ({exc})") from None
        rows[-1]["variant"] = variant_label(rows[-1].get("overrides"))
    if not rows:
        return pd.DataFrame()
    return pd.json_normalize(rows, max_level=3)


def variant_label(overrides: dict | None) -> str:
    """'' for a run at the preset's settings, else 'key=value ...' (what --set changed,
    bookkeeping settings such as checkpoint intervals aside)."""
    from bench.config import BOOKKEEPING_KEYS

    return " ".join(f"{k}={json.dumps(v)}" for k, v in sorted((overrides or {}).items())
                    if k not in BOOKKEEPING_KEYS)


def git_commit() -> str:
    """HEAD of the repository the package lives in, '+dirty' if tracked files changed;
    $BENCH_GIT_COMMIT where the code runs from a copy without .git (a lent GPU machine)."""
    if os.environ.get("BENCH_GIT_COMMIT"):
        return os.environ["BENCH_GIT_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", ".", ":!results"],
                               cwd=here.parent, capture_output=True).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
