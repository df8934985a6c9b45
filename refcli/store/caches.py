"""`Store.caches`: what slow models answered, kept so that asking again costs nothing.

Two caches, both keyed by ``frame_cache_key`` (what was asked, and the frame's content generation,
so a re-indexed file never reads a stale result): the answers of model referrers (table
``verified``) and the boxes of object grounders (table ``grounded``). They are written without the
writer lock: an append is one atomic LanceDB commit, and caching must not wait for a nightly index
to finish. A full disk or a read-only database still answers queries; the cache just stays as it is.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, TypedDict

import pyarrow as pa

from refcli.errors import DatabaseWriteError
from refcli.store import schema, sql

if TYPE_CHECKING:
    from refcli.store.store import Store

__all__ = ["AnswerRow", "Caches", "GroundedRow", "frame_cache_key"]


class AnswerRow(TypedDict):
    """A model referrer's answer about one frame (schema.VERIFIED)."""

    key: str
    indexes: list[int]  # the chosen candidates
    scores: list[float]
    created: float


class GroundedRow(TypedDict):
    """An object grounder's boxes in one frame for one phrase (schema.GROUNDED)."""

    key: str
    boxes: list[float]  # 4 per box, xyxy in displayed pixels
    scores: list[float]  # one per box
    created: float


def frame_cache_key(prefix: str, frame: dict[str, Any]) -> str:
    """The key of a cached result about one frame (a model's answer, grounded objects): what was
    asked (``prefix``) and the frame's generation, so a re-indexed file never reads stale results."""
    text = f"{prefix}|{frame['content_id']}|{frame['generation']}|{frame['sample']}"
    return hashlib.sha1(text.encode()).hexdigest()


class Caches:
    """The answer cache and the grounding cache of one Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def answers(self) -> dict[str, tuple[list[int], list[float]]]:
        """Every cached answer: key -> (chosen candidate indexes, their scores)."""
        return {r["key"]: (r["indexes"], r["scores"]) for r in self._store._read("verified").to_pylist()}

    def add_answers(self, rows: list[AnswerRow]) -> None:
        """Append cached answers (no writer lock needed, see the module)."""
        if rows and "verified" in self._store._table_names():
            self._add("verified", pa.Table.from_pylist(rows, schema=schema.VERIFIED))

    def grounded(self, keys: list[str]) -> dict[str, list[tuple[list[float], float]]]:
        """Cached grounding results by key (see refcli/ground/stage.py): (xyxy box, score) each."""
        if not keys:
            return {}
        out: dict[str, list[tuple[list[float], float]]] = {}
        for chunk in sql.chunks(sorted(set(keys)), 500):
            table = self._store._read("grounded", ["key", "boxes", "scores"],
                                      where=f"key IN ({sql.id_list(chunk)})")
            for row in table.to_pylist():
                boxes = row["boxes"] or []
                out[row["key"]] = [(boxes[4 * i:4 * i + 4], score) for i, score in enumerate(row["scores"] or [])]
        return out

    def add_grounded(self, rows: list[GroundedRow]) -> None:
        """Append grounding results; like the answer cache, not under the writer lock."""
        if rows and "grounded" in self._store._table_names():
            self._add("grounded", pa.Table.from_pylist(rows, schema=schema.GROUNDED))

    def _add(self, name: str, data: pa.Table) -> None:
        try:
            self._store._table(name).add(data)
        except DatabaseWriteError:
            pass  # a full disk or a read-only database still answers queries; the cache just stays as it is
