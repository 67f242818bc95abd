"""`bench speed` measurements (results/speed/*.json) as Markdown, each with the command that
reproduces it, so a number in the report can be re-measured on another device."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pandas as pd

from bench.config import set_argument
from bench.errors import BenchError
from bench.files import write_atomic
from bench.names import check_stem
from bench.registry import METHODS
from bench.report.tables import to_markdown


def load_speed(path: Path) -> dict:
    try:
        payload = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path} is not a valid speed measurement ({exc})") from None
    if not isinstance(payload, dict) or "settings" not in payload or "summary" not in payload:
        raise BenchError(f"{path} is not a speed measurement (no 'settings' or 'summary')")
    return payload


def speed_command(settings: dict) -> str:
    """`bench speed ...` with what the file was measured at; `--methods` only where the run
    left out some gradient method (`all` also lists closed-form ones, which are skipped)."""
    parts = ["bench", "speed"]
    methods = list(settings.get("methods") or [])
    if not set(gradient_methods()) <= set(methods):
        parts += ["--methods", ",".join(methods)]
    if settings.get("dataset", "mnist") != "mnist":
        parts += ["--dataset", settings["dataset"]]
    parts += ["--preset", str(settings.get("preset", "paper"))]
    for key, value in sorted((settings.get("overrides") or {}).items()):
        parts += ["--set", set_argument(key, value)]
    for option in ("warmup", "steps", "repeats"):
        if option in settings:
            parts += [f"--{option}", str(settings[option])]
    return shlex.join(parts)


def gradient_methods() -> list[str]:
    """The built-in methods `bench speed` times (those with a gradient training step)."""
    return [name for name in METHODS.names()
            if METHODS.get(name).__module__.startswith("bench.methods.") and METHODS.get(name).trains_by_gradient]


def speed_markdown(payload: dict, title: str) -> str:
    """A heading, the device and software it ran on, the command, and the summary table."""
    settings = payload.get("settings", {})
    lines = [
        f"# {title}",
        "",
        f"Measured on **{payload.get('device', 'unknown device')}** (torch {payload.get('torch_version', '?')}, "
        f"commit {payload.get('git_commit', '?')}, {payload.get('measured_at', '?')}); "
        f"{settings.get('dataset', 'mnist')} at the {settings.get('preset', '?')} preset's batch size, "
        f"median ms/step over {settings.get('repeats', '?')} repeats of {settings.get('steps', '?')} steps "
        f"after {settings.get('warmup', '?')} warm-up steps. Reproduce with",
        "",
        "```bash",
        speed_command(settings),
        "```",
        "",
        to_markdown(pd.DataFrame(payload.get("summary") or [])),
    ]
    return "\n".join(lines) + "\n"


def write_speed_tables(results_dir: Path, tables_dir: Path | None = None) -> list[tuple[Path, Path, dict]]:
    """`tables/<stem>.md` for each `speed/<stem>.json` under `results_dir`: (table, source, payload)."""
    out = []
    for source in sorted((Path(results_dir) / "speed").glob("*.json")):
        payload = load_speed(source)
        folder = Path(tables_dir or Path(results_dir) / "tables")
        text = speed_markdown(payload, f"Training speed: {source.stem}")
        path = write_atomic(folder / f"{check_stem(source.stem)}.md", lambda tmp: tmp.write_text(text), within=folder)
        out.append((path, source, payload))
    return out
