"""Frames worth reading: those that hold a person the referrer's cheap test on the tracks table
does not rule out (``TrackTerms.narrow``).

A query that a track's stored values do not decide alone ("the man on the left", "a person
sitting") is judged frame by frame, with every candidate of the frame (positions and ordinals
are judged among them). But the person chosen in a frame must pass the test on who they are
(a name, colours, face traits, a pose or motion cue at some moment): a frame where nobody does
chooses nobody, and is not read. The answers are the ones every frame gives
(tests/e2e/test_track_answers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.detections import NO_TRACK
from refcli.lists import any_per_list, list_lengths
from refcli.query.tracks import narrowed, of_contents
from refcli.refer import TrackTerms
from refcli.store import Store
from refcli.store.content import Current


@dataclass(frozen=True)
class FramesToRead:
    """The frames that hold a surviving track, as (generation, sample) keys, and the floor
    above which a box no track took is a person of its own (never ruled out here)."""

    kept: npt.NDArray[np.int64]  # the generations of the kept tracks: sorted, unique
    keys: npt.NDArray[np.int64]  # sorted, unique: a generation's rank in ``kept`` * span + sample
    span: int
    min_score: float

    @property
    def generations(self) -> npt.NDArray[np.int64] | None:
        """The content generations whose frames may be read; None (any) where a box no track
        took may be a person (``min_score`` under the tracks' floor)."""
        return self.kept if self.min_score >= PEOPLE_MIN_SCORE else None

    def mask(self, frames: pa.Table) -> npt.NDArray[np.bool_]:
        """Which rows of a batch of frames to read."""
        generation = frames.column("generation").to_numpy().astype(np.int64)
        sample = frames.column("sample").to_numpy().astype(np.int64)
        keep = np.zeros(frames.num_rows, np.bool_)
        if len(self.kept):
            rank = np.minimum(np.searchsorted(self.kept, generation), len(self.kept) - 1)
            known = (self.kept[rank] == generation) & (sample >= 0) & (sample < self.span)
            key = rank * self.span + sample
            at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            keep = known & (self.keys[at] == key)
        return keep | untracked_people(frames, self.min_score)


def untracked_people(frames: pa.Table, min_score: float) -> npt.NDArray[np.bool_]:
    """Frames with a box that no track took and that reaches ``min_score`` on its own: a person
    the tracks table does not know, so nothing there rules them out."""
    candidates = frames.column("candidates").combine_chunks()
    flat = pc.list_flatten(candidates)
    track = flat.field("track").to_numpy(zero_copy_only=False)
    score = flat.field("score").to_numpy(zero_copy_only=False).astype(np.float64)
    alone = (track == NO_TRACK) & (score >= min_score)
    if not alone.any():
        return np.zeros(frames.num_rows, np.bool_)
    return any_per_list(alone, list_lengths(candidates))


def frames_to_read(store: Store, current: Current, terms: TrackTerms, min_score: float,
                   content_ids: set[str] | None) -> FramesToRead:
    """The frames holding a track that reaches ``min_score`` and that ``terms.narrow`` keeps
    (within ``content_ids`` if given). Where nobody is kept, none: the narrow keeps the people
    whose features were not measured, and a frame says nothing of things to find where nobody
    meets the rest (refcli.query.grounding), so the frames left out would have said nothing.
    Made on the ``current`` snapshot: the frames must be read by the same one."""
    media = of_contents(current.media, content_ids)
    tracks = store.contents.track_rows(media, narrowed(store, media, terms, min_score, one_at_least=False),
                                       ["samples"])
    lengths = list_lengths(tracks.column("samples"))
    samples = pc.list_flatten(tracks.column("samples")).to_numpy(zero_copy_only=False).astype(np.int64)
    generation = np.repeat(tracks.column("generation").to_numpy().astype(np.int64), lengths)
    generations, rank = np.unique(generation, return_inverse=True)
    span = int(samples.max()) + 1 if len(samples) else 1
    return FramesToRead(generations, np.unique(rank.astype(np.int64) * span + samples), span, min_score)
