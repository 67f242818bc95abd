"""results/index.html: the whole report as one page to look at — every table (each
paper's claim in the column beside what we measured, sources as numbered notes), the
test-accuracy curves per seed, the speed tables, and every figure inline — rendered by a
Jinja2 template (`templates/index.html`) from what `bench report` already built.

The page links its files by relative paths and loads nothing from the network, so it
opens from a checkout (file://) or any static host; like everything `bench report`
writes it is deterministic (no timestamps).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.files import write_atomic
from bench.report.tables import NA, cited, numeric_column, text_view
from bench.report.verdicts import RULE

# a claimed column goes right after the measured one it is compared with
BESIDE = {"claimed error %": "test error %", "claimed continuous": "continuous, last batch",
          "claimed discrete": "discrete, last batch"}
# a verdict follows the claim it judges: "verdict X" after "claimed X", "verdict" after the first of these
VERDICT_AFTER = ("claimed error %", "claim")
ARXIV = re.compile(r"arXiv:(\d{4}\.\d{4,5})")


def _href(results_dir: Path, path: Path) -> str:
    return quote(Path(path).relative_to(results_dir).as_posix(), safe="/=+,")


def _ordered(columns: list[str]) -> list[str]:
    out = [c for c in columns if c not in BESIDE]
    for claimed, measured in BESIDE.items():
        if claimed in columns:
            at = out.index(measured) + 1 if measured in out else len(out)
            out.insert(at, claimed)
    for verdict in [c for c in out if c.startswith("verdict")]:
        anchors = ("claimed" + verdict[len("verdict"):],) if verdict != "verdict" else VERDICT_AFTER
        anchor = next((c for c in anchors if c in out), None)
        if anchor:
            out.remove(verdict)
            out.insert(out.index(anchor) + 1, verdict)
    return out


def html_table(table: pd.DataFrame, source: str | None = None, into: str | None = None) -> dict:
    """Columns (name, css class), rows of text and cited sources of one table, for the template."""
    numeric = {c: numeric_column(table[c].tolist()) for c in table.columns}
    sources: list[str] = []
    if source and source in table.columns:
        table, sources = cited(table, source, into)
    view = text_view(table)
    columns = _ordered(list(view.columns))

    def css(column: str) -> str:
        kind = ("claim" if column in BESIDE else "measured" if column in BESIDE.values() else
                "verdict" if column.startswith("verdict") else "")
        number = "num" if numeric.get(column, column in ("best", "median")) else ""
        return " ".join(filter(None, [kind, number]))

    classes = [css(c) for c in columns]
    rows = [[(cell, " ".join(filter(None, [k, "na" if cell in (NA, "not run") else "", _verdict_class(k, cell)])))
             for cell, k in zip(row, classes)] for row in view[columns].values.tolist()]
    notes = [{"text": s, "link": f"https://arxiv.org/abs/{m.group(1)}" if (m := ARXIV.search(s)) else ""}
             for s in sources]
    return {"columns": list(zip(columns, classes)), "rows": rows, "sources": notes}


def _verdict_class(css: str, cell: str) -> str:
    """'reproduced' / 'not-reproduced' / 'inconclusive' for a verdict cell (coloured by the page)."""
    if "verdict" not in css:
        return ""
    outcomes = ("not reproduced", "reproduced", "inconclusive")
    return next((s.replace(" ", "-") for s in outcomes if cell.startswith(s)), "")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def page(contents) -> dict:
    """The template's context, from the builder's `Contents`."""
    root = contents.results_dir
    tables = []
    for t in contents.tables:
        into = next((c for c in ("claimed error %", "claim") if c in t.table.columns), None)
        body = html_table(t.table, "claim source", into) if not t.table.empty else None
        tables.append({"title": t.title, "id": _anchor(t.stem), "body": body, "command": t.command,
                       "files": [(p.suffix[1:], _href(root, p)) for p in t.paths]})
    speed = []
    for path, source, device, command, payload in contents.speed:
        summary = pd.DataFrame(payload.get("summary") or [])
        speed.append({"title": path.stem, "id": _anchor(path.stem), "device": device, "command": command,
                      "detail": f"torch {payload.get('torch_version', '?')}, commit {payload.get('git_commit', '?')}, "
                                f"{payload.get('measured_at', '?')}",
                      "body": html_table(summary) if not summary.empty else None,
                      "files": [("md", _href(root, path)), ("json", _href(root, source))]})
    runs: dict[str, list] = {}
    for figure, run_id, command in contents.plotted:
        runs.setdefault(run_id, []).append({"src": _href(root, figure), "name": figure.name, "command": command})
    return {
        "tables": tables,
        "speed": speed,
        "curves": [{"src": _href(root, p), "name": p.name, "dataset": d, "preset": s} for p, d, s in contents.curves],
        "modes": [{"src": _href(root, p), "name": p.name, "title": title} for p, _, title in contents.modes],
        "rule": RULE,
        "qloss": [{"src": _href(root, p), "name": p.name, "dataset": d, "preset": s} for p, d, s in contents.qloss],
        "tsne": [{"src": _href(root, p), "name": p.name, "run_id": r["run_id"]} for p, r in contents.tsne],
        "plotted": sorted(runs.items()),
        "records": contents.run_commands(),
        "has_records": (root / "runs").exists(),
    }


def write_html(contents) -> Path:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("bench.report", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    text = env.get_template("index.html").render(**page(contents))
    return write_atomic(Path(contents.results_dir) / "index.html", lambda tmp: tmp.write_text(text))
