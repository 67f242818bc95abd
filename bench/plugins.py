"""A lab's own methods and datasets, registered without editing this package.

Two routes, both read when `bench` starts:
- an installed distribution that declares an entry point in the group `bench.plugins`
  (`[project.entry-points."bench.plugins"] my_lab = "my_lab.bench_plugin"`): the module is
  imported (it registers on import; an entry point naming a function is also called);
- `$BENCH_PLUGINS`, a comma list of module names, imported with the current folder
  importable, so a `my_methods.py` beside the user works without PYTHONPATH (the `bench`
  console script, unlike `python -m`, does not put the current folder on sys.path).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from importlib.metadata import entry_points

from bench.errors import BenchError

GROUP = "bench.plugins"


def load_entry_points() -> list[str]:
    """Load every `bench.plugins` entry point; returns their names."""
    loaded = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        try:
            target = point.load()
        except Exception as exc:  # a broken plugin is one line naming it, not a traceback
            raise BenchError(f"cannot load plugin {point.name!r} ({point.value}) from entry point group "
                             f"{GROUP}: {type(exc).__name__}: {exc}") from None
        if inspect.isfunction(target):
            target()
        loaded.append(point.name)
    return loaded


def load_env_plugins(spec: str | None = None) -> list[str]:
    """Import the modules named in `spec` (default: $BENCH_PLUGINS), the current folder first
    on the search path."""
    names = [s.strip() for s in (os.environ.get("BENCH_PLUGINS", "") if spec is None else spec).split(",")]
    names = [n for n in names if n]
    if names and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise BenchError(f"cannot import plugin {name!r} from BENCH_PLUGINS: {exc} "
                             f"(looked in the current folder {os.getcwd()} and the installed packages)") from None
    return names


def load_plugins(spec: str | None = None) -> None:
    """Both routes; `spec` replaces $BENCH_PLUGINS (a Ray worker gets the driver's)."""
    load_entry_points()
    load_env_plugins(spec)
