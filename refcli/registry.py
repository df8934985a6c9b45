"""Name -> "module:Class" registries, so heavy backends import only when chosen."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from refcli.errors import BackendError, MissingExtraError, RefcliError, UsageError

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

    def takes(self, name: str, option: str) -> bool:
        """Whether the constructor of the class under ``name`` takes ``option``."""
        parameters = inspect.signature(self.load(name)).parameters
        return option in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())

    def taking(self, option: str) -> list[str]:
        """The backends that take ``option`` (a backend that cannot be loaded is left out)."""
        out = []
        for name in self.names():
            try:
                if self.takes(name, option):
                    out.append(name)
            except (ImportError, RefcliError):
                continue
        return out

    def create(self, name: str, *, offered: Mapping[str, Any] | None = None, **options: Any) -> T:
        """An instance of the class under ``name``, built with ``options``; each must be one its
        constructor takes (else a UsageError naming the option and the backend). ``offered``
        options (where to run, how many threads) go to it only if it takes them. None values
        are left to the backend's defaults."""
        for option, value in options.items():
            if value is not None and not self.takes(name, option):
                takers = ", ".join(self.taking(option)) or "none"
                raise UsageError(f"the {name} {self.kind} does not take the option {option!r} "
                                 f"({self.kind}s that do: {takers})")
        chosen = {k: v for k, v in (offered or {}).items() if v is not None and self.takes(name, k)}
        chosen.update({k: v for k, v in options.items() if v is not None})
        return self.load(name)(**chosen)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a finder refused it
        return False
