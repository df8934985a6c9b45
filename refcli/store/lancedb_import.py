"""Import lancedb without paying for the namespace REST client refcli never uses.

``import lancedb`` (0.40) imports ``lance_namespace``, whose package ``__init__`` imports the
generated REST client ``lance_namespace_urllib3_client`` with every API module: about 0.75 s of
a 2.1 s import here, on every `refcli find` and `refcli status`. lancedb itself only needs the
client's ``models`` subpackage. This finder gives the client package a lazy ``__init__``: the
package and its subpackages import as usual, and the real ``__init__`` (all API modules) runs
the first time anyone asks the package itself for a name. Nothing changes for code that uses
the client; refcli's own start-up no longer waits for it. Upstream made the same change in
``lance`` (lance-format/lance#9273); drop this module once lancedb does too.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

CLIENT = "lance_namespace_urllib3_client"


class _LazyInitLoader(importlib.abc.Loader):
    """Runs a package's ``__init__`` on first attribute access, not at import."""

    def __init__(self, real: importlib.machinery.ModuleSpec) -> None:
        self.real = real
        self.lock = threading.RLock()

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        loader = self.real.loader
        lock = self.lock

        def __getattr__(name: str) -> Any:  # noqa: N807 - PEP 562 module hook
            with lock:
                if "__getattr__" in module.__dict__:
                    del module.__dict__["__getattr__"]
                    assert loader is not None
                    loader.exec_module(module)
            try:
                return module.__dict__[name]
            except KeyError:
                raise AttributeError(f"module {CLIENT!r} has no attribute {name!r}") from None

        module.__dict__["__getattr__"] = __getattr__


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != CLIENT:
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.origin is None or real.submodule_search_locations is None:
            return real
        return importlib.util.spec_from_file_location(fullname, real.origin, loader=_LazyInitLoader(real),
                                                      submodule_search_locations=real.submodule_search_locations)


def import_lancedb() -> types.ModuleType:
    """``lancedb``, imported with the namespace client's package ``__init__`` deferred."""
    if "lancedb" not in sys.modules and CLIENT not in sys.modules:
        finder = _Finder()
        sys.meta_path.insert(0, finder)
        try:
            import lancedb
        finally:
            sys.meta_path.remove(finder)
        return lancedb
    import lancedb

    return lancedb
