"""Tracking: per-frame person boxes become tracks, streamed one sample at a time.

The association itself is supervision's ByteTrack (a well-kept library, not hand-written):
see ``ByteTrackTracker`` for why this one. ``TrackBuilder`` turns its output into the rows
refcli stores: every candidate of every frame with its track id, one row per track (time
range, per-sample boxes, keyframe references) and the keyframe JPEGs. It holds only the
tracks that are still alive and the frames they may still pick as keyframes, so memory does
not grow with video length.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.detections import NO_TRACK, Detections, box_iou
from refcli.features import Feature, HeldFrame, Row, TrackSoFar, enabled
from refcli.keyframes import (
    KEYFRAME_LONG_SIDE,
    MIN_SAMPLES_FOR_KEYFRAMES,
    KeyframePicker,
    encode_keyframe,
    keyframe_sized,
    person_quality,
)
from refcli.relink import Piece, brief, chains, flat
from refcli.store.content import KeyframeRow, SampledFrameRow
from refcli.store.schema import CONTENT_TABLES

LOST_SECONDS = 2.0
"""A track survives this long without a matching box (occlusion, detector miss)."""



@dataclass(frozen=True)
class TrackUpdate:
    """A tracker's answer for one frame.

    Attributes:
        ids: (N,) track id per box of this frame, NO_TRACK where none was assigned.
        confirmed_before: box index in the *previous* frame -> track id, for tracks that
            started there but were only confirmed now (ByteTrack confirms on the 2nd frame).
    """

    ids: npt.NDArray[np.int64]
    confirmed_before: dict[int, int] = field(default_factory=dict)


class Tracker(ABC):
    """Assigns track ids to one frame's boxes, frame after frame, for one video."""

    @abstractmethod
    def update(self, detections: Detections) -> TrackUpdate:
        """Track ids for ``detections`` (same order) and late ids for the previous frame."""

    @property
    @abstractmethod
    def lost_samples(self) -> int:
        """After this many samples without a box a track is gone for good."""


class ByteTrackTracker(Tracker):
    """supervision's ByteTrack, on sampled frames, matching on buffered boxes.

    Why this library: it needs no OpenCV (roboflow's ``trackers``, where ByteTrack moved,
    requires the GUI build ``opencv-python`` — 188 MB, needs libGL on the server, and clashes
    with the headless/contrib builds other packages bring), and no torchvision or weight
    downloads (boxmot). supervision deprecated ByteTrack in 0.28 and removed it in 0.31, so
    refcli pins ``supervision<0.31``; this adapter is the only code that touches it.

    ByteTrack's IoU gates are made for 30 fps video. Sampled at 2 fps, the same walker's
    boxes half a second apart overlap with median IoU 0.30 on vtest.avi, so most matches
    failed (73 track ids for 769 person boxes, median length 3 samples). The boxes given to
    ByteTrack are therefore enlarged in proportion to the time between samples (the
    "buffered IoU" of C-BIoU tracking): on the same frames, 39 ids with median length 12.
    Stored boxes are never changed; only the matching sees the buffer.

    Its ids are per instance (no class-level counter), so a new tracker per video gives the
    same ids for the same detections: re-indexing is stable.

    Args:
        sample_fps: sampling rate of the frames it is given.
        min_score: boxes at or above it may start a track (ByteTrack starts tracks from
            boxes 0.1 above its activation threshold, so that is set 0.1 lower).
        lost_seconds: how long a track waits for its person to reappear.
    """

    def __init__(self, sample_fps: float, min_score: float = PEOPLE_MIN_SCORE,
                 lost_seconds: float = LOST_SECONDS) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice and the no-OpenCV notice
            from supervision.tracker.byte_tracker.core import ByteTrack

            # ByteTrack drops a lost track after int(frame_rate / 30 * lost_track_buffer) updates.
            self._lost = max(1, int(round(sample_fps * lost_seconds)))
            self._tracker = ByteTrack(
                track_activation_threshold=max(0.05, min_score - 0.1),
                lost_track_buffer=int(round(self._lost * 30 / sample_fps)) + 1,
                minimum_matching_threshold=0.9,
                frame_rate=sample_fps,
                minimum_consecutive_frames=1,
            )
        self.buffer = min(1.5, 2.0 / sample_fps)  # box widths added on each side: 1.0 at 2 fps
        self._unconfirmed: dict[int, int] = {}  # internal track id -> box index on the previous frame

    @property
    def lost_samples(self) -> int:
        return self._lost

    def update(self, detections: Detections) -> TrackUpdate:
        xyxy = detections.xyxy.astype(np.float32).reshape(-1, 4)
        scores = detections.confidence.astype(np.float32)
        w = (xyxy[:, 2] - xyxy[:, 0])[:, None] * self.buffer
        h = (xyxy[:, 3] - xyxy[:, 1])[:, None] * self.buffer / 2
        buffered = xyxy + np.hstack([-w, -h, w, h])
        tracker = self._tracker
        output = tracker.update_with_tensors(np.hstack([buffered, scores[:, None]]))
        # Which box updated which track: supervision re-matches by IoU >= 0.5 against the
        # Kalman posterior, which loses fast movers; the score a track took is exact, and the
        # IoU with the posterior only breaks ties.
        ids = np.full(len(detections), NO_TRACK, np.int64)
        used: set[int] = set()
        for track in output:
            if track.frame_id == tracker.frame_id:
                j = _box_of(track, buffered, scores, used)
                if j is not None:
                    ids[j] = track.external_track_id
        confirmed = {}
        for track in output:
            start = self._unconfirmed.get(track.internal_track_id)
            if start is not None:
                confirmed[start] = int(track.external_track_id)
        self._unconfirmed = {}
        for track in tracker.tracked_tracks:  # started on this frame, confirmed (or not) on the next
            if not track.is_activated and track.start_frame == tracker.frame_id:
                j = _box_of(track, buffered, scores, used)
                if j is not None:
                    self._unconfirmed[track.internal_track_id] = j
        return TrackUpdate(ids, confirmed)


def _box_of(track: Any, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32],
            used: set[int]) -> int | None:
    """Index of the box (not yet used) that a ByteTrack track took on this frame."""
    same = [j for j in np.flatnonzero(scores == np.float32(track.score)) if int(j) not in used]
    if not same:
        return None
    best = max(same, key=lambda j: box_iou(np.asarray(track.tlbr, np.float32).tolist(), boxes[j].tolist()))
    used.add(int(best))
    return int(best)


@dataclass
class _Track:
    seen: TrackSoFar
    picker: KeyframePicker
    last: int = 0
    raw: int = NO_TRACK  # the tracker's own id
    measured: dict[str, Any] = field(default_factory=dict)  # feature name -> its state for this track


class CandidateRow(TypedDict):
    """One candidate of a stored frame (schema.CANDIDATE)."""

    box: list[float]  # xyxy, displayed pixels
    score: float
    track: int  # NO_TRACK: a weak box no track took


class FrameRow(SampledFrameRow):
    """One row of the frames table (schema.FRAMES): a sampled frame and every candidate on it."""

    candidates: list[CandidateRow]


TrackRow = dict[str, object]
"""One row of the tracks table (schema.TRACKS): the builder's own columns (``track_row``) and
those the features add (Feature.track_fields), so its keys are open."""


@dataclass
class Rows:
    """Rows ready to store, produced as samples stream in: frames, tracks and keyframes, and
    the rows of the features' own tables by table name (faces, poses...)."""

    frames: list[FrameRow] = field(default_factory=list)
    tracks: list[TrackRow] = field(default_factory=list)
    keyframes: list[KeyframeRow] = field(default_factory=list)
    features: dict[str, list[Row]] = field(default_factory=dict)

    TABLES = CONTENT_TABLES

    def table(self, name: str) -> Sequence[Mapping[str, object]]:
        """The rows for content table ``name``."""
        if name in ("frames", "tracks", "keyframes"):
            return getattr(self, name)  # type: ignore[no-any-return]
        return self.features.get(name, [])

    def add(self, name: str, rows: Iterable[Mapping[str, object]]) -> None:
        if name in ("frames", "tracks", "keyframes"):
            getattr(self, name).extend(rows)
        else:
            self.features.setdefault(name, []).extend(rows)

    def extend(self, other: Rows) -> None:
        for name in self.TABLES:
            self.add(name, other.table(name))

    def __len__(self) -> int:
        return sum(len(self.table(name)) for name in self.TABLES)

    def generations(self) -> set[int]:
        return {int(row["generation"]) for name in self.TABLES for row in self.table(name)}  # type: ignore[call-overload]

    def without(self, generations: set[int]) -> Rows:
        """These rows less those of ``generations``."""
        kept = Rows()
        for name in self.TABLES:
            kept.add(name, (r for r in self.table(name) if r["generation"] not in generations))
        return kept

    def jpeg_bytes(self) -> int:
        """Keyframe JPEG bytes held: the other measure of when to hand rows on."""
        return sum(len(k["jpeg"]) for k in self.keyframes)


@dataclass
class _Pending:
    sample: int
    time: float | None
    detections: Detections
    ids: npt.NDArray[np.int64]  # tracker ids (not yet compact)
    size: tuple[int, int]


class TrackBuilder:
    """Streams one content's samples into frame, track and keyframe rows.

    Photos (no tracker) make one-frame tracks. For videos, ids are compact (0, 1, 2, ... in
    order of first appearance) and frames are emitted one sample late, because ByteTrack
    confirms a track on its second frame and only then names the box that started it.
    Candidates no track took, at or above ``min_score``, become one-frame tracks; weaker
    ones keep track -1.

    Everything it stores is in displayed pixels of the original file, also when the images it
    is given were reduced (refcli.io.image.WORKING_LONG_SIDE): ``add`` converts the boxes found
    on them, and it converts back and forth wherever it looks at its held frames. A frame kept
    after its sample is emitted only serves keyframes and the features (refcli.features); unless
    a feature needs whole frames (faces, pose), the features measure at once and it is kept at
    keyframe size, so the frames live tracks may still choose cost ~3 MB each whatever the
    video's resolution.
    """

    def __init__(self, content_id: str, generation: int, tracker: Tracker | None,
                 min_score: float = PEOPLE_MIN_SCORE, store_keyframes: bool = True,
                 features: list[Feature] | None = None) -> None:
        self.features = enabled({}) if features is None else features
        self.content_id = content_id
        self.generation = generation
        self.tracker = tracker
        self.min_score = min_score
        self.store_keyframes = store_keyframes
        self.people = 0
        self.detections = 0
        self._pending: _Pending | None = None
        self._compact: dict[int, int] = {}  # tracker id -> compact id, for live tracks only
        self._next_id = 0
        self._alive: dict[int, _Track] = {}
        self._images: dict[int, HeldFrame] = {}
        self._keyframe_sized = store_keyframes and not any(f.whole_frames for f in self.features)
        self._encoded: set[int] = set()
        self.row_counts = dict.fromkeys(Rows.TABLES, 0)  # rows handed out per table, for the media row
        self._pieces: list[Piece] = []  # a brief of each video track, for joining (refcli.relink)

    def add(self, sample: int, time: float | None, detections: Detections, image: npt.NDArray[np.uint8],
            scale: float = 1.0, size: tuple[int, int] | None = None) -> Rows:
        """Take one sample (in order); returns the rows that became final.

        ``detections`` are boxes on ``image``, which has ``scale`` pixels per displayed pixel of
        the original (``size``, displayed width and height; None: the image's own size).
        """
        if scale != 1.0:  # the one place where boxes found on a reduced image become displayed pixels
            detections = Detections(detections.xyxy / np.float32(scale), detections.confidence,
                                    detections.tracker_id, detections.data)
        if self.tracker is not None:
            update = self.tracker.update(detections)
        else:
            update = TrackUpdate(np.full(len(detections), NO_TRACK, np.int64))
        self.detections += int((detections.confidence >= self.min_score).sum())
        current = _Pending(sample, time, detections, update.ids, size or (image.shape[1], image.shape[0]))
        rows = Rows()
        if self._pending is not None:
            for j, track in update.confirmed_before.items():
                if self._pending.ids[j] == NO_TRACK:
                    self._pending.ids[j] = track
            rows.extend(self._emit(self._pending))
        self._images[sample] = HeldFrame(image, scale)
        self._pending = current
        rows.extend(self._retire(before=sample - (self.tracker.lost_samples + 1) if self.tracker else sample))
        self._release_images()
        return self._counted(rows)

    def finish(self) -> Rows:
        rows = Rows()
        if self._pending is not None:
            rows.extend(self._emit(self._pending))
            self._pending = None
            self._release_images()
        rows.extend(self._retire(before=None))
        self._images.clear()
        return self._counted(rows)

    def _counted(self, rows: Rows) -> Rows:
        for name in Rows.TABLES:
            self.row_counts[name] += len(rows.table(name))
        return rows

    def _emit(self, pending: _Pending) -> Rows:
        rows = Rows()
        candidates: list[CandidateRow] = []
        for j in range(len(pending.detections)):
            box = pending.detections.xyxy[j]
            score = float(pending.detections.confidence[j])
            raw = int(pending.ids[j])
            if raw != NO_TRACK:
                if raw not in self._compact:
                    self._compact[raw] = self._new_track(pending.time, raw)
                track = self._compact[raw]
            elif score >= self.min_score:
                track = self._new_track(pending.time)
            else:
                candidates.append({"box": box.tolist(), "score": score, "track": NO_TRACK})
                continue
            candidates.append({"box": box.tolist(), "score": score, "track": track})
            state = self._alive[track]
            seen = state.seen
            seen.samples.append(pending.sample)
            seen.times.append(pending.time)
            seen.boxes.extend(float(v) for v in box)
            seen.scores.append(score)
            state.last = pending.sample
            held = self._images[pending.sample]
            quality = person_quality(held.image, held.box(box), score)
            state.picker.offer(pending.time or 0.0, pending.sample, quality)
            chosen = {s for s, _ in state.picker.chosen()}
            for feature in self.features:
                feature.on_sample(state.measured[feature.name], seen, pending.sample, held, chosen,
                                  not self._keyframe_sized)
        if candidates:
            width, height = pending.size
            rows.frames.append({"content_id": self.content_id, "generation": self.generation,
                                "sample": pending.sample, "time": pending.time, "width": width,
                                "height": height, "candidates": candidates})
        return rows

    def _new_track(self, time: float | None, raw: int = NO_TRACK) -> int:
        track = self._next_id
        self._next_id += 1
        self._alive[track] = _Track(TrackSoFar(self.content_id, self.generation, track),
                                    KeyframePicker(start=time or 0.0), raw=raw,
                                    measured={f.name: f.start() for f in self.features})
        return track

    def _retire(self, before: int | None) -> Rows:
        """Finish tracks last seen before sample ``before`` (all when None)."""
        rows = Rows()
        done = [t for t in self._alive.values() if before is None or t.last < before]
        for state in sorted(done, key=lambda t: t.seen.track):
            seen = state.seen
            del self._alive[seen.track]
            if self._compact.get(state.raw) == seen.track:
                del self._compact[state.raw]
            chosen = state.picker.chosen()
            stored = self.store_keyframes and len(seen.samples) >= MIN_SAMPLES_FOR_KEYFRAMES
            for sample, time in chosen if stored else []:
                if sample not in self._encoded:
                    held = self._images[sample]
                    encoded = encode_keyframe(held.image)
                    self._encoded.add(sample)
                    rows.keyframes.append({
                        "content_id": self.content_id, "generation": self.generation, "sample": sample,
                        "time": time, "width": encoded.width, "height": encoded.height,
                        "scale": encoded.scale * held.scale, "jpeg": encoded.jpeg})
            row = self._track_row(seen, [sample for sample, _ in chosen] if stored else [])
            frames = {s: self._images[s] for s in seen.samples if s in self._images}
            for feature in self.features:
                measured = feature.finish(state.measured[feature.name], seen, chosen, frames, state.measured)
                row.update(measured.track_fields)
                for table, feature_rows in measured.rows.items():
                    rows.add(table, feature_rows)
            rows.tracks.append(row)
            piece = brief(row)
            if piece is not None:
                self._pieces.append(piece)
        return rows

    def joins(self) -> list[int]:
        """The pieces of one person's track the tracker split, joined (refcli.relink.chains):
        (track, next) pairs, flat, for the media row; once every track has retired."""
        return flat(chains(self._pieces))

    def _track_row(self, seen: TrackSoFar, keyframes: list[int]) -> TrackRow:
        best = int(np.argmax(seen.scores))
        known = [t for t in seen.times if t is not None]
        if max(seen.scores) >= self.min_score:
            self.people += 1
        return {
            "content_id": self.content_id, "generation": self.generation, "track": seen.track,
            "start": min(known) if known else None, "end": max(known) if known else None,
            "time": seen.times[best], "box": seen.boxes[4 * best:4 * best + 4], "score": seen.scores[best],
            "samples": seen.samples, "times": seen.times, "boxes": seen.boxes, "scores": seen.scores,
            "keyframes": keyframes,
        }

    def _release_images(self) -> None:
        """Keep only frames a live track may still choose (at keyframe size where that is all
        they serve), and the one awaiting emission (whole: its people are measured on it)."""
        wanted = {s for t in self._alive.values() for s, _ in t.picker.chosen()}
        pending = self._pending.sample if self._pending is not None else None
        for sample, held in list(self._images.items()):
            if sample != pending and sample not in wanted:
                del self._images[sample]
            elif sample != pending and self._keyframe_sized and max(held.image.shape[:2]) > KEYFRAME_LONG_SIDE:
                image, scale = keyframe_sized(held.image)
                self._images[sample] = HeldFrame(image, held.scale * scale)


