"""`bench run --config FILE.toml`: a sweep written down, holding what the command line holds.

Each top-level key is a `bench run` option (`methods`, `seeds`, `dataset`, `preset`,
`device`, `jobs`, `resume`, ...; dashes or underscores), and the table `[set]` holds the
`--set` settings, where an array is a grid (`k = [0, 5, 7, 10]`):

The long form (readings, departures, history): docs/notes.md, `bench.runs.config_file`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from bench.errors import BenchError


def _text(value, where: str) -> str:
    """A TOML (or `bench.run`) value as `--set` writes it: true/false, numbers, strings and
    paths as they are, an inner array (or a tuple) as a tuple, None as none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, PurePath)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_text(v, where) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise BenchError(f"{where}: {value!r} is not a value --set takes")


def _seeds(value, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)) and value and all(type(v) is int for v in value):
        return ",".join(map(str, value)) + ("," if len(value) == 1 else "")
    raise BenchError(f"{where}: seeds must be a count or an array of seeds, not {value!r}")


def config_arguments(path: Path, parser: argparse.ArgumentParser) -> list[str]:
    """The `bench run` arguments that the TOML file at `path` stands for."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise BenchError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BenchError(f"config file {path} is not UTF-8 text: {exc}") from None
    return option_arguments(data, parser, str(path))


def option_arguments(data: dict, parser: argparse.ArgumentParser, source: str) -> list[str]:
    """The `bench run` arguments that `data` ({option: value, "set": {setting: value}})
    stands for: a TOML file's content, or `bench.run`'s keywords. `source` names it in errors."""
    options = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "config")}
    args: list[str] = []
    for key, value in data.items():
        dest, where = key.replace("-", "_"), f"{source}: {key}"
        if dest in ("set", "overrides"):
            if not isinstance(value, dict):
                raise BenchError(f"{where} must be a table of settings ([set])")
            for name, setting in value.items():
                values = setting if isinstance(setting, list) else [setting]
                if not values:
                    raise BenchError(f"{where}.{name} is an empty array")
                args += ["--set", f"{name}=" + ",".join(_text(v, f"{where}.{name}") for v in values)]
            continue
        action = options.get(dest)
        if action is None:
            valid = ", ".join(sorted(["set", *options]))
            raise BenchError(f"{where}: not a bench run option; valid: {valid}")
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            if not isinstance(value, bool):
                raise BenchError(f"{where} must be true or false")
            args += [flag] if value else []
        elif dest == "seeds":
            args += [flag, _seeds(value, where)]
        elif isinstance(value, list):
            args += [flag, ",".join(_text(v, where) for v in value)]
        else:
            args += [flag, _text(value, where)]
    return args


def expand_config(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`run ... --config F ...` -> `run <F's arguments> ...` (the typed ones last, so they win)."""
    if not argv or argv[0] != "run":
        return argv
    finder = argparse.ArgumentParser(add_help=False)
    finder.add_argument("--config", type=Path)
    known, _ = finder.parse_known_args(argv[1:])
    if known.config is None:
        return argv
    return ["run", *config_arguments(known.config, parser), *argv[1:]]
