"""`refcli find`: run a referrer over the stored frames and turn its choices into hits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.refer import ReferRequest, Referrer
from refcli.store import Store

_REFER_BATCH = 256


@dataclass
class Hit:
    """One matching person: where (file, time) and which box."""

    path: str
    kind: str
    time: float | None
    box: list[float]
    score: float
    track: int
    content_id: str
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FindResult:
    query: str
    backend: str
    total: int
    hits: list[Hit]
    unsupported: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "backend": self.backend, "total": self.total,
                "hits": [h.to_dict() for h in self.hits], "unsupported": self.unsupported}


def find(store: Store, query: str, referrer: Referrer, *, min_score: float = PEOPLE_MIN_SCORE,
         limit: int | None = None) -> FindResult:
    """Every person in the index that ``referrer`` says matches ``query``, best first.

    ``total`` counts all matches; ``hits`` holds the first ``limit`` of them (all if None).
    """
    unsupported = list(referrer.unsupported(query))
    hits: list[Hit] = []
    if not unsupported:
        for chunk in _requests(store, query, min_score):
            results = referrer.refer([request for request, _ in chunk])
            for (_, meta), result in zip(chunk, results):
                for phrase in result.unsupported:
                    if phrase not in unsupported:
                        unsupported.append(phrase)
                for index, score in zip(result.indexes, result.scores):
                    hits.append(_hit(meta, index, score))
    if unsupported:
        hits = []  # a backend that could not judge part of the query answers nobody, never a guess
    hits.sort(key=lambda h: (-h.score, h.path, h.time if h.time is not None else -1.0))
    return FindResult(query=query, backend=referrer.name, total=len(hits),
                      hits=hits if limit is None else hits[:limit], unsupported=unsupported)


def _requests(store: Store, query: str, min_score: float) -> Iterator[list[tuple[ReferRequest, dict[str, Any]]]]:
    chunk: list[tuple[ReferRequest, dict[str, Any]]] = []
    frames, paths = store.current_frames()
    for frame in frames.to_pylist():
        frame["paths"] = paths[frame["content_id"]]
        people = [c for c in frame["candidates"] if c["score"] >= min_score]
        if not people:
            continue
        request = ReferRequest(
            expression=query,
            boxes=np.array([c["box"] for c in people], np.float32).reshape(-1, 4),
            scores=np.array([c["score"] for c in people], np.float32),
            size=(frame["width"], frame["height"]),
        )
        chunk.append((request, {"frame": frame, "people": people}))
        if len(chunk) >= _REFER_BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _hit(meta: dict[str, Any], index: int, score: float) -> Hit:
    frame = meta["frame"]
    candidate = meta["people"][index]
    return Hit(path=frame["paths"][0], kind=frame["kind"], time=frame["time"],
               box=[round(float(v), 1) for v in candidate["box"]], score=round(float(score), 4),
               track=int(candidate["track"]), content_id=frame["content_id"], paths=frame["paths"])
