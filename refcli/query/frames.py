"""The indexed frames a query judges, as typed records read once from the store, and the
requests built from them."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.query.moments import Chosen, Place
from refcli.refer import ReferRequest, ReferResult
from refcli.store import Store, frame_cache_key
from refcli.store.content import Current


class FrameMask(Protocol):
    """Which rows of a batch of stored frames are worth reading (refcli.query.pushdown)."""

    @property
    def generations(self) -> npt.NDArray[np.int64] | None:
        """The content generations it may keep frames of (None: any)."""
        ...

    def mask(self, frames: pa.Table) -> npt.NDArray[np.bool_]: ...


class Candidate(NamedTuple):
    """One detected person in a frame."""

    box: list[float]  # xyxy, displayed pixels
    score: float  # the detector's confidence in this box
    track: int  # the track it belongs to; NO_TRACK when it was judged alone


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame of the current generation of an indexed content (a photo is one frame)."""

    content_id: str
    generation: int
    sample: int
    time: float | None  # seconds from the start of the video; None for photos
    width: int  # displayed size: the boxes' coordinates
    height: int
    kind: str  # "image" | "video"
    candidates: list[Candidate]
    paths: list[str]  # every file that holds this content, sorted

    def cache_key(self, prefix: str) -> str:
        """The key of a cached result about this frame (a model's answer, grounded objects)."""
        return frame_cache_key(prefix, {"content_id": self.content_id, "generation": self.generation,
                                        "sample": self.sample})


def current_frames(store: Store, content_ids: Collection[str] | None = None,
                   keep: FrameMask | None = None, current: Current | None = None) -> Iterator[Frame]:
    """The frames of every indexed content some path points to (only ``content_ids`` if given;
    only the rows ``keep`` keeps of each batch, if given), in the store's order, read a batch at
    a time as they are used; by the ``current`` snapshot if given (the one ``keep`` was made on)."""
    batches, paths = store.contents.current_frame_batches(content_ids, current)
    for table in batches:
        if keep is not None:
            table = table.filter(pa.array(keep.mask(table)))
        for row in table.to_pylist():
            yield Frame(row["content_id"], row["generation"], row["sample"], row["time"], row["width"], row["height"],
                        row["kind"], [Candidate(c["box"], c["score"], c["track"]) for c in row["candidates"]],
                        paths[row["content_id"]])


@dataclass(frozen=True)
class FrameRequest:
    """A request and what it was built from: the frame, and its people in the request's order."""

    request: ReferRequest
    frame: Frame
    people: list[Candidate]

    @property
    def content_id(self) -> str:
        return self.frame.content_id

    @property
    def place(self) -> Place:
        return Place(self.frame.kind, self.frame.paths)

    def picked(self, result: ReferResult) -> list[tuple[tuple[str, int, int], list[Chosen]]]:
        """Each chosen person at this frame, by (content id, generation, track)."""
        frame = self.frame
        return [((frame.content_id, frame.generation, int(self.people[index].track)),
                 [Chosen(frame.sample, frame.time, [round(float(v), 1) for v in self.people[index].box], float(score))])
                for index, score in zip(result.indexes, result.scores)]
