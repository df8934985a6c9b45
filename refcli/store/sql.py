"""Values put into LanceDB filter strings, made safe in one place, and lists cut into filters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeVar

from refcli.errors import StoreError

__all__ = ["checked_id", "chunks", "id_list", "quote"]

_HEX = re.compile(r"^[0-9a-f]+$")
T = TypeVar("T")


def checked_id(value: str) -> str:
    """Content ids go into filter strings: they must be the hex digests refcli makes."""
    if not _HEX.match(value):
        raise StoreError(f"internal error: unexpected content id {value!r}")
    return value


def quote(value: str) -> str:
    """A SQL string literal: quotes doubled, so names like O'Brien cannot break the filter."""
    return "'" + value.replace("'", "''") + "'"


def id_list(values: list[str]) -> str:
    """Content ids (or cache keys, hex too) for an ``IN (...)`` filter."""
    return ", ".join(f"'{checked_id(v)}'" for v in values)


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size``: one filter names at most that many values."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
