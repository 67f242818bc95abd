"""Name -> factory registries (timm-style): a decorator, fnmatch listing, one factory.

Methods and datasets each get a `Registry`; the CLI resolves `--methods 'info*'`,
`all` or a comma list through `Registry.resolve`.
"""

from __future__ import annotations

import fnmatch
from typing import Callable, Generic, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories of one kind (e.g. "method")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
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

register_method = METHODS.register
register_dataset = DATASETS.register


def list_methods(pattern: str = "*") -> list[str]:
    load_builtins()
    return METHODS.names(pattern)


def create_method(name: str, image_shape=(1, 32, 32), **overrides):
    """An adapter with its default config updated by `overrides` (type-checked)."""
    from bench.config import build

    load_builtins()
    cls = METHODS.get(name)
    return cls(build(cls.Config, overrides), image_shape=image_shape)


def load_builtins() -> None:
    """Import the built-in datasets and the `methods` package so they register themselves."""
    import bench.data  # noqa: F401
    import bench.dsprites  # noqa: F401
    import methods  # noqa: F401
