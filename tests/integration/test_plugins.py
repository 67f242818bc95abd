"""Plugins: an installed distribution's `bench.plugins` entry point is loaded at start-up,
and a `$BENCH_PLUGINS` module is found in the current folder by the `bench` command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.plugins import load_entry_points
from bench.registry import DATASETS

BENCH = Path(sys.executable).parent / "bench"
PLUGIN = '''
from bench.registry import register_dataset


@register_dataset("{name}")
def load(root):
    raise NotImplementedError
'''


def installed(site: Path, dist: str, entry_point: str) -> None:
    """What pip leaves for a distribution declaring `entry_point` in the group bench.plugins."""
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[bench.plugins]\n{entry_point}\n")


def test_an_entry_point_in_the_bench_plugins_group_registers(tmp_path, monkeypatch):
    installed(tmp_path, "lab_plugin", "lab = lab_plugin")
    (tmp_path / "lab_plugin.py").write_text(PLUGIN.format(name="lab_entry_point_data"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "lab" in load_entry_points()
        assert "lab_entry_point_data" in DATASETS.names()
    finally:
        DATASETS._entries.pop("lab_entry_point_data", None)
        sys.modules.pop("lab_plugin", None)


def test_a_broken_entry_point_is_one_line_naming_it(tmp_path, monkeypatch):
    installed(tmp_path, "broken", "broken = no_such_module")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BenchError, match=r"cannot load plugin 'broken' \(no_such_module\) from entry point group "
                                         r"bench.plugins: ModuleNotFoundError") as err:
        load_entry_points()
    assert "\n" not in str(err.value)


def test_bench_plugins_finds_a_module_in_the_current_folder(tmp_path):
    """Through the installed console script, which (unlike `python -m`) does not put the
    current folder on sys.path; the docs' example plugin test lists one that loads."""
    (tmp_path / "my_plugin.py").write_text(PLUGIN.format(name="lab_cwd_data"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BENCH_PLUGINS")}
    out = subprocess.run([str(BENCH), "list"], capture_output=True, text=True, cwd=tmp_path,
                         env={**env, "BENCH_PLUGINS": "my_plugin,not_here"})
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert "cannot import plugin 'not_here'" in line and str(tmp_path) in line  # my_plugin was found
