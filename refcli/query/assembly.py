"""Request assembly: from the stored frames to the batches of requests a referrer judges.

Each frame with someone who is a person (their track's best box reaches ``min_score``) becomes
one request: its people's boxes and what the features offer about them at that moment (colours,
faces, pose, motion: refcli.features), with the frame's pixels for backends that look at them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from refcli.detections import NO_TRACK
from refcli.query.cues import MomentCues
from refcli.query.frames import FrameMask, FrameRequest, current_frames
from refcli.query.pixels import with_image
from refcli.query.prefilter import PREFILTER_FRAMES, prefilter
from refcli.refer import ReferRequest, Referrer
from refcli.store import Store
from refcli.store.content import Current

if TYPE_CHECKING:
    from refcli.query.grounding import Grounding

REFER_BATCH = 256
"""Requests per referrer call for backends that read no pixels."""

IMAGE_BATCH = 8
"""Requests per call for backends that read pixels: their images are held at once."""


def frame_requests(store: Store, query: str, min_score: float, content_ids: set[str] | None,
                   referrer: Referrer, grounding: Grounding | None = None,
                   keep: FrameMask | None = None, current: Current | None = None) -> Iterator[list[FrameRequest]]:
    """Batches of requests for ``referrer``: one per frame with a person, within ``content_ids``
    if given, of the frames ``keep`` keeps if given (refcli.query.pushdown), built as the
    frames are read (one batch held at a time), by the ``current`` snapshot if given (the one
    ``keep`` was made on). Above PREFILTER_FRAMES, a
    backend that reads pixels sees only the frames the cheap referrer keeps; ``grounding`` adds
    object boxes (and drops the frames not worth grounding): these two see every request first."""
    requests = _requests(store, query, min_score, content_ids, referrer, keep, current)
    if not referrer.needs_image and not (grounding is not None and grounding.active):
        chunk: list[FrameRequest] = []
        for request in requests:
            chunk.append(request)
            if len(chunk) == REFER_BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    built = list(requests)
    if referrer.needs_image and len(built) > PREFILTER_FRAMES:
        built = prefilter(store, query, built)
    if grounding is not None and grounding.active:
        built = grounding.apply(built)
    size = IMAGE_BATCH if referrer.needs_image else REFER_BATCH
    for start in range(0, len(built), size):
        chunk = built[start:start + size]
        if referrer.needs_image:
            chunk = [replace(item, request=with_image(store, item.request, item.frame)) for item in chunk]
            chunk = [item for item in chunk if item.request.image is not None]
        yield chunk


def _requests(store: Store, query: str, min_score: float, content_ids: set[str] | None,
              referrer: Referrer, keep: FrameMask | None, current: Current | None) -> Iterator[FrameRequest]:
    best = store.contents.track_scores(None if keep is None else keep.generations)
    cues = MomentCues(store, referrer.wants(query))
    pictured = store.contents.keyframe_samples() if referrer.needs_image else {}
    for frame in current_frames(store, content_ids, keep, current):
        key = (frame.content_id, frame.generation)
        if referrer.needs_image and frame.kind == "video" and frame.sample not in pictured.get(key, ()):
            continue  # a model must see pixels: video frames are judged where a keyframe was kept
        # A person is a track whose best box reaches min_score: its weaker boxes (a turn, a
        # partial occlusion) are still that person. Untracked boxes are judged alone.
        people = [c for c in frame.candidates
                  if (best.get((*key, c.track), 0.0) if c.track != NO_TRACK else c.score) >= min_score]
        if not people:
            continue
        request = ReferRequest(
            expression=query,
            boxes=np.array([c.box for c in people], np.float32).reshape(-1, 4),
            scores=np.array([c.score for c in people], np.float32),
            size=(frame.width, frame.height),
            features=[cues.at(frame, c.track) for c in people],
        )
        yield FrameRequest(request, frame, people)
