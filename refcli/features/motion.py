"""Walking direction and speed of a video track, from its boxes over time.

Measured at index time per sample as a velocity in box heights per second (so a walker far away
and one close by move at comparable speeds): ``vx`` sideways (+ to the right of the picture) and
``vz`` towards the camera: the box height's growth plus the feet's downward movement (a camera
above the ground sees the feet of someone coming closer move down the picture; an eye-level
camera sees the box grow). Each is the slope of a straight
line fitted to the samples within ``WINDOW_SECONDS`` either side, which averages out the
detector's jitter. The names (still, left, towards...) are read from the stored velocities at
query time by ``motion_readings``, so their thresholds can change without re-indexing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.features import Chosen, Cue, Cues, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar
from refcli.lists import any_per_list, list_lengths

if TYPE_CHECKING:
    from refcli.store import Store

WINDOW_SECONDS = 1.0
"""Samples this close (either side) take part in a sample's velocity."""
MIN_SPAN_SECONDS = 0.5
"""A velocity needs samples spanning at least this long (two samples at the default 2 fps);
shorter: unknown."""
STILL_BELOW = 0.12
"""Box heights per second below which a person is standing still (walkers measure 0.3-1.0)."""
DIRECTION_ABOVE = 0.12
"""A direction (left/right, towards/away) is named only above this many box heights per second."""

CUE_NAMES = ("moving", "horizontal", "depth")
"""The cues this module reads; the grammar's Cue names use the same words."""


def velocities(times: Sequence[float | None], boxes: Sequence[float]) -> list[float]:
    """Per sample: vx, vz, confidence (3 floats each, NaN when unknown), for a track's samples.

    ``boxes`` holds 4 floats (xyxy) per sample, as stored on a track row.
    """
    n = len(times)
    out = [math.nan] * (3 * n)
    if n < 2 or any(t is None for t in times):
        return out
    t = np.asarray(times, np.float64)
    b = np.asarray(boxes, np.float64).reshape(n, 4)
    cx, h, feet = (b[:, 0] + b[:, 2]) / 2, b[:, 3] - b[:, 1], b[:, 3]
    for k in range(n):
        near = np.flatnonzero(np.abs(t - t[k]) <= WINDOW_SECONDS + 1e-6)
        span = float(t[near].max() - t[near].min())
        if len(near) < 2 or span < MIN_SPAN_SECONDS:
            continue
        height = float(np.median(h[near]))
        if height <= 0:
            continue
        vx = _slope(t[near], cx[near]) / height
        vz = (_slope(t[near], h[near]) + _slope(t[near], feet[near])) / height
        confidence = min(1.0, span / (2 * WINDOW_SECONDS))
        out[3 * k:3 * k + 3] = [round(vx, 4), round(vz, 4), round(confidence, 3)]
    return out


def _slope(times: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of values over times (per second)."""
    dt = times - times.mean()
    return float((dt * (values - values.mean())).sum() / (dt * dt).sum())


def motion_cues(vx: float, vz: float, confidence: float) -> dict[str, Cue]:
    """moving (still / moving), horizontal (left / right / none), depth (towards / away / none)
    of one sample (``motion_readings`` of a batch of one)."""
    read = motion_readings(np.array([[vx, vz, confidence]], np.float64))
    return {name: (str(values[0]), float(confidences[0])) for name, (values, confidences) in read.items()}


def motion_readings(motion: npt.NDArray[np.float64]) -> dict[str, tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]]:
    """Per sample of (N, 3) stored motion (vx, vz, confidence: see ``velocities``), each cue's
    value and confidence, vectorised: the one arithmetic of the reader and of the narrowing
    before frames are read. Unknown where a value is NaN (too few samples, a photo).

    A direction is named when it is fast enough and at least half the other one: a walker going
    diagonally away and to the right is both; one going mostly away is only "away".
    """
    vx, vz, confidence = (motion[:, k] for k in range(3))
    known = ~np.isnan(motion).any(axis=1)
    sideways = (np.abs(vx) >= DIRECTION_ABOVE) & (np.abs(vx) >= np.abs(vz) / 2)
    depthwise = (np.abs(vz) >= DIRECTION_ABOVE) & (np.abs(vz) >= np.abs(vx) / 2)
    values = {
        "moving": np.where(np.hypot(vx, vz) < STILL_BELOW, "still", "moving"),
        "horizontal": np.where(sideways, np.where(vx > 0, "right", "left"), "none"),
        "depth": np.where(depthwise, np.where(vz > 0, "towards", "away"), "none"),
    }
    confidence = np.where(known, confidence, 0.0)
    return {name: (np.where(known, values[name], "unknown"), confidence) for name in CUE_NAMES}


def shown_in_motion(tracks: pa.Table, name: str, holds: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    """Per track row (with the motion column), whether at one of its samples cue ``name`` reads
    as a value ``holds`` accepts (``motion_readings``: what the reader names there). True where
    the track was indexed before motion was measured (null): nothing rules it out, and the
    reader will say so."""

    column = tracks.column("motion").combine_chunks()
    motion, lengths = _samples(column)
    values = motion_readings(motion)[name][0]
    shown = np.isin(values, [value for value in np.unique(values).tolist() if holds(value)])
    return any_per_list(shown, lengths) | column.is_null().to_numpy(zero_copy_only=False)


def _samples(column: pa.Array) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """A motion column's values as (N, 3) rows of samples, and each track's number of samples."""
    import pyarrow.compute as pc

    return (pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, 3),
            list_lengths(column) // 3)


class MotionCues(Cues):
    """Moving, horizontal and depth cues of one person at one moment (CUE_NAMES)."""

    key: ClassVar[str] = "motion"


def stored_motion(store: Store, tracks: pa.Table | None = None
                  ) -> dict[tuple[str, int, int], tuple[list[int], list[float] | None]]:
    """Per track (of every track, or of the given rows): its samples and their motion (3 floats
    each, see ``velocities``; None for tracks indexed before motion was measured)."""
    columns = ["content_id", "generation", "track", "samples", "motion"]
    table = store.contents.read("tracks", columns) if tracks is None else tracks
    return {(c, g, t): (samples, motion) for c, g, t, samples, motion in zip(
        *(table.column(n).to_pylist() for n in columns))}


class MotionReader:
    """The stored velocities of every track (or of the given rows), named for all their samples
    at once (``motion_readings``), and offered at the moment asked for."""

    def __init__(self, store: Store, tracks: pa.Table | None = None) -> None:

        columns = ["content_id", "generation", "track", "samples", "motion"]
        table = store.contents.read("tracks", columns) if tracks is None else tracks
        column = table.column("motion").combine_chunks()
        motion, lengths = _samples(column)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
        self.readings = {name: (values.tolist(), confidences.tolist())  # indexed per moment: lists
                         for name, (values, confidences) in motion_readings(motion).items()}
        measured = column.is_valid().to_numpy(zero_copy_only=False).tolist()
        # per track: where each sample's motion sits among the readings (None: not measured)
        self.motion: dict[tuple[str, int, int], dict[int, int] | None] = {
            (c, g, t): ({sample: start + k for k, sample in enumerate(samples[:length])} if known else None)
            for c, g, t, samples, start, length, known in zip(
                *(table.column(n).to_pylist() for n in ("content_id", "generation", "track", "samples")),
                starts, lengths.tolist(), measured)}

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        at = self.motion.get((moment.content_id, moment.generation, track), {})
        if at is None:  # indexed before motion was measured: the key stays absent
            return {}
        k = at.get(moment.sample)
        return {MotionCues.key: None if k is None else MotionCues(
            {name: (values[k], confidences[k]) for name, (values, confidences) in self.readings.items()})}


class MotionFeature(Feature):
    """Per-sample velocities of a video track, on the track row; named at query time."""

    name: ClassVar[str] = "motion"
    offers: ClassVar[tuple[type[Offer], ...]] = (MotionCues,)
    # 3 floats per sample: sideways and towards-the-camera speed in box heights per second, and a
    # confidence; NaN where unknown (photos, too few samples).
    track_fields: ClassVar[tuple[pa.Field, ...]] = (pa.field("motion", pa.list_(pa.float32())),)

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> MotionReader:
        return MotionReader(store, tracks)

    def finish(self, state: None, track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        return Stored({"motion": velocities(track.times, track.boxes)})
