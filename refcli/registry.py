"""Name -> "module:Class" registries, so heavy backends import only when chosen."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import Any, Generic, TypeVar

from refcli.errors import BackendError, MissingExtraError

T = TypeVar("T")

EXTRAS = {"models": ("torch", "transformers"), "ray": ("ray",)}
"""Modules each optional dependency group of pyproject.toml brings, for backends that need one."""


class Registry(Generic[T]):
    """Backends of one kind, keyed by the name users type on the command line."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._extras: dict[str, str] = {}

    def register(self, name: str, target: str, *, extra: str = "") -> None:
        """Register ``target`` ("package.module:Class") under ``name``; ``extra`` is the optional
        dependency group (pyproject) it needs, checked before it is imported."""
        self._targets[name] = target
        if extra:
            self._extras[name] = extra

    def names(self) -> list[str]:
        return sorted(self._targets)

    def registered(self) -> list[str]:
        """The names in the order they were registered (for kinds whose order matters)."""
        return list(self._targets)

    def load(self, name: str) -> type[T]:
        """Import and return the class registered under ``name``."""
        try:
            target = self._targets[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise BackendError(f"unknown {self.kind} {name!r} (known: {known})") from None
        extra = self._extras.get(name)
        if extra and not all(installed(module) for module in EXTRAS[extra]):
            raise MissingExtraError(f"the {name} {self.kind}", extra)
        module_name, _, class_name = target.partition(":")
        module = importlib.import_module(module_name)
        cls: type[T] = getattr(module, class_name)
        return cls

    def create(self, name: str, *, keep_none: bool = False, **options: Any) -> T:
        """An instance of the class under ``name``, given those ``options`` its constructor takes
        (the rest are for other backends); None values are left to the backend's defaults unless
        ``keep_none``."""
        cls = self.load(name)
        accepted = inspect.signature(cls).parameters
        return cls(**{k: v for k, v in options.items() if k in accepted and (keep_none or v is not None)})


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a finder refused it
        return False
