"""The grounding stage of `find`: object boxes for the frames that need them, cached.

Grounding is the expensive part of "the person holding a microphone", so it runs last and on
little: only on frames where someone already satisfies the cheaper constraints of the query
(positions, colours, pose cues...), and each (grounder, phrase, frame) is computed once per
database: a second query about microphones reads the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from refcli.ground import Found, Grounder
from refcli.io.image import Picture
from refcli.store import GroundedRow, Store

CHUNK_FRAMES = 32
"""Frames whose pixels are held at once while grounding."""


class StoredFrame(Protocol):
    """A stored frame, as far as grounding needs it (refcli.query.frames.Frame is one)."""

    def cache_key(self, prefix: str) -> str:
        """The key of a cached result about this frame."""
        ...


F = TypeVar("F", bound=StoredFrame)


def cache_key(grounder: Grounder, phrase: str, frame: StoredFrame) -> str:
    return frame.cache_key(f"{grounder.version}|{phrase}")


def ground_frames(store: Store, grounder: Grounder, phrases: Sequence[str], frames: Sequence[F],
                  pixels: Callable[[F], Picture | None]) -> tuple[list[dict[str, Found] | None], int]:
    """Per frame, {phrase: boxes} in the frame's displayed pixels (None when its pixels could not
    be had), and how many (frame, phrase) pairs ran the grounder (the rest came from the cache)."""
    keys = [[cache_key(grounder, phrase, frame) for phrase in phrases] for frame in frames]
    known = store.caches.grounded([k for row in keys for k in row])
    out: list[dict[str, Found] | None] = [{} for _ in frames]
    ran = 0
    new_rows: list[GroundedRow] = []
    missing = [i for i, row in enumerate(keys) if any(k not in known for k in row)]
    for start in range(0, len(missing), CHUNK_FRAMES):
        chunk = missing[start:start + CHUNK_FRAMES]
        images = {i: pixels(frames[i]) for i in chunk}
        for j, phrase in enumerate(phrases):
            todo = [(i, picture) for i in chunk if keys[i][j] not in known and (picture := images[i]) is not None]
            if not todo:
                continue
            found = grounder.ground([picture.image for _, picture in todo], phrase)
            ran += len(todo)
            for (i, picture), boxes in zip(todo, found):
                if picture.scale != 1.0:  # found on a reduced picture: kept in displayed pixels
                    boxes = [([v / picture.scale for v in box], score) for box, score in boxes]
                known[keys[i][j]] = boxes
                new_rows.append({"key": keys[i][j], "boxes": [v for box, _ in boxes for v in box],
                                 "scores": [score for _, score in boxes], "created": time.time()})
        for i in chunk:
            if images[i] is None:
                out[i] = None
    for i, row in enumerate(keys):
        if out[i] is not None:
            out[i] = {phrase: known[key] for phrase, key in zip(phrases, row) if key in known}
    store.caches.add_grounded(new_rows)
    return out, ran
