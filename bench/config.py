"""Run configuration: trainer settings, presets, and `--set key=value` overrides.

One flat namespace for overrides: a key is either a trainer setting (`TrainConfig`)
or a field of the method's own `Config` dataclass. Presets fill trainer settings;
a method may refine a preset (e.g. its paper's step count) via `Method.presets`.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    train_size: int | None = None  # None: the whole training split
    test_size: int | None = None  # None: the whole test split
    eval_every: int = 0  # 0: evaluate only at the end
    checkpoint_every: int = 500  # 0: only at the end
    log_every: int = 50  # also how often losses are checked for NaN/inf
    eval_batch_size: int = 1000
    amp: bool = True  # bf16 autocast, CUDA only
    cuda_graphs: bool = True  # capture the training step as a CUDA graph and replay it, CUDA only
    # measured after training (bench.evaluate.run_measures), kept in the record
    metric_samples: int = 10000  # disentanglement metrics' training points (dlib's study: 10000)
    metrics_backend: str = "bench"  # bench | dlib (disentanglement-lib, if installed)
    morphometrics: bool = True  # MNIST code sweeps scored by Morpho-MNIST measures
    tsne_points: int = 2000  # test images in the recorded t-SNE layout (0: none)


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
BOOKKEEPING_KEYS = frozenset({"checkpoint_every", "log_every", "eval_every", "eval_batch_size", "cuda_graphs",
                              "metrics_backend", "morphometrics", "tsne_points", "metric_samples"})


def parse_value(text: str) -> Any:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, 'none' -> None, anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


def _coerce(cls_name: str, field: dataclasses.Field, value: Any) -> Any:
    default = field.default
    if value is None or default is None:
        return value
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BenchError(
            f"{field.name}={value!r} is not a valid {kind.__name__} (for {cls_name})"
        )
    return value


def build(cls, values: dict[str, Any]):
    """Instantiate a config dataclass from a dict, type-checking each value."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return cls(**{k: _coerce(cls.__name__, fields[k], v) for k, v in values.items()})


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


def resolve(method_cls, preset: str, overrides: dict[str, Any]) -> tuple[TrainConfig, Any]:
    """Preset + method refinements + user overrides -> (TrainConfig, method Config)."""
    if preset not in PRESETS:
        raise BenchError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    (overrides,) = applicable([method_cls], overrides)
    train_keys = TRAIN_KEYS
    method_keys = setting_names(method_cls) - TRAIN_KEYS
    merged = {**PRESETS[preset], **method_cls.presets.get(preset, {}), **overrides}
    train = build(TrainConfig, {k: v for k, v in merged.items() if k in train_keys})
    method = build(method_cls.Config, {k: v for k, v in merged.items() if k in method_keys})
    for key in ("steps", "batch_size"):
        if getattr(train, key) < 1:
            raise BenchError(f"{key} must be >= 1, got {getattr(train, key)}")
    for key in ("train_size", "test_size"):
        value = getattr(train, key)
        if value is not None and value < 1:
            raise BenchError(f"{key} must be >= 1 or none, got {value}")
    return train, method
