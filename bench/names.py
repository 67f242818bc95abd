"""The strict patterns a string must match before it becomes part of a file or folder name.

Method, dataset and preset names, run ids, figure and table stems all end up in paths
(`runs/<run id>.json`, `tables/clustering_<dataset>.md`, `figures/accuracy-<dataset>-<preset>.png`).
A run record or a results folder may come from someone else, so every such string is checked
here, once, before it is used: letters, digits and `_` for names; a run id adds `.=+-` but
never starts with a dot and never holds a `/`. Neither can name a parent folder. A write
is also checked to land inside its folder (`bench.files.inside`), should a check be missed.
This module imports nothing of the project but its error type (the registry imports it).
"""

from __future__ import annotations

import re

from bench.errors import BenchError

MAX_LENGTH = 64  # a name; a run id joins several (and a file name has 255 bytes at most)
NAME = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_LENGTH}}}")
RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=+-]{0,199}")
STEM = RUN_ID  # a figure or table file name without its suffix: the same alphabet as a run id


def check_name(value, what: str) -> str:
    """`value` if it is a plain name (letters, digits and _, at most 64), else one line."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise BenchError(f"{value!r} is not a valid {what} name (letters, digits and _ only, at most {MAX_LENGTH})")
    return value


def check_run_id(run_id) -> str:
    """A run id is a plain file name: letters, digits and _ . = + -, not starting with a dot."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise BenchError(f"{run_id!r} is not a valid run id (letters, digits and _.=+- only)")
    return run_id


def check_stem(stem) -> str:
    """A figure's or table's file name without its suffix, built from checked names."""
    if not isinstance(stem, str) or not STEM.fullmatch(stem):
        raise BenchError(f"{stem!r} is not a valid file name (letters, digits and _.=+- only)")
    return stem
