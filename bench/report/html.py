"""results/index.html: the whole report as one page to look at — every table (each
paper's claim in the column beside what we measured, its verdict after it, sources as
numbered notes; long variants by tag, their settings in the cell's tooltip and listed
under the table; smoke and quick rows set apart), the curves, the speed tables and every
figure inline — rendered by a Jinja2 template (`templates/index.html`). The page links its
files by relative paths, loads nothing from the network and is deterministic; its header
row and first column stay in view while a table scrolls, and no page is wider than a
1,280-pixel window (tests/integration/test_browser.py checks that in Chromium).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.files import write_atomic
from bench.report.tables import (
    BESIDE,
    NA,
    SET_APART,
    SOURCE,
    cite_into,
    cited,
    numeric_column,
    reading_order,
    set_apart,
    settings_notes,
    text_view,
)
from bench.report.verdicts import RULE

ARXIV = re.compile(r"arXiv:(\d{4}\.\d{4,5})")
WRAP = 40  # cells with longer text may wrap (claims, verdicts, notes): they set no column's width alone


def _href(results_dir: Path, path: Path) -> str:
    return quote(Path(path).relative_to(results_dir).as_posix(), safe="/=+,")


def html_table(table: pd.DataFrame, source: str | None = None, into: str | None = None, anchor: str = "t") -> dict:
    """The template's view of one table: columns (name, css class), row groups (the smoke
    and quick rows last, with their note), cited sources and the settings behind each tag."""
    numeric = {c: numeric_column(table[c].tolist()) for c in table.columns}
    settings = settings_notes(table)
    full = dict(settings)
    apart = set_apart(table).to_numpy()
    sources: list[str] = []
    if source and source in table.columns:
        table, sources = cited(table, source, into)
    view = text_view(table, short=True)
    columns = reading_order(list(view.columns))

    def css(column: str) -> str:
        kind = ("claim" if column in BESIDE else "measured" if column in BESIDE.values() else
                "verdict" if column.startswith("verdict") else "")
        number = "num" if numeric.get(column, column in ("best", "median")) else ""
        return " ".join(filter(None, [kind, number]))

    classes = [css(c) for c in columns]

    def cell(text: str, kind: str) -> dict:
        tag = re.search(r"#[0-9a-f]{6}", text)
        verdict = re.fullmatch(r"(.+?) \((.+)\)", text) if "verdict" in kind else None
        return {"text": verdict.group(1) if verdict else text, "reason": verdict.group(2) if verdict else "",
                "css": " ".join(filter(None, [kind, "na" if text in (NA, "not run") else "",
                                              "wrap" if len(text) > WRAP and not verdict else "",
                                              _verdict_class(kind, text)])),
                "title": full.get(tag.group(0), "") if tag else "",
                "href": f"#{anchor}-{tag.group(0)[1:]}" if tag and tag.group(0) in full else ""}

    rows = [[cell(text, kind) for text, kind in zip(row, classes)] for row in view[columns].values.tolist()]
    groups = [{"css": "", "note": "", "rows": [r for r, a in zip(rows, apart) if not a]},
              {"css": "set-apart", "note": SET_APART, "rows": [r for r, a in zip(rows, apart) if a]}]
    notes = [{"text": s, "link": f"https://arxiv.org/abs/{m.group(1)}" if (m := ARXIV.search(s)) else ""}
             for s in sources]
    return {"columns": list(zip(columns, classes)), "groups": [g for g in groups if g["rows"]], "sources": notes,
            "settings": [{"id": f"{anchor}-{tag[1:]}", "tag": tag, "text": text} for tag, text in settings]}


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
        body = html_table(t.table, SOURCE, cite_into(t.table), _anchor(t.stem)) if not t.table.empty else None
        tables.append({"title": t.title, "note": t.note, "id": _anchor(t.stem), "body": body, "command": t.command,
                       "files": [(p.suffix[1:], _href(root, p)) for p in t.paths]})
    speed = []
    for path, source, device, command, payload in contents.speed:
        summary = pd.DataFrame(payload.get("summary") or [])
        speed.append({"title": path.stem, "id": _anchor(path.stem), "device": device, "command": command,
                      "detail": f"torch {payload.get('torch_version', '?')}, commit {payload.get('git_commit', '?')}, "
                                f"{payload.get('measured_at', '?')}",
                      "body": html_table(summary, anchor=_anchor(path.stem)) if not summary.empty else None,
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
