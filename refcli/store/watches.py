"""`Store.watches`: the standing queries that `refcli scan` runs, and the hits they reported.

A watch remembers the newest content generation it has looked at (``checked_generation``); the
next scan runs it only over contents of newer generations. A hit it reported is kept as a seen
hit, so that it is never reported twice. Both are written by `ScanReport.confirm` after the
report was delivered (refcli/scan.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypedDict

import pyarrow as pa

from refcli.store import schema, sql

if TYPE_CHECKING:
    from refcli.store.store import Store

__all__ = ["SeenHit", "Watch", "Watches"]


class Watch(TypedDict):
    """A standing query (schema.WATCHES); `refcli watch list --json` prints these rows."""

    query: str
    backend: str
    min_score: float
    added_at: float
    last_run: float | None
    checked_generation: int | None  # None: it has looked at nothing yet, so it looks at everything


class SeenHit(TypedDict):
    """A hit a watch has reported (schema.SEEN_HITS); ``key`` is refcli.scan.hit_key."""

    key: str
    query: str
    first_seen: float


class Watches:
    """The standing queries of one Store and their seen hits."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def all(self) -> list[Watch]:
        rows: list[Watch] = self._store._read("watches").to_pylist()
        return rows

    def add(self, query: str, backend: str, min_score: float) -> bool:
        """Add a watch; False when the same query with the same backend is watched already."""
        self._store._require_writer()
        if any(w["query"] == query and w["backend"] == backend for w in self.all()):
            return False
        row: Watch = {"query": query, "backend": backend, "min_score": min_score, "added_at": time.time(),
                      "last_run": None, "checked_generation": None}
        self._store._table("watches").add(pa.Table.from_pylist([row], schema=schema.WATCHES))
        return True

    def remove(self, query: str) -> int:
        """Remove the watches of ``query`` (any backend); returns how many there were."""
        self._store._require_writer()
        table = self._store._table("watches")
        before = table.count_rows()
        table.delete(f"query = {sql.quote(query)}")
        return before - table.count_rows()

    def mark_checked(self, query: str, backend: str, generation: int | None, when: float) -> None:
        """The watch has looked at, and reported, every content up to ``generation``."""
        self._store._require_writer()
        values: dict[str, float] = {"last_run": when}
        if generation is not None:
            values["checked_generation"] = int(generation)
        self._store._table("watches").update(where=f"query = {sql.quote(query)} AND backend = {sql.quote(backend)}",
                                             values=values)

    def seen_hit_keys(self) -> set[str]:
        return set(self._store._read("seen_hits", ["key"]).column("key").to_pylist())

    def add_seen_hits(self, rows: list[SeenHit]) -> None:
        self._store._require_writer()
        if rows:
            self._store._table("seen_hits").add(pa.Table.from_pylist(rows, schema=schema.SEEN_HITS))
