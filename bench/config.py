"""Run configuration: trainer settings, presets, and `--set key=value` overrides.

One flat namespace for overrides: a key is either a trainer setting (`TrainConfig`)
or a field of the method's own `Config` dataclass. Presets fill trainer settings;
a method may refine a preset (e.g. its paper's step count) via `Method.presets`, and a
preset on one dataset via the key "PRESET@DATASET" (the protocol of another experiment of
its paper, e.g. unrolled InfoGAN on the 2-D mixtures).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import itertools
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import annotated_types
import pydantic

from bench.errors import BenchError


def Range(ge: float | None = None, gt: float | None = None, le: float | None = None,
          lt: float | None = None) -> annotated_types.Interval:
    """Bounds of a numeric setting, attached with `Annotated` (checked by `build`, through pydantic)."""
    return annotated_types.Interval(ge=ge, gt=gt, le=le, lt=lt)


INT64_MAX = 2**63 - 1  # every integer setting ends up in a torch or numpy integer
SEED_MAX = 2**32 - 1  # numpy seeds its generators with 32 bits

# the value kinds settings are declared with; `build` checks each value against them. Every
# float setting must also be finite (an infinite learning rate is refused like a NaN one).
PositiveInt = Annotated[int, Range(ge=1, le=INT64_MAX)]
NonNegativeInt = Annotated[int, Range(ge=0, le=INT64_MAX)]
PositiveFloat = Annotated[float, Range(gt=0)]
NonNegativeFloat = Annotated[float, Range(ge=0)]
Beta = Annotated[float, Range(ge=0, lt=1)]  # an Adam moment decay
Probability = Annotated[float, Range(ge=0, le=1)]
Seed = Annotated[int, Range(ge=0, le=SEED_MAX)]


@dataclass
class TrainConfig:
    steps: PositiveInt = 2000
    batch_size: PositiveInt = 64
    train_size: PositiveInt | None = None  # None: the whole training split
    test_size: PositiveInt | None = None  # None: the whole test split
    # methods with `labels_by_held_out` only: training-split images held out, never trained on, that
    # label each cluster by its most confident image (the AAE paper's validation set; at most a
    # sixth of the split, the paper's 10,000 of 60,000); taken from the images a run does not
    # train on, out of its training images only when it trains on the whole split
    validation_size: NonNegativeInt = 10000
    eval_every: NonNegativeInt = 0  # 0: evaluate only at the end
    eval_at_start: bool = False  # also evaluate the untrained model (step 0), with eval_every
    checkpoint_every: NonNegativeInt = 500  # 0: only at the end
    log_every: PositiveInt = 50  # also how often losses are checked for NaN/inf
    eval_batch_size: PositiveInt = 1000
    amp: bool = False  # bf16 autocast on CUDA: a speed option (no paper trained in bf16)
    cuda_graphs: bool = True  # capture the training step as a CUDA graph and replay it, CUDA only
    # measured after training (bench.evaluation.run_measures), kept in the record
    metric_samples: PositiveInt = 10000  # disentanglement metrics' training points (dlib's study: 10000)
    metrics_backend: Literal["bench", "dlib"] = "bench"  # disentanglement-lib, if installed
    morphometrics: bool = True  # MNIST code sweeps scored by Morpho-MNIST measures
    tsne_points: NonNegativeInt = 2000  # test images in the recorded t-SNE layout (0: none)
    generation_samples: NonNegativeInt = 10000  # generated samples the generation measures score (0: none)


PRESETS: dict[str, dict[str, Any]] = {
    # a few thousand images; minutes on a 2-core CPU; what CI regresses against
    "smoke": dict(train_size=4096, steps=500, batch_size=64, checkpoint_every=100, log_every=25,
                  metric_samples=200, tsne_points=500),
    # the full training split, short: a sanity check on a GPU
    "quick": dict(steps=2000, eval_every=1000, checkpoint_every=500, log_every=100),
    # full length; each method sets its paper's steps and batch size
    "paper": dict(eval_every=1000, checkpoint_every=5000, log_every=100),
}


# settings that change neither what is trained nor the clustering it is scored by: a run
# that overrides only these is still the preset's run (no variant label, claims kept)
BOOKKEEPING_KEYS = frozenset({"checkpoint_every", "log_every", "eval_every", "eval_at_start", "eval_batch_size",
                              "cuda_graphs", "metrics_backend", "morphometrics", "tsne_points", "metric_samples",
                              "generation_samples"})


def parse_value(text: str) -> Any:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, 'none' -> None, 'inf' -> inf, anything else
    stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if lowered in ("inf", "+inf", "-inf", "nan"):  # a float (and refused as a setting: not finite)
        return float(lowered)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # '{[]: 1}', '((((...'
        return text


def set_argument(key: str, value) -> str:
    """`key=value` that `bench.config.parse_value` reads back as `value`."""
    if value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value if parse_value(value) == value else repr(value)
    else:
        text = repr(value)
    return f"{key}={text}"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


def split_top_level(text: str) -> list[str]:
    """'0,5,7' -> ['0', '5', '7']; commas inside brackets or quotes stay: '(0.5,0.9)' is one part."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def parse_grid(pairs: list[str]) -> list[dict[str, Any]]:
    """`--set` values -> the variants they span: `k=0,5,7` is three values of k, several keys
    give their cartesian product (first key slowest), a later `--set` of a key replaces an
    earlier one. A tuple value is written in brackets (`betas=(0.5,0.9)`); `none` is None."""
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set expects key=value, got {pair!r}")
        parts = split_top_level(value)
        if len(parts) > 1 and any(not p.strip() for p in parts):
            raise BenchError(f"--set {pair!r}: an empty value in the comma list")
        values = [parse_value(p.strip() if len(parts) > 1 else p) for p in parts]
        grid[key.strip()] = list(dict.fromkeys(values)) if all(_hashable(v) for v in values) else values
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@functools.cache
def settings_model(cls) -> type[pydantic.BaseModel]:
    """The pydantic model of a config dataclass: the same fields, types and bounds, every
    float finite, checked strictly (no bool for a number, no string for a number, no
    unknown field). A method's `Config` stays a plain dataclass; this is built from it."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: (hints[f.name], f.default if f.default is not dataclasses.MISSING else ...)
              for f in dataclasses.fields(cls)}
    config = pydantic.ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)
    return pydantic.create_model(cls.__qualname__, __config__=config, **fields)


def _plain(value: Any) -> Any:
    """What a setting's text or a record's JSON holds, as the declared types take it: a
    float with an integer value (`--set steps=1e4`) is that integer, a list is a tuple."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value)


def _problem(name: str, value: Any, error: dict) -> str:
    """One pydantic error of setting `name` as one readable clause."""
    kind, ctx = error["type"], error.get("ctx") or {}
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
              "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
    if value is None:
        return f"{name}=none is not allowed"
    if kind in bounds:
        sign, key = bounds[kind]
        bound = ctx[key]
        return f"{name}={value!r}: must be {sign} {bound if isinstance(bound, int) else format(bound, 'g')}"
    if kind == "finite_number":
        return f"{name}={value!r} is not a valid float: it must be finite"
    if kind == "literal_error":
        return f"{name}={value!r} is not one of {ctx['expected'].replace(' or ', ', ')}"
    kinds = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str"}
    if kind in kinds:
        return f"{name}={value!r} is not a valid {kinds[kind]}"
    return f"{name}={_shown(value)}: {error['msg'][0].lower()}{error['msg'][1:]}"


def build(cls, values: dict[str, Any]):
    """Instantiate a config dataclass from a dict, checking each value against its declared
    type (`settings_model`): int/float/bool/str, `Literal[...]` choices, `Range` bounds,
    `| None`, finite floats. A bad value is one line naming the setting."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BenchError(f"unknown setting {', '.join(unknown)} for {cls.__qualname__}; valid: {', '.join(sorted(known))}")
    try:
        checked = settings_model(cls).model_validate({k: _plain(v) for k, v in values.items()})
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        raise BenchError(f"{_problem(name, values.get(name), error)} (for {cls.__qualname__})") from None
    return cls(**{k: getattr(checked, k) for k in values})


TRAIN_KEYS = frozenset(f.name for f in dataclasses.fields(TrainConfig))


def setting_names(method_cls) -> set[str]:
    """Every key `--set` accepts for this method: trainer settings and its Config fields."""
    return set(TRAIN_KEYS) | {f.name for f in dataclasses.fields(method_cls.Config)}


def applicable(method_classes: list, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Split `overrides` per method: a key must be known to at least one of the methods
    (so a typo fails), and each method gets only the keys it knows (so `--methods all
    --set lambda_cont=0.5` ablates the methods that have that setting)."""
    known = [setting_names(cls) for cls in method_classes]
    unknown = sorted(k for k in overrides if not any(k in names for names in known))
    if unknown:
        methods = ", ".join(cls.name for cls in method_classes)
        valid = ", ".join(sorted(set().union(*known)))
        raise BenchError(f"unknown setting {', '.join(unknown)} for {methods}; valid: {valid}")
    return [{k: v for k, v in overrides.items() if k in names} for names in known]


def resolve(method_cls, preset: str, overrides: dict[str, Any], dataset: str | None = None) -> tuple[TrainConfig, Any]:
    """Preset + method refinements (+ the method's refinements for `dataset`) + user
    overrides -> (TrainConfig, method Config)."""
    if preset not in PRESETS:
        raise BenchError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    (overrides,) = applicable([method_cls], overrides)
    method_keys = setting_names(method_cls) - TRAIN_KEYS
    merged = {**PRESETS[preset], **method_cls.presets.get(preset, {}),
              **method_cls.presets.get(f"{preset}@{dataset}", {}), **overrides}
    train = build(TrainConfig, {k: v for k, v in merged.items() if k in TRAIN_KEYS})
    method = build(method_cls.Config, {k: v for k, v in merged.items() if k in method_keys})
    check_batch(train)
    return train, method


def check_batch(train: TrainConfig, images: int | None = None) -> None:
    """A batch must fit in the training images a run uses: `train_size`, and the dataset's
    `images` once it is loaded."""
    sizes = [n for n in (train.train_size, images) if n is not None]
    if sizes and train.batch_size > min(sizes):
        raise BenchError(f"batch_size={train.batch_size} exceeds the {min(sizes)} training images of the run")
