"""`refcli scan`: the nightly job. Index what changed, run every standing query on what it has
not looked at yet, report only hits never reported before.

A hit is reported once per (backend, query, file content, track): a person who stays in the
archive is news on the night they arrive, not every night after. Delivery is at least once: a
watch remembers how far it has looked (the newest content generation it checked) and which hits
it reported only after the report was printed (``ScanReport.confirm``), so a scan killed at any
moment, or content indexed by a plain `refcli index`, is looked at by the next scan.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from refcli import faults
from refcli.index import IndexOptions, IndexSummary, ProgressFactory, run_index
from refcli.query.backends import ReferrerSettings, build_referrer
from refcli.query.hits import Hit
from refcli.query.search import find
from refcli.store import Store


@dataclass
class NewHit:
    query: str
    backend: str
    hit: Hit

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "backend": self.backend, **self.hit.to_dict()}


@dataclass
class _Checked:
    query: str
    backend: str
    generation: int | None


@dataclass
class ScanReport:
    index: IndexSummary
    new_hits: list[NewHit] = field(default_factory=list)
    watches: int = 0
    unsupported: dict[str, list[str]] = field(default_factory=dict)  # query -> phrases nobody judged
    started: float = 0.0
    checked: list[_Checked] = field(default_factory=list)  # how far each watch looked, saved by confirm()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index.to_dict(), "watches": self.watches,
                "new_hits": [h.to_dict() for h in self.new_hits], "unsupported": self.unsupported}

    def confirm(self, store: Store) -> None:
        """Record that the report was delivered: its hits are seen, the watches have looked this far.

        Called after the report is printed (inside the same writer lock): a scan that dies before
        that reports the same hits again next time instead of never.
        """
        store.watches.add_seen_hits([{"key": hit_key(h.backend, h.query, h.hit.content_id, h.hit.track),
                                      "query": h.query, "first_seen": self.started} for h in self.new_hits])
        for watch in self.checked:
            store.watches.mark_checked(watch.query, watch.backend, watch.generation, self.started)
        store.set_meta("last_scan", repr(self.started))


def hit_key(backend: str, query: str, content_id: str, track: int | None) -> str:
    return f"{backend}\x1f{query}\x1f{content_id}\x1f{track}"


def run_scan(roots: Sequence[str], store: Store, options: IndexOptions,
             progress: ProgressFactory | None = None) -> ScanReport:
    """Index ``roots`` and run the standing queries (inside ``store.writer()``); the caller prints
    the report, then calls ``report.confirm(store)``."""
    started = time.time()
    report = ScanReport(index=run_index(roots, store, options, progress=progress), started=started)
    watches = store.watches.all()
    report.watches = len(watches)
    if not watches:
        return report
    current = {cid: m.generation for cid, m in store.contents.media().items() if m.status == "ok"}
    newest = max(current.values(), default=None)
    seen = store.watches.seen_hit_keys()
    gallery = store.gallery.embeddings()
    for watch in watches:
        mark = watch["checked_generation"]
        scope = None if mark is None else {cid for cid, generation in current.items() if generation > mark}
        report.checked.append(_Checked(watch["query"], watch["backend"], newest if newest is not None else mark))
        if scope is not None and not scope:
            continue
        referrer = build_referrer(ReferrerSettings(watch["backend"], gallery=gallery))
        result = find(store, watch["query"], referrer, min_score=watch["min_score"], content_ids=scope)
        if result.unsupported:
            report.unsupported[watch["query"]] = result.unsupported
        for hit in result.hits:
            key = hit_key(watch["backend"], watch["query"], hit.content_id, hit.track)
            if key in seen:
                continue
            seen.add(key)
            report.new_hits.append(NewHit(watch["query"], watch["backend"], hit))
    faults.point("before-report")
    return report
