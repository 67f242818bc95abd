"""Property tests (Hypothesis): whatever a `--set` value, a `--config` TOML file, an `.npz`
dataset or a run record in a results folder holds, `bench` ends in success or in one line
and exit 2 (argparse's own usage errors included), never an internal error, and writes
nothing outside the folders it was given.

Each property drives the command line in this process. `bench run` goes through everything it
does before training (settings, data loaded and checked, methods built on the meta device,
folders checked) with the training itself left out (the executor gets no group): training
valid settings is what the other tests do, and would take minutes here. The examples are
generated deterministically (the profile in tests/conftest.py: 500 per property in CI).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import tempfile
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bench import cli
from bench.runs import sweep
from bench.config import TRAIN_KEYS
from bench.registry import METHODS
from tests.helpers import ROOT

SETTING_KEYS = sorted(TRAIN_KEYS | {f for m in ("infogan", "aae") for f in METHODS.get(m).Config.__dataclass_fields__})
HOSTILE_TEXT = ["../../escaped", "/etc/passwd", "..", ".", "", " ", "a/b", "nan", "inf", "-inf", "1e999", "-1e999",
                "none", "true", "NaN", "0x10", "1_000", "(0.5,0.9)", "(1,", "[1,2]", "{}", "{1: 2}", "{[]: 1}", "'x'",
                "\x00", "é", "0,5,7", "1,,2", "()", "(,)", "2**64", "9" * 30, "-" * 50 + "1", "(" * 300, "adam", "sgd"]
_counter = itertools.count()


@contextlib.contextmanager
def sandbox():
    """A fresh folder for one example."""
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as top:
        yield Path(top)


def files_in(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def run_bench(argv: list[str], top: Path, given: tuple[Path, ...]) -> tuple[int, list[str]]:
    """`bench ARGV` in this process, with no training: (exit code, stderr lines). Checks that
    it wrote nothing in `top` outside the folders it was `given`."""
    before = files_in(top)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
            mock.patch.object(sweep, "seed_groups", lambda *a, **k: []), \
            mock.patch.object(cli, "load_plugins", lambda *a, **k: None), \
            mock.patch("torchvision.datasets.mnist.download_and_extract_archive", side_effect=RuntimeError("no network")):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    written = {p for p, stamp in files_in(top).items() if before.get(p) != stamp}
    outside = [p for p in written if not any(folder == p or folder in p.parents for folder in given)]
    assert not outside, f"written outside {given}: {outside}"
    return code, err.getvalue().strip().splitlines()


def ends_well(code, lines: list[str]) -> None:
    assert code in (0, 2), (code, lines)
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("bench: error: "), lines
        assert "internal error" not in lines[0], lines[0]


# -- `--set` values ----------------------------------------------------------------------------------------

numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True))
value_texts = st.one_of(
    numbers.map(repr),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
    st.lists(numbers.map(repr), min_size=1, max_size=3).map(",".join),
    st.lists(numbers.map(repr), min_size=1, max_size=3).map(lambda parts: "(" + ",".join(parts) + ")"),
)


@given(pairs=st.lists(st.tuples(st.one_of(st.sampled_from(SETTING_KEYS), st.text(max_size=8)), value_texts),
                      min_size=1, max_size=3))
def test_any_set_value_ends_in_success_or_one_line(pairs):
    with sandbox() as top:
        results, work = top / "results", top / "work"
        argv = ["run", "--methods", "toy_infogan,kmeans_pixels", "--dataset", "toy", "--results-dir", str(results),
                "--workdir", str(work), "--tracker", "none", "--no-progress"]
        argv += [arg for key, value in pairs for arg in ("--set", f"{key}={value}")]
        ends_well(*run_bench(argv, top, (results, work)))


# -- `--config` TOML files ---------------------------------------------------------------------------------

def toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) and key.isascii() else json.dumps(key)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(options: dict, settings: dict) -> str:
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in options.items()]
    if settings:
        lines += ["[set]"] + [f"{toml_key(k)} = {toml_value(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


RUN_OPTIONS = ["methods", "dataset", "seeds", "preset", "device", "resume", "dry_run", "dry-run", "jobs",
               "batch_seeds", "tracker", "metrics_backend", "no_progress", "cpus_per_job", "results_dir", "workdir",
               "set", "overrides", "config", "reference", "gpus_per_job"]
scalars = st.one_of(st.booleans(), st.integers(min_value=-(2**64), max_value=2**64), st.floats(),
                    st.text(max_size=10), st.sampled_from(HOSTILE_TEXT + ["toy_infogan", "kmeans_pixels", "toy", "smoke",
                                                                          "cpu", "none", "info*", "all", "mnist"]))
toml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=2), max_leaves=4)


@given(options=st.dictionaries(st.one_of(st.sampled_from(RUN_OPTIONS), st.text(max_size=6)), toml_values, max_size=5),
       settings=st.dictionaries(st.one_of(st.sampled_from(SETTING_KEYS), st.text(max_size=6)), toml_values, max_size=3),
       raw=st.integers(0, 9).flatmap(lambda i: st.binary(max_size=40) if i == 0 else st.text(max_size=40) if i == 1
                                     else st.none()))
def test_any_config_file_ends_in_success_or_one_line(options, settings, raw):
    dataset = options.get("dataset")
    if isinstance(dataset, str) and (dataset in ("dsprites", "fashion_mnist") or dataset.startswith("npz:")):
        options["dataset"] = "toy"  # no rendering or reading of other files here (npz files: the property below)
    if options.get("methods") == "all":
        options["methods"] = "toy_infogan"  # every method once: the test below
    with sandbox() as top:
        results, work, config = top / "results", top / "work", top / "sweep.toml"
        if raw is None:
            config.write_text(toml_document(options, settings))
        else:
            config.write_bytes(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
        argv = ["run", "--config", str(config), "--results-dir", str(results), "--workdir", str(work),
                "--data-root", str(top / "data"), "--tracker", "none", "--device", "cpu"]
        if "methods" not in options:
            argv += ["--methods", "toy_infogan"]
        if "dataset" not in options:
            argv += ["--dataset", "toy"]
        ends_well(*run_bench(argv, top, (results, work)))


def test_every_method_takes_the_toy_data_or_says_why_in_one_line(tmp_path):
    ends_well(*run_bench(["run", "--methods", "all", "--dataset", "toy", "--results-dir", str(tmp_path / "r"),
                          "--workdir", str(tmp_path / "w"), "--tracker", "none"], tmp_path, (tmp_path / "r", tmp_path / "w")))


# -- `.npz` datasets ---------------------------------------------------------------------------------------

DTYPES = [np.uint8, np.int64, np.int8, np.float32, np.bool_, np.uint16]


@st.composite
def arrays(draw, images: bool):
    dtype = draw(st.sampled_from(DTYPES)) if draw(st.integers(0, 4)) == 0 else (np.uint8 if images else np.int64)
    if images:
        n, h, w = draw(st.integers(0, 9)), draw(st.integers(0, 40)), draw(st.integers(0, 40))
        shape = draw(st.sampled_from([(n, h, w), (n, h, w, draw(st.sampled_from([1, 3, 2]))), (n,), (n, h, w, 1, 1), ()]))
    else:
        shape = draw(st.sampled_from([(draw(st.integers(0, 9)),), (draw(st.integers(0, 9)), draw(st.integers(0, 3))), ()]))
    low, high = (0, 255) if dtype in (np.uint8, np.bool_) else (-3, 2**40 if draw(st.booleans()) else 12)
    values = draw(st.integers(low, high)) if not shape else np.random.default_rng(draw(st.integers(0, 99))).integers(
        low, min(high, np.iinfo(np.int64).max), size=shape, endpoint=True)
    return np.asarray(values).astype(dtype)


npz_contents = st.fixed_dictionaries({}, optional={
    "x": arrays(images=True), "y": arrays(images=False), "x_test": arrays(images=True), "y_test": arrays(images=False),
    "factors": arrays(images=False), "factor_names": st.lists(st.text(max_size=3), max_size=3).map(np.array),
    "junk": st.just(np.zeros(2)),
})


@given(contents=npz_contents, damage=st.one_of(st.none(), st.integers(0, 400), st.binary(max_size=30)))
def test_any_npz_dataset_ends_in_success_or_one_line(contents, damage):
    with sandbox() as top:
        results, work = top / "results", top / "work"
        path = top / f"fuzz_{next(_counter)}.npz"  # its own dataset name in this process
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:  # np.savez's layout, written by hand so any array fits
            for key, value in contents.items():
                member = io.BytesIO()
                np.save(member, value, allow_pickle=False)
                archive.writestr(f"{key}.npy", member.getvalue())
        data = buffer.getvalue()
        if isinstance(damage, int):
            data = data[:damage]  # truncated
        elif isinstance(damage, bytes):
            data = damage  # not an archive at all
        path.write_bytes(data)
        argv = ["run", "--methods", "kmeans_pixels,toy_infogan", "--dataset", f"npz:{path}", "--set", "train_size=none",
                "--set", "test_size=none", "--set", "batch_size=2", "--results-dir", str(results), "--workdir",
                str(work), "--tracker", "none", "--no-progress"]
        ends_well(*run_bench(argv, top, (results, work)))


# -- run records in a results folder ------------------------------------------------------------------------

# a committed record, with a measure added and its history cut short (no periodic evaluation:
# the accuracy figure would take most of the time; the figures' own tests draw them)
TEMPLATE = json.loads((ROOT / "results" / "runs" / "aae-mnist-smoke-s0.json").read_text())
TEMPLATE["losses"] = TEMPLATE["losses"][:2]
TEMPLATE["reconstruction"] = {"mse": 0.1, "mean_image_mse": 0.2, "blank_mse": 0.9}


def paths(node, prefix=()):
    """Every path into a JSON value, the value itself first."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            yield from paths(value, (*prefix, i))


PATHS = list(paths(TEMPLATE))[1:]
DEPTHS = sorted({len(p) for p in PATHS})
# a depth first, then a path of that depth: the record's structure (config.train, metrics.test)
# is edited as often as the many leaves of its loss history
path_choices = st.sampled_from(DEPTHS).flatmap(lambda d: st.sampled_from([p for p in PATHS if len(p) == d]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
              st.text(max_size=8), st.sampled_from(HOSTILE_TEXT + ["completed", "toy", "mnist", "smoke"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=5)


def changed(record, path, value, delete: bool):
    node = record
    for part in path[:-1]:
        node = node[part]
    if delete and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return record


@given(edits=st.lists(st.tuples(path_choices, json_values, st.booleans()), min_size=1, max_size=3),
       text=st.integers(0, 9).flatmap(lambda i: st.text(max_size=30) if i == 0 else st.none()))
def test_any_record_in_a_results_folder_ends_in_success_or_one_line(edits, text):
    record = json.loads(json.dumps(TEMPLATE))
    for path, value, delete in edits:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier edit replaced a parent
            record = changed(record, path, value, delete)
    with sandbox() as top:
        results = top / "results"
        runs = results / "runs"
        runs.mkdir(parents=True)
        (runs / f"{TEMPLATE['run_id']}.json").write_text(text if text is not None else json.dumps(record))
        ends_well(*run_bench(["report", "--results-dir", str(results)], top, (results / "tables", results / "figures",
                                                                              results / "README.md",
                                                                              results / "index.html")))


def test_the_record_property_reaches_valid_records_too():
    """The edits above keep some records valid (a message, a device, a loss value), so the
    report's writing is exercised, not only its refusals."""
    record = changed(json.loads(json.dumps(TEMPLATE)), ("message",), "../../escaped", False)
    with sandbox() as top:
        results = top / "results"
        (results / "runs").mkdir(parents=True)
        (results / "runs" / f"{TEMPLATE['run_id']}.json").write_text(json.dumps(record))
        assert run_bench(["report", "--results-dir", str(results)], top, (results,)) == (0, [])
        assert (results / "tables" / "clustering_mnist.md").exists()
