"""`refcli scan`: the nightly job. Index what changed, run every standing query on it, report
only hits never reported before.

A hit is reported once per (backend, query, file content, track): a person who stays in the
archive is news on the night they arrive, not every night after.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from refcli.pipeline import IndexOptions, IndexSummary, ProgressFactory, run_index
from refcli.refer import create_referrer
from refcli.search import Hit, find
from refcli.store import Store


@dataclass
class NewHit:
    query: str
    backend: str
    hit: Hit

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "backend": self.backend, **self.hit.to_dict()}


@dataclass
class ScanReport:
    index: IndexSummary
    new_hits: list[NewHit] = field(default_factory=list)
    watches: int = 0
    unsupported: dict[str, list[str]] = field(default_factory=dict)  # query -> phrases nobody judged

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index.to_dict(), "watches": self.watches,
                "new_hits": [h.to_dict() for h in self.new_hits], "unsupported": self.unsupported}


def hit_key(backend: str, query: str, content_id: str, track: int | None) -> str:
    return f"{backend}\x1f{query}\x1f{content_id}\x1f{track}"


def run_scan(roots: Sequence[str], store: Store, options: IndexOptions,
             progress: ProgressFactory | None = None) -> ScanReport:
    """Index ``roots`` and run the standing queries (inside ``store.writer()``)."""
    started = time.time()
    report = ScanReport(index=run_index(roots, store, options, progress=progress))
    changed = set(report.index.content_ids)
    seen = store.seen_hit_keys()
    gallery = store.gallery()
    new_rows: list[dict[str, Any]] = []
    watches = store.watches()
    report.watches = len(watches)
    for watch in watches:
        scope = None if watch["last_run"] is None else changed  # a new watch looks at everything once
        if scope is not None and not scope:
            continue
        referrer = create_referrer(watch["backend"], gallery=gallery)
        result = find(store, watch["query"], referrer, min_score=watch["min_score"], content_ids=scope)
        if result.unsupported:
            report.unsupported[watch["query"]] = result.unsupported
        for hit in result.hits:
            key = hit_key(watch["backend"], watch["query"], hit.content_id, hit.track)
            if key in seen:
                continue
            seen.add(key)
            new_rows.append({"key": key, "query": watch["query"], "first_seen": started})
            report.new_hits.append(NewHit(watch["query"], watch["backend"], hit))
    store.add_seen_hits(new_rows)
    if watches:
        store.mark_watches_run(started)
    store.set_meta("last_scan", repr(started))
    return report
