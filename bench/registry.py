"""Name -> factory registries (timm's `_registry.py` shape): a decorator and fnmatch
listing. Methods and datasets each get a `Registry`; the CLI resolves `--methods
'info*'`, `all` or a comma list through `Registry.resolve`.

This module imports nothing of the project but its error type and the name pattern (a
registered name ends up in run ids and file names, so it must be a plain name): the packages that define
methods and datasets import it and register themselves, and `bench/__init__` imports the
built-in ones once (`bench.factory` builds a method from its name).
"""

from __future__ import annotations

import fnmatch
from typing import Callable, Generic, TypeVar

from bench.errors import BenchError
from bench.names import check_name

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories of one kind (e.g. "method")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        check_name(name, self.kind)

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = factory
            return factory

        return decorate

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._entries[name]
        except KeyError:
            raise BenchError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}"
            ) from None

    def create(self, name: str, *args, **kwargs) -> T:
        return self.get(name)(*args, **kwargs)

    def resolve(self, spec: str) -> list[str]:
        """Expand `all`, a glob, or a comma list into registered names (order kept, no repeats)."""
        selected: list[str] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if part == "all":
                matches = self.names()
            elif any(ch in part for ch in "*?["):
                matches = self.names(part)
                if not matches:
                    raise BenchError(
                        f"no {self.kind} matches {part!r}; available: {', '.join(self.names())}"
                    )
            else:
                self.get(part)
                matches = [part]
            selected += [m for m in matches if m not in selected]
        if not selected:
            raise BenchError(f"no {self.kind} given; available: {', '.join(self.names())}")
        return selected


METHODS: Registry = Registry("method")
DATASETS: Registry = Registry("dataset")

register_dataset = DATASETS.register


def register_method(name: str):
    """Register a `Method` subclass under `name`, which becomes its `name`."""

    def decorate(cls):
        cls.name = name
        return METHODS.register(name)(cls)

    return decorate
