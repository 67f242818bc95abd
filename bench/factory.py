"""The one way to build a method (timm's `_factory.py` shape): by name, with a preset's
refinements, the data's image shape, `--set`-style overrides, and optionally the trained
weights of a checkpoint. The runner, `bench speed`, `bench plot` and the tests all build
methods here."""

from __future__ import annotations

from pathlib import Path

from bench import config
from bench.registry import METHODS
from bench.training import checkpoint as checkpoints

DEFAULT_IMAGE_SHAPE = (1, 32, 32)  # MNIST as the papers feed it: 28x28 padded to 32x32


def list_methods(pattern: str = "*") -> list[str]:
    return METHODS.names(pattern)


def method_config(name: str, preset: str | None = None, dataset: str | None = None, **overrides):
    """The method's Config: its defaults, the preset's refinements (if a preset is named, and
    those for `dataset`), then `overrides`, each type-checked. With a preset, trainer settings
    among `overrides` (steps, batch_size, ...) are checked and left to the trainer's config;
    without one they are refused as unknown settings."""
    cls = METHODS.get(name)
    if preset is not None:
        return config.resolve(cls, preset, overrides, dataset)[1]
    return config.build(cls.Config, overrides)


def create_method(name: str, preset: str | None = None, image_shape: tuple[int, ...] | None = None,
                  checkpoint: Path | None = None, dataset: str | None = None, **overrides):
    """A fresh (or, with `checkpoint`, a trained) adapter of method `name`."""
    cls = METHODS.get(name)
    method = cls(method_config(name, preset, dataset, **overrides),
                 image_shape=tuple(image_shape or DEFAULT_IMAGE_SHAPE))
    if checkpoint is not None:
        weights = checkpoints.load(checkpoint).get("method")
        checkpoints.check_weights(weights, method, checkpoint)  # before loading: one line naming the file
        method.load_state_dict(weights)
    return method
