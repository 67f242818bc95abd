"""The shape of the package: one obvious place for each concept, imports flowing one way
(no cycle, lazy imports included), one factory, and adapters under an import name no lab's
own `methods` package can shadow."""

import ast
import graphlib
import os
import re
import subprocess
import sys

import tomllib

import bench
from tests.helpers import ROOT

BENCH, METHODS = ROOT / "bench", ROOT / "methods"


def project_modules() -> dict[str, ast.Module]:
    """Module name -> parsed source, for bench/ and methods/ (imported as bench.methods)."""
    out = {}
    for top, package in ((BENCH, "bench"), (METHODS, "bench.methods")):
        for path in top.rglob("*.py"):
            parts = [package, *path.relative_to(top).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = ast.parse(path.read_text())
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body (functions included).
    `from a import b` points at module a.b when that is a module, else at a."""
    modules = project_modules()
    graph = {name: set() for name in modules}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle_among_project_modules():
    graph = import_graph()
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_no_import_cycle_among_folders():
    """Folders (bench.runs, bench.report, ...) import one way too: a cycle between two folders
    is a concept without one obvious place (git_commit lived in runs and served speed; the
    image grids lived in report and served tracking)."""
    folders: dict[str, set[str]] = {}
    for name, targets in import_graph().items():
        here = ".".join(name.split(".")[:2])
        folders.setdefault(here, set()).update(t for t in (".".join(t.split(".")[:2]) for t in targets) if t != here)
    try:
        tuple(graphlib.TopologicalSorter(folders).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle between folders: {' -> '.join(exc.args[1])}") from None


def test_the_registry_imports_nothing_of_the_project_but_its_error_type_and_the_name_pattern():
    graph = import_graph()
    assert graph["bench.registry"] <= {"bench.errors", "bench.names"}
    assert graph["bench.names"] <= {"bench.errors"}


def test_at_most_a_dozen_modules_directly_in_bench():
    assert len(list(BENCH.glob("*.py"))) <= 12


def test_every_package_is_declared_for_installation():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    present = {name for name in project_modules()
               if (BENCH / "/".join(name.split(".")[1:]) / "__init__.py").exists() or name in ("bench", "bench.methods")}
    assert sorted(declared) == sorted(present)


def test_one_factory_builds_any_method():
    method = bench.create_method("infogan", preset="paper", n_continuous=3)
    assert method.config.n_continuous == 3 and method.n_clusters == 10
    assert "infogan" in bench.list_methods("info*")


def test_a_labs_own_methods_package_does_not_hide_the_adapters(tmp_path):
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "__init__.py").write_text("LAB = True\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "bench.cli", "list"], capture_output=True, text=True, cwd=tmp_path,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert "infogan" in out.stdout and "kmeans_pixels" in out.stdout


def test_module_docstrings_say_why_in_a_few_lines():
    """A module docstring is a summary under 15 lines; the paper readings and the history go to
    the docs (docs/ledger.md per method, docs/notes.md per module)."""
    long = {}
    for top in (BENCH, METHODS):
        for path in top.rglob("*.py"):
            doc = ast.get_docstring(ast.parse(path.read_text()), clean=False)
            if doc is not None and len(doc.splitlines()) >= 15:
                long[str(path.relative_to(ROOT))] = len(doc.splitlines())
    assert not long, f"module docstrings of 15 lines or more (move the long form to docs/): {long}"


def test_the_readme_is_short_and_its_links_into_the_docs_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    targets = re.findall(r"\]\(((?:docs/)[^)#\s]*)", readme)
    assert targets, "the README links into the docs"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
