"""Answers of slow (model) referrers, kept in the database so a repeated query reads them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from refcli.query.frames import FrameRequest
from refcli.refer import Referrer, ReferResult
from refcli.store import AnswerRow, Store

if TYPE_CHECKING:
    from refcli.query.tracks import TrackRequest


class AnswerCache:
    """Answers keyed by model, query, detector score and the frame's generation (a re-indexed
    file never reads stale answers). A referrer without a ``cache_id`` is always asked."""

    def __init__(self, store: Store, referrer: Referrer, query: str, min_score: float) -> None:
        self.store, self.referrer = store, referrer
        self.prefix = None if referrer.cache_id is None else f"{referrer.cache_id}|{query}|{min_score:.3f}"
        self.known = store.caches.answers() if self.prefix else {}
        self.new: list[AnswerRow] = []  # rows of the store's "verified" table, saved by save()

    def refer(self, chunk: Sequence[FrameRequest | TrackRequest]) -> list[ReferResult]:
        """The referrer's answers to ``chunk``, from the cache where known (frames only: a
        referrer that judges whole tracks is not a slow one)."""
        if self.prefix is None or not all(isinstance(item, FrameRequest) for item in chunk):
            return self.referrer.refer([item.request for item in chunk])
        keys = [item.frame.cache_key(self.prefix) for item in chunk]  # type: ignore[union-attr]
        missing = [i for i, k in enumerate(keys) if k not in self.known]
        fresh = iter(self.referrer.refer([chunk[i].request for i in missing])) if missing else iter(())
        out = []
        for key in keys:
            if key in self.known:
                indexes, scores = self.known[key]
                out.append(ReferResult(indexes=tuple(indexes), scores=tuple(scores)))
                continue
            result = next(fresh)
            out.append(result)
            if not result.unsupported and not result.warnings:  # only clean answers are worth keeping
                self.known[key] = (list(result.indexes), list(result.scores))
                self.new.append({"key": key, "indexes": list(result.indexes), "scores": list(result.scores),
                                 "created": time.time()})
        return out

    def save(self) -> None:
        self.store.caches.add_answers(self.new)
        self.new = []
